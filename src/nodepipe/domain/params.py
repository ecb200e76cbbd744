"""Node parameters: parsing and validating the YAML mapping of params.yaml.

YAML is read with the limits of ``nodepipe.domain.yaml_limits`` (size, aliases, depth). PyYAML
is imported when a text is parsed or written: fingerprinting imports this module, but a node
whose ``params.yaml`` did not change is fingerprinted from its cached parse.
"""

from __future__ import annotations

from typing import Any

from nodepipe.domain.errors import InvalidInputError

Params = dict[str, Any]


def parse_params(text: str, source: str = "parameters") -> Params:
    """Parse YAML text into a parameter mapping (string keys), or raise InvalidInputError."""
    from nodepipe.domain.yaml_limits import load_yaml

    value = load_yaml(text, source)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInputError(
            f"{source} must be a YAML mapping of names to values, not a {type(value).__name__}"
        )
    bad = [key for key in value if not isinstance(key, str) or not key]
    if bad:
        raise InvalidInputError(f"{source}: parameter names must be non-empty strings, got {bad!r}")
    return value


def parse_assignment(assignment: str) -> tuple[str, Any]:
    """Parse ``name=value`` where value is a YAML scalar or flow value (``lr=0.1``)."""
    name, sep, raw = assignment.partition("=")
    name = name.strip()
    from nodepipe.domain.yaml_limits import load_yaml

    if not sep or not name:
        raise InvalidInputError(f"expected name=value, got {assignment!r}")
    value = load_yaml(raw, f"the value of {name!r}") if raw.strip() else ""
    return name, value


def dump_params(params: Params) -> str:
    """YAML text for ``params``, keys in insertion order."""
    if not params:
        return "{}\n"
    import yaml

    return yaml.safe_dump(params, sort_keys=False, allow_unicode=True)
