"""An error's hint in the CLI's words: the command that does what it asks.

``COMMANDS`` is the one table from each ``Action`` to a sentence naming the command; the hint's
parameters fill it in, each quoted for the shell, so the command can be copied as printed. The
web app words the same actions as its menu items (``web/src/api/hints.ts``).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from nodepipe.domain.errors import Action, Hint
from nodepipe.domain.url_credentials import text_without_credentials
from nodepipe.services.location import WORKSPACE_ENV

_REBUILD = "recover what the node folders hold with `nodepipe doctor --rebuild`"

COMMANDS: dict[Action, str] = {
    Action.PIPELINE_UNLOCK: "unlock it with `nodepipe pipeline unlock {pipeline}`",
    Action.NODE_UNLOCK: "unlock it with `nodepipe node unlock {node}`",
    Action.NODE_DETACH: "detach it with `nodepipe node detach {node} --pipeline {pipeline}`",
    Action.NODE_KILL: "kill it with `nodepipe kill {node}`",
    Action.NODE_RENAME: (
        "give one of them another tag with `nodepipe node rename {node} NEW_TAG`, show a copy "
        "instead with `nodepipe node duplicate {referenced} --pipeline {source} --into "
        "{pipeline} --tag NEW_TAG`, "
        "or show both under one tag with `nodepipe node reference {referenced} --into "
        "{pipeline} --allow-duplicate-tag`"
    ),
    Action.NODE_RETAG: "give it a valid tag with `nodepipe node rename {node} NEW_TAG`",
    Action.PIPELINE_RETAG: "give it a valid tag with `nodepipe pipeline rename {pipeline} NEW_TAG`",
    Action.GROUP_RENAME: (
        "give it a valid name with `nodepipe group rename {pipeline} {group} NEW_NAME`"
    ),
    Action.TAG_DUPLICATE: "or keep the tag anyway with `{typed} --allow-duplicate-tag`",
    Action.LIBRARY_PACKAGE: (
        "name the one to install with `nodepipe env add {node} --from-node {library} "
        "--package NAME`"
    ),
    Action.SHARED_ENV_NEW: "create it with `nodepipe shared-env new {name}`",
    Action.ENV_DETACH: "give it an environment of its own first with `nodepipe env detach {node}`",
    Action.LIBRARY_UNLINK: (
        "take the package out of them first, e.g. `nodepipe env remove {user_id} {package}` "
        "({user}), or put another library node holding {package} in its place "
        "with `nodepipe node replace {library} NEW --pipeline {pipeline}`"
    ),
    Action.ENV_SNAPSHOT: (
        "take a snapshot of that folder into the node with `nodepipe env add {node} --snapshot "
        "DIR` (its files become the node's own), then export or build again"
    ),
    Action.ENV_RELOCK: ("relock it on purpose with `nodepipe env lock {node}`, or undo the change"),
    Action.ENV_LOCK: (
        "relock it from what the index holds now with `nodepipe env lock {node} --upgrade`"
    ),
    Action.SNAPSHOT_RESET: (
        "`nodepipe env update-snapshot {node} {snapshot} --force` brings the upstream's files "
        "anyway, listing the local edits and commits it drops"
    ),
    Action.CODE_PATH_COPY: (
        "copy the scripts of {path} into the node's code/ folder and take the code path off "
        "with `nodepipe env code-path remove {node} {path}` (or, for a package, take a snapshot "
        "with `nodepipe env add {node} --snapshot DIR`), then export or build again"
    ),
    Action.RAY_CONNECT: (
        "start one with `ray start --head` (or check the address) and pass its address with "
        "`nodepipe {ray_run}`, leave --ray-address out to start a local Ray, or run with the "
        "local executor: `nodepipe {local_run}`"
    ),
    Action.WORKSPACE_INIT: (
        f"create one with `nodepipe init DIR` or point to one with --workspace or ${WORKSPACE_ENV}"
    ),
    Action.WORKSPACE_EXAMINE: "`nodepipe doctor` looks for other trouble",
    Action.STORE_RESTORE: (
        "restore the newest backup with `nodepipe backup restore {backup}`, or " + _REBUILD
    ),
    Action.STORE_REBUILD: (
        "restore a backup with `nodepipe backup restore FILE` if you made one, or " + _REBUILD
    ),
    Action.STORE_REPOINT: (
        "work in {owner} (`nodepipe --workspace {owner} status`); or, to work in {folder}, "
        "point it at a store of its own: its own database in the [store] url of its "
        "nodepipe.toml (and no $NODEPIPE_DB_URL naming another), or `nodepipe backup restore "
        "FILE` with one of its own backups"
    ),
    Action.SERVER_PASSWORD: "set it again with `nodepipe server password`",
    Action.PACKAGE_CREDENTIALS: (
        "set TWINE_USERNAME and TWINE_PASSWORD (or UV_PUBLISH_USERNAME and UV_PUBLISH_PASSWORD, "
        "or the repository's username and password in ~/.pypirc) and run "
        "`nodepipe package publish` again"
    ),
    Action.PACKAGE_VERSION: (
        "build a new version with `nodepipe package build PIPELINE --version V` and publish that"
    ),
    Action.PACKAGE_SIZE: (
        "build it without data (`nodepipe package build PIPELINE` without --with-data), or ask "
        "the index's owner to raise its upload limit"
    ),
    Action.INCLUDE_UPDATE: (
        "update it with `nodepipe pipeline include {pipeline} --update {namespace}`, or "
        "include the bundle again under another namespace"
    ),
    Action.BUNDLE_NAME: "import it under another tag with `{typed} --name NEW_TAG`",
    Action.PACKAGE_ALIAS: "pull it under another tag with `{typed} --alias NEW_TAG`",
    Action.PACKAGE_NAME: "give a valid name with `nodepipe package build {pipeline} --alias NAME`",
    Action.LIBRARY_NAME: (
        "give a valid name with `nodepipe package build --library {node} --alias NAME`"
    ),
    Action.PACKAGE_UPLOAD: (
        "give a wheel (.whl) or sdist (.tar.gz) built by `nodepipe package build` to "
        "`nodepipe package pull FILE`"
    ),
    Action.INDEX_CREDENTIALS: (
        "give the credentials of {host} the way uv takes them: UV_INDEX_<NAME>_USERNAME and "
        "UV_INDEX_<NAME>_PASSWORD for an index named NAME (`--index-url NAME=URL`, or "
        "`nodepipe env index NODE URL --name NAME`), a `machine {host} login USER password "
        "PASS` line in ~/.netrc, or the password in the keyring with the user in the URL "
        "(`keyring set {host} USER`, then http://USER@{host}/…), then run the command again"
    ),
    Action.CONDA_INSTALL: (
        "install it with `pip install 'nodepipe[conda]'` where nodepipe is installed"
    ),
    Action.EXTERNAL_LARGE: (
        "name the package's own folder, or, if {folder} is meant, add it with "
        "`nodepipe env add {node} --{source} {folder} --large`"
    ),
    Action.CODE_PATH_LARGE: (
        "name a smaller folder, or, if {folder} is meant, add it with "
        "`nodepipe env code-path add {node} {folder} --large`"
    ),
    Action.ENV_PYTHON: "set a version with `nodepipe env python {node} {version}`",
    Action.SNAPSHOT_REFRESH: (
        "`nodepipe env update-snapshot {node} {snapshot}` refreshes it from its origin; to take "
        "the new one instead, take its package out first with `nodepipe env remove {node} "
        "PACKAGE` (the old snapshot is kept in the node's undone-edits/)"
    ),
    Action.BUNDLE_INPUT: "feed it from a node of the pipeline with `{typed} --input {input}=NODE`",
    Action.RUN_STORAGE: (
        "name one for this run with `{typed} --storage URL` (a folder or any fsspec URL, e.g. "
        's3://bucket/prefix), or set [storage] url = "…" in nodepipe.toml'
    ),
    Action.CONDA_LOCK: "relock it here with `nodepipe env conda lock NODE`",
    Action.CONDA_CHANNEL: (
        "serve the channel over http(s) (any static file server) and name that URL with "
        "`nodepipe env conda add {node} SPEC --channel URL`, then export or build again"
    ),
    Action.CONDA_PACKAGE: (
        "take {package} from a channel you trust with `nodepipe env conda add NODE SPEC "
        "--channel URL`, or remove what asks for it with `nodepipe env conda remove NODE NAME`"
    ),
}
"""Each action as the CLI says it: a sentence naming the command, with ``{param}`` slots."""


WHOLE_COMMANDS = frozenset({"ray_run", "local_run"})
"""Parameters the CLI gives a hint itself: the words of a whole command after ``nodepipe``,
already quoted for the shell (``cli.resume.ray_commands``: the user's run, with its
options)."""


def command_for(hint: Hint, typed: Sequence[str] = ()) -> str:
    """The sentence telling a CLI user how to do what ``hint`` asks; a slot the hint gives no
    value for reads as its name in capitals (``PIPELINE``), for the user to fill in.
    ``{typed}`` is the command the user typed (``typed``: its arguments), for a hint that
    repeats it with one more option."""
    quoted = _Params(
        {
            name: value if name in WHOLE_COMMANDS else shlex.quote(value)
            for name, value in hint.params.items()
        }
    )
    quoted["typed"] = shlex.join(["nodepipe", *map(text_without_credentials, typed)])
    return COMMANDS[hint.action].format_map(quoted)


class _Params(dict[str, str]):
    def __missing__(self, name: str) -> str:
        return name.upper()


def with_hint(message: str, hint: Hint | None, typed: Sequence[str] = ()) -> str:
    """An error's message followed by its hint in the CLI's words (``typed``: the arguments
    of the command that failed)."""
    return message if hint is None else f"{message}; {command_for(hint, typed)}"
