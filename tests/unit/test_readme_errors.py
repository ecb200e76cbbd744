"""The README names every exception ``nodepipe`` exports, each under the parent it has."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import nodepipe

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_every_exported_error_under_its_parent() -> None:
    text = README.read_text(encoding="utf-8")
    paragraph = text.split("Errors are exceptions under `nodepipe.NodepipeError`", 1)[1]
    paragraph = " ".join(paragraph.split(". A refused", 1)[0].split())
    said: dict[str, str] = {}
    for parent, children in re.findall(r"`(\w+Error)`(?: \(and ([^)]*)\))?", paragraph):
        said[parent] = "NodepipeError"
        for child in re.findall(r"`(\w+Error)`", children):
            said[child] = parent
    exported = {
        name: cls.__mro__[1].__name__
        for name in nodepipe.__all__
        if inspect.isclass(cls := getattr(nodepipe, name))
        and issubclass(cls, nodepipe.NodepipeError)
        and cls is not nodepipe.NodepipeError
    }
    assert said == exported
