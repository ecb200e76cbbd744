"""Which methods the API has at a path, as its OpenAPI document says: the ``Allow`` of a 405.

The router answers 405 naming only the methods of the first route whose path matched; a
client needs all of them. Where a literal path and a templated one both match (``/pipelines/
merges`` and ``/pipelines/{pipeline}``), the literal one is meant, as in OpenAPI.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import compile_path

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def documented_methods(document: dict[str, Any], path: str) -> list[str]:
    """The methods of the most literal documented path matching ``path`` (none: no such path)."""
    matches: list[tuple[int, set[str]]] = []
    for template, operations in document.get("paths", {}).items():
        if compile_path(template)[0].match(path):
            literal = sum(1 for part in template.split("/") if not part.startswith("{"))
            matches.append((literal, {m.upper() for m in operations if m in HTTP_METHODS}))
    if not matches:
        return []
    best = max(literal for literal, _ in matches)
    return sorted({m for literal, methods in matches if literal == best for m in methods})
