"""The errors of the bundles layer: a bad bundle, a missing include, an include cycle.

All are ``InvalidInputError``s (the user's bundle is at fault), so every surface maps them the
way it maps other bad input; the subclasses carry what a surface may want to show apart.
"""

from __future__ import annotations

from nodepipe.domain.errors import InvalidInputError


class BundleError(InvalidInputError):
    """A bundle that cannot be read: malformed TOML, an unknown key or format, a bad path..."""


class IncludeNotFoundError(BundleError):
    """An include's source is nowhere; ``searched`` lists every place looked at, in order."""

    def __init__(self, message: str, searched: tuple[str, ...]) -> None:
        super().__init__(message)
        self.searched = searched


class IncludeCycleError(BundleError):
    """A bundle includes itself, directly or not; ``chain`` names it, first name repeated."""

    def __init__(self, message: str, chain: tuple[str, ...]) -> None:
        super().__init__(message)
        self.chain = chain
