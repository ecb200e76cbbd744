"""The errors of the bundles layer: a bad bundle, a missing include, an include cycle.

All are ``InvalidInputError``s (the user's bundle is at fault), so every surface maps them the
way it maps other bad input; the subclasses carry what a surface may want to show apart.
Readers that find several independent problems at once (``bundle check``) raise them together
(``refuse_all``): ``problems`` lists each, one line apiece; a message shows the first
``SHOWN_PROBLEMS`` of them and counts the rest (``shown_problems``: a bundle of thousands of
nodes without their folders is thousands of problems, and nobody reads past a screenful).
"""

from __future__ import annotations

from collections.abc import Sequence

from nodepipe.domain.errors import InvalidInputError, NodepipeError

SHOWN_PROBLEMS = 20
"""A message lists this many problems of a bundle, then counts the others."""


def shown_problems(
    problems: Sequence[str],
    all_in: str = "`nodepipe bundle check DIR --json`",
    limit: int = SHOWN_PROBLEMS,
) -> tuple[str, ...]:
    """The first ``limit`` of ``problems``, then "and N more (``all_in`` lists all)" when
    there are others (the structured answers, ``bundle check --json``, keep them all)."""
    if len(problems) <= limit:
        return tuple(problems)
    rest = len(problems) - limit
    return (*problems[:limit], f"and {rest} more ({all_in} lists all)")


class BundleError(InvalidInputError):
    """A bundle that cannot be read: malformed TOML, an unknown key or format, a bad path..."""

    @property
    def problems(self) -> tuple[str, ...]:
        """Each problem found, one line apiece (here: the message)."""
        return (str(self),)


class BundleProblemsError(BundleError):
    """Several independent problems of a bundle, found in one go."""

    def __init__(self, errors: Sequence[NodepipeError]) -> None:
        self.found = tuple(problem for error in errors for problem in problems_in(error))
        lines = "\n".join(f"  - {problem}" for problem in shown_problems(self.found))
        super().__init__(f"{len(self.found)} problems:\n{lines}")

    @property
    def problems(self) -> tuple[str, ...]:
        return self.found


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


def problems_in(error: NodepipeError) -> tuple[str, ...]:
    """The problems ``error`` reports, one line apiece."""
    return error.problems if isinstance(error, BundleError) else (str(error),)


def refuse_all(errors: Sequence[NodepipeError]) -> None:
    """Raise the problems ``errors`` found, all together (nothing: none). One error is
    raised as it is (its class and fields kept); several as one ``BundleProblemsError``."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise BundleProblemsError(errors)
