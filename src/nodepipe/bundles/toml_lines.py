"""Line numbers for TOML keys, found in the text (``tomllib`` keeps no positions).

A message about a key ("pipeline.toml:7: unknown key 'nodez' in [nodes.prep]") needs the line
the key is on. ``key_line`` scans the text once (for all the keys asked about it), following
``[table]`` and ``[[array]]`` headers, and answers the first line where a key of a given table
is written: as ``key = `` under the table's header, as a dotted ``key.sub = ``, or as a header
``[table.key...]``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

Address = tuple[str | int, ...]
"""A table's place: its keys from the top, with the index of an ``[[array]]`` element."""

_HEADER = re.compile(r"^\s*(\[\[?)\s*(.+?)\s*\]\]?\s*(?:#.*)?$")
_PART = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_-]+))\s*')
_MALFORMED = re.compile(r"^(.*?)\s*\(at line (\d+), column (\d+)\)$")


def dotted_parts(text: str) -> tuple[str, ...] | None:
    """``a."b.c".d`` → ``("a", "b.c", "d")``; None when ``text`` is not a dotted key."""
    parts: list[str] = []
    position = 0
    while True:
        match = _PART.match(text, position)
        if not match:
            return None
        parts.append(next(group for group in match.groups() if group is not None))
        position = match.end()
        if position == len(text):
            return tuple(parts)
        if text[position] != ".":
            return None
        position += 1


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    table: Address
    """The table the line is in (for a header: the table it opens)."""
    keys: tuple[str, ...]
    """The dotted key the line assigns or the header names, relative to ``table``'s parent."""
    header: bool


def _lines(text: str) -> list[_Line]:
    found: list[_Line] = []
    table: Address = ()
    arrays: dict[tuple[str | int, ...], int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(raw)
        if header:
            keys = dotted_parts(header.group(2))
            if keys is None:
                continue
            table = _address(keys, arrays, is_array=header.group(1) == "[[")
            found.append(_Line(number, table, keys, header=True))
            continue
        name, equals, _ = raw.partition("=")
        keys = dotted_parts(name) if equals else None
        if keys:
            found.append(_Line(number, table, keys, header=False))
    return found


def _address(keys: tuple[str, ...], arrays: dict[Address, int], *, is_array: bool) -> Address:
    """The address of a header, counting the elements of every array of tables on the way."""
    address: list[str | int] = []
    for position, key in enumerate(keys):
        address.append(key)
        prefix = tuple(address)
        last = position == len(keys) - 1
        if last and is_array:
            arrays[prefix] = arrays.get(prefix, -1) + 1
        if prefix in arrays:
            address.append(arrays[prefix])
    return tuple(address)


def key_line(text: str, table: Address, key: str) -> int | None:
    """The first line where ``key`` of the table at ``table`` is written, or None."""
    return _first_lines(text).get((*table, key))


@functools.lru_cache(maxsize=4)
def _first_lines(text: str) -> dict[Address, int]:
    """Every address written in ``text`` (and each of its prefixes), with the first line that
    writes it: a header writes its table, ``key = `` under it the table's key. Made once per
    text: a bundle with thousands of mistakes asks for thousands of lines (it was a scan of
    the whole text for each, minutes for 2,000 edges to no node). A line inside a table
    deeper than the one asked about never comes first: that table's header is above it."""
    first: dict[Address, int] = {}
    for line in _lines(text):
        written = line.table if line.header else (*line.table, *line.keys)
        for end in range(1, len(written) + 1):
            first.setdefault(written[:end], line.number)
    return first


def malformed_position(message: str) -> tuple[str, int | None, int | None]:
    """Split tomllib's "Invalid value (at line 3, column 7)" into the text, line and column."""
    match = _MALFORMED.match(message)
    if not match:
        return message, None, None
    return match.group(1), int(match.group(2)), int(match.group(3))
