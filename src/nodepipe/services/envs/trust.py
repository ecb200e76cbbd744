"""Which local paths and interpreters a request from the web may name.

A web request runs as the server's OS user, so a path it names (a project folder, a snapshot,
a shared checkout, a requirement that is a path or ``file:`` URL, an interpreter) is used only
when no other user can change it (``nodepipe.workspace.path_trust`` says how it is checked).
The web API checks each such request with these before it calls the environment services;
the CLI does not: a user naming a path on the command line trusts it themselves.
"""

from __future__ import annotations

from nodepipe.workspace.path_trust import check_trusted_inputs, check_trusted_interpreter

__all__ = ["check_trusted_inputs", "check_trusted_interpreter"]
