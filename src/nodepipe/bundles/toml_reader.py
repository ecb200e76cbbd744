"""Reading one parsed TOML document with messages that name the file and line of a mistake.

``TomlReader`` wraps the text and its origin ("pipeline.toml", or a longer path): each check
raises a ``BundleError`` that starts with ``origin:line:`` when the line can be found. A reader
that reads on past a mistake (``attempt``, ``note``) keeps every problem and refuses them all
together at the end (``finish``), so the user sees each mistake of the file in one go.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from typing import Any, ParamSpec, TypeVar

from nodepipe.bundles.errors import BundleError, refuse_all
from nodepipe.bundles.toml_lines import Address, key_line, malformed_position
from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.toml_limits import load_toml

T = TypeVar("T")
P = ParamSpec("P")


def table_label(address: Address) -> str:
    """``("nodes", "prep")`` → ``[nodes.prep]``; ``("edges", 1)`` → ``[[edges]] #2``."""
    if not address:
        return "the top level"
    if isinstance(address[-1], int):
        return f"[[{'.'.join(str(p) for p in address[:-1])}]] #{address[-1] + 1}"
    return f"[{'.'.join(str(p) for p in address)}]"


class TomlReader:
    """The text of one TOML file, parsed, and how to say where in it something is wrong."""

    def __init__(self, text: str, origin: str) -> None:
        self.text = text
        self.origin = origin
        try:
            self.document: dict[str, Any] = load_toml(text)
        except tomllib.TOMLDecodeError as exc:
            message, line, column = malformed_position(str(exc))
            where = f"{origin}:{line}:{column}" if line is not None else origin
            raise BundleError(f"{where}: malformed TOML: {message}") from None
        self.errors: list[BundleError] = []
        """The problems noted so far (``note``), refused together by ``finish``."""

    def note(self, error: BundleError) -> None:
        """Keep ``error`` and read on; ``finish`` refuses every problem noted."""
        self.errors.append(error)

    def attempt(self, default: T, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``read(*args)``, or ``default`` with its BundleError noted: what follows is read
        even when one part of the file is wrong."""
        try:
            return read(*args, **kwargs)
        except BundleError as error:
            self.note(error)
            return default

    def finish(self) -> None:
        """Refuse every problem noted, all together (nothing noted: nothing happens)."""
        refuse_all(self.errors)

    def error(self, message: str, address: Address = (), key: str | None = None) -> BundleError:
        """A BundleError for ``message``, placed at ``key`` of the table at ``address``."""
        line = key_line(self.text, address, key) if key is not None else None
        if line is None and address:
            parent, last = address[:-1], address[-1]
            line = key_line(self.text, parent, last) if isinstance(last, str) else None
            line = line or _array_element_line(self.text, address)
        return BundleError(
            f"{self.origin}:{line}: {message}" if line else f"{self.origin}: {message}"
        )

    def checked(self, address: Address, key: str, check: Any, *args: Any) -> Any:
        """``check(*args)``, its InvalidInputError re-raised at ``key`` of ``address``."""
        try:
            return check(*args)
        except (InvalidInputError, ValueError) as exc:
            raise self.error(str(exc), address, key) from None

    def only_keys(self, table: dict[str, Any], allowed: Iterable[str], address: Address) -> None:
        """Refuse a key of ``table`` that is not in ``allowed``, naming it and its line."""
        for error in self.unknown_keys(table, allowed, address):
            raise error

    def note_unknown_keys(
        self, table: dict[str, Any], allowed: Iterable[str], address: Address
    ) -> None:
        """``only_keys``, each unknown key noted (``note``) rather than raised."""
        for error in self.unknown_keys(table, allowed, address):
            self.note(error)

    def unknown_keys(
        self, table: dict[str, Any], allowed: Iterable[str], address: Address
    ) -> list[BundleError]:
        """An error for each key of ``table`` that is not in ``allowed``, with its line."""
        known = tuple(allowed)
        hint = ", ".join(repr(k) for k in known)
        where = f"in {table_label(address)}" if address else "at the top level"
        return [
            self.error(f"unknown key {key!r} {where} (known: {hint})", address, key)
            for key in table
            if key not in known
        ]

    def table(self, value: Any, address: Address, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            where = table_label((*address, key))
            raise self.error(f"{where} must be a table, not {_kind(value)}", address, key)
        return value

    def string(self, value: Any, address: Address, key: str) -> str:
        if not isinstance(value, str):
            raise self.error(f"{key!r} in {table_label(address)} must be a string", address, key)
        return value

    def number(self, value: Any, address: Address, key: str) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.error(
                f"{key!r} in {table_label(address)} must hold finite numbers", address, key
            )
        return float(value)

    def plain_values(self, value: Any, address: Address, key: str) -> None:
        """Refuse TOML dates and times and non-finite floats (parameters are plain values)."""
        if isinstance(value, datetime | date | time):
            message = f"{key!r} in {table_label(address)} is a date or time; write it as a string"
            raise self.error(message, address, key)
        if isinstance(value, float) and not math.isfinite(value):
            message = f"{key!r} in {table_label(address)} is {value}; use a finite number"
            raise self.error(message, address, key)
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict | list):
            for child in children:
                self.plain_values(child, address, key)


def _array_element_line(text: str, address: Address) -> int | None:
    """The header line of the ``[[array]]`` element ``address`` ends with, if it does."""
    if not address or not isinstance(address[-1], int):
        return None
    count = -1
    header = f"[[{'.'.join(str(p) for p in address[:-1])}]]"
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().replace(" ", "").startswith(header):
            count += 1
            if count == address[-1]:
                return number
    return None


def _kind(value: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )
