"""An include update never loses what was edited here: with the real CLI and a local bundle.

Each node an include installs records what it installed (``<node>/.included-code``). An update
that would replace the code of a node edited since (its code, its parameters) is refused with
nothing changed, naming the node and files, unless ``--replace-edits``, which first copies the
edited code to ``<node>/undone-edits/include-NS.<8 hex>/``. A node with no record (included
before records were written) cannot be told: its code is copied the same way, and the update
goes on. An unedited node is replaced as it always was, and nothing is copied.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support.locked_bundles import APPEND_INPUTS, USES_LIB, make_node_template, write_bundle

NODEPIPE = str(Path(sys.executable).with_name("nodepipe"))
FEATURES = """\
format = 1
[pipeline]
name = "features"
[inputs]
raw = ["clean"]
[nodes.clean]
[nodes.scale]
[[edges]]
from = "clean"
to = "scale"
slot = "01"
"""
EDIT = "# my own tweak\n"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_node_template(tmp_path_factory.mktemp("template"))


def np(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    env["NODEPIPE_FORK_SERVER"] = "0"
    return subprocess.run(
        [NODEPIPE, "-w", str(root / "ws"), *argv],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def included(tmp_path: Path, namespace: str = "feat") -> Path:
    """A workspace ``ws`` in ``tmp_path`` whose ``alpha`` includes ``library/features`` as
    ``namespace``, its input ``raw`` fed by ``prep``; ``tmp_path``."""
    ok(np(tmp_path, "init", str(tmp_path / "ws")))
    ok(np(tmp_path, "pipeline", "new", "alpha"))
    ok(np(tmp_path, "node", "new", "alpha", "--tag", "prep"))
    argv = ("pipeline", "include", "alpha", "library/features", "--as", namespace)
    ok(np(tmp_path, *argv, "--input", "raw=prep"))
    return tmp_path


@pytest.fixture
def root(tmp_path: Path, template: Path) -> Path:
    """``library/features`` (clean → scale) included in ``alpha`` as ``feat``, fed by ``prep``."""
    write_bundle(
        tmp_path / "library" / "features",
        FEATURES,
        {"nodes/clean": APPEND_INPUTS, "nodes/scale": APPEND_INPUTS},
        template,
    )
    return included(tmp_path)


def node_dir(root: Path, tag: str) -> Path:
    return Path(ok(np(root, "node", "path", tag, "-p", "alpha")).strip())


def change_library(root: Path) -> None:
    main = root / "library" / "features" / "nodes" / "clean" / "code" / "main.py"
    main.write_text(main.read_text() + "# v2 of the library\n")


def edit_by_hand(root: Path, clean: Path, code: bool = True) -> None:
    if code:
        main = clean / "code" / "main.py"
        main.write_text(main.read_text() + EDIT)
    ok(np(root, "node", "params", "feat.clean", "-p", "alpha", "--set", "threshold=0.9"))


def tree(root: Path) -> dict[str, bytes]:
    """Every file of the workspace but its store (compared through the CLI) and caches."""
    ws = root / "ws"
    return {
        p.relative_to(ws).as_posix(): p.read_bytes()
        for p in sorted(ws.rglob("*"))
        if p.is_file()
        and ".venv" not in p.parts
        and not p.relative_to(ws).as_posix().startswith(".nodepipe/")
        and p.name != ".fingerprint-cache.json"
    }


UPDATE = ("pipeline", "include", "alpha", "--update", "feat")


def test_an_update_refuses_to_replace_a_node_edited_here_and_changes_nothing(root: Path) -> None:
    clean = node_dir(root, "feat.clean")
    edit_by_hand(root, clean)
    change_library(root)
    before = tree(root), ok(np(root, "pipeline", "includes", "alpha", "--json"))
    status = ok(np(root, "status", "alpha"))

    refused = np(root, *UPDATE)

    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "feat.clean (main.py, params.yaml)" in refused.stderr
    assert "nothing was changed" in refused.stderr
    assert "nodepipe node duplicate" in refused.stderr
    assert "--replace-edits" in refused.stderr
    assert (tree(root), ok(np(root, "pipeline", "includes", "alpha", "--json"))) == before
    assert ok(np(root, "status", "alpha")) == status
    assert (clean / "code" / "main.py").read_text().endswith(EDIT)
    assert "threshold: 0.9" in (clean / "code" / "params.yaml").read_text()


def test_replace_edits_replaces_them_after_keeping_them_in_undone_edits(root: Path) -> None:
    clean = node_dir(root, "feat.clean")
    edit_by_hand(root, clean)
    edited = {p.name: p.read_bytes() for p in (clean / "code").iterdir() if p.is_file()}
    change_library(root)

    out = ok(np(root, *UPDATE, "--replace-edits"))

    kept = list((clean / "undone-edits").iterdir())
    assert [p.name[: len("include-feat.")] for p in kept] == ["include-feat."]
    assert len(kept[0].name) == len("include-feat.") + 8
    assert f"kept the code of feat.clean in {kept[0]}" in out
    assert "edits were replaced" in out and "changed (now stale): feat.clean" in out
    assert {p.name: p.read_bytes() for p in kept[0].iterdir() if p.is_file()} == edited
    main = (clean / "code" / "main.py").read_text()
    assert main.endswith("# v2 of the library\n") and EDIT not in main
    assert "threshold" not in (clean / "code" / "params.yaml").read_text()
    assert "is up to date" in ok(np(root, *UPDATE))  # the new code is recorded: no edit


def test_an_unedited_node_is_replaced_without_a_copy_and_its_new_code_recorded(
    root: Path,
) -> None:
    clean, scale = node_dir(root, "feat.clean"), node_dir(root, "feat.scale")
    assert (clean / ".included-code").is_file() and (scale / ".included-code").is_file()
    change_library(root)

    out = ok(np(root, *UPDATE))

    assert "changed (now stale): feat.clean" in out and "kept" not in out
    assert not (clean / "undone-edits").exists() and not (scale / "undone-edits").exists()
    assert (clean / "code" / "main.py").read_text().endswith("# v2 of the library\n")
    # what the update installed is recorded: an edit made after it is told apart
    edit_by_hand(root, clean)
    change_library(root)
    refused = np(root, *UPDATE)
    assert refused.returncode == 4 and "feat.clean" in refused.stderr


def test_a_node_included_before_records_existed_gets_its_code_copied(root: Path) -> None:
    clean = node_dir(root, "feat.clean")
    for folder in (root / "ws" / "nodes").iterdir():
        (folder / ".included-code").unlink(missing_ok=True)  # as an include made before
    edit_by_hand(root, clean)
    edited = (clean / "code" / "main.py").read_bytes()
    change_library(root)

    out = ok(np(root, *UPDATE))

    (kept,) = (clean / "undone-edits").iterdir()
    assert f"kept the code of feat.clean in {kept}" in out
    assert "cannot be told" in out
    assert (kept / "main.py").read_bytes() == edited
    assert (clean / ".included-code").is_file()
    assert not (node_dir(root, "feat.scale") / "undone-edits").exists()  # not replaced


def test_a_parameter_edit_alone_counts_as_an_edit(root: Path) -> None:
    clean = node_dir(root, "feat.clean")
    edit_by_hand(root, clean, code=False)
    change_library(root)
    before = tree(root)

    refused = np(root, *UPDATE)

    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "feat.clean (params.yaml)" in refused.stderr
    assert tree(root) == before


def test_edits_the_run_fingerprint_ignores_count_and_are_kept(root: Path) -> None:
    """A comment in params.yaml (parameters are hashed parsed), a ``.git/`` folder and an
    ``*.egg-info`` (left out of the fingerprint) and a mode change are edits too."""
    clean = node_dir(root, "feat.clean")
    code = clean / "code"
    params = code / "params.yaml"
    params.write_text("# tuned on 2026 data\n" + params.read_text())
    (code / ".git").mkdir()
    (code / ".git" / "HEAD").write_text("ref: refs/heads/mine\n")
    (code / "notes.egg-info").write_text("mine\n")
    (code / "main.py").chmod(0o755)
    change_library(root)
    before = tree(root)

    refused = np(root, *UPDATE)

    assert refused.returncode == 4, refused.stdout + refused.stderr
    named = ".git/HEAD, main.py, notes.egg-info, params.yaml"
    assert f"feat.clean ({named})" in refused.stderr
    assert tree(root) == before

    out = ok(np(root, *UPDATE, "--replace-edits"))

    (kept,) = (clean / "undone-edits").iterdir()
    assert f"kept the code of feat.clean in {kept}" in out
    assert (kept / ".git" / "HEAD").read_text() == "ref: refs/heads/mine\n"
    assert (kept / "notes.egg-info").read_text() == "mine\n"
    assert (kept / "params.yaml").read_text().startswith("# tuned on 2026 data\n")
    assert (kept / "main.py").stat().st_mode & 0o111
    assert not (code / ".git").exists() and not (code / "notes.egg-info").exists()


def test_a_record_of_the_previous_format_counts_as_none(root: Path) -> None:
    clean = node_dir(root, "feat.clean")
    (clean / ".included-code").write_text('{"files": {}, "params.yaml": "x", "uv.lock": "y"}\n')
    change_library(root)

    out = ok(np(root, *UPDATE))

    (kept,) = (clean / "undone-edits").iterdir()
    assert f"kept the code of feat.clean in {kept}" in out and "cannot be told" in out
    assert '"format": 2' in (clean / ".included-code").read_text()


def drop_scale(root: Path) -> None:
    toml = root / "library" / "features" / "pipeline.toml"
    text = toml.read_text().replace("[nodes.scale]\n", "")
    toml.write_text(text.split("[[edges]]")[0])


def test_a_dropped_node_edited_here_is_deleted_only_with_replace_edits_after_a_copy(
    root: Path,
) -> None:
    scale = node_dir(root, "feat.scale")
    main = scale / "code" / "main.py"
    main.write_text(main.read_text() + EDIT)
    edited = main.read_bytes()
    drop_scale(root)
    before = tree(root)

    refused = np(root, *UPDATE, "--yes")

    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "feat.scale (dropped by the bundle, edited: main.py)" in refused.stderr
    assert tree(root) == before

    out = ok(np(root, *UPDATE, "--yes", "--replace-edits"))

    (kept,) = (root / "ws" / ".nodepipe" / "undone-edits").iterdir()
    assert kept.name.startswith("include-feat.scale.") and len(kept.name) == 27
    assert f"kept the code of feat.scale in {kept}" in out and "dropped" in out
    assert (kept / "main.py").read_bytes() == edited
    assert "removed: feat.scale" in out and not scale.exists()


def test_an_unedited_dropped_node_is_deleted_without_a_copy(root: Path) -> None:
    scale = node_dir(root, "feat.scale")
    drop_scale(root)

    out = ok(np(root, *UPDATE, "--yes"))

    assert "removed: feat.scale" in out and "kept" not in out and not scale.exists()
    assert not (root / "ws" / ".nodepipe" / "undone-edits").exists()


HELPERS = "def mark(t):\n    return t.upper() + '!'\n"
WITH_LIB = FEATURES.replace('name = "features"\n', 'name = "features"\npy-dir = "lib"\n')


@pytest.fixture
def lib_root(tmp_path: Path, template: Path) -> Path:
    """As ``root``, the bundle's ``clean`` importing its ``lib/helpers.py`` (``libs/<id>/``)."""
    write_bundle(
        tmp_path / "library" / "features",
        WITH_LIB,
        {"nodes/clean": USES_LIB, "nodes/scale": APPEND_INPUTS},
        template,
        {"lib/helpers.py": HELPERS},
    )
    return included(tmp_path)


