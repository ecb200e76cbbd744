"""nodepipe_node: what node code imports to learn who it is, where to write, and what it reads.

nodepipe puts this file on the node's import path when it launches the node, so the node's
environment never needs nodepipe installed. It uses the standard library only and runs on
Python 3.8 and later. It reads the variables nodepipe sets (other languages read them directly):

    NODEPIPE_NODE_ID       the node's id
    NODEPIPE_NODE_DIR      the node folder (code/, data/, reports/, logs/)
    NODEPIPE_DATA_DIR      where outputs go: a staging folder that replaces data/ on success
    NODEPIPE_REPORTS_DIR   where plots and reports go
    NODEPIPE_RUN_ID        the id of this run
    NODEPIPE_CONTEXT       a JSON file: {"node": {"id", "tag"}, "params": {...},
                           "parents": [{"slot", "id", "tag", "data_dir"}, ...]}

Run by hand (``python main.py`` inside ``code/``), it falls back where it can: the node folder
is the parent of ``code/``, outputs go straight into ``data/`` (with a warning), and parameters
come from ``params.yaml`` if PyYAML is importable. Parents are only known in a nodepipe run.

Every node process imports this module, so importing it costs next to nothing: at import time
it touches only ``os`` and ``sys`` (already loaded by the interpreter's start-up); ``json``,
``pathlib``, ``copy`` and ``warnings`` are imported by the functions that need them. Its
bytecode is compiled once (``make install``, and at launch by nodepipe), never per launch.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: ``typing`` costs a node process milliseconds
    from pathlib import Path
    from typing import Any

__all__ = [
    "NoSuchInputError",
    "NodepipeContextError",
    "NotRunByNodepipeWarning",
    "Parent",
    "context",
    "data_dir",
    "node_dir",
    "node_id",
    "params",
    "parent",
    "parents",
    "reports_dir",
    "run_id",
    "tag",
]

_NOT_SET = "{} is not set: this code expects to be run by nodepipe (`nodepipe run ...`)"
_loaded: dict[str, dict[str, Any]] = {}
_warned: set[str] = set()


class NodepipeContextError(RuntimeError):
    """The node's context is missing or unreadable (usually: not run by nodepipe)."""


class NoSuchInputError(KeyError):
    """``parent()`` was given a slot, tag or id that names no input (or several)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class NotRunByNodepipeWarning(UserWarning):
    """Emitted once when a fallback is used because the code runs outside nodepipe."""


class Parent:
    """One input of this node: its slot label, the parent node, and the parent's outputs.

    An immutable value (compared and hashed by its fields), written by hand rather than as a
    dataclass: ``dataclasses`` imports ``inspect`` and ``ast``, tens of milliseconds per node.
    """

    __slots__ = ("data_dir", "id", "slot", "tag")

    slot: str
    id: str
    tag: str
    data_dir: Path

    def __init__(self, slot: str, id: str, tag: str, data_dir: Path) -> None:
        object.__setattr__(self, "slot", slot)
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "tag", tag)
        object.__setattr__(self, "data_dir", data_dir)

    def _values(self) -> tuple[str, str, str, Path]:
        return (self.slot, self.id, self.tag, self.data_dir)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a Parent is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a Parent is read-only")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Parent)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return (
            f"Parent(slot={self.slot!r}, id={self.id!r}, tag={self.tag!r},"
            f" data_dir={self.data_dir!r})"
        )


def context() -> dict[str, Any]:
    """The whole JSON context of this run (a copy); raises NodepipeContextError outside nodepipe."""
    import copy

    return copy.deepcopy(_context())


def _context() -> dict[str, Any]:
    path = os.environ.get("NODEPIPE_CONTEXT")
    if not path:
        raise NodepipeContextError(_NOT_SET.format("NODEPIPE_CONTEXT"))
    if path not in _loaded:
        _loaded[path] = _read_context(path)
    return _loaded[path]


def _read_context(path: str) -> dict[str, Any]:
    import json

    try:
        with open(path, encoding="utf-8") as file:  # noqa: PTH123 (pathlib costs a node ms)
            value = json.load(file)
    except OSError as exc:
        raise NodepipeContextError(f"cannot read the nodepipe context file {path}: {exc}") from exc
    except ValueError as exc:
        raise NodepipeContextError(f"the nodepipe context file {path} is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise NodepipeContextError(f"the nodepipe context file {path} does not hold an object")
    return value


def _has_context() -> bool:
    return bool(os.environ.get("NODEPIPE_CONTEXT"))


def _warn_once(message: str) -> None:
    """Warn about a fallback, once per message, pointing at the user's call."""
    if message not in _warned:
        import warnings

        _warned.add(message)
        warnings.warn(message, NotRunByNodepipeWarning, stacklevel=4)


def node_id() -> str:
    """This node's id."""
    value = os.environ.get("NODEPIPE_NODE_ID")
    if value:
        return value
    if _has_context():
        return str(_context()["node"]["id"])
    guessed = _guess_node_dir()
    if guessed is None:
        raise NodepipeContextError(_NOT_SET.format("NODEPIPE_NODE_ID"))
    return guessed.name


