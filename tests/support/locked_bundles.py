"""Bundle folders for workspace tests, with real locked nodes: ``pipeline.toml`` text, node
code, bundle code.

Every node gets a real locked project (the pyproject and ``uv.lock`` of a fresh node, locked
offline once per test session), so importing a bundle syncs real environments.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

APPEND_INPUTS = """\
import nodepipe_node as node
text = "".join(
    (p.data_dir / "out.txt").read_text() for p in sorted(node.parents(), key=lambda p: p.slot)
)
(node.data_dir() / "out.txt").write_text(text + node.tag() + str(node.params().get("n", "")) + ";")
"""
"""A node writing what its parents wrote, then its tag and its parameter ``n``."""

USES_LIB = """\
import helpers
import nodepipe_node as node
text = "".join((p.data_dir / "out.txt").read_text() for p in node.parents())
(node.data_dir() / "out.txt").write_text(text + helpers.mark(node.tag()) + ";")
"""
"""A node using ``helpers.mark`` from its bundle's ``lib/``."""


def make_node_template(folder: Path) -> Path:
    """A node's pyproject.toml and uv.lock, made by nodepipe (no dependencies: locks offline)."""
    import nodepipe

    ws = nodepipe.init(folder / "template-ws")
    ws.pipelines.new("t")
    ws.nodes.new("t", "n")
    code = ws.nodes.path("n") / "code"
    template = folder / "node-template"
    template.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copyfile(code / name, template / name)
    ws.close()
    return template


def write_bundle(
    root: Path,
    toml: str,
    nodes: Mapping[str, str],
    template: Path,
    files: Mapping[str, str] | None = None,
) -> Path:
    """A bundle at ``root``: ``toml`` as pipeline.toml; each node folder of ``nodes`` (its path,
    e.g. ``nodes/clean``) with ``main.py`` holding its code; ``files`` any other files."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pipeline.toml").write_text(toml)
    for path, code in nodes.items():
        folder = root / path / "code"
        folder.mkdir(parents=True)
        for name in ("pyproject.toml", "uv.lock"):
            shutil.copyfile(template / name, folder / name)
        (folder / "main.py").write_text(code)
        (folder / "params.yaml").write_text("{}\n")
    for path, text in (files or {}).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


LIBRARY = """\
format = 1
[pipeline]
name = "features"
py-dir = "lib"
[inputs]
raw = ["clean"]
[nodes.clean]
[nodes.scale]
[nodes.old]
[[edges]]
from = "clean"
to = "scale"
slot = "01"
"""
"""The ``features`` library bundle: code in ``lib/``, input ``raw`` taken by ``clean``, and a node
``old`` that an update may remove."""


INCLUDING_FEATURES = """\
format = 1
[pipeline]
name = "alpha"
[nodes.prep]
[includes.features]
source = "../library/features"
inputs = { raw = "prep" }
"""
"""The ``alpha`` project bundle: its node ``prep`` feeds the library at ``../library/features``."""


def features_toml(nodes: Sequence[str]) -> str:
    """pipeline.toml of the small ``features`` library: input ``raw`` taken by ``clean``, and
    the nodes ``nodes`` (no edges)."""
    lines = ["format = 1", "[pipeline]", 'name = "features"', "[inputs]", 'raw = ["clean"]']
    return "\n".join([*lines, *(f"[nodes.{node}]" for node in nodes)]) + "\n"


def alpha_including_features(folder: Path, nodes: Sequence[str] = ("clean",)) -> tuple[Path, Path]:
    """Under ``folder``: the library ``library/features`` (``features_toml(nodes)``, each node
    appending its inputs) and the project ``alpha`` including it; (library, alpha)."""
    template = make_node_template(folder / "template")
    code = {f"nodes/{node}": APPEND_INPUTS for node in nodes}
    library = write_bundle(folder / "library" / "features", features_toml(nodes), code, template)
    alpha = write_bundle(
        folder / "alpha", INCLUDING_FEATURES, {"nodes/prep": APPEND_INPUTS}, template
    )
    return library, alpha