def test_an_edit_of_the_bundle_code_under_libs_is_kept(lib_root: Path) -> None:
    root = lib_root
    (lib,) = (root / "ws" / "libs").iterdir()
    (lib / "helpers.py").write_text(HELPERS + EDIT)
    change_library(root)  # the bundle changes clean's main.py, not its lib
    before = tree(root)

    refused = np(root, *UPDATE)

    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert f"libs/{lib.name} (bundle code, edited: helpers.py)" in refused.stderr
    assert tree(root) == before

    out = ok(np(root, *UPDATE, "--replace-edits"))

    (kept,) = (root / "ws" / ".nodepipe" / "undone-edits").iterdir()
    assert kept.name.startswith(f"include-feat.lib-{lib.name}.")
    assert f"kept the code of libs/{lib.name} in {kept}" in out
    assert (kept / "helpers.py").read_text() == HELPERS + EDIT


LONG = "\U0001f980" * 64
"""A namespace of 64 emoji: 256 bytes in UTF-8, a tag of 70 characters with its key."""


def test_copies_kept_for_a_namespace_of_64_emoji_have_names_a_folder_may_have(
    tmp_path: Path, template: Path
) -> None:
    """``include-NS.<8 hex>``, ``include-NS.key.<8 hex>`` and ``include-NS.lib-ID.<8 hex>``
    are longer than a folder's name may be (255 bytes) for such a namespace: the update with
    ``--replace-edits`` stopped with 'File name too long' (exit 9). Each kept copy is now
    named with its first 200 bytes, ``-`` and 12 hex (as bundle export names a node folder),
    whole, and the update goes on."""
    write_bundle(
        tmp_path / "library" / "features",
        WITH_LIB,
        {"nodes/clean": USES_LIB, "nodes/scale": APPEND_INPUTS},
        template,
        {"lib/helpers.py": HELPERS},
    )
    root = included(tmp_path, LONG)
    clean, scale = node_dir(root, f"{LONG}.clean"), node_dir(root, f"{LONG}.scale")
    (lib,) = (root / "ws" / "libs").iterdir()
    for file in (clean / "code" / "main.py", scale / "code" / "main.py", lib / "helpers.py"):
        file.write_text(file.read_text() + EDIT)
    change_library(root)
    drop_scale(root)

    out = ok(np(root, "pipeline", "include", "alpha", "--update", LONG, "--yes", "--replace-edits"))

    (in_node,) = (clean / "undone-edits").iterdir()
    in_workspace = sorted((root / "ws" / ".nodepipe" / "undone-edits").iterdir())
    assert len(in_workspace) == 2  # scale's code and the lib
    for kept in (in_node, *in_workspace):
        assert len(kept.name.encode()) <= 255 and kept.name.startswith(f"include-{LONG[:40]}")
        assert re.fullmatch(r".*-[0-9a-f]{12}", kept.name), kept.name
        assert f"in {kept}" in out
    edited = [kept / "main.py" for kept in (in_node, *in_workspace)] + [
        kept / "helpers.py" for kept in in_workspace
    ]
    assert sum(path.is_file() and path.read_text().endswith(EDIT) for path in edited) == 3
    assert "removed: " in out and not scale.exists()
    assert (clean / "code" / "main.py").read_text().endswith("# v2 of the library\n")


