"""What a pipeline in the workspace remembers of the bundles it includes (DESIGN.md §4.5).

A ``PipelineInclude`` is one include of a pipeline, at any depth (``features``, or
``features.sub`` for an include inside ``features``): where it came from as written, where it
was found, and a digest of what was found, so ``pipeline include --update`` can tell what
changed. An ``IncludeMember`` says which node of the pipeline came from which include, under
which key of the included bundle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PipelineInclude:
    """One include of a pipeline, as recorded when it was imported or last updated."""

    id: str
    pipeline_id: str
    namespace: str
    """Qualified: ``features``, or ``features.sub`` for an include inside ``features``."""
    source: str
    """As written in the including ``pipeline.toml`` (or on the command line)."""
    loader: str
    """``file``, ``fsspec`` or ``package``."""
    location: str
    """Where the bundle was found: an absolute directory, a URL, or ``pkg:NAME==VERSION``."""
    content_hash: str
    updated_at: datetime
    inputs: Mapping[str, str] = field(default_factory=_empty)
    """The included bundle's input name → the tag of the node of the pipeline feeding it."""
    params: Mapping[str, Any] = field(default_factory=_empty)
    """The include's overrides of the included bundle's parameters."""

    @property
    def is_top_level(self) -> bool:
        """Whether the pipeline itself includes it (not an include of an include)."""
        return "." not in self.namespace

    def covers(self, namespace: str) -> bool:
        """Whether ``namespace`` is this include or lies inside it."""
        return namespace == self.namespace or namespace.startswith(self.namespace + ".")


@dataclass(frozen=True, slots=True)
class IncludeMember:
    """Node ``node_id`` of a pipeline came from include ``include_id`` as its node ``key``."""

    include_id: str
    node_id: str
    key: str
