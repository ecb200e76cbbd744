"""Line edits of a ``params.yaml`` text, so that ``node params --set/--unset`` keep what the user
wrote: comments, blank lines, the order of keys and the formatting of every untouched line.

- A changed top-level key gets its new value in place, its key as written and its line's
  trailing comment kept (a value written over several lines is replaced by the new entry, the
  comment of its key's line kept).
- A new key is appended at the end, or where the template's empty ``{}`` stood.
- An unset key's lines go, its trailing comment with them; comment lines above it stay (they
  may be a section's or the file's header as well as the key's).

Where each key and value lie is read from the nodes PyYAML composes (their marks), never guessed
from the text. The edit is checked: the result is parsed again and must hold exactly the
intended values (their types and the order of keys too). A layout the edit cannot be trusted
with gives None, and the caller writes the values anew (``params.dump_params``): the whole
mapping in flow style (``{a: 1}``), a key written twice, a touched value written over several
lines from its key's line (a block scalar ``|``, a multi-line flow value), an alias, or any
result that fails the check (an anchor another key still uses, a document marker ``...``
that a new key cannot follow); ``params_by_lines`` says which.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.params import Params, dump_params, parse_params

if TYPE_CHECKING:
    from yaml.nodes import MappingNode, Node

_SOURCE = "params.yaml"


class _Entry(NamedTuple):
    """A top-level key's lines ``first``..``last`` (inclusive) and how to rewrite them."""

    first: int
    last: int
    value_start: int | None
    """The column its value starts at, when the value lies on the key's line alone."""
    value_end: int
    """The column its value ends at on that line (with ``value_start``)."""
    tail: str
    """What follows the entry on its key's line: spaces and a comment, or nothing."""


def edited_params(
    text: str, changes: Mapping[str, Any], unset: Collection[str], intended: Params
) -> str | None:
    """``text`` with each key of ``unset`` taken out and each of ``changes`` set, line by line;
    None when the edit cannot be made so, or would not hold exactly ``intended`` (the values
    the caller means: ``text``'s, with the changes) once parsed."""
    return params_by_lines(text, changes, unset, intended)[0]


_MARKER = re.compile(r"^(---|\.\.\.)(\s|$)", re.MULTILINE)
"""A line starting or ending a YAML document."""


def params_by_lines(
    text: str, changes: Mapping[str, Any], unset: Collection[str], intended: Params
) -> tuple[str | None, str]:
    """``edited_params``, and when it gives None, why (in the user's words: what in the file
    the edit could not be made around)."""
    from yaml.nodes import MappingNode

    from nodepipe.domain.yaml_limits import compose_yaml

    try:
        root = compose_yaml(text, _SOURCE)
    except InvalidInputError as exc:
        return None, f"it could not be read line by line ({exc})"
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    insert_at = len(lines)
    entries: dict[str, list[_Entry | None]] = {}
    if root is not None:
        if not isinstance(root, MappingNode) or root.start_mark.column != 0:
            return None, "its mapping does not start at the first column of a line"
        if root.flow_style:
            if root.value:
                return None, "its mapping is written in flow style ({a: 1}): no line holds one key"
            insert_at = _drop_empty_braces(lines, root)
            if insert_at < 0:
                return None, "its empty mapping {} shares its line with more than a comment"
        else:
            found = _entries(lines, root)
            if found is None:
                return None, "a key of its mapping is not at the start of its line"
            entries = found
    edited, why = _apply(lines, entries, changes, unset, insert_at)
    if edited is None:
        return None, why
    try:
        result = parse_params(edited, _SOURCE)
    except InvalidInputError:
        result = None
    if result is not None and same_value(result, intended):
        return edited, ""
    if _MARKER.search(text):
        return None, (
            "it holds a YAML document marker (a line '---' or '...'), which a key edited "
            "line by line cannot be put after"
        )
    return None, (
        "edited line by line, it would not hold exactly the new values (an anchor that "
        "another key still uses?)"
    )


def _apply(
    lines: list[str],
    entries: dict[str, list[_Entry | None]],
    changes: Mapping[str, Any],
    unset: Collection[str],
    insert_at: int,
) -> tuple[str | None, str]:
    """The lines with the edits made (bottom up, so each entry's line numbers still hold); or
    None and why not."""
    replaced: dict[int, tuple[int, list[str]]] = {}  # first line -> (last line, new lines)
    appended: list[str] = []
    for key in unset:
        entry, why = _only(key, entries.get(key, []))
        if entry is None:
            return None, why
        replaced[entry.first] = (entry.last, [])  # comment lines above it stay: whose they
        # are (the key's, a section's, the file's) cannot be told from the text
    for key, value in changes.items():
        found = entries.get(key, []) if key not in unset else []
        if not found:
            appended.append(dump_params({key: value}))
            continue
        entry, why = _only(key, found)
        if entry is None:
            return None, why
        replaced[entry.first] = (entry.last, _rewritten(lines, entry, key, value))
    result = list(lines)
    for first in sorted(replaced, reverse=True):
        last, new_lines = replaced[first]
        result[first : last + 1] = new_lines
        if first < insert_at:
            insert_at -= last + 1 - first - len(new_lines)
    result[insert_at:insert_at] = appended
    return "".join(result), ""


