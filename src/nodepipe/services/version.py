"""The installed nodepipe's version, as every surface reports it (`nodepipe --version`,
`nodepipe version --json`, the web API's ``GET /api/workspace``).

It is read from the installed distribution's metadata, never written in the code, so it is the
version the package was built and installed as (``pyproject.toml``'s). ``importlib.metadata``
is imported here only: the commands that do not ask for the version do not pay for it.
"""

from __future__ import annotations

UNKNOWN = "0+unknown"
"""The version of a source tree run without being installed (no metadata to read)."""


def installed_version() -> str:
    """The version of the installed ``nodepipe`` distribution (:data:`UNKNOWN` if none is)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nodepipe")
    except PackageNotFoundError:
        return UNKNOWN
