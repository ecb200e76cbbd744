"""The package a URL requirement holds when it names none (``git+https://host/org/tool@v1``).

``env add`` of such a URL may switch a package the node installs another way (a snapshot, a
PyPI pin), and must know which one before uv adds it (``services.envs.switches``). uv reads
it as it would for ``uv add``, fetching the URL into its cache, in a scratch folder: nothing
of the node changes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from nodepipe.domain.requirements import requirement_name
from nodepipe.envs.uv import UvRunner

_REQUIREMENTS_FILE = "requirements.in"


def url_package(uv: UvRunner, python: str, url: str) -> str | None:
    """The normalised name of the package at ``url``, as uv reads it with ``python``; None
    when uv names none. EnvironmentBuildError when uv cannot read it (it could not add it
    either)."""
    with tempfile.TemporaryDirectory(prefix="nodepipe-url-") as scratch:
        folder = Path(scratch)
        (folder / _REQUIREMENTS_FILE).write_text(f"{url}\n", encoding="utf-8")
        compiled = uv.run(
            [
                "pip",
                "compile",
                "--no-deps",
                "--no-header",
                "--no-annotate",
                "--quiet",
                "--python",
                python,
                _REQUIREMENTS_FILE,
            ],
            cwd=folder,
            action=f"read which package {url} holds",
        )
    for line in compiled.splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            name = requirement_name(text)
            return name if name != text else None
    return None
