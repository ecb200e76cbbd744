"""An error's hint in the Python API's words: the call that does what it asks.

``CALLS`` is the one table from each ``Action`` to a sentence naming the ``ws.…`` call (or, for
what only the command line does, the command); the hint's parameters fill it in as Python
literals. ``nodepipe.init()`` and ``nodepipe.open()`` hand ``words_for`` to the exception tree
(``domain.errors.word_hints_with``), so an error a Python user meets carries its hint as an
exception note, shown under the traceback; ``str(error)`` stays the message every surface shares.
The CLI words the same actions as commands (``nodepipe.cli.hints``), the web app as menu items.
"""

from __future__ import annotations

from collections.abc import Mapping

from nodepipe.domain.errors import Action, Hint
from nodepipe.services.runs.request_hints import REQUEST_ACTIONS, REQUEST_FIELDS, request_values

_REBUILD = "recover what the node folders hold with the CLI: `nodepipe doctor --rebuild`"

CALLS: dict[Action, str] = {
    Action.PIPELINE_UNLOCK: "unlock it with ws.pipelines.unlock({pipeline})",
    Action.NODE_UNLOCK: "unlock it with ws.nodes.unlock({node})",
    Action.NODE_DETACH: "detach it with ws.node_copies.detach([{node}], pipeline={pipeline})",
    Action.NODE_KILL: "kill it with ws.runs.kill([{node}])",
    Action.NODE_RENAME: (
        "give one of them another tag with ws.nodes.rename({node}, NEW_TAG), show a copy "
        "instead with ws.node_copies.duplicate([{referenced}], {source}, into={pipeline}, "
        "tag=NEW_TAG), or show both under one tag with ws.node_copies.reference([{referenced}], "
        "{pipeline}, allow_duplicate_tag=True)"
    ),
    Action.NODE_RETAG: "give it a valid tag with ws.nodes.rename({node}, NEW_TAG)",
    Action.PIPELINE_RETAG: "give it a valid tag with ws.pipelines.rename({pipeline}, NEW_TAG)",
    Action.GROUP_RENAME: (
        "give it a valid name with ws.groups.rename({pipeline}, {group}, NEW_NAME)"
    ),
    Action.TAG_DUPLICATE: "or keep the tag anyway: call again with allow_duplicate_tag=True",
    Action.LIBRARY_PACKAGE: (
        "name the one to install with ws.external.add_from_node({node}, {library}, package=NAME)"
    ),
    Action.SHARED_ENV_NEW: "create it with ws.shared_envs.new({name})",
    Action.ENV_DETACH: "give it an environment of its own first with ws.isolation.detach({node})",
    Action.LIBRARY_UNLINK: (
        "take the package out of them first, e.g. ws.envs.remove({user_id}, [{package}]) "
        "({user}), or put another library node holding {package} in its place with "
        "ws.node_copies.replace({library}, NEW, {pipeline})"
    ),
    Action.ENV_SNAPSHOT: (
        "take a snapshot of that folder into the node with ws.envs.add({node}, [], "
        "snapshot=DIR) (its files become the node's own), then export or build again"
    ),
    Action.SNAPSHOT_RESET: (
        "ws.envs.update_snapshot({node}, {snapshot}, force=True) brings the upstream's files "
        "anyway, listing the local edits and commits it drops"
    ),
    Action.CODE_PATH_COPY: (
        "copy the scripts of {path} into the node's code/ folder and take the code path off "
        "with ws.external.code_path_remove({node}, {path}) (or, for a package, take a "
        "snapshot with ws.envs.add({node}, [], snapshot=DIR)), then export or build again"
    ),
    Action.RAY_CONNECT: (
        "start one with `ray start --head` (or check the address) and give its address with "
        "{ray_request}, leave ray_address out to start a local Ray, or run with the local "
        "executor: {local_request}"
    ),
    Action.WORKSPACE_INIT: (
        "create one with nodepipe.init(DIR), or open one with nodepipe.open(DIR)"
    ),
    Action.WORKSPACE_EXAMINE: "the CLI's `nodepipe doctor` looks for other trouble",
    Action.STORE_RESTORE: (
        "restore the newest backup with the CLI: `nodepipe backup restore {backup}`, or " + _REBUILD
    ),
    Action.STORE_REBUILD: (
        "restore a backup with the CLI (`nodepipe backup restore FILE`) if you made one, or "
        + _REBUILD
    ),
    Action.STORE_REPOINT: (
        "work in {owner} (nodepipe.open({owner})); or, to work in {folder}, point it at a "
        "store of its own: its own database in the [store] url of its nodepipe.toml (and no "
        "$NODEPIPE_DB_URL naming another), or restore one of its own backups with the CLI: "
        "`nodepipe backup restore FILE`"
    ),
    Action.SERVER_PASSWORD: "set it again with ws.servers.set_password(PASSWORD)",
    Action.PACKAGE_CREDENTIALS: (
        "set TWINE_USERNAME and TWINE_PASSWORD (or UV_PUBLISH_USERNAME and UV_PUBLISH_PASSWORD, "
        "or the repository's username and password in ~/.pypirc) and call ws.packages.publish "
        "again"
    ),
    Action.PACKAGE_VERSION: (
        "build a new version with ws.packages.build(PIPELINE, version=V) and publish that"
    ),
    Action.PACKAGE_SIZE: (
        "build it without data (ws.packages.build(PIPELINE) without with_data), or ask the "
        "index's owner to raise its upload limit"
    ),
    Action.INCLUDE_UPDATE: (
        "update it with ws.bundles.update({pipeline}, {namespace}), or include the bundle "
        "again under another namespace"
    ),
    Action.BUNDLE_NAME: "import it under another tag: call again with name=NEW_TAG",
    Action.PACKAGE_ALIAS: "pull it under another tag: call again with alias=NEW_TAG",
    Action.PACKAGE_NAME: "give a valid name with ws.packages.build({pipeline}, alias=NAME)",
    Action.LIBRARY_NAME: "give a valid name with ws.packages.build_library({node}, alias=NAME)",
    Action.PACKAGE_UPLOAD: (
        "give a wheel (.whl) or sdist (.tar.gz) built by ws.packages.build to "
        "ws.packages.pull(FILE)"
    ),
    Action.INDEX_CREDENTIALS: (
        "give the credentials of {host} the way uv takes them: UV_INDEX_<NAME>_USERNAME and "
        "UV_INDEX_<NAME>_PASSWORD for an index named NAME (index_url='NAME=URL', or "
        "ws.envs.add_index(NODE, URL, NAME)), a `machine {host} login USER password PASS` line "
        "in ~/.netrc, or the password in the keyring with the user in the URL, then call again"
    ),
    Action.CONDA_INSTALL: (
        "install it with `pip install 'nodepipe[conda]'` where nodepipe is installed"
    ),
    Action.CONDA_LOCK: "relock it here with ws.conda.lock(NODE)",
    Action.CONDA_CHANNEL: (
        "serve the channel over http(s) (any static file server) and name that URL with "
        "ws.conda.add({node}, [SPEC], channels=[URL]), then export or build again"
    ),
    Action.CONDA_PACKAGE: (
        "take {package} from a channel you trust with ws.conda.add(NODE, [SPEC], "
        "channels=[URL]), or remove what asks for it with ws.conda.remove(NODE, [NAME])"
    ),
    Action.EXTERNAL_LARGE: (
        "name the package's own folder, or, if {folder} is meant, add it with "
        "ws.envs.add({node}, [], {source}={folder}, large=True)"
    ),
    Action.ENV_RELOCK: "relock it on purpose with ws.envs.lock({node}), or undo the change",
    Action.ENV_LOCK: (
        "relock it from what the index holds now with ws.envs.lock(NODE, upgrade=True)"
    ),
    Action.ENV_PYTHON: "set a version with ws.envs.set_python({node}, {version})",
    Action.SNAPSHOT_REFRESH: (
        "refresh it from its origin with ws.envs.update_snapshot({node}, {snapshot}); to take "
        "the new one instead, take its package out first with ws.envs.remove({node}, [PACKAGE])"
    ),
    Action.BUNDLE_INPUT: (
        "feed it from a node of the pipeline: call again with inputs={{{input}: NODE}}"
    ),
    Action.RUN_STORAGE: (
        "name one for this run with {storage_request} (a folder or any fsspec URL, e.g. "
        "s3://bucket/prefix), or set [storage] url in nodepipe.toml"
    ),
    Action.CODE_PATH_LARGE: (
        "name a smaller folder, or, if {folder} is meant, add it with "
        "ws.external.code_path_add({node}, {folder}, large=True)"
    ),
}
"""Each action as the Python API says it, with ``{param}`` slots (filled in as literals)."""

