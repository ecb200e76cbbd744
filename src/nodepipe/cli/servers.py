"""`nodepipe server ...`: the running web servers of the workspace, and their password."""

from __future__ import annotations

import sys
from typing import Any

import click

from nodepipe.cli.options import command_group, json_option
from nodepipe.cli.output import console, done, render
from nodepipe.cli.session import workspace

app = command_group("server", "The workspace's web servers: their links, their password.")


@app.command("list")
@json_option
def list_(as_json: bool) -> None:
    """Links (with their token) of this workspace's running servers that you started."""
    servers = workspace().servers.list()
    listed = [{"url": s.url, "link": s.link, "pid": s.pid, "since": s.started_at} for s in servers]
    render(listed, as_json, None, _print_servers)


def _print_servers(listed: list[dict[str, Any]]) -> None:
    if not listed:
        done("no server of yours is serving this workspace; start one with `nodepipe serve`")
    for server in listed:
        line = f"{server['link']}  (pid {server['pid']}, since {server['since']})"
        console.print(line, markup=False, soft_wrap=True)  # a link must stay whole


@app.command("password")
@click.option("--clear", is_flag=True, help="Remove the password: the token link only.")
@click.option(
    "--password-stdin",
    "from_stdin",
    is_flag=True,
    help="Read the password from standard input (for scripts) instead of asking.",
)
@json_option
def password(clear: bool, from_stdin: bool, as_json: bool) -> None:
    """Set the password browsers may log in with (asked twice, never echoed).

    Only a salted scrypt hash is written, to [server] password in nodepipe.toml. Servers
    already running keep the password they started with: restart them.
    """
    servers = workspace().servers
    if clear:
        removed = servers.clear_password()
        said = "removed the server password" if removed else "no server password was set"
        render({"password": False, "removed": removed}, as_json, None, said)
        return
    if from_stdin:
        secret = sys.stdin.readline().removesuffix("\n")
    else:
        secret = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    servers.set_password(secret)
    said = "server password set; restart running servers to use it"
    render({"password": True, "removed": False}, as_json, None, said)
