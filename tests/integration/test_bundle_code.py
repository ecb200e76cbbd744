"""Bundle code in the workspace: a lib linked from nodes is on their import path (not on
nodepipe's), its files are in their fingerprints, and editing one makes exactly those nodes
stale, naming the file."""

from __future__ import annotations

import sys
from pathlib import Path

import nodepipe
from nodepipe import NodeState
from nodepipe.domain.ids import new_id
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace.bundle_libs import libs_dir_of, read_links, write_links

USES_LIB = """\
import features
import nodepipe_node as node
(node.data_dir() / "out.txt").write_text(features.double(node.tag()))
"""


def make_lib(ws: nodepipe.Workspace) -> Path:
    lib = ws.root / "libs" / new_id()
    lib.mkdir(parents=True)
    (lib / "features.py").write_text("def double(text):\n    return text * 2\n")
    (lib / "helpers").mkdir()
    (lib / "helpers" / "__init__.py").write_text("")
    return lib


def link(ws: nodepipe.Workspace, tag: str, lib: Path) -> None:
    folder = ws.context.layout.node_folder(ws.nodes.get(tag).id)
    write_links(folder, {"lib": lib.name})
    (folder.code / "main.py").write_text(USES_LIB)


def reasons(ws: nodepipe.Workspace) -> dict[str, tuple[NodeState, tuple[str, ...]]]:
    status = ws.runs.status("baseline")
    return {s.item.node.tag: (s.state, s.reasons) for s in status.nodes.values()}


def test_linked_nodes_import_the_lib_and_go_stale_naming_its_file(
    chain: nodepipe.Workspace,
) -> None:
    lib = make_lib(chain)
    link(chain, "load", lib)
    link(chain, "plot", lib)
    folder = chain.context.layout.node_folder(chain.nodes.get("load").id)
    assert libs_dir_of(folder) == chain.root / "libs"
    assert [(x.name, x.path) for x in read_links(folder)] == [("lib", lib)]
    assert str(lib) not in sys.path

    first = chain.runs.run(RunRequest("baseline"))
    assert first.finished is not None and first.finished.completed == 3
    assert (chain.nodes.path("load") / "data" / "out.txt").read_text() == "loadload"

    (lib / "features.py").write_text("def double(text):\n    return text + text + '!'\n")
    why = reasons(chain)
    assert why["load"] == (NodeState.STALE, ("shared code changed: lib (features.py)",))
    assert why["plot"] == (
        NodeState.STALE,
        ("shared code changed: lib (features.py)", "parent 01 (clean) is stale"),
    )
    assert why["clean"] == (NodeState.STALE, ("parent 01 (load) is stale",))

    (lib / "helpers" / "io.py").write_text("")
    assert "shared code added: lib (helpers/io.py)" in reasons(chain)["load"][1]

    chain.runs.run(RunRequest("baseline"))
    assert (chain.nodes.path("plot") / "data" / "out.txt").read_text() == "plotplot!"
    assert all(state is NodeState.COMPLETED for state, _ in reasons(chain).values())


def test_a_duplicated_node_keeps_its_link(chain: nodepipe.Workspace) -> None:
    lib = make_lib(chain)
    link(chain, "load", lib)
    copy = chain.node_copies.duplicate(["load"], "baseline")[0]
    links = read_links(chain.context.layout.node_folder(copy.id))
    assert [x.lib_id for x in links] == [lib.name]


def test_a_link_to_anything_but_a_lib_is_ignored(chain: nodepipe.Workspace) -> None:
    folder = chain.context.layout.node_folder(chain.nodes.get("load").id)
    (folder.path / "links.toml").write_text('[libs]\nlib = "../../etc"\nx = 3\n')
    assert read_links(folder) == ()
    (folder.path / "links.toml").write_text("[libs\n")
    assert read_links(folder) == ()