_UNQUOTED = frozenset({"source", "host"})
"""Slots that name a keyword argument or stand inside a line of text, not a Python value."""


_REQUESTS: dict[str, dict[str, str | None]] = {
    "ray_request": {"executor": "'ray'", "ray_address": "'HOST:PORT'"},
    "local_request": {"executor": None, "ray_address": None, "shared_fs": None},
    "storage_request": {"storage": "URL"},
}
"""The runs a hint that carries the user's request (``runs.request_hints``) offers: each is
that request with these fields changed (a Python value) or left out (None)."""


def words_for(hint: Hint) -> str:
    """The sentence telling a Python user how to do what ``hint`` asks; a slot the hint gives
    no value for reads as its name in capitals (``PIPELINE``), for the user to fill in."""
    values = _Params(
        {name: value if name in _UNQUOTED else repr(value) for name, value in hint.params.items()}
    )
    if hint.action in REQUEST_ACTIONS:
        values |= {slot: _request(hint.params, changes) for slot, changes in _REQUESTS.items()}
    return CALLS[hint.action].format_map(values)


def _request(params: Mapping[str, str], changes: Mapping[str, str | None]) -> str:
    """The ``RunRequest(...)`` the user asked for (the options ``params`` carries), with
    ``changes``: what to pass to run it again the way the hint says."""
    words = {name: repr(value) for name, value in request_values(params).items()}
    for name, word in changes.items():
        if word is None:
            words.pop(name, None)
        else:
            words[name] = word
    pipeline = repr(params["pipeline"]) if "pipeline" in params else "PIPELINE"
    options = [f"{name}={words[name]}" for name in REQUEST_FIELDS if name in words]
    return f"RunRequest({', '.join([pipeline, *options])})"


class _Params(dict[str, str]):
    def __missing__(self, name: str) -> str:
        return name.upper()