def tag() -> str:
    """This node's tag (its human name); run by hand, the node id stands in for it."""
    if _has_context():
        return str(_context()["node"]["tag"])
    return node_id()


def node_dir() -> Path:
    """The node folder, holding code/, data/, reports/ and logs/."""
    value = os.environ.get("NODEPIPE_NODE_DIR")
    if value:
        from pathlib import Path

        return Path(value)
    guessed = _guess_node_dir()
    if guessed is None:
        raise NodepipeContextError(_NOT_SET.format("NODEPIPE_NODE_DIR"))
    return guessed


def _guess_node_dir() -> Path | None:
    """Run by hand: the folder above ``code/``, from the working directory or the main script."""
    from pathlib import Path

    main = getattr(sys.modules.get("__main__"), "__file__", None)
    candidates = [Path.cwd()] + ([Path(main).resolve().parent] if main else [])
    for candidate in candidates:
        if candidate.name == "code" and (candidate.parent / "data").is_dir():
            return candidate.parent
        if (candidate / "code").is_dir() and (candidate / "data").is_dir():
            return candidate
    return None


def _folder(variable: str, fallback: str) -> Path:
    from pathlib import Path

    value = os.environ.get(variable)
    if value:
        path = Path(value)
    else:
        path = node_dir() / fallback
        _warn_once(f"{variable} is not set (not run by nodepipe): using {path} directly")
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """Where this run writes its outputs (a staging folder that becomes data/ on success)."""
    return _folder("NODEPIPE_DATA_DIR", "data")


def reports_dir() -> Path:
    """Where this run writes plots and reports kept beside the data."""
    return _folder("NODEPIPE_REPORTS_DIR", "reports")


def run_id() -> str | None:
    """The id of the current run; None when the code runs outside nodepipe."""
    return os.environ.get("NODEPIPE_RUN_ID") or None


def params() -> dict[str, Any]:
    """This node's parameters (the mapping in params.yaml), as a fresh copy."""
    if _has_context():
        import copy

        return copy.deepcopy(dict(_context().get("params") or {}))
    return _params_from_file(node_dir() / "code" / "params.yaml")


def _params_from_file(path: Path) -> dict[str, Any]:
    try:
        import yaml
    except ImportError:
        raise NodepipeContextError(
            _NOT_SET.format("NODEPIPE_CONTEXT")
            + f"; to read {path} by hand, PyYAML must be installed in this environment"
        ) from None
    _warn_once(f"NODEPIPE_CONTEXT is not set (not run by nodepipe): reading {path}")
    if not path.is_file():
        return {}
    value = yaml.safe_load(path.read_text(encoding="utf-8"))
    if value is not None and not isinstance(value, dict):
        raise NodepipeContextError(f"{path} must hold a mapping of names to values")
    return {str(key): _as_in_a_run(item) for key, item in (value or {}).items()}


def _as_in_a_run(value: Any) -> Any:
    """``value`` as a run gives it (its context is JSON, made by nodepipe's ``jsonable``):
    a date as ISO text, a set as a sorted list, bytes as hex text; the same by hand."""
    if isinstance(value, dict):
        return {str(key): _as_in_a_run(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_as_in_a_run(item) for item in value]
    if isinstance(value, set | frozenset):
        import json

        def canonical(item: Any) -> str:  # as nodepipe's ``canonical_json`` writes it
            return json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

        return sorted((_as_in_a_run(item) for item in value), key=canonical)
    if isinstance(value, bytes):
        return value.hex()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _slot_key(item: Parent) -> tuple[int, int, str]:
    return (0, int(item.slot), item.slot) if item.slot.isdecimal() else (1, 0, item.slot)


def parents() -> list[Parent]:
    """This node's inputs, one per incoming edge, ordered by slot (``01``, ``02``, ... names)."""
    if not _has_context():
        raise NodepipeContextError(
            _NOT_SET.format("NODEPIPE_CONTEXT") + "; a node's parents are only known in a run"
        )
    from pathlib import Path

    items = [
        Parent(str(p["slot"]), str(p["id"]), str(p.get("tag", p["id"])), Path(p["data_dir"]))
        for p in _context().get("parents") or []
    ]
    return sorted(items, key=_slot_key)


def parent(slot_or_tag: str) -> Parent:
    """The input on slot ``slot_or_tag`` (``"01"``), else the parent with that tag or id."""
    items = parents()
    for field_name in ("slot", "tag", "id"):
        matches = [item for item in items if getattr(item, field_name) == slot_or_tag]
        if len(matches) == 1:
            return matches[0]
        if matches:
            slots = ", ".join(item.slot for item in matches)
            raise NoSuchInputError(
                f"{slot_or_tag!r} names several inputs (slots {slots}); use a slot"
            )
    known = ", ".join(f"{item.slot} ({item.tag})" for item in items) or "none"
    raise NoSuchInputError(f"this node has no input {slot_or_tag!r}; its inputs: {known}")
