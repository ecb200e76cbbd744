"""Facts about node environments kept across processes (``workspace.kept_facts``): a run in a
new process does not read a node's sync marker, hash its lock or read its ``pyvenv.cfg`` and
code again while they stat as they did, and no change a user can make is hidden by a kept
fact: each change below is made after the facts file holds the node, and a new ``nodepipe
run`` process must sync again, run the new code and record what it really ran with.

One workspace for the module (real uv, offline, tiny local wheels; each test changes its own
node), run once, left to settle past the racy window and run again in a new process, which
keeps the facts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nodepipe
from nodepipe.workspace.file_digests import RACY_WINDOW_NS
from nodepipe.workspace.kept_facts import facts_file
from support.other_user import OtherUser
from support.wheels import toy_index

CLI = str(Path(sys.executable).parent / "nodepipe")
SETTLE = RACY_WINDOW_NS / 1e9 + 0.5
NODES = ["kept", "edited", "params", "relocked", "touched", "gone", "swapped", "python", "foreign"]
NODES += ["settings", "inline", "context"]
RUN_FLAGS = ("--force", "--json", "-j", "2")
USES_TOYPKG = "import toypkg\nprint('toypkg', toypkg.VERSION)\n"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[nodepipe.Workspace]:
    base = tmp_path_factory.mktemp("facts")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UV_FIND_LINKS", str(toy_index(base / "wheels")))
        patch.setenv("UV_OFFLINE", "1")
        patch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
        patch.delenv("NODEPIPE_WORKSPACE", raising=False)
        lab = nodepipe.init(base / "lab")
        lab.pipelines.new("p")
        for tag in [*NODES, "donor"]:
            lab.nodes.new("p", tag)
            (code_of(lab, tag) / "main.py").write_text("print('ran')\n")
        lab.envs.add("donor", ["toypkg==1.0"])
        run(lab)  # the first run syncs every environment
        time.sleep(SETTLE)  # what it wrote settles: the next process keeps its facts
        run(lab)
        yield lab
        lab.close()


def code_of(ws: nodepipe.Workspace, tag: str) -> Path:
    return ws.nodes.path(tag) / "code"


def run(ws: nodepipe.Workspace, *only: str) -> str:
    """A forced run of ``only`` (every node when none is named) in a new ``nodepipe``
    process: its run id."""
    done = subprocess.run(
        [CLI, "-w", str(ws.root), "run", "p", *only, *(["--only"] if only else []), *RUN_FLAGS],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return str(json.loads(done.stdout.splitlines()[0])["run_id"])


def shard_of(ws: nodepipe.Workspace, tag: str) -> Path:
    """The file the facts about node ``tag`` are kept in."""
    return facts_file(ws.context.layout.state_dir, ws.nodes.path(tag).name)


def facts(ws: nodepipe.Workspace, tag: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(shard_of(ws, tag).read_text())
    return found["facts"]


def fact_of(ws: nodepipe.Workspace, kind: str, tag: str, file: str = "") -> Any:
    """The fact of ``kind`` kept about the node's ``code/`` (or a ``file`` of its folder)."""
    about = ws.nodes.path(tag) / file if file else code_of(ws, tag)
    return facts(ws, tag).get(f"{kind}:{about}")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def log_of(ws: nodepipe.Workspace, tag: str) -> str:
    return (ws.nodes.path(tag) / "logs" / "latest.log").read_text()


