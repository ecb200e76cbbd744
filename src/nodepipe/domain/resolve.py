"""Turning what a user typed into exactly one id: by id, unambiguous tag, or unique id prefix.

Unknown names get the closest candidate suggested; ambiguous ones list every candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from nodepipe.domain.errors import AmbiguousNameError, NotFoundError
from nodepipe.domain.names import named_by_text

MIN_PREFIX = 4


class Candidate:
    """Something addressable: its id, its human name, and where it lives (for messages).

    A plain class: nothing compares it, and a dataclass costs every command's start about
    0.6 ms to make (its generated methods are compiled when the module is imported)."""

    __slots__ = ("id", "name", "where")

    def __init__(self, id: str, name: str, where: str = "") -> None:
        self.id: Final = id
        self.name: Final = name
        self.where: Final = where

    def describe(self) -> str:
        return f"{self.name} (id {self.id}{', ' + self.where if self.where else ''})"


def resolve(query: str, candidates: Sequence[Candidate], kind: str, scope: str = "") -> str:
    """Return the id ``query`` designates among ``candidates``.

    Precedence: exact id, then exact name, then a unique id prefix of at least 4 characters.
    """
    named_by_text(query, kind)
    by_id = [c for c in candidates if c.id == query]
    if by_id:
        return by_id[0].id
    by_name = _unique_by_id([c for c in candidates if c.name == query])
    if len(by_name) == 1:
        return by_name[0].id
    if len(by_name) > 1:
        listing = "\n".join(f"  {c.describe()}" for c in by_name)
        raise AmbiguousNameError(
            f"{kind} name {query!r} is ambiguous{_in(scope)}; use one of these ids:\n{listing}"
        )
    if len(query) >= MIN_PREFIX:
        by_prefix = _unique_by_id([c for c in candidates if c.id.startswith(query)])
        if len(by_prefix) == 1:
            return by_prefix[0].id
    raise NotFoundError(_not_found_message(query, candidates, kind, scope))


def _unique_by_id(items: list[Candidate]) -> list[Candidate]:
    seen: dict[str, Candidate] = {}
    for item in items:
        seen.setdefault(item.id, item)
    return list(seen.values())


def _in(scope: str) -> str:
    return f" in {scope}" if scope else ""


def _not_found_message(query: str, candidates: Sequence[Candidate], kind: str, scope: str) -> str:
    names = sorted({c.name for c in candidates})
    import difflib  # a name not found only

    close = difflib.get_close_matches(query, names, n=3, cutoff=0.6)
    message = f"no {kind} {query!r}{_in(scope)}"
    if close:
        return message + " — did you mean " + " or ".join(repr(name) for name in close) + "?"
    if not names:
        return message + f" (there is no {kind} yet)"
    shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
    return message + f"; known: {shown}"
