"""The build project around a bundle: what ``uv build`` turns into a wheel and an sdist.

```
<project>/pyproject.toml          hatchling; name, version, summary; no dependencies
<project>/<module>/__init__.py    a docstring only: the package has no code of its own
<project>/<module>/bundle/        the exported bundle (pipeline.toml, nodes/…, lib/)
```
The ``nodepipe.bundles`` entry point ``<dist> = "<module>.bundle"`` names the folder, which is
how an installed package is found (``bundles.loaders.PackageLoader``) and how ``package pull``
finds the bundle in an archive. A pipeline package declares no dependencies: each node keeps
its requirements in its own ``uv.lock``, so installing the package pulls nothing into anyone's
environment.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path, PurePath
from typing import Any

import tomlkit

from nodepipe.envs.uv import UvRunner
from nodepipe.packaging.errors import PackageError
from nodepipe.packaging.names import BUNDLE_FOLDER, PackageNames

ENTRY_POINT_GROUP = "nodepipe.bundles"
BUILD_BACKEND = {"requires": ["hatchling>=1.25"], "build-backend": "hatchling.build"}
REPRODUCIBLE_EPOCH = "315532800"
"""SOURCE_DATE_EPOCH of every build (1980-01-01): the same bundle gives the same wheel."""


def write_project(
    project: Path, bundle: Path, names: PackageNames, summary: str, kind: str = "pipeline"
) -> Path:
    """Lay out a build project in the new folder ``project``, moving ``bundle`` into it."""
    package = project / names.module
    package.mkdir(parents=True)
    shutil.move(str(bundle), package / BUNDLE_FOLDER)
    (package / "__init__.py").write_text(
        f'"""The nodepipe {kind} {names.dist} {names.version}, as a bundle in {BUNDLE_FOLDER}/.\n\n'
        f"Pull it into a workspace with `nodepipe package pull {names.dist}`; it holds no code\n"
        'that runs on install or import."""\n',
        encoding="utf-8",
    )
    document: dict[str, Any] = {
        "build-system": BUILD_BACKEND,
        "project": {
            "name": names.dist,
            "version": names.version,
            "description": summary,
            "dependencies": [],
            "entry-points": {ENTRY_POINT_GROUP: {names.dist: names.entry_point}},
        },
        "tool": {"hatch": {"build": {"targets": {"wheel": {"packages": [names.module]}}}}},
    }
    (project / "pyproject.toml").write_text(tomlkit.dumps(document), encoding="utf-8")
    return project


def build_project(project: Path, out_dir: Path, uv: UvRunner) -> tuple[Path, Path]:
    """Build the sdist, then the wheel from it (proving the sdist complete), into ``out_dir``.

    Offline: hatchling is nodepipe's own dependency, and the build runs in nodepipe's own
    interpreter (``--no-build-isolation``), so no index is asked for a build backend.
    """
    _check_file_names(project)
    uv.run(
        ["build", "--no-build-isolation", "--python", sys.executable, "--out-dir", str(out_dir)],
        cwd=project,
        action="build the package",
        extra_env={"UV_OFFLINE": "1", "SOURCE_DATE_EPOCH": REPRODUCIBLE_EPOCH},
    )
    wheels = sorted(out_dir.glob("*.whl"))
    sdists = sorted(out_dir.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        found = ", ".join(p.name for p in sorted(out_dir.iterdir())) or "nothing"
        raise PackageError(f"uv build wrote {found}; expected one wheel and one sdist")
    return wheels[0], sdists[0]


def _control_character(name: str) -> str | None:
    """The first ASCII control character of ``name`` (None: it has none)."""
    return next((ch for ch in name if ord(ch) < 32 or ord(ch) == 127), None)


def _check_file_names(project: Path) -> None:
    """Refuse, before uv is run, a file or folder whose name holds an ASCII control character
    (a tab, a newline...): uv refuses to put it in an sdist, with words about a tar file."""
    for folder, dirs, files in os.walk(project):
        for name in sorted([*dirs, *files]):
            found = _control_character(name)
            if found is not None:
                relative = PurePath(folder, name).relative_to(project).as_posix()
                raise PackageError(
                    f"cannot build a package holding {relative!r}: its name holds the control "
                    f"character {found!r}, which an sdist cannot carry; rename it"
                )
