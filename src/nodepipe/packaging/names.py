"""A package's names and version: the distribution name, the import name, the version.

The distribution name is the alias, else the pipeline's (or node's) tag, and must be a valid
project name (PEP 508); the import name is its normalised form with ``_`` (``np-demo`` →
``np_demo``), which must be a Python identifier. A version must be a PEP 440 version. None of
these ever changes the user's code: the alias names the distribution, nothing else.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from nodepipe.domain.errors import Hint
from nodepipe.packaging.errors import PackageError

DEFAULT_VERSION = "0.1.0"
BUNDLE_FOLDER = "bundle"
"""The package folder holding the bundle: ``<import name>/bundle/pipeline.toml``."""
_PROJECT_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


def is_project_name(name: str) -> bool:
    """Whether ``name`` is a valid project name (PEP 508): letters, digits, ``.-_`` inside."""
    return bool(_PROJECT_NAME.match(name))


@dataclass(frozen=True, slots=True)
class PackageNames:
    """What a package is called: ``dist`` (``np-demo``), ``module`` (``np_demo``), version."""

    dist: str
    module: str
    version: str

    @property
    def entry_point(self) -> str:
        """The ``nodepipe.bundles`` entry point's value: the folder holding the bundle."""
        return f"{self.module}.{BUNDLE_FOLDER}"


def package_names(name: str, version: str | None, hint: Hint | None = None) -> PackageNames:
    """The names of a package called ``name`` (alias or tag) at ``version`` (default 0.1.0);
    a name refused carries ``hint`` (how to build that package under another name)."""
    if not isinstance(name, str) or not isinstance(version, (str, type(None))):
        raise PackageError(
            f"a package's name and version are text, not {name!r:.40}, {version!r:.40}"
        )
    if not is_project_name(name):
        raise PackageError(
            f"{name!r} is not a valid package name (letters, digits, '.', '-', '_'; "
            "starting and ending with a letter or digit)",
            hint=hint,
        )
    dist = canonicalize_name(name)
    module = dist.replace("-", "_").replace(".", "_")
    if not module.isidentifier() or keyword.iskeyword(module):
        raise PackageError(
            f"{name!r} cannot be a Python package name ({module!r} is not an identifier: "
            "it must start with a letter)",
            hint=hint,
        )
    return PackageNames(dist, module, checked_version(version or DEFAULT_VERSION))


def checked_version(version: str) -> str:
    """``version`` in its normal form, if it is a PEP 440 version."""
    try:
        return str(Version(version))
    except InvalidVersion:
        raise PackageError(
            f"{version!r} is not a package version (PEP 440: like 1.0, 2.3.1, 1.0rc1)"
        ) from None


def summary_of(notes: str) -> str:
    """The first line of ``notes``, as a one-line package summary."""
    first = next((line.strip() for line in notes.splitlines() if line.strip()), "")
    return first[:200]
