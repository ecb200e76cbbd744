"""Whose workspace it is: a command opens only a workspace its own user (or root) controls.

Every command first settles what killed commands left (journal entries under
``.nodepipe/staging``: folders to remove, files to put back, promotions to finish), and the
doctor removes litter there. Whoever controls a workspace's files therefore steers what the
next command removes or writes, as that command's user. So, as git refuses a repository
another user owns, a workspace is opened only when its folder, ``nodepipe.toml``,
``.nodepipe/`` and ``nodes/`` (links followed) and every folder above them belong to the
current user or root, and no one else can write to them (folders above may be sticky, like
``/tmp``). Anything else is a ``WorkspaceError`` naming the path and its owner, before anything
in the workspace is read or changed.

It costs a few ``stat`` calls per command and imports nothing beyond ``os`` and ``stat`` until
it has something to refuse.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from nodepipe.domain.errors import WorkspaceError

_CHECKED = ("nodepipe.toml", ".nodepipe", "nodes")


def check_workspace_owner(root: Path) -> None:
    """Refuse the workspace at ``root`` unless this user (or root) alone controls it."""
    uid = os.geteuid()
    seen: set[Path] = set()
    for path in (root, *(root / name for name in _CHECKED)):
        try:
            resolved = path.resolve(strict=True)
        except FileNotFoundError:
            continue
        except (OSError, RuntimeError) as exc:
            raise WorkspaceError(f"cannot open the workspace {root}: {path}: {exc}") from exc
        for step in (*reversed(resolved.parents), resolved):
            if step not in seen:
                seen.add(step)
                _check(root, step, uid, above=step != resolved)


def _check(root: Path, path: Path, uid: int, *, above: bool) -> None:
    found = path.lstat()
    if found.st_uid not in (uid, 0):
        why = f"{path} belongs to {_user(found.st_uid)}"
        raise _refusal(root, why, f"run nodepipe there as {_user(found.st_uid)}")
    sticky = above and stat.S_ISDIR(found.st_mode) and found.st_mode & stat.S_ISVTX
    if not sticky and _writable_by_others(found, uid):
        why = f"other users can write to {path}"
        raise _refusal(root, why, f"make it yours alone (`chmod go-w {path}`)")


def _writable_by_others(found: os.stat_result, uid: int) -> bool:
    if found.st_mode & stat.S_IWOTH:
        return True
    if not found.st_mode & stat.S_IWGRP:
        return False
    from nodepipe.workspace.path_trust import group_is_private  # grp, pwd: only here

    return not group_is_private(found.st_gid, uid)


def _refusal(root: Path, why: str, fix: str) -> WorkspaceError:
    user = _user(os.geteuid())
    owners = user if os.geteuid() == 0 else f"{user} or root"
    return WorkspaceError(
        f"refusing to open the workspace {root}: {why}. A command acts on the files of the "
        f"workspace it opens (it settles what killed commands left there), so {user} opens "
        f"only a workspace that {owners} alone controls; {fix}"
    )


def _user(uid: int) -> str:
    import pwd  # only to name a refusal

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"
