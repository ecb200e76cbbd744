"""Running the uv binary that ships with the ``uv`` Python package, with the workspace's cache.

A failed uv command becomes the error that says whose it is: the request's (no such package or
version, requirements that cannot be met together), the network's (the index cannot be
reached), or uv's own (anything else).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from nodepipe.domain.errors import (
    EnvironmentBuildError,
    IndexUnreachableError,
    RequirementNotFoundError,
    UnresolvableRequirementsError,
)

# What uv says, most specific first: a network failure can end a resolution too.
_CAUSES: tuple[tuple[type[EnvironmentBuildError], tuple[str, ...]], ...] = (
    (
        IndexUnreachableError,
        (
            "Failed to fetch",
            "error sending request",
            "tcp connect error",
            "dns error",
            "failed to lookup address",
            "operation timed out",
        ),
    ),
    (
        RequirementNotFoundError,
        (
            "was not found in the package registry",
            "was not found in the cache",
            "was not found in the provided package locations",
            "there is no version of",
            "there are no versions of",
        ),
    ),
    (UnresolvableRequirementsError, ("No solution found when resolving dependencies",)),
)

# Variables from the caller's shell that would point uv at the wrong environment or config.
_SCRUBBED = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "UV_PYTHON", "CONDA_PREFIX", "PYTHONHOME")


@cache
def uv_binary() -> str:
    """Path of the uv executable installed with nodepipe (never whatever is on PATH)."""
    from uv import find_uv_bin

    return find_uv_bin()


@dataclass(frozen=True, slots=True)
class UvRunner:
    """Runs uv commands against one workspace cache, never downloading interpreters."""

    cache_dir: Path

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in _SCRUBBED}
        env.update(
            UV_CACHE_DIR=str(self.cache_dir),
            UV_LINK_MODE="hardlink",
            UV_PYTHON_DOWNLOADS="never",
            UV_NO_PROGRESS="1",
        )
        return env

    def run(
        self, args: Sequence[str], cwd: Path, action: str, extra_env: dict[str, str] | None = None
    ) -> str:
        """Run ``uv args`` in ``cwd``; raise EnvironmentBuildError naming ``action`` on failure."""
        return self.completed(args, cwd, action, extra_env).stdout

    def completed(
        self, args: Sequence[str], cwd: Path, action: str, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Like ``run``, with what uv wrote to stderr too (``uv publish`` reports there)."""
        try:
            completed = subprocess.run(
                [uv_binary(), *args],
                cwd=cwd,
                env={**self.environment(), **(extra_env or {})},
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError as exc:
            raise EnvironmentBuildError(f"could not start uv to {action}: {exc}") from exc
        if completed.returncode != 0:
            raise uv_failure(action, (completed.stderr or completed.stdout).strip())
        return completed


_WORDS: dict[type[EnvironmentBuildError], str] = {
    IndexUnreachableError: "the package index cannot be reached",
    RequirementNotFoundError: "a package or version asked for does not exist",
    UnresolvableRequirementsError: "no versions of the requirements fit together",
}


def uv_failure(action: str, detail: str) -> EnvironmentBuildError:
    """The error for uv failing to ``action`` with ``detail`` (its output), by cause: said in
    nodepipe's words, with uv's explanation but not its hints (they name uv's options, such as
    ``--frozen``, that a nodepipe user does not pass); the full output is the error's
    ``detail``."""
    told = without_hints(detail)
    flat = " ".join(detail.split())  # uv wraps its explanation to the terminal's width
    for error_type, phrases in _CAUSES:
        if any(phrase in flat for phrase in phrases):
            words = _WORDS[error_type]
            return error_type(f"{words} (could not {action}):\n{told}", detail=detail)
    return EnvironmentBuildError(f"uv failed to {action}:\n{told}", detail=detail)


def without_hints(detail: str) -> str:
    """uv's output up to its first ``hint:`` paragraph (hints come last)."""
    kept: list[str] = []
    for line in detail.splitlines():
        if line.lstrip().startswith("hint:"):
            break
        kept.append(line)
    return "\n".join(kept).strip()
