"""YAML that would take a naive reader down: a "billion laughs" bomb and very deep nesting."""

from __future__ import annotations


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The classic bomb as a mapping: each level lists ``width`` aliases to the level before,
    so the last one expands to ``width ** levels`` strings. 9 x 9 is a few hundred bytes."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        items = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{items}]")
    return "\n".join(lines) + "\n"


def inline_billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The same bomb as one flow value (for ``--set name=VALUE``)."""
    items = [f"&a0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        items.append(f"&a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    return "[" + ", ".join(items) + "]"


def nested(depth: int) -> str:
    """A flow value nested ``depth`` levels deep: ``[[[...]]]``."""
    return "[" * depth + "]" * depth


BOMB = billion_laughs()
DEEP = f"a: {nested(10_000)}\n"
