"""The errors of the packaging layer: a bad package or request, a file the index already has.

``PackageError`` is bad input (not a nodepipe package, a member that escapes, a bad name or
version, credentials the index refused); ``PackageExistsError`` is a conflict (the index holds
a different file under the same name: a new version fixes it).
"""

from __future__ import annotations

from nodepipe.domain.errors import ConflictError, InvalidInputError


class PackageError(InvalidInputError):
    """A package that cannot be built, read or published as asked; the message names the fix."""


class PackageExistsError(ConflictError):
    """The index already holds a different file of this name and version."""
