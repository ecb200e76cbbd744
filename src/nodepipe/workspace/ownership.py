"""Whose workspace it is: a command opens only a workspace its own user (or root) controls.

Every command first settles what killed commands left (journal entries under
``.nodepipe/staging``: folders to remove, files to put back, promotions to finish, and runs the
store records as running), and the doctor removes litter there. Whoever controls a workspace's
files therefore steers what the next command removes or writes, as that command's user. So,
as git refuses a repository another user owns, a workspace is opened (or made) only when its
folder, ``nodepipe.toml``, ``.nodepipe/``, its journal (``.nodepipe/staging``), its SQLite
store and ``nodes/`` belong to the current user or root, and so does every folder above them
and every link on the way (each link's target checked the same way, hop by hop: a link in a
folder someone else controls could be pointed elsewhere after the check), and no one else can
write to them: not by the mode's other or group bits (a group counts as someone else unless
only this user and root are in it), nor by a POSIX ACL (``system.posix_acl_access``, read
when the mode lets the group class write). Folders above may be sticky, like ``/tmp``.
Anything else is a ``WorkspaceError`` naming the path and its owner, before anything in the
workspace is read or changed. Once the check passes, no one but this user and root can change
what it looked at, so nothing can be swapped between the check and the use.

It costs a few ``lstat`` calls per command and imports nothing beyond ``os`` and ``stat``
unless a path's mode lets its group write (then ``grp``/``pwd``, and the ACL's ``struct``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from nodepipe.domain.errors import WorkspaceError

_CHECKED = ("nodepipe.toml", ".nodepipe", ".nodepipe/staging", ".nodepipe/store.sqlite", "nodes")
_MAX_LINKS = 40  # as the kernel's own limit on links followed in one path
_ACL = "system.posix_acl_access"
_ACL_USER, _ACL_GROUP_OBJ, _ACL_GROUP, _ACL_MASK = 0x02, 0x04, 0x08, 0x10
_WRITE = 0o2


def check_workspace_owner(root: Path) -> None:
    """Refuse the workspace at ``root`` (resolved) unless this user (or root) alone controls
    it."""
    check = _Check(root)
    for path in (root, *(root / name for name in _CHECKED)):
        check.links = 0
        check.path(path)


def check_new_workspace_place(root: Path) -> None:
    """Refuse to make a workspace at ``root`` (resolved; it may not exist yet) unless this user
    (or root) alone controls the nearest folder at or above it that exists."""
    existing = next(folder for folder in (root, *root.parents) if os.path.lexists(folder))
    _Check(root).path(existing, final=existing == root)


class _Check:
    """One check of the workspace ``root``: what was looked at, and how many links the path
    being checked has followed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uid = os.geteuid()
        self.seen: set[tuple[Path, bool]] = set()
        self.links = 0

    def path(self, path: Path, *, final: bool = True) -> Path | None:
        """Check every folder and link on the way to ``path`` (absolute), and ``path`` itself
        (``final``: not as a folder above something), following links hop by hop; its real
        path, or None when something on the way does not exist (nothing to check there)."""
        current = Path(path.anchor)
        self._entry(current, os.lstat(current), above=True)
        parts = path.parts[1:]
        for index, part in enumerate(parts):
            if part in ("", "."):
                continue
            if part == "..":
                current = current.parent
                continue
            candidate = current / part
            last = final and index == len(parts) - 1
            try:
                found = os.lstat(candidate)
            except (FileNotFoundError, NotADirectoryError):
                return None  # what the command then finds missing, it says so itself
            except OSError as exc:
                raise WorkspaceError(f"cannot open the workspace {self.root}: {exc}") from exc
            if not stat.S_ISLNK(found.st_mode):
                self._entry(candidate, found, above=not last)
                current = candidate
                continue
            self._owner(candidate, found)  # in a sticky folder, a link's owner may replace it
            self.links += 1
            if self.links > _MAX_LINKS:
                raise WorkspaceError(
                    f"cannot open the workspace {self.root}: too many links on the way to {path}"
                )
            followed = self.path(current / candidate.readlink(), final=last)
            if followed is None:
                return None
            current = followed
        return current

    def _entry(self, path: Path, found: os.stat_result, *, above: bool) -> None:
        if (path, above) in self.seen or (path, False) in self.seen:
            return
        self.seen.add((path, above))
        self._owner(path, found)
        sticky = above and stat.S_ISDIR(found.st_mode) and found.st_mode & stat.S_ISVTX
        if not sticky and _writable_by_others(path, found, self.uid):
            why = f"other users can write to {path}"
            raise self._refusal(why, f"make it yours alone (`chmod go-w {path}`)")

    def _owner(self, path: Path, found: os.stat_result) -> None:
        if found.st_uid not in (self.uid, 0):
            owner = _user(found.st_uid)
            raise self._refusal(f"{path} belongs to {owner}", f"run nodepipe there as {owner}")

    def _refusal(self, why: str, fix: str) -> WorkspaceError:
        from nodepipe.workspace.path_trust import trusted_owners

        user, owners = _user(self.uid), trusted_owners(self.uid)
        return WorkspaceError(
            f"refusing to open the workspace {self.root}: {why}. A command acts on the files of "
            f"the workspace it opens (it settles what killed commands left there), so {user} "
            f"opens only a workspace that {owners} alone controls; {fix}"
        )


def _writable_by_others(path: Path, found: os.stat_result, uid: int) -> bool:
    if found.st_mode & stat.S_IWOTH:
        return True
    if not found.st_mode & stat.S_IWGRP:
        return False  # the group class (the owning group, and every ACL entry) cannot write
    from nodepipe.workspace.path_trust import group_is_private  # grp, pwd: only here

    entries = _acl_entries(path)
    if entries is None:  # no ACL: the group bits are the owning group's
        return not group_is_private(found.st_gid, uid)
    mask = next((perm for tag, perm, _ in entries if tag == _ACL_MASK), _WRITE)
    for tag, perm, who in entries:
        if not perm & mask & _WRITE:
            continue
        if tag == _ACL_USER and who not in (uid, 0):
            return True
        if tag == _ACL_GROUP_OBJ and not group_is_private(found.st_gid, uid):
            return True
        if tag == _ACL_GROUP and not group_is_private(who, uid):
            return True
    return False


def _acl_entries(path: Path) -> list[tuple[int, int, int]] | None:
    """The entries (tag, permissions, id) of ``path``'s POSIX access ACL; None when it has
    none (or the system keeps none: not Linux, a filesystem without ACLs)."""
    getxattr = getattr(os, "getxattr", None)
    if getxattr is None:
        return None
    try:
        data = getxattr(path, _ACL, follow_symlinks=False)
    except OSError:
        return None  # ENODATA: no ACL; ENOTSUP: none possible
    import struct  # only for a path whose group class may write

    if len(data) < 4 or (len(data) - 4) % 8:
        raise WorkspaceError(f"cannot read the access list (ACL) of {path}")
    return list(struct.iter_unpack("<HHI", data[4:]))


def _user(uid: int) -> str:
    from nodepipe.workspace.path_trust import user_name  # grp, pwd: only to name a refusal

    return user_name(uid)
