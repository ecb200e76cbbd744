"""Which nodes' rows of the graph changed since a point: the reader of the change journal.

The database's own triggers (migration 0007) write a row to ``graph_changes`` for every row of
``nodes``, ``memberships`` and ``edges`` inserted, updated or deleted, naming the node whose
member row or inputs it changes (a membership's node, an edge's child), in the transaction that
writes it: whoever writes (any nodepipe process, a run's ``sqlite3`` writes, a manual SQL edit),
a committed change is journaled and an uncommitted one is not. The journal keeps its last
100,000 rows (older ones are pruned by a trigger, a thousand at a time, and the floor row records
the newest position pruned). On PostgreSQL the trigger functions run as the journal's owner
(migration 0008), so every role that may write the graph tables journals its writes.

A reader keeps a ``Mark`` (the journal's epoch, a position, the newest ``seq`` it saw) and asks
what changed since it (``journal_since``, the first query of its read transaction). The answer
is None (read everything again) whenever the journal cannot say: no mark, another epoch (another
store), the journal behind the mark (a store put back from an older copy), a pruned row the mark
had not seen, or more changes than ``CHANGED_AT_MOST`` (reading the rows of so many nodes by key
costs more than reading them all).

- SQLite: writers commit one at a time, in ``seq`` order: what changed since position ``p`` is
  ``seq > p``.
- PostgreSQL: a sequence's numbers are taken at insert, not at commit, so a transaction may commit
  a lower ``seq`` after a reader saw a higher one. Each row carries its transaction id instead
  (``txid_current()``), and the position is the reader's snapshot's ``xmin``: every transaction
  the reader did not see has an id at least that (rows seen already may come again: a few nodes
  computed again, never one missed).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

Mark = tuple[str, int, int]
"""The journal's epoch, a position (SQLite: a ``seq``; PostgreSQL: a ``txid``), the newest
``seq``."""
Fetch = Callable[[str, Sequence[object]], list[tuple[Any, ...]]]
"""Runs one query with ``?`` parameters and gives its rows as tuples."""
CHANGED_AT_MOST = 2000
"""More changed nodes than this: the reader reads every row again."""
ORDER_PROBES = (
    "a",
    "B",
    "_",
    "Z",
    "é",
    "e",
    "f",
    "a b",
    "ab",
    "a-b",
    "a_b",
    "A",
    "10",
    "9",
    "~",
    "ß",
)
"""Texts that a code-point order sorts as Python does and any linguistic collation (libc
``en_US``, ICU, whatever its ``datcollate`` says) sorts otherwise: case, accents, spaces and
punctuation, digits."""


def journal_since(
    fetch: Fetch, postgres: bool, since: Mark | None
) -> tuple[Mark, frozenset[str] | None]:
    """The mark now and the nodes journaled since ``since`` (None: the journal cannot say).
    Must be the first query of the read transaction whose rows the caller reads after it."""
    if postgres:
        ((position,),) = fetch("SELECT txid_snapshot_xmin(txid_current_snapshot())", ())
    floor = fetch("SELECT epoch, pruned FROM graph_changes_floor WHERE id = 1", ())
    if not floor:  # its row deleted by hand: nothing can be said, ever
        return ("", 0, 0), None
    ((epoch, pruned),) = floor
    ((top,),) = fetch("SELECT max(seq) FROM graph_changes", ())
    top = int(top or 0)
    if not postgres:
        position = top
    mark: Mark = (str(epoch), int(position), top)
    if (
        since is None
        or since[0] != mark[0]
        or top < since[2]
        or int(pruned) >= since[1] + (0 if postgres else 1)
    ):
        return mark, None
    after = "txid >= ?" if postgres else "seq > ?"
    found = fetch(
        f"SELECT DISTINCT node_id FROM graph_changes WHERE {after} LIMIT {CHANGED_AT_MOST + 1}",
        (since[1],),
    )
    if len(found) > CHANGED_AT_MOST:
        return mark, None
    return mark, frozenset(row[0] for row in found)


def code_point_order(fetch: Fetch, postgres: bool) -> bool:
    """Whether the store orders text (``ORDER BY tag``, ``slot``) as Python orders ``str``:
    SQLite's BINARY collation does; on PostgreSQL the database itself sorts ``ORDER_PROBES``
    with its default collation (the columns' one), as its name (``datcollate``) is not the
    whole story: a PostgreSQL 15+ database with the ICU provider keeps ``datcollate = 'C'``."""
    if not postgres:
        return True
    values = ", ".join("(CAST(? AS text))" for _ in ORDER_PROBES)
    found = fetch(f"SELECT x FROM (VALUES {values}) AS probe (x) ORDER BY x", ORDER_PROBES)
    return [row[0] for row in found] == sorted(ORDER_PROBES)


def marks(values: Collection[object]) -> str:
    """``?, ?, …`` for ``values``."""
    return ", ".join("?" * len(values))
