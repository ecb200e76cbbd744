"""`nodepipe demo`: build and run a small real pipeline, then say where to look."""

from __future__ import annotations

from pathlib import Path

import click

from nodepipe.cli.output import done, print_warning
from nodepipe.domain.errors import ConflictError


@click.command("demo")
@click.argument("path", type=click.Path(path_type=Path), default="demo-workspace")
def demo(path: Path) -> None:
    """Run a demo pipeline: numpy 1.x and 2.x side by side.

    The first time, this creates the demo workspace at PATH (default: ./demo-workspace); after
    that it runs what is stale and says where to look.
    """
    from nodepipe.cli.progress import LiveProgress
    from nodepipe.services.demo import DEMO_PIPELINE, build_demo, demo_state
    from nodepipe.services.location import is_workspace
    from nodepipe.services.runs.service import RunRequest
    from nodepipe.services.workspace import Workspace

    root = path.resolve()
    ws = Workspace.open(root) if is_workspace(root) else Workspace.init(root)
    state = demo_state(ws)
    if state == "other":
        ws.close()
        raise ConflictError(
            f"{root} is a nodepipe workspace without the demo pipeline '{DEMO_PIPELINE}': "
            "name a new or empty folder for the demo (`nodepipe demo PATH`)"
        )
    if state == "built":
        done(f"the demo workspace is at {root}")
    else:
        done(f"creating the demo workspace at {root} (first time: fetches numpy 1.26 and 2.1)")
        try:
            kept = build_demo(ws)
        except BaseException:
            ws.close()
            raise
        if kept:
            print_warning(kept)
    # a demo pipeline kept aside shares the demo's node tags: name the pipeline in the hints
    here = f" -p {DEMO_PIPELINE}" if len(ws.pipelines.list()) > 1 else ""
    with ws, LiveProgress() as progress:
        result = ws.runs.run(RunRequest(DEMO_PIPELINE), [progress])
        plot = ws.nodes.path("plot", DEMO_PIPELINE) / "reports" / "temperature.svg"
    if result.run_id is None:
        done("everything is up to date")
    done(
        f"\nthe plot: {plot}\n"
        "next:\n"
        f"  cd {root}\n"
        f"  nodepipe pipeline show {DEMO_PIPELINE}\n"
        f"  nodepipe status {DEMO_PIPELINE} --why\n"
        f"  nodepipe node params smooth{here} --set window=30   # then run again: smooth and "
        "plot re-run\n"
        f"  nodepipe run {DEMO_PIPELINE}\n"
        f"  nodepipe logs stats{here}                            # numpy 2 here, numpy 1 in smooth"
    )
