"""A launch trusts the kept node checks only as far as a ``status`` does (``check_cache.
kept_check``): a node whose files are all as its kept check read them starts without being
fingerprinted again in full, and any edit made after the run was planned, while the node
waited for its parent, is recorded as it launched, even one a size-and-mtime look would miss.

The workspace settles past the racy window after its first run, so every node is in the check
cache when the second run is planned; the source node then edits its children's code.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

import nodepipe
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace import fingerprint as fingerprint_module
from nodepipe.workspace.file_digests import RACY_WINDOW_NS

CHILDREN = ["same_size", "replaced", "added", "untouched"]
WRITES_ITS_SOURCE = """\
import pathlib, nodepipe_node as node
# mark A
(node.data_dir() / "source.txt").write_text(pathlib.Path(__file__).read_text())
"""


def _edits(code: dict[str, Path]) -> str:
    """The source node's main.py: edits its children's code as they wait for it."""
    return f"""\
import os, pathlib, nodepipe_node as node
code = {{k: pathlib.Path(v) for k, v in { ({k: str(v) for k, v in code.items()})!r}.items()}}
def put_back(path, before):
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
main = code["same_size"] / "main.py"
before = main.stat()
with main.open("r+") as file:  # in place: same size, same inode, mtime put back
    text = file.read().replace("mark A", "mark B")
    file.seek(0)
    file.write(text)
put_back(main, before)
main = code["replaced"] / "main.py"
before = main.stat()
aside = main.with_name("new.tmp")
aside.write_text(main.read_text().replace("mark A", "mark C"))
put_back(aside, before)
aside.replace(main)  # another file of the same size and mtime
(code["added"] / "helper.py").write_text("X = 1\\n")
(node.data_dir() / "done.txt").write_text("done")
"""


@pytest.fixture
def ws(tmp_path: Path) -> nodepipe.Workspace:
    lab = nodepipe.init(tmp_path / "lab")
    lab.shared_envs.new("trivial")
    lab.pipelines.new("p")
    lab.nodes.new_many("p", ["source", *CHILDREN], shared_env="trivial")
    for child in CHILDREN:
        (code_of(lab, child) / "main.py").write_text(WRITES_ITS_SOURCE)
        lab.edges.connect("source", child, "p")
    (code_of(lab, "source") / "main.py").write_text("pass\n")
    lab.runs.run(RunRequest("p"))
    (code_of(lab, "source") / "main.py").write_text(
        _edits({child: code_of(lab, child) for child in CHILDREN})
    )
    time.sleep(RACY_WINDOW_NS / 1e9 + 0.5)  # everything settles: the next status keeps it all
    return lab


def code_of(ws: nodepipe.Workspace, tag: str) -> Path:
    return ws.nodes.path(tag) / "code"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_edits_made_while_a_node_waits_are_recorded_whatever_the_kept_checks_say(
    ws: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.runs.status("p")  # planned from the kept checks, as a new process would
    in_full: list[str] = []
    real = fingerprint_module.fingerprint_and_scope

    def counting(folder, *args, **kwargs):  # type: ignore[no-untyped-def]
        in_full.append(folder.path.name)
        return real(folder, *args, **kwargs)

    monkeypatch.setattr(fingerprint_module, "fingerprint_and_scope", counting)
    result = ws.runs.run(RunRequest("p", force=True, jobs=1))
    monkeypatch.undo()
    assert result.finished is not None and result.finished.failed == 0
    for child, mark in [("same_size", "mark B"), ("replaced", "mark C"), ("added", "mark A")]:
        main = code_of(ws, child) / "main.py"
        ran = (ws.nodes.path(child) / "data" / "source.txt").read_text()
        assert mark in ran, child
        past = ws.run_envs.show(child, result.run_id or "")
        assert past.files["main.py"] == sha256(main), child
    assert "helper.py" in ws.run_envs.show("added", result.run_id or "").files
    status = {s.item.node.tag: s for s in ws.runs.status("p").nodes.values()}
    assert all(not status[child].reasons for child in CHILDREN), {
        c: status[c].reasons for c in CHILDREN
    }
    ids = {tag: ws.nodes.path(tag).name for tag in ["source", *CHILDREN]}
    assert ids["untouched"] not in in_full  # vouched for: not read again at its launch
    assert {ids["same_size"], ids["replaced"], ids["added"]} <= set(in_full)
