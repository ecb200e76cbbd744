"""A node's ``pyproject.toml`` edited the way a hostile bundle would: one ``[tool.nodepipe]``
setting (a code path, an interpreter) pointing at a folder or program of this machine."""

from __future__ import annotations


def with_nodepipe_setting(text: str, key: str, value: str | list[str]) -> str:
    """``text`` (a node's pyproject.toml) with ``key = value`` under ``[tool.nodepipe]``,
    the table added when the file has none (strings written as TOML literal strings)."""
    entry = f"[tool.nodepipe]\n{key} = {value!r}"
    if "[tool.nodepipe]" not in text:
        return f"{text}\n{entry}\n"
    return text.replace("[tool.nodepipe]", entry)
