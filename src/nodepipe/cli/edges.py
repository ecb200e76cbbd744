"""`nodepipe connect` / `nodepipe disconnect`: edges between a parent and a child's slot."""

from __future__ import annotations

from typing import Annotated

import typer

from nodepipe.cli.options import JsonFlag, PipelineOption
from nodepipe.cli.output import done, print_json
from nodepipe.cli.session import workspace


def connect(
    parent: str,
    child: str,
    pipeline: PipelineOption,
    slot: Annotated[
        str | None, typer.Option(help="Input label on the child (default: next 01, 02...).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Feed PARENT's outputs to CHILD (refuses cycles, naming them)."""
    edge = workspace().edges.connect(parent, child, pipeline, slot)
    print_json(edge) if as_json else done(f"connected {parent} → {child} as input {edge.slot}")


def disconnect(
    parent: str, child: str, pipeline: PipelineOption, as_json: JsonFlag = False
) -> None:
    """Remove the edge PARENT → CHILD."""
    edge = workspace().edges.disconnect(parent, child, pipeline)
    print_json(edge) if as_json else done(f"disconnected {parent} → {child} (input {edge.slot})")