def same_size_edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` (as long) in place, with the file's mtime put back."""
    before = path.stat()
    text = path.read_text()
    assert len(old) == len(new) and old in text
    with path.open("r+") as handle:
        handle.write(text.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size


READ = ("lock", "pyvenv", "hashed", "toml", "entry", "context")
COUNTING = textwrap.dedent(
    """
    import sys, tomllib
    import nodepipe
    from nodepipe.envs import node_env
    from nodepipe.execution import run_files
    from nodepipe.services.envs import inline_metadata
    from nodepipe.services.runs.service import RunRequest
    from nodepipe.workspace import objects, run_environment
    read = dict.fromkeys(("lock", "pyvenv", "hashed", "toml", "entry", "context"), 0)
    def counting(name, real):
        def count(*args, **kwargs):
            read[name] += 1
            return real(*args, **kwargs)
        return count
    node_env._lock_identity = counting("lock", node_env._lock_identity)
    run_environment.venv_python_version = counting("pyvenv", run_environment.venv_python_version)
    objects._file_digest = counting("hashed", objects._file_digest)
    tomllib.loads = counting("toml", tomllib.loads)
    inline_metadata.script_requirements = counting("entry", inline_metadata.script_requirements)
    run_files._text_at = counting("context", run_files._text_at)
    ws = nodepipe.open(sys.argv[1])
    ws.runs.run(RunRequest("p", only=[sys.argv[2]], force=True))
    print(read)
    """
)


def reads(ws: nodepipe.Workspace, tag: str) -> dict[str, int]:
    """What a forced run of ``tag`` in a new process reads again: locks hashed, ``pyvenv.cfg``
    files read, code files hashed, TOML files parsed, entry files read for inline metadata,
    context files read."""
    done = subprocess.run(
        [sys.executable, "-c", COUNTING, str(ws.root), tag],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    found: dict[str, int] = eval(done.stdout.strip())  # our own script's dict
    return found


def test_a_run_in_a_new_process_trusts_the_kept_facts(ws: nodepipe.Workspace) -> None:
    assert fact_of(ws, "synced", "kept") is not None
    assert fact_of(ws, "recorded", "kept") is not None
    # nothing read again: no lock hashed, no pyvenv.cfg read, no params.yaml hashed, no
    # pyproject parsed, no main.py read for inline metadata, no context.json read
    assert reads(ws, "kept") == {**dict.fromkeys(READ, 0), "toml": 1}  # nodepipe.toml


def test_code_edited_in_place_is_recorded_and_run(ws: nodepipe.Workspace) -> None:
    main = code_of(ws, "edited") / "main.py"
    same_size_edit(main, "'ran'", "'new'")
    run_id = run(ws, "edited")
    assert ws.run_envs.show("edited", run_id).files["main.py"] == sha256(main)
    assert "new" in log_of(ws, "edited")


def test_params_edited_in_place_are_recorded(ws: nodepipe.Workspace) -> None:
    ws.nodes.set_params("params", ["level=1"])
    time.sleep(SETTLE)
    run(ws, "params")
    time.sleep(SETTLE)
    run(ws, "params")  # kept with level=1
    assert fact_of(ws, "recorded", "params") is not None
    same_size_edit(code_of(ws, "params") / "params.yaml", "level: 1", "level: 7")
    run_id = run(ws, "params")
    past = ws.run_envs.show("params", run_id)
    assert past.params == {"level": 7}
    assert past.files["params.yaml"] == sha256(code_of(ws, "params") / "params.yaml")


def test_a_lock_and_pyproject_changed_by_hand_sync_again(ws: nodepipe.Workspace) -> None:
    """The donor's pyproject and lock (with toypkg) copied over the node's: the next run
    syncs its environment from the new lock and records it."""
    code, donor = code_of(ws, "relocked"), code_of(ws, "donor")
    assert fact_of(ws, "synced", "relocked") is not None
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copyfile(donor / name, code / name)
    (code / "main.py").write_text(USES_TOYPKG)
    run_id = run(ws, "relocked")
    assert "toypkg 1.0" in log_of(ws, "relocked")
    past = ws.run_envs.show("relocked", run_id)
    assert past.locks["uv"] == sha256(code / "uv.lock")
    assert past.packages == {"toypkg": "1.0"}


def test_uv_add_and_a_touched_lock_are_seen(ws: nodepipe.Workspace) -> None:
    code = code_of(ws, "touched")
    assert fact_of(ws, "synced", "touched") is not None
    (code / "uv.lock").touch()
    assert reads(ws, "touched")["lock"] == 1  # read again, not trusted
    assert reads(ws, "touched")["lock"] == 1  # not kept either: touched within the racy window
    ws.envs.add("touched", ["toypkg==1.0"])
    (code / "main.py").write_text(USES_TOYPKG)
    run_id = run(ws, "touched")
    assert "toypkg 1.0" in log_of(ws, "touched")
    assert ws.run_envs.show("touched", run_id).locks["uv"] == sha256(code / "uv.lock")


def test_a_removed_environment_is_made_again(ws: nodepipe.Workspace) -> None:
    venv = code_of(ws, "gone") / ".venv"
    shutil.rmtree(venv)
    run_id = run(ws, "gone")
    assert (venv / "bin" / "python").exists()
    assert ws.run_envs.show("gone", run_id).python.startswith("3.")


def test_an_environment_swapped_for_another_is_synced_again(ws: nodepipe.Workspace) -> None:
    """The donor's environment (toypkg installed, its marker naming the donor's lock) copied
    over the node's: the marker does not name the node's lock, so it is synced again."""
    venv = code_of(ws, "swapped") / ".venv"
    python = venv / "bin" / "python"
    shutil.rmtree(venv)
    shutil.copytree(code_of(ws, "donor") / ".venv", venv, symlinks=True)
    assert subprocess.run([str(python), "-c", "import toypkg"], check=False).returncode == 0
    run(ws, "swapped")
    assert subprocess.run([str(python), "-c", "import toypkg"], check=False).returncode != 0


def test_another_interpreter_is_synced_and_recorded(ws: nodepipe.Workspace) -> None:
    other = "3.12" if not sys.version.startswith("3.12") else "3.11"
    (code_of(ws, "python") / ".python-version").write_text(f"{other}\n")
    run_id = run(ws, "python")
    past = ws.run_envs.show("python", run_id)
    assert past.python.startswith(f"{other}."), past.python
    assert f"python{other}" in past.interpreter or other in past.interpreter


def test_settings_edited_in_place_are_read_again(ws: nodepipe.Workspace) -> None:
    """``[tool.nodepipe] entry`` changed in place (the same size, its mtime put back): the
    pyproject is parsed again and the new entry runs."""
    code = code_of(ws, "settings")
    assert fact_of(ws, "parsed", "settings", "code/pyproject.toml") is not None
    (code / "alt1.py").write_text("print('alternative')\n")
    same_size_edit(code / "pyproject.toml", 'entry = "main.py"', 'entry = "alt1.py"')
    run(ws, "settings")
    assert "alternative" in log_of(ws, "settings")


def test_inline_metadata_added_to_the_entry_is_honoured(ws: nodepipe.Workspace) -> None:
    code = code_of(ws, "inline")
    assert fact_of(ws, "in-line", "inline", "code/main.py") is not None
    script = '# /// script\n# dependencies = ["toypkg==1.0"]\n# ///\n'
    (code / "main.py").write_text(script + USES_TOYPKG)
    run(ws, "inline")
    assert "toypkg 1.0" in log_of(ws, "inline")


def test_a_context_file_changed_in_place_is_written_again(ws: nodepipe.Workspace) -> None:
    context = ws.nodes.path("context") / "logs" / "context.json"
    assert fact_of(ws, "holds", "context", "logs/context.json") is not None
    right = context.read_text()
    same_size_edit(context, '"params"', '"PARAMS"')
    run(ws, "context")
    assert context.read_text() == right


@pytest.fixture
def facts_kept(ws: nodepipe.Workspace) -> Iterator[None]:
    """The facts files put back as they were after a test that replaces one (the tests after
    it, in the same worker, expect their nodes' facts)."""
    files = list((ws.context.layout.state_dir / "cache").glob("node-facts-*.json"))
    before = {file: file.read_bytes() for file in files}
    yield
    for file, text in before.items():
        file.unlink(missing_ok=True)
        file.write_bytes(text)
        file.chmod(0o600)


def forged(ws: nodepipe.Workspace, tag: str) -> str:
    """The facts file with an entry saying the environment of ``tag`` is synced from its lock
    as it stats now, in step with its pyproject: what someone wanting a run on a stale
    environment would write."""
    code = code_of(ws, tag)
    data = json.loads(shard_of(ws, tag).read_text())
    states: list[Any] = [[ws.context.environments.python_for(code)]]
    for path in (code / ".venv" / ".nodepipe-synced", code / "uv.lock", code / "pyproject.toml"):
        found = path.stat()
        states.append([str(path), found.st_mtime_ns, found.st_size, found.st_ino])
        states[-1].append(found.st_ctime_ns)
    data["facts"][f"synced:{code}"] = [states, [True, True, "", ""]]
    return json.dumps(data)


def test_a_facts_file_of_another_user_or_writable_by_others_is_not_trusted(
    ws: nodepipe.Workspace, other: OtherUser, facts_kept: None
) -> None:
    """The node's environment synced from its own lock, then the donor's pyproject and lock
    (toypkg) copied over: a forged file saying it is synced from that lock is trusted as this
    user's own private file (the run does not sync, toypkg is missing), and not when another
    user owns it or others may write it."""
    code, donor, file = code_of(ws, "foreign"), code_of(ws, "donor"), None
    for owner, mode in ((os.geteuid(), 0o600), (other.uid, 0o600), (os.geteuid(), 0o666)):
        for name in ("pyproject.toml", "uv.lock"):
            shutil.copyfile(code_of(ws, "kept") / name, code / name)
        (code / "main.py").write_text("print('ran')\n")
        run(ws, "foreign")  # synced from the plain lock
        for name in ("pyproject.toml", "uv.lock"):
            shutil.copyfile(donor / name, code / name)
        (code / "main.py").write_text(USES_TOYPKG)
        text = forged(ws, "foreign")
        file = shard_of(ws, "foreign")
        file.write_text(text)
        os.chown(file, owner, -1)
        file.chmod(mode)
        done = subprocess.run(
            [CLI, "-w", str(ws.root), "run", "p", "foreign", "--only", "--force"],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if (owner, mode) == (os.geteuid(), 0o600):
            assert done.returncode == 8, "the forgery works if trusted..."
        else:
            assert done.returncode == 0, done.stdout + done.stderr  # ...and is not
            assert "toypkg 1.0" in log_of(ws, "foreign")
    assert file is not None
    time.sleep(SETTLE)
    run(ws, "foreign")  # the next run with a fact to keep writes a file of its own
    assert file.stat().st_uid == os.geteuid() and file.stat().st_mode & 0o777 == 0o600


def test_a_fifo_in_place_of_a_cache_file_holds_nothing_up(
    ws: nodepipe.Workspace, facts_kept: None
) -> None:
    """A FIFO planted where the kept facts or the kept node checks are read (by the workspace's
    owner, for another user who runs there) is not waited on: it is no regular file, so it is
    ignored, and the run checks and records everything as without a cache."""
    cache = ws.context.layout.state_dir / "cache"
    planted = [shard_of(ws, "kept"), cache / f"node-checks-{os.geteuid()}.json"]
    for file in planted:
        file.unlink(missing_ok=True)
        os.mkfifo(file, 0o600)
    try:
        done = subprocess.run(
            [CLI, "-w", str(ws.root), "run", "p", "kept", "--only", *RUN_FLAGS],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,  # before the fix: for ever, blocked opening the FIFO
        )
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        for file in planted:
            if file.is_fifo():
                file.unlink()


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # a write cut short
        lambda text: "{not json",
        lambda text: text.replace('"header":[1,', '"header":[0,'),  # another format
        lambda text: text.replace('"facts":{', '"facts":{"synced:x":5,', 1),
    ],
)
def test_a_damaged_facts_file_is_ignored_and_replaced(
    ws: nodepipe.Workspace, damage: Any, facts_kept: None
) -> None:
    file = shard_of(ws, "kept")
    file.write_text(damage(file.read_text()))
    run(ws, "kept")
    assert "ran" in log_of(ws, "kept")
    assert fact_of(ws, "synced", "kept") is not None  # written again whole


def test_a_fact_read_within_the_racy_window_is_not_kept(ws: nodepipe.Workspace) -> None:
    main = code_of(ws, "edited") / "main.py"
    main.write_text("print('racy')\n")
    run(ws, "edited")
    kept = fact_of(ws, "recorded", "edited")
    found = main.stat()
    now = ["main.py", found.st_size, found.st_mtime_ns]
    assert kept is None or now not in [state[:3] for state in kept[0][3:]]
