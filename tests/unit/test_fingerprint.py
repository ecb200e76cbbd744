"""Fingerprints of real node folders on disk, and the stat cache that keeps them fast."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.staleness import NodeFingerprint, ParentOutput, explain
from nodepipe.workspace import file_digests
from nodepipe.workspace import fingerprint as fp
from nodepipe.workspace.file_digests import fingerprint_outputs, sha256_file
from nodepipe.workspace.fingerprint import fingerprint_node
from nodepipe.workspace.node_folder import NodeFolder
from nodepipe.workspace.uv_lock import locked_packages

LOCK = """version = 1
requires-python = ">=3.11"

[[package]]
name = "nodepipe-node"
version = "0.0.0"
source = {{ virtual = "." }}

[[package]]
name = "numpy"
version = "{numpy}"
source = {{ registry = "https://pypi.org/simple" }}
"""
PAST = time.time_ns() - 3600 * 10**9


def write(path: Path, text: str, age: bool = True) -> None:
    """Write ``text``; with ``age``, date it an hour back so the stat cache may keep it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if age:
        os.utime(path, ns=(PAST, PAST))


@pytest.fixture
def node(tmp_path: Path) -> NodeFolder:
    folder = NodeFolder(tmp_path / "node")
    folder.make_output_dirs()
    write(folder.code / "main.py", "print('hi')\n")
    write(folder.code / "lib" / "util.py", "X = 1\n")
    write(folder.params_file, "lr: 0.1\nepochs: 10\n")
    write(folder.lock, LOCK.format(numpy="1.26.4"))
    write(folder.pyproject, "[project]\nname = 'nodepipe-node'\n")
    return folder


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the files actually read for hashing, in order."""
    seen: list[str] = []
    real = file_digests.sha256_file

    def counting(path: Path) -> str:
        seen.append(path.name)
        return real(path)

    monkeypatch.setattr(file_digests, "sha256_file", counting)
    yield seen


def cache_of(folder: NodeFolder) -> Path:
    return folder.logs / ".hash-cache.json"


def check(folder: NodeFolder) -> NodeFingerprint:
    return fingerprint_node(folder, {}, cache_file=cache_of(folder))


def test_parts_of_a_fingerprint(node: NodeFolder) -> None:
    value = check(node)
    assert sorted(value.code) == ["lib/util.py", "main.py", "pyproject.toml"]
    assert value.params == {"lr": 0.1, "epochs": 10}
    assert value.packages == {"nodepipe-node": "0.0.0", "numpy": "1.26.4"}
    assert value.lock_digest == file_digests.sha256_file(node.lock)
    assert value.entry == "main.py" and value.parents == {}


def test_environments_and_caches_are_not_code(node: NodeFolder) -> None:
    before = check(node).digest
    for junk in (
        ".venv/lib/site.py",
        ".venv.building-1a2b3c4d/lib/site.py",  # a sync cut short, or one under way
        ".venv.old-1a2b3c4d/lib/site.py",
        "__pycache__/main.cpython-311.pyc",
        "lib/__pycache__/util.pyc",
        "stray.pyc",
        ".ipynb_checkpoints/nb.ipynb",
        ".pytest_cache/v",
        ".mypy_cache/x.json",
        ".git/HEAD",
    ):
        write(node.code / junk, "junk")
    (node.data / "out.csv").write_text("1,2\n")
    assert check(node).digest == before


def test_fingerprints_are_deterministic_and_cache_independent(node: NodeFolder) -> None:
    cached = check(node)
    assert check(node) == cached
    assert fingerprint_node(node, {}) == cached  # no cache file at all
    assert json.loads(json.dumps(cached.to_dict())) == cached.to_dict()


def test_editing_a_file_changes_the_digest_with_the_reason(node: NodeFolder) -> None:
    before = check(node)
    write(node.code / "main.py", "print('bye')\n", age=False)
    after = check(node)
    assert after.digest != before.digest
    assert explain(before, after) == ["code changed: main.py"]


def test_adding_and_removing_files(node: NodeFolder) -> None:
    before = check(node)
    write(node.code / "extra.py", "")
    (node.code / "lib" / "util.py").unlink()
    assert explain(before, check(node)) == ["code added: extra.py", "code removed: lib/util.py"]


def test_editing_a_parameter_names_it(node: NodeFolder) -> None:
    before = check(node)
    write(node.params_file, "lr: 0.01\nepochs: 10\n", age=False)
    assert explain(before, check(node)) == ["parameter lr changed: 0.1 → 0.01"]


def test_a_comment_in_params_yaml_changes_nothing(node: NodeFolder) -> None:
    before = check(node)
    write(node.params_file, "# tuned\nlr: 0.1\nepochs: 10\n", age=False)
    assert check(node).digest == before.digest


def test_malformed_params_are_a_clear_error(node: NodeFolder) -> None:
    write(node.params_file, "lr: [0.1\n", age=False)
    with pytest.raises(InvalidInputError, match="malformed YAML"):
        check(node)


def test_editing_the_lock_names_the_package(node: NodeFolder) -> None:
    before = check(node)
    write(node.lock, LOCK.format(numpy="2.1.0"), age=False)
    assert explain(before, check(node)) == ["lock changed: numpy 1.26.4 → 2.1.0"]


def test_entry_point_and_parents_enter_the_fingerprint(node: NodeFolder) -> None:
    base = fingerprint_node(node, {"01": ParentOutput("p1", "a" * 64)})
    other_entry = fingerprint_node(node, base.parents, entry="run.py")
    rerun_parent = fingerprint_node(node, {"01": ParentOutput("p1", "b" * 64)})
    assert len({base.digest, other_entry.digest, rerun_parent.digest}) == 3
    assert explain(base, rerun_parent, {"p1": "clean"}) == ["parent 01 (clean) has new outputs"]


def test_unchanged_files_are_only_statted(node: NodeFolder, reads: list[str]) -> None:
    check(node)
    assert sorted(reads) == ["main.py", "params.yaml", "pyproject.toml", "util.py", "uv.lock"]
    reads.clear()
    check(node)
    assert reads == []
    write(node.code / "main.py", "print('edited')\n")
    check(node)
    assert reads == ["main.py"]


def test_an_edit_of_the_same_size_with_its_mtime_put_back_is_seen(
    node: NodeFolder, reads: list[str]
) -> None:
    """The cache key is (path, size, mtime_ns, ctime_ns, inode): an in-place edit that keeps
    the size and restores the mtime still moves the ctime (``os.utime`` sets it to now)."""
    before = check(node)
    main = node.code / "main.py"
    stat = main.stat()
    main.write_text("print('HI')\n")  # same length, same inode
    os.utime(main, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    reads.clear()
    assert explain(before, check(node)) == ["code changed: main.py"]
    assert reads == ["main.py"]


def test_a_leftover_of_a_killed_save_in_code_is_not_code(node: NodeFolder) -> None:
    """A save is written aside (``.params.yaml.1a2b3c4d.tmp``) then renamed; one a kill left
    behind is not part of the node's code. A file of the user's that merely ends in .tmp is."""
    before = check(node)
    write(node.code / ".params.yaml.1a2b3c4d.tmp", "lr: 0.5\n")
    write(node.code / "lib" / ".util.py.0f9e8d7c.tmp", "X = 2\n")
    assert explain(before, check(node)) == []
    write(node.code / "notes.tmp", "mine\n")
    write(node.code / ".scratch.tmp", "mine\n")
    assert explain(before, check(node)) == ["code added: .scratch.tmp, notes.tmp"]


def test_recently_modified_files_are_hashed_but_not_cached(
    node: NodeFolder, reads: list[str]
) -> None:
    """Within the racy window an edit could keep size and mtime, so fresh files stay uncached."""
    write(node.code / "fresh.py", "A = 1\n", age=False)
    check(node)
    reads.clear()
    check(node)
    assert reads == ["fresh.py"]


def test_a_corrupt_cache_is_ignored_and_rewritten(node: NodeFolder) -> None:
    before = check(node)
    cache_of(node).write_text("{not json")
    assert check(node) == before
    assert json.loads(cache_of(node).read_text())["format"] == file_digests.CACHE_FORMAT


def planted(folder: NodeFolder, params: dict[str, object]) -> dict[str, object]:
    """The node's hash cache with ``params`` put in place of its parse of params.yaml."""
    data = json.loads(cache_of(folder).read_text())
    (key,) = [k for k in data["parsed"] if k.endswith("params.yaml")]
    data["parsed"][key]["value"] = params
    return dict(data)


