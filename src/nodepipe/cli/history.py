"""`nodepipe history PIPELINE`: a pipeline's runs summed up, a page at a time (the web app's
History view and ``GET /pipelines/{p}/history`` show the same)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from nodepipe.cli.options import json_option
from nodepipe.cli.output import render, say
from nodepipe.cli.session import workspace
from nodepipe.cli.views import add_row, table

if TYPE_CHECKING:
    from nodepipe.domain.history import RunHistory, RunSummary


@click.command("history")
@click.argument("pipeline")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option(
    "--before",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S"]),
    help="Only runs requested before this time (a page's next_before: the next page).",
)
@json_option
def history(pipeline: str, limit: int, before: datetime | None, as_json: bool) -> None:
    """PIPELINE's runs, newest first: who started each, when, what ran, outcome, duration.

    "2/3 ran" counts the nodes that started of those the run was to run; "skipped" ones were
    not run because a parent failed.
    """
    page = workspace().run_history.page(pipeline, limit, before)
    render(page, as_json, "RunHistoryPublic", _print_history)


def _print_history(page: RunHistory) -> None:
    rows = table("run", "by", "started", "status", "nodes", "seconds")
    for item in page.runs:
        took = item.duration_seconds
        add_row(
            rows,
            item.run.id,
            item.run.requested_by,
            item.run.created_at.astimezone().strftime("%m-%d %H:%M:%S"),
            item.run.status.value,
            _nodes(item),
            "" if took is None else f"{took:.1f}",
        )
    rows.write()
    if page.next_before is not None:
        say(f"older runs: --before {page.next_before.isoformat()}")


def _nodes(item: RunSummary) -> str:
    """``2/3 ran, 1 failed, 1 skipped``: what ran of what was asked, and what went wrong."""
    counted = [(item.failed, "failed"), (item.cancelled, "cancelled"), (item.skipped, "skipped")]
    return ", ".join([f"{item.ran}/{item.asked} ran", *(f"{n} {w}" for n, w in counted if n)])
