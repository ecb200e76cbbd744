"""A node's parameters: read from its ``params.yaml``, and changed (validated first, written
atomically, the node and its descendants marked stale only when a value really changed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nodepipe.domain.errors import ChangedOnDiskError, InvalidInputError, WorkspaceError, not_utf8
from nodepipe.domain.params import Params, dump_params, parse_assignment, parse_params
from nodepipe.domain.params_lines import params_by_lines, same_value
from nodepipe.services.graph.staleness import mark_inputs_changed
from nodepipe.workspace.durable import write_atomic
from nodepipe.workspace.regular_files import NotRegularFileError, read_regular_text

if TYPE_CHECKING:
    from nodepipe.domain.model import Node
    from nodepipe.store.queries import StoreSession
    from nodepipe.workspace.layout import WorkspaceLayout


def params_text(layout: WorkspaceLayout, node_id: str) -> str:
    """The text of the node's ``params.yaml`` ("" when it has none)."""
    params_file = layout.node_folder(node_id).params_file
    try:
        return read_regular_text(params_file)
    except FileNotFoundError:
        return ""
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"cannot read {params_file}: {not_utf8(exc)}") from exc
    except NotRegularFileError as exc:  # a named pipe would be waited on for ever
        raise InvalidInputError(f"cannot read {params_file}: {exc}") from exc


def read_params_file(source: Path) -> str:
    """The text of a YAML file the user names to replace a node's parameters with
    (``node params --file``); a named pipe is not waited on, nor a device read for ever:
    anything but a regular file is refused at once (InvalidInputError naming it)."""
    try:
        return read_regular_text(source)
    except NotRegularFileError as exc:
        raise InvalidInputError(f"cannot read {source}: {exc}; nothing was changed") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"cannot read {source}: {not_utf8(exc)}") from exc
    except OSError as exc:
        raise InvalidInputError(f"cannot read {source}: {exc.strerror}") from exc


def read_params(layout: WorkspaceLayout, node_id: str, text: str | None = None) -> Params:
    """The parameters in params.yaml (``text``: its content, already read)."""
    params_file = layout.node_folder(node_id).params_file
    text = params_text(layout, node_id) if text is None else text
    return parse_params(text, str(params_file)) if text else {}


@dataclass(frozen=True, slots=True)
class ParamsChange:
    """The parameters after a change, and how params.yaml was written."""

    params: Params
    rewritten: bool = False
    """params.yaml was written anew from the values, without its comments and layout: the
    ``--set``/``--unset`` could not be made line by line (``domain.params_lines``)."""
    why: str = ""
    """With ``rewritten``: what in the file the edit could not be made around."""
    text: str | None = None
    """What params.yaml holds after the change, as ``params_text`` reads it (None: unknown)."""


def change_params(
    session: StoreSession,
    layout: WorkspaceLayout,
    node: Node,
    assignments: list[str],
    unset: list[str],
    replace_with: str | None,
    version: str | None = None,
) -> ParamsChange:
    """Apply ``name=value`` assignments, removals, or a whole YAML text to ``node``'s
    parameters inside the write transaction ``session``; everything is validated before
    params.yaml is rewritten. Assignments and removals are made line by line in the file (or
    in ``replace_with``), keeping its comments and layout, where that holds exactly the new
    values; the values are written anew otherwise. ``version`` (None: any): the
    ``params_version`` the change was based on; a params.yaml that holds another text now is
    not overwritten (``ChangedOnDiskError``)."""
    if version is not None:
        _check_version(layout, node, version, replace_with)
    parsed = dict(parse_assignment(item) for item in assignments)
    base = parse_params(replace_with, "the new parameters") if replace_with is not None else None
    old = _old_params(layout, node.id, replacing=base is not None)
    new = dict(base if base is not None else old or {})
    for key in unset:
        if key not in new:
            raise InvalidInputError(f"node {node.tag!r} has no parameter {key!r}")
        del new[key]
    new.update(parsed)
    reason = _params_change(old, new)
    if replace_with is None and not reason:
        return ParamsChange(new)  # no value changes: the file stays as it is
    params_file = layout.node_folder(node.id).params_file
    # A whole text is kept as typed, comments and layout too (it parsed above); so are the
    # file's, where assignments and removals can be made line by line.
    text = replace_with if replace_with is not None else params_text(layout, node.id)
    crlf = replace_with is None and _uses_crlf(params_file)  # read as LF, written back so
    edited, why = params_by_lines(text, parsed, unset, new) if parsed or unset else (text, "")
    written = dump_params(new) if edited is None else edited
    written = written if written.endswith("\n") else written + "\n"
    if crlf:
        written = written.replace("\n", "\r\n")
    if not _holds(params_file, written.encode()):
        write_atomic(params_file, written)
    if reason:  # only a changed value makes the node stale
        mark_inputs_changed(session, {node.id: reason})
    return ParamsChange(new, rewritten=edited is None, why=why, text=params_text(layout, node.id))


def _check_version(
    layout: WorkspaceLayout, node: Node, version: str, replace_with: str | None
) -> None:
    """Refuse a change based on ``version`` when params.yaml holds another text now, saying
    which parameters it sets otherwise than ``replace_with`` does."""
    from nodepipe.domain.node_files import params_version  # a save's: not the read commands'

    now = params_text(layout, node.id)
    if params_version(now) == version:
        return
    differ = ""
    if replace_with is not None:
        try:
            theirs, yours = parse_params(now, "params.yaml"), parse_params(replace_with, "yours")
        except InvalidInputError:
            pass
        else:
            names = sorted(
                key
                for key in theirs.keys() | yours.keys()
                if key not in theirs or key not in yours or not same_value(theirs[key], yours[key])
            )
            if names:
                differ = f"; it now differs from your text in {', '.join(names)}"
    raise ChangedOnDiskError(
        f"the parameters of node {node.tag!r} were changed since you read them (params.yaml "
        f"is at another version now{differ}); nothing was saved",
        current_version=params_version(now),
    )


def _old_params(layout: WorkspaceLayout, node_id: str, replacing: bool) -> Params | None:
    """The current parameters, or None for unreadable ones (a malformed or oversized
    params.yaml) that are being replaced, so that such a file can be fixed."""
    folder = layout.node_folder(node_id)
    if not folder.code.is_dir():
        raise WorkspaceError(
            f"the folder of node {node_id} is missing: {folder.path}; restore it, or "
            "remove the node"
        )
    try:
        return read_params(layout, node_id)
    except InvalidInputError:
        if not replacing:
            raise
        return None


def _params_change(old: Params | None, new: Params) -> str | None:
    """Why the node's inputs changed (``old`` None: unreadable), or None if no value changed
    (with its type: ``1``, ``1.0`` and ``true`` are three values)."""
    if old is None:
        return "parameters replaced (params.yaml could not be read)"
    changed = sorted(
        k
        for k in old.keys() | new.keys()
        if k not in old or k not in new or not same_value(old[k], new[k])
    )
    return "parameter " + ", ".join(changed) + " changed" if changed else None


def _uses_crlf(path: Path) -> bool:
    """Whether every line of the file ends with CRLF (a file of mixed endings is written back
    with LF, as it is read)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return False
    return raw.count(b"\r\n") > 0 and raw.count(b"\r\n") == raw.count(b"\n")


def _holds(path: Path, content: bytes) -> bool:
    """Whether the file holds exactly ``content`` (read only when the sizes agree)."""
    try:
        return path.stat().st_size == len(content) and path.read_bytes() == content
    except OSError:
        return False