def test_a_hash_cache_that_others_could_write_is_not_trusted(
    node: NodeFolder, tmp_path: Path
) -> None:
    """The hash cache keeps parsed parameters and file digests: a file another user could
    have written (writable by others, or a link to a file elsewhere) is ignored, as the
    kept checks' files are; the node's own file is trusted."""
    check(node)
    forged = json.dumps(planted(node, {"lr": 999, "epochs": 10}))
    cache_of(node).write_text(forged)
    assert check(node).params == {"lr": 999, "epochs": 10}  # this user's own: trusted
    cache_of(node).write_text(forged)
    cache_of(node).chmod(0o666)
    assert check(node).params == {"lr": 0.1, "epochs": 10}
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(forged)
    cache_of(node).unlink()
    cache_of(node).symlink_to(elsewhere)
    assert check(node).params == {"lr": 0.1, "epochs": 10}


def test_parses_kept_by_other_parsing_code_are_made_again_and_digests_kept(
    node: NodeFolder, reads: list[str]
) -> None:
    """After an upgrade of nodepipe (its parsing code, Python or PyYAML), the values parsed
    from params.yaml and the locks are parsed again; the file digests are still trusted."""
    check(node)
    data = planted(node, {"lr": 999, "epochs": 10})
    data["parser"] = [[[1, 2]], "another Python", None]  # written by another version
    cache_of(node).write_text(json.dumps(data))
    reads.clear()
    assert check(node).params == {"lr": 0.1, "epochs": 10}
    assert reads == []  # no file hashed again
    data = json.loads(cache_of(node).read_text())
    assert data["parser"] == file_digests.parser_identity() is not None