def _only(key: str, found: list[_Entry | None]) -> tuple[_Entry | None, str]:
    """The one entry of a key the edit touches; None and why when it is written twice (or
    more), or cannot be rewritten by lines."""
    if len(found) > 1:
        return None, f"its key {key!r} is written {len(found)} times"
    if found[0] is None:
        return None, (
            f"the value of {key!r} is an alias, or is written over several lines (a block "
            "scalar | or >, a flow value)"
        )
    return found[0], ""


def _rewritten(lines: list[str], entry: _Entry, key: str, value: Any) -> list[str]:
    """The lines of ``entry`` with ``value`` in place of its own: on its key's line when both
    fit there (key as written, comment kept), else the entry written anew with its comment."""
    line = lines[entry.first]
    flow = _flow(value)
    if entry.value_start is not None and flow is not None:
        before = line[: entry.value_start]
        if entry.value_start == entry.value_end and not before.endswith(" "):
            before += " "  # an empty value (null) right after its colon
        return [before + flow + line[entry.value_end :].rstrip("\n") + "\n"]
    written = dump_params({key: value}).splitlines(keepends=True)
    written[0] = written[0].rstrip("\n") + entry.tail + "\n"
    return written


def _flow(value: Any) -> str | None:
    """``value`` written in YAML on one line (flow style), or None if it needs several."""
    import yaml

    text = yaml.safe_dump([value], default_flow_style=True, allow_unicode=True, width=2**30)
    inner = text.removesuffix("\n")
    if "\n" in inner or not (inner.startswith("[") and inner.endswith("]")):
        return None
    return inner[1:-1]


def _entries(lines: list[str], root: MappingNode) -> dict[str, list[_Entry | None]] | None:
    """Each top-level key's entries (one, unless written twice), None for one that cannot be
    rewritten by lines (left as it is unless the edit touches it); None for a mapping whose
    keys are not each at the start of a line."""
    from yaml.nodes import ScalarNode

    found: dict[str, list[_Entry | None]] = {}
    for key_node, value_node in root.value:
        if not isinstance(key_node, ScalarNode) or key_node.start_mark.column != 0:
            return None
        found.setdefault(str(key_node.value), []).append(_entry(lines, key_node, value_node))
    return found


def _entry(lines: list[str], key_node: Node, value_node: Node) -> _Entry | None:
    if value_node.start_mark.index < key_node.end_mark.index:
        return None  # an alias: its node (and its marks) are those of the anchor
    first = key_node.start_mark.line
    end = value_node.end_mark
    last = end.line - 1 if end.column == 0 and end.line > first else end.line
    last = min(last, len(lines) - 1)
    while last > first and (not lines[last].strip() or lines[last].startswith("#")):
        last -= 1  # blank lines and comments after the value belong to what follows
    line = lines[first].rstrip("\n")
    start = value_node.start_mark
    if start.line == first:
        if last != first:
            return None  # a block scalar, a flow value over several lines
        tail = line[end.column :]
        return _Entry(first, last, start.column, end.column, tail) if _is_tail(tail) else None
    after_key = line[key_node.end_mark.column :].lstrip()
    if not after_key.startswith(":"):
        return None
    tail = after_key[1:]
    return _Entry(first, last, None, 0, tail) if _is_tail(tail) else None


def _is_tail(text: str) -> bool:
    """Nothing, spaces, or spaces then a comment: what may follow a value on its line."""
    return not text.strip() or (text[:1].isspace() and text.lstrip().startswith("#"))


def _drop_empty_braces(lines: list[str], root: Node) -> int:
    """Take the empty flow mapping ``{}`` (the template's) out of its line; the line new keys
    go to (where it stood), or -1 when it shares its line with more than a comment."""
    start, end = root.start_mark, root.end_mark
    if start.line != end.line:
        return -1
    line = lines[start.line]
    rest = (line[: start.column] + line[end.column :]).rstrip("\n")
    if not rest.strip():
        del lines[start.line]
        return start.line
    if not rest.lstrip().startswith("#"):
        return -1
    lines[start.line] = rest.lstrip() + "\n"
    return start.line + 1


def same_value(found: Any, wanted: Any) -> bool:
    """Equal values of the same types all the way down (``1``, ``1.0`` and ``true`` differ),
    mappings in the same order."""
    if type(found) is not type(wanted):
        return False
    if isinstance(found, dict):
        return list(found) == list(wanted) and all(same_value(found[k], wanted[k]) for k in found)
    if isinstance(found, list):
        return len(found) == len(wanted) and all(map(same_value, found, wanted))
    return bool(found == wanted)
