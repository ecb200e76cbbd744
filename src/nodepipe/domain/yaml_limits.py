"""YAML read with limits, so that no text can exhaust memory, time or the stack.

Every YAML text nodepipe reads (params.yaml, ``--set`` values, the API's parameter bodies) goes
through ``load_yaml``. It refuses, with an InvalidInputError naming the limit:

- a text longer than ``MAX_YAML_CHARS``;
- more than ``MAX_YAML_ALIASES`` aliases (``*name``), or aliases that would expand the document
  to more than ``MAX_YAML_VALUES`` values once each alias is replaced by what it names: a
  "billion laughs" file is a few hundred bytes that expands to billions of values when it is
  serialised, hashed or compared;
- an alias to a node that contains itself (it could never be written out);
- nesting deeper than ``MAX_YAML_DEPTH`` levels (PyYAML composes recursively).

The counting happens in PyYAML's own composer, as each node is built, so a bad document is
stopped at the first node past a limit.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import Node

from nodepipe.domain.errors import InvalidInputError

MAX_YAML_CHARS = 1024 * 1024
MAX_YAML_ALIASES = 100
MAX_YAML_VALUES = 2 * MAX_YAML_CHARS
"""More values than any alias-free text within ``MAX_YAML_CHARS`` can hold (a value takes at
least one character), so only aliases can reach it."""
MAX_YAML_DEPTH = 100


def load_yaml(text: str, source: str) -> Any:
    """The value of YAML ``text``; InvalidInputError starting with ``source`` if it is malformed
    or past a limit."""
    if len(text) > MAX_YAML_CHARS:
        raise InvalidInputError(
            f"{source}: YAML text too long ({len(text):,} characters); "
            f"limit {MAX_YAML_CHARS:,} characters"
        )
    try:
        loader = _LimitedLoader(text, source)  # its reader already refuses control characters
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"malformed YAML in {source}: {exc}") from exc


def compose_yaml(text: str, source: str) -> Node | None:
    """The node tree of YAML ``text`` (each node with its place in the text), composed with
    ``load_yaml``'s limits; None for a text holding no document."""
    if len(text) > MAX_YAML_CHARS:
        load_yaml(text, source)  # refused, in its words
    try:
        loader = _LimitedLoader(text, source)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"malformed YAML in {source}: {exc}") from exc


class _LimitedLoader(yaml.SafeLoader):
    """A SafeLoader whose composer counts aliases, expanded values and depth as it goes."""

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self._source = source
        self._aliases = 0
        self._values = 0
        self._depth = 0
        self._expanded: dict[Node, int] = {}
        """Values held by each anchored node, counting what its own aliases expand to."""

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            assert node is not None
            self._count_alias(node)
            return node
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the stubs
        anchor = getattr(event, "anchor", None)
        if self._depth >= MAX_YAML_DEPTH:
            self._refuse(f"YAML nested more than {MAX_YAML_DEPTH} levels deep", MAX_YAML_DEPTH)
        self._depth += 1
        before = self._values
        self._grow(1)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if anchor is not None and node is not None:
            self._expanded[node] = self._values - before
        return node

    def _count_alias(self, node: Node) -> None:
        self._aliases += 1
        if self._aliases > MAX_YAML_ALIASES:
            self._refuse(f"too many YAML aliases (more than {MAX_YAML_ALIASES})", MAX_YAML_ALIASES)
        if node not in self._expanded:
            raise InvalidInputError(
                f"{self._source}: a YAML alias refers to a value that contains it; "
                "write the value out instead"
            )
        self._grow(self._expanded[node])

    def _grow(self, values: int) -> None:
        self._values += values
        if self._values > MAX_YAML_VALUES:
            self._refuse(
                f"too many YAML aliases (they expand to more than {MAX_YAML_VALUES:,} values)",
                f"{MAX_YAML_VALUES:,} values",
            )

    def _refuse(self, problem: str, limit: object) -> None:
        raise InvalidInputError(f"{self._source}: {problem}; limit {limit}")
