"""Read-only views assembled by services: a node with its neighbourhood, removal reports, and
what a destructive command would lose."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodepipe.domain.model import Node


@dataclass(frozen=True, slots=True)
class Link:
    """One input or output of a node: the slot and the node on the other side."""

    slot: str
    node_id: str
    tag: str


@dataclass(frozen=True, slots=True)
class NodeDetails:
    node: Node
    owner_pipeline: str
    pipelines: tuple[str, ...]
    inputs: tuple[Link, ...]
    outputs: tuple[Link, ...]
    folder: Path
    params: dict[str, Any]
    params_text: str = ""  # params.yaml as written (comments and layout kept)
    isolation: str = "own"
    """``own`` environment, ``shared:NAME`` or ``interpreter:PATH`` (not isolated)."""


@dataclass(frozen=True, slots=True)
class RemovalReport:
    """What removing nodes from a pipeline did."""

    removed: tuple[str, ...]
    deleted: tuple[str, ...]
    transferred: dict[str, str] = field(default_factory=dict)
    disconnected: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Loss:
    """What a destructive command would delete of one node: its whole folder (code,
    environment, outputs) or only its outputs; ``output_bytes`` is what data/ and reports/
    hold, in ``output_files`` files (empty ones too)."""

    node_id: str
    tag: str
    folder: bool
    output_bytes: int
    library_users: tuple[str, ...] = ()
    """Tags of the nodes that install a package from this library node and will install it
    from ``successor`` instead (``node replace``)."""
    successor: str | None = None
    output_files: int = 0
