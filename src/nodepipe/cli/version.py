"""`nodepipe --version` and `nodepipe version [--json]`: the installed nodepipe's version."""

from __future__ import annotations

import click

from nodepipe.cli.options import json_option


def print_version(as_json: bool) -> None:
    """``nodepipe 0.1.0``, or with ``as_json`` ``{"version": "0.1.0"}`` (the key the web API's
    ``GET /api/workspace`` gives it)."""
    from nodepipe.cli.output import render
    from nodepipe.services.version import installed_version

    found = installed_version()
    render({"version": found}, as_json, None, f"nodepipe {found}")


@click.command("version")
@json_option
def version(as_json: bool) -> None:
    """Print the installed nodepipe's version."""
    print_version(as_json)