def test_bundle_code_the_bundle_changed_is_replaced_without_a_copy(lib_root: Path) -> None:
    root = lib_root
    helpers = root / "library" / "features" / "lib" / "helpers.py"
    helpers.write_text(HELPERS + "# v2\n")

    out = ok(np(root, *UPDATE))

    assert "kept" not in out
    assert not (root / "ws" / ".nodepipe" / "undone-edits").exists()
    (lib,) = (root / "ws" / "libs").iterdir()
    assert (lib / "helpers.py").read_text() == HELPERS + "# v2\n"
    assert "is up to date" in ok(np(root, *UPDATE))


def test_a_lock_nodepipe_relocks_before_a_run_is_not_an_edit(
    tmp_path: Path, template: Path
) -> None:
    bundle = write_bundle(
        tmp_path / "library" / "features",
        FEATURES,
        {"nodes/clean": APPEND_INPUTS, "nodes/scale": APPEND_INPUTS},
        template,
    )
    pyproject = bundle / "nodes" / "clean" / "code" / "pyproject.toml"
    text = pyproject.read_text()
    assert 'requires-python = ">=3.11"' in text
    pyproject.write_text(text.replace('requires-python = ">=3.11"', 'requires-python = ">=3.10"'))
    ok(np(tmp_path, "init", str(tmp_path / "ws")))
    ok(np(tmp_path, "pipeline", "new", "alpha"))
    ok(np(tmp_path, "node", "new", "alpha", "--tag", "prep"))
    argv = ("pipeline", "include", "alpha", "library/features", "--as", "feat")
    ok(np(tmp_path, *argv, "--input", "raw=prep"))
    clean = node_dir(tmp_path, "feat.clean")
    lock = (clean / "code" / "uv.lock").read_bytes()
    np(tmp_path, "run", "alpha")  # prep writes nothing: clean fails, after its relock
    assert (clean / "code" / "uv.lock").read_bytes() != lock  # relocked by nodepipe
    change_library(tmp_path)

    out = ok(np(tmp_path, *UPDATE))

    assert "changed (now stale): feat.clean" in out and "kept" not in out
