"""`nodepipe connect` / `nodepipe disconnect`: edges between a parent and a child's slot."""

from __future__ import annotations

import click

from nodepipe.cli.options import json_option, pipeline_option
from nodepipe.cli.output import render
from nodepipe.cli.session import workspace


@click.command("connect")
@click.argument("parent")
@click.argument("child")
@pipeline_option
@click.option("--slot", help="Input label on the child (default: the next free one: 01, 02...).")
@json_option
def connect(parent: str, child: str, pipeline: str, slot: str | None, as_json: bool) -> None:
    """Feed PARENT's outputs to CHILD (refuses cycles, naming them)."""
    edge = workspace().edges.connect(parent, child, pipeline, slot)
    render(edge, as_json, "EdgePublic", f"connected {parent} → {child} as input {edge.slot}")


@click.command("disconnect")
@click.argument("parent")
@click.argument("child")
@pipeline_option
@json_option
def disconnect(parent: str, child: str, pipeline: str, as_json: bool) -> None:
    """Remove the edge PARENT → CHILD."""
    edge = workspace().edges.disconnect(parent, child, pipeline)
    render(edge, as_json, "EdgePublic", f"disconnected {parent} → {child} (input {edge.slot})")
