"""PEP 723 inline script metadata (``# /// script`` blocks) in a node's entry file."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from nodepipe.domain.errors import InvalidInputError

_BLOCK = re.compile(r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$")


def script_requirements(entry: Path) -> tuple[list[str], str | None]:
    """(dependencies, requires-python) declared inline in ``entry``; ([], None) if none."""
    if not entry.is_file() or entry.suffix != ".py":
        return [], None
    text = entry.read_text(encoding="utf-8", errors="replace")
    blocks = [m for m in _BLOCK.finditer(text) if m.group("type") == "script"]
    if not blocks:
        return [], None
    if len(blocks) > 1:
        raise InvalidInputError(f"{entry} has more than one `# /// script` block")
    content = "".join(
        line[2:] if line.startswith("# ") else line[1:]
        for line in blocks[0].group("content").splitlines(keepends=True)
    )
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"malformed `# /// script` block in {entry}: {exc}") from exc
    dependencies = data.get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise InvalidInputError(f"`dependencies` in the script block of {entry} must be strings")
    requires = data.get("requires-python")
    return list(dependencies), str(requires) if requires else None