def test_a_process_that_cannot_tell_its_parsing_code_neither_keeps_nor_drops_parses(
    node: NodeFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upgraded under a long-lived process, nodepipe's parsing code cannot be told: the
    process parses what it needs itself, and leaves the node's kept parses and its cache
    file as they are (rewriting them at every check would defeat every cache)."""
    check(node)
    kept = cache_of(node).read_bytes()
    monkeypatch.setattr(file_digests, "parser_identity", lambda: None)
    for _ in range(2):
        fp._SETTLED.clear()  # checked in full, as a process that never saw the node
        assert check(node).params == {"lr": 0.1, "epochs": 10}
    assert cache_of(node).read_bytes() == kept


def test_the_pyyaml_identity_passes_over_odd_path_entries_and_never_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries of ``sys.path`` that are not folder names are passed over, as imports do, and a
    FIFO where a package's ``__init__.py`` would be is not opened (it would block)."""
    package = tmp_path / "nopkg"
    package.mkdir()
    os.mkfifo(package / "__init__.py")
    monkeypatch.setattr(sys, "path", [b"/bytes", 3, str(tmp_path), ""])
    assert file_digests._package_digest("nopkg") is None
    (tmp_path / "realpkg").mkdir()
    (tmp_path / "realpkg" / "__init__.py").write_text("X = 1\n")
    assert file_digests._package_digest("realpkg") == sha256_file(
        tmp_path / "realpkg" / "__init__.py"
    )


def test_a_library_node_repointed_without_a_new_lock_is_normalised_again(
    tmp_path: Path,
) -> None:
    """The lock's digest with its library nodes' ids normalised depends on the mapping in
    pyproject.toml too: a library re-pointed to another node, the lock untouched, gives the
    digest a check without any cache gives."""
    nodes = tmp_path / "nodes"
    library = nodes / "libnode1" / "code" / "features"
    write(library / "pyproject.toml", '[project]\nname = "features"\nversion = "0.1"\n')
    write(library / "features.py", "X = 1\n")
    folder = NodeFolder(nodes / "usernod1")
    source = '[tool.uv.sources]\nfeatures = { path = "../../libnode1/code/features" }\n'
    project = '[project]\nname = "n"\nversion = "0"\ndependencies = ["features"]\n' + source
    write(folder.code / "main.py", "import features\n")
    write(
        folder.pyproject, project + '[tool.nodepipe]\nlibrary-nodes = { features = "libnode1" }\n'
    )
    lock = (
        '[[package]]\nname = "features"\nsource = { editable = "../../libnode1/code/features" }\n'
    )
    write(folder.lock, "version = 1\n" + lock)
    check(folder)
    write(
        folder.pyproject, project + '[tool.nodepipe]\nlibrary-nodes = { features = "libnode2" }\n'
    )
    fresh = fingerprint_node(folder, {}, cache_file=None)
    assert check(folder).lock_digest == fresh.lock_digest


def test_a_cache_inside_the_tree_is_not_part_of_it(node: NodeFolder) -> None:
    inside = node.code / ".hash-cache.json"
    first = fingerprint_node(node, {}, cache_file=inside)
    assert inside.exists()
    write(node.code / "..hash-cache.json.k2j4.tmp", "x")  # as a crashed save leaves it
    assert fingerprint_node(node, {}, cache_file=inside).digest == first.digest
    assert ".hash-cache.json" not in first.code


def test_symlinks_to_files_and_folders_are_followed_and_hashed(
    node: NodeFolder, tmp_path: Path
) -> None:
    """Issue 14, finding 1: an edit in a folder symlinked into code/ makes the node stale."""
    shared = tmp_path / "shared"
    write(shared / "helpers.py", "H = 1\n")
    write(shared / "deeper" / "io.py", "IO = 1\n")
    (node.code / "helpers.py").symlink_to(shared / "helpers.py")
    (node.code / "shared").symlink_to(shared, target_is_directory=True)
    (shared / "loop").symlink_to(shared, target_is_directory=True)  # a cycle is not followed
    before = check(node)
    assert before.code["helpers.py"] == sha256_file(shared / "helpers.py")
    assert before.code["shared/deeper/io.py"] == file_digests.sha256_file(
        shared / "deeper" / "io.py"
    )
    write(shared / "deeper" / "io.py", "IO = 2\n", age=False)
    assert explain(before, check(node)) == ["code changed: shared/deeper/io.py"]
    write(shared / "helpers.py", "H = 2\n", age=False)
    assert "code changed: helpers.py, shared/deeper/io.py, shared/helpers.py" in explain(
        before, check(node)
    )


def test_outputs_fingerprint_follows_names_and_contents(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert fingerprint_outputs(data) == fingerprint_outputs(tmp_path / "also-missing")
    write(data / "a.csv", "1\n")
    first = fingerprint_outputs(data, cache_file=tmp_path / "cache.json")
    assert fingerprint_outputs(data, cache_file=tmp_path / "cache.json") == first
    assert fingerprint_outputs(data) == first
    (data / "a.csv").rename(data / "b.csv")
    renamed = fingerprint_outputs(data, cache_file=tmp_path / "cache.json")
    write(data / "b.csv", "2\n", age=False)
    edited = fingerprint_outputs(data, cache_file=tmp_path / "cache.json")
    assert len({first, renamed, edited}) == 3


def test_one_cache_file_serves_code_and_outputs(node: NodeFolder, reads: list[str]) -> None:
    write(node.data / "out.csv", "1,2\n")
    check(node)
    fingerprint_outputs(node.data, cache_file=cache_of(node))
    reads.clear()
    check(node)
    fingerprint_outputs(node.data, cache_file=cache_of(node))
    assert reads == []


def test_locked_packages_reads_uv_lock() -> None:
    text = """
[[package]]
name = "numpy"
version = "1.26.4"

[[package]]
name = "numpy"
version = "2.1.0"

[[package]]
name = "mylib"
version = "0.3.0"
source = { git = "https://example.org/mylib?rev=main#0123456789abcdef" }
"""
    assert locked_packages(text) == {"mylib": "0.3.0 (git 0123456)", "numpy": "1.26.4 | 2.1.0"}
    assert locked_packages("not = [toml") == {}
    assert locked_packages(b"") == {}


def test_linked_bundle_code_counts_as_code_and_is_named_in_reasons(tmp_path: Path) -> None:
    """A node linking a lib hashes its files as ``lib::file``; a settled check still sees a
    lib edit (the lib's stat state is part of what it remembers)."""
    from nodepipe.workspace.bundle_libs import write_links

    folder = NodeFolder(tmp_path / "nodes" / "n2de3d4e")
    folder.make_output_dirs()
    write(folder.code / "main.py", "import features\n")
    lib = tmp_path / "libs" / "2b3c4d5e"
    write(lib / "features.py", "A = 1\n")
    write(lib / "__pycache__" / "features.cpython-311.pyc", "junk")
    plain = check(folder)
    write_links(folder, {"lib": lib.name})
    linked = check(folder)
    assert sorted(linked.code) == ["lib::features.py", "main.py"]
    assert explain(plain, linked) == ["shared code added: lib (features.py)"]
    assert check(folder) == linked  # settled: remembered
    write(lib / "features.py", "A = 22\n")
    changed = check(folder)
    assert explain(linked, changed) == ["shared code changed: lib (features.py)"]
    assert check(folder) == changed  # settled: remembered
    write_links(folder, {"other": lib.name})  # the same lib under another name
    assert sorted(check(folder).code) == ["main.py", "other::features.py"]
    write_links(folder, {})
    assert explain(linked, check(folder)) == ["shared code removed: lib (features.py)"]


def test_settled_fingerprints_are_remembered_for_every_folder_of_a_large_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-lived process checking more node folders than a fixed-size cache holds (4,096)
    still only scans each settled folder again: one remembered fingerprint per folder."""
    folders = []
    for i in range(4_200):
        folder = NodeFolder(tmp_path / "nodes" / f"n{i:07d}")
        write(folder.code / "main.py", f"print({i})\n")
        folders.append(folder)
    for _ in range(2):  # the first check writes each hash cache; the second remembers
        for folder in folders:
            fingerprint_node(folder, {}, cache_file=folder.fingerprint_cache)
    hashed = []
    real = fp._fingerprint_tree
    monkeypatch.setattr(fp, "_fingerprint_tree", lambda *a: hashed.append(a) or real(*a))
    for folder in folders:
        fingerprint_node(folder, {}, cache_file=folder.fingerprint_cache)
    assert hashed == []
