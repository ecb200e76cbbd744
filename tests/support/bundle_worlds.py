"""Bundle trees written from a few values, into real folders (tests of the bundles layer)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def toml_value(value: Any) -> str:
    """A TOML literal for plain values (strings, numbers, lists, flat tables)."""
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


def write_bundle(
    folder: Path,
    name: str,
    nodes: Mapping[str, str],
    *,
    edges: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    includes: Mapping[str, Mapping[str, Any]] | None = None,
    inputs: Mapping[str, list[str]] | None = None,
    params: Mapping[str, Any] | None = None,
    py_dir: Mapping[str, str] | None = None,
) -> Path:
    """A bundle at ``folder``: each node ``key → main.py text`` under ``nodes/<key>/code/``;
    ``py_dir`` files under ``lib/``; includes as ``namespace → {source, inputs, params}``."""
    lines = ["format = 1", "[pipeline]", f"name = {toml_value(name)}"]
    if py_dir is not None:
        lines.append('py-dir = "lib"')
    for title, table in (("params", params), ("inputs", inputs)):
        if table:
            lines.append(f"[{title}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in table.items()]
    lines += [f"[nodes.{key}]" for key in nodes]
    for parent, child, slot in edges:
        lines += ["[[edges]]", f"from = {toml_value(parent)}", f"to = {toml_value(child)}"]
        lines.append(f"slot = {toml_value(slot)}")
    for namespace, include in (includes or {}).items():
        lines.append(f"[includes.{namespace}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in include.items()]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline.toml").write_text("\n".join(lines) + "\n")
    for key, code in nodes.items():
        code_dir = folder / "nodes" / key / "code"
        code_dir.mkdir(parents=True, exist_ok=True)
        (code_dir / "main.py").write_text(code)
        (code_dir / "uv.lock").write_text("version = 1\n")
    for relative, text in (py_dir or {}).items():
        (folder / "lib" / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / "lib" / relative).write_text(text)
    return folder
