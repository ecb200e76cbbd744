"""Code-first definitions: a pipeline and its nodes declared in Python, as plain values.

``PipelineSpec`` is built with ``define()`` (see ``nodepipe.services.graph.definition``) and
materialised as node folders by ``Workspace.materialize``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.requirements import validate_requirements

_OPERATORS = ("==", ">=", "<=", "!=", "~=", ">", "<", "===")


def requirement(name: str, version: str) -> str:
    """``("scikit-learn", "1.5.2")`` -> ``scikit-learn==1.5.2``; ranges and "*" kept."""
    version = version.strip()
    if version in ("", "*"):
        return name
    if version.startswith(_OPERATORS) or version.startswith(("@", ";", "[")):
        return f"{name}{version}"
    return f"{name}=={version}"


@dataclass(frozen=True, slots=True)
class NodeSpec:
    tag: str
    code: str
    parents: tuple[str, ...] = ()
    packages: dict[str, str] = field(default_factory=dict)
    python: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    conda: dict[str, str] = field(default_factory=dict)
    """Conda packages: name -> version spec (``"6.1.*"``; ``""`` for any)."""

    @property
    def requirements(self) -> list[str]:
        return [requirement(name, version) for name, version in self.packages.items()]


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    tag: str
    project: str | None
    base: dict[str, str]
    nodes: tuple[NodeSpec, ...]

    @property
    def base_requirements(self) -> list[str]:
        return [requirement(name, version) for name, version in self.base.items()]

    def check(self) -> None:
        """Tags unique, parents declared before their children, requirements well formed."""
        validate_requirements(self.base_requirements)
        seen: set[str] = set()
        for node in self.nodes:
            validate_requirements(node.requirements)
            if node.tag in seen:
                raise InvalidInputError(f"node {node.tag!r} is declared twice")
            missing = [p for p in node.parents if p not in seen]
            if missing:
                raise InvalidInputError(
                    f"node {node.tag!r} reads {', '.join(missing)}, declared after it (or never)"
                )
            seen.add(node.tag)
