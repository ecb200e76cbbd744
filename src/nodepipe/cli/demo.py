"""`nodepipe demo`: a small ready-made workspace to look around in."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated

import typer

from nodepipe.cli.output import done
from nodepipe.domain.errors import WorkspaceError
from nodepipe.services.workspace import Workspace
from nodepipe.workspace.layout import find_workspace_root

DEMO_NODES = ("load", "clean", "plot")


def demo(
    path: Annotated[Path, typer.Argument(help="Where to create the demo workspace.")] = Path(
        "demo-workspace"
    ),
) -> None:
    """Create (once) a demo workspace with a small pipeline, and say what to try next."""
    root = path.resolve()
    if find_workspace_root(root) == root:
        done(f"the demo workspace is already at {root}")
    elif root.exists() and any(root.iterdir()):
        raise WorkspaceError(f"{root} exists and is not a nodepipe workspace; choose another path")
    else:
        with Workspace.init(root) as ws:
            ws.projects.new("demo", notes="Created by `nodepipe demo`.")
            ws.pipelines.new("baseline", project="demo", notes="load → clean → plot")
            for tag in DEMO_NODES:
                ws.nodes.new("baseline", tag)
            for parent, child in itertools.pairwise(DEMO_NODES):
                ws.edges.connect(parent, child, "baseline")
            ws.nodes.set_params("clean", ["threshold=0.5"])
        done(f"created the demo workspace at {root}")
    done(
        "next:\n"
        f"  cd {root}\n"
        "  nodepipe pipeline show baseline\n"
        "  nodepipe node path clean          # open this folder in your editor\n"
        "  nodepipe pipeline branch baseline --from clean --name variant"
    )
