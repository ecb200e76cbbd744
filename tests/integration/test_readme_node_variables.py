"""The README's "Node environment variables" table is what a node process really gets.

A real run (real uv, a real process) of a node that writes down its environment: the
``NODEPIPE_*`` variables it sees are the table's rows, no more and no fewer, each with the value
the table says; the process starts in ``code/`` with the node's interpreter first on ``PATH``;
the context file holds the keys the table shows. The ``nodepipe_node`` functions the README
lists are the helper's public functions.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nodepipe
from nodepipe.runtime import nodepipe_node

README = Path(__file__).resolve().parents[2] / "README.md"

DUMP = """\
import json, os
import nodepipe_node as node
seen = {"environment": dict(os.environ), "cwd": os.getcwd()}
(node.data_dir() / "seen.json").write_text(json.dumps(seen))
"""


def section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("### Node environment variables\n", 1)[1].split("\n### ", 1)[0]


def table() -> dict[str, str]:
    """Variable → what the README says its value is."""
    rows = re.findall(r"^\| `(NODEPIPE_[A-Z_]+)` \| (.+) \|$", section(), re.M)
    return dict(rows)


def test_a_node_gets_the_variables_the_readme_lists_with_the_values_it_says(
    lab: nodepipe.Workspace,
) -> None:
    lab.pipelines.new("baseline")
    lab.nodes.new("baseline", "load")
    lab.nodes.new("baseline", "clean")
    lab.edges.connect("load", "clean", pipeline="baseline")
    lab.nodes.set_params("clean", ["threshold=0.5"], pipeline="baseline")
    folder = lab.nodes.path("clean", pipeline="baseline")
    (folder / "code" / "main.py").write_text(DUMP)

    result = lab.runs.run(nodepipe.RunRequest("baseline"))
    assert result.finished is not None and result.finished.failed == 0

    seen = json.loads((folder / "data" / "seen.json").read_text())
    environment: dict[str, str] = seen["environment"]
    given = {name for name in environment if name.startswith("NODEPIPE_")}
    assert given == set(table())

    clean = lab.nodes.get("clean", pipeline="baseline")
    assert environment["NODEPIPE_NODE_ID"] == clean.id
    assert Path(environment["NODEPIPE_NODE_DIR"]) == folder
    assert Path(environment["NODEPIPE_REPORTS_DIR"]) == folder / "reports"
    assert environment["NODEPIPE_RUN_ID"] == result.run_id
    staging = Path(environment["NODEPIPE_DATA_DIR"])
    assert staging != folder / "data" and not staging.exists()  # it replaced data/
    assert Path(seen["cwd"]) == folder / "code"
    first = environment["PATH"].split(os.pathsep)[0]
    assert Path(first) == folder / "code" / ".venv" / "bin"

    context_file = Path(environment["NODEPIPE_CONTEXT"])
    assert context_file == folder / "logs" / "context.json"
    context = json.loads(context_file.read_text())
    assert set(context) == {"node", "params", "parents"}
    assert context["node"] == {"id": clean.id, "tag": "clean"}
    assert context["params"] == {"threshold": 0.5}
    load = lab.nodes.get("load", pipeline="baseline")
    (parent,) = context["parents"]
    assert set(parent) == {"slot", "id", "tag", "data_dir"}
    assert (parent["slot"], parent["id"], parent["tag"]) == ("01", load.id, "load")


def test_the_readme_lists_the_helpers_functions() -> None:
    listed = set(re.findall(r"`node\.([a-z_]+)\(", section()))
    public = {
        name
        for name in nodepipe_node.__all__
        if callable(getattr(nodepipe_node, name)) and name[0].islower()
    }
    assert listed == public
