"""Code-first definitions: a pipeline and its nodes declared in Python, as plain values.

``PipelineSpec`` is built with ``define()`` (see ``nodepipe.services.graph.definition``) and
materialised as node folders by ``Workspace.materialize``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.params import dump_params, parse_params
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


def package_mapping(value: Mapping[str, str] | None, what: str) -> dict[str, str]:
    """``value`` as a dict of package name -> version, or InvalidInputError saying the form."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidInputError(
            f"{what} must be a mapping of package name to version, like "
            f'{{"numpy": "2.1.3", "pandas": ">=2"}} ("" or "*" for any version), not {value!r}'
        )
    return dict(value)


def param_mapping(value: Mapping[str, Any] | None, what: str) -> dict[str, Any]:
    """``value`` as a dict of parameter name -> value, or InvalidInputError saying the form."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{what} must be a mapping of names to values, not {value!r}")
    return dict(value)


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

    @property
    def python_range(self) -> bool:
        """Whether ``python`` is a range for ``requires-python`` (``>=3.11``), not a request
        for one interpreter (``3.12``, ``cpython@3.12``)."""
        return self.python is not None and self.python.lstrip().startswith(_OPERATORS)

    def check(self) -> None:
        """Its requirements well formed, no parent twice, its parameters what params.yaml
        can hold, its Python a version or a range."""
        validate_requirements(self.requirements)
        twice = sorted({p for p in self.parents if self.parents.count(p) > 1})
        if twice:
            raise InvalidInputError(f"node {self.tag!r} reads {', '.join(twice)} twice")
        _check_params(self)
        if self.python is not None:
            _check_python(self)


_PLAIN = (str, int, float, bool, type(None), list, dict)
"""What a node reads back as it was declared (its context is JSON): a set arrived as a list,
bytes as hex text, a date as text."""


def _not_plain(params: dict[str, object]) -> tuple[str, object] | None:
    """The first value (its place, ``x.y[0]``, and itself) that is none of ``_PLAIN``."""
    pending: list[tuple[str, object]] = [(str(k), v) for k, v in params.items()]
    while pending:
        place, value = pending.pop()
        if not isinstance(value, _PLAIN):
            return place, value
        if isinstance(value, dict):
            pending += [(f"{place}.{k}", v) for k, v in value.items()]
        elif isinstance(value, list):
            pending += [(f"{place}[{i}]", v) for i, v in enumerate(value)]
    return None


def _check_params(node: NodeSpec) -> None:
    what = f"the params of node {node.tag!r}"
    found = _not_plain(node.params) if isinstance(node.params, dict) else None
    if found is not None:
        place, value = found
        raise InvalidInputError(
            f"{what}: {place} is a {type(value).__name__} ({value!r}), which the node would "
            "not read back as it is; use strings, numbers, booleans, None, lists and mappings"
        )
    try:
        text = dump_params(node.params)
    except Exception as error:  # what YAML cannot write (an object, a tuple, a set...)
        raise InvalidInputError(
            f"{what} cannot be written to params.yaml: {error}; use strings, numbers, "
            "booleans, None, lists and mappings"
        ) from None
    same = parse_params(text, what) == node.params
    if not same:
        raise InvalidInputError(
            f"{what} do not read back the same from params.yaml ({node.params!r}); use "
            "strings, numbers, booleans, None, lists and mappings with string keys"
        )


def _check_python(node: NodeSpec) -> None:
    what = f"python={node.python!r} of node {node.tag!r}"
    if not isinstance(node.python, str) or not node.python.strip():
        raise InvalidInputError(f"{what}: give a version (3.12) or a range (>=3.11)")
    if node.python_range:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            SpecifierSet(node.python)
        except InvalidSpecifier:
            raise InvalidInputError(
                f"{what} is not a version range; write it like >=3.11 or >=3.11,<3.13"
            ) from None


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
            node.check()
            if node.tag in seen:
                raise InvalidInputError(f"node {node.tag!r} is declared twice")
            missing = [p for p in node.parents if p not in seen]
            if missing:
                raise InvalidInputError(
                    f"node {node.tag!r} reads {', '.join(missing)}, declared after it (or never)"
                )
            seen.add(node.tag)
