"""git for snapshots that are clones: running git without ever asking anyone, and bringing a
clone up to its upstream.

An update fetches first and compares: an upstream that only moved on is fast-forwarded in place
(reset back if the rest of the update fails); an upstream whose history was rewritten
(force-push, rebase, amend) has diverged from the clone, which is refused in nodepipe's words
unless the user forces it. A forced reset is staged like a copy update: the clone is copied
beside itself, the copy reset to the upstream head, and the two swapped by renames that the
caller's edit journal undoes after a failure or a kill, so the old clone, its local commits
included, is never lost halfway.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nodepipe.domain.errors import Action, ConflictError, Hint, InvalidInputError
from nodepipe.domain.model import Node
from nodepipe.workspace.crash_points import crash_point


def git(args: list[str], cwd: Path) -> str:
    """``git args`` in ``cwd``, never asking anyone anything: without a terminal (a session of
    its own), a repository that wants a password, or an SSH host key to confirm, fails at once
    instead of waiting at the terminal the server or CLI was started from. Credential helpers
    and SSH agents still answer."""
    try:
        done = _run(args, cwd)
    except subprocess.CalledProcessError as exc:
        raise InvalidInputError(f"git {args[0]} failed: {exc.stderr.strip()}") from exc
    return done.stdout


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            check=True,
            capture_output=True,
            text=True,
        )
    except FileNotFoundError as exc:
        raise InvalidInputError("git is needed to snapshot a repository") from exc


def _is_ancestor(clone: Path, older: str, newer: str) -> bool:
    try:
        _run(["merge-base", "--is-ancestor", older, newer], clone)
    except subprocess.CalledProcessError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where a fetched clone stands: its commit and its upstream's, full hashes."""

    head: str
    upstream: str
    behind: bool = False
    """The upstream only moved on: a fast-forward brings the clone there."""
    ahead: bool = False
    """The clone holds every upstream commit (and maybe local ones): nothing to bring."""

    @property
    def diverged(self) -> bool:
        """Neither holds the other: the upstream rewrote its history (or both moved on)."""
        return not self.behind and not self.ahead


def fetched(clone: Path, name: str) -> Upstream:
    """Fetch the clone's upstream (nothing in its files changes) and say where it stands."""
    git(["fetch", "--quiet"], cwd=clone)
    head = git(["rev-parse", "HEAD"], cwd=clone).strip()
    try:
        upstream = _run(["rev-parse", "@{upstream}"], clone).stdout.strip()
    except subprocess.CalledProcessError as exc:
        raise InvalidInputError(
            f"snapshot {name} cannot be updated: its clone is not on a branch that follows its "
            f"upstream (git says: {exc.stderr.strip()}); check out the branch to follow in "
            "code/snapshots/" + name
        ) from exc
    return Upstream(
        head,
        upstream,
        behind=_is_ancestor(clone, head, upstream),
        ahead=_is_ancestor(clone, upstream, head),
    )


def refuse_diverged(name: str, node: Node, where: Upstream) -> ConflictError:
    """The error for a clone whose upstream rewrote its history, naming both revisions and
    the hint to update anyway (``force``), which resets the clone to the upstream."""
    return ConflictError(
        f"the snapshot's history and {name}'s upstream have diverged: {where.head[:7]} is not "
        f"an ancestor of {where.upstream[:7]} (the upstream rewrote its history, or the "
        "snapshot has commits of its own); updating anyway resets the snapshot to "
        f"{where.upstream[:7]}, dropping what only the snapshot has",
        hint=Hint(Action.SNAPSHOT_RESET, {"node": node.id, "tag": node.tag, "snapshot": name}),
    )


def local_commits(clone: Path, where: Upstream) -> list[str]:
    """The clone's commits the upstream does not have ("abc1234 message"), newest first."""
    text = git(["log", "--format=%h %s", f"{where.upstream}..{where.head}"], cwd=clone)
    return [line for line in text.splitlines() if line.strip()]


@contextmanager
def fast_forwarded(clone: Path, where: Upstream, discard: bool) -> Iterator[None]:
    """The clone at its upstream in the block (its edits discarded first when ``discard``);
    back at its old commit if the block raises."""
    if discard:
        git(["checkout", "--", "."], cwd=clone)
        git(["clean", "-fdq"], cwd=clone)
    if where.behind:
        git(["merge", "--ff-only", "--quiet", where.upstream], cwd=clone)
    crash_point("snapshot.pulled")
    try:
        yield
    except BaseException:
        git(["reset", "--hard", "--quiet", where.head], cwd=clone)
        raise


def reset_copy(clone: Path, fresh: Path, where: Upstream) -> None:
    """A copy of ``clone`` in ``fresh``, reset to the upstream head, its untracked files gone;
    the clone itself is not touched."""
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(clone, fresh, symlinks=True)
    git(["reset", "--hard", "--quiet", where.upstream], cwd=fresh)
    git(["clean", "-fdq"], cwd=fresh)
    crash_point("snapshot.reset")
