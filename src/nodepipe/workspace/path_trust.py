"""Which local paths a server may use for a request: only ones no other user can change.

Installing a local project runs its build backend, and a node imports what it installs, all as
the server's OS user. So a path named in a web request (a project folder, a snapshot, a shared
checkout, a requirement that is a path or ``file:`` URL, an interpreter) is used only when the
server's user could have put everything there themselves:

- the path, and every folder above it up to ``/``, belongs to the server's user or root;
- none of them can be written by others, or by a group anyone else is in (folders above may
  be sticky, like ``/tmp``: there others cannot replace what is not theirs);
- nothing inside it (walked, up to ``MAX_ENTRIES`` entries) belongs to another user or can be
  written by others; a link inside is followed and its target checked the same way.

Anything else is refused with ``InvalidInputError`` before uv or git runs. The CLI does not
call this: a user naming a path on the command line trusts it themselves.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from nodepipe.domain.errors import InvalidInputError

MAX_ENTRIES = 100_000
_NAMED_URL = re.compile(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?\s*@\s*(?P<url>\S+)")
_ARCHIVES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")


def check_trusted_inputs(
    requirements: Iterable[str] = (),
    folders: Iterable[str | None] = (),
    sources: Iterable[str | None] = (),
) -> None:
    """Refuse a request whose ``requirements`` (package strings), ``folders`` (local projects)
    or ``sources`` (a folder or a URL, like a snapshot's) name an untrusted local path."""
    for requirement in requirements:
        _check_requirement(requirement)
    for folder in folders:
        if folder is not None:
            check_trusted_path(folder)
    for source in sources:
        if source is not None and (local := local_path_of(source)) is not None:
            check_trusted_path(local)


def check_trusted_interpreter(request: str) -> None:
    """Refuse an interpreter path (a version like ``3.12`` names no path) that is untrusted."""
    if "/" in request:
        check_trusted_path(request)


def check_trusted_path(path: str | Path) -> Path:
    """``path`` resolved, if the server's user may use it; otherwise say why not."""
    try:
        resolved = Path(path).resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise InvalidInputError(f"no file or folder at {path}") from exc
    _Check().path(resolved)
    return resolved


def local_path_of(source: str) -> str | None:
    """The local path a URL or requirement names (``file:``, ``git+file:``, a path), or None."""
    if source.strip().startswith("git@"):
        return None  # scp-like ssh address of a repository
    match = _NAMED_URL.match(source)
    location = (match["url"] if match else source).strip()
    location = re.sub(r"^[a-z]+\+(?=[a-z]+:)", "", location)  # git+file:// -> file://
    if location.startswith("file:"):
        # what urllib.request.url2pathname does on POSIX, without importing urllib.request
        # (http.client, ssl, email: 34 modules every node command would load)
        return unquote(urlparse(location).path)
    if "://" in location:
        return None
    if location.startswith((".", "/", "~")) or "/" in location or location.endswith(_ARCHIVES):
        return location
    return None


def _check_requirement(requirement: str) -> None:
    local = local_path_of(requirement)
    if local is None:
        return
    if not Path(local).is_absolute():
        raise InvalidInputError(
            f"{requirement!r} names a relative path; through the server, name a local "
            "project by its absolute path"
        )
    check_trusted_path(local)


@dataclass
class _Check:
    """One check: the server's user, a budget of entries, and what has been looked at."""

    uid: int = field(default_factory=os.geteuid)
    budget: int = field(default_factory=lambda: MAX_ENTRIES)
    done: set[Path] = field(default_factory=set)
    groups: dict[int, bool] = field(default_factory=dict)

    def path(self, resolved: Path) -> None:
        if any(resolved.is_relative_to(checked) for checked in self.done):
            return
        self.done.add(resolved)
        for folder in reversed(resolved.parents):
            self._entry(folder, above=True)
        self._entry(resolved, above=False)
        if resolved.is_dir():
            self._tree(resolved)

    def _tree(self, root: Path) -> None:
        def unreadable(error: OSError) -> None:
            raise self._refusal(Path(error.filename or root), "it cannot be read")

        for folder, dirs, files in os.walk(root, onerror=unreadable):
            for name in (*dirs, *files):
                entry = Path(folder, name)
                self.budget -= 1
                if self.budget < 0:
                    raise self._refusal(root, f"it holds more than {MAX_ENTRIES} files to check")
                if entry.is_symlink():
                    self._link(entry)
                else:
                    self._entry(entry, above=False)

    def _link(self, link: Path) -> None:
        target = link.resolve()
        if not target.exists():
            raise self._refusal(link, "it is a link to nothing (someone could create that)")
        self.path(target)

    def _entry(self, path: Path, *, above: bool) -> None:
        found = path.lstat()
        if found.st_uid not in (self.uid, 0):
            raise self._refusal(path, f"it belongs to {user_name(found.st_uid)}")
        sticky = above and stat.S_ISDIR(found.st_mode) and found.st_mode & stat.S_ISVTX
        if self._writable_by_others(found) and not sticky:
            raise self._refusal(path, "other users can write to it")

    def _writable_by_others(self, found: os.stat_result) -> bool:
        if found.st_mode & stat.S_IWOTH:
            return True
        return bool(found.st_mode & stat.S_IWGRP) and not self._private_group(found.st_gid)

    def _private_group(self, gid: int) -> bool:
        if gid not in self.groups:
            self.groups[gid] = group_is_private(gid, self.uid)
        return self.groups[gid]

    def _refusal(self, path: Path, why: str) -> InvalidInputError:
        user, owners = user_name(self.uid), trusted_owners(self.uid)
        return InvalidInputError(
            f"refusing to use {path}: {why}. This server runs as {user} and uses only what "
            f"{owners} owns and no one else can change; copy it into a folder of {user}'s first"
        )


def group_is_private(gid: int, uid: int) -> bool:
    """True when no user but ``uid`` and root is in group ``gid``."""
    return _group_members(gid) <= {uid, 0}


def _group_members(gid: int) -> set[int]:
    """Every user in group ``gid``: listed members and users whose own group it is."""
    try:
        listed = grp.getgrgid(gid).gr_mem
    except KeyError:
        return {-1}  # a group no one can vouch for
    members = {entry.pw_uid for entry in pwd.getpwall() if entry.pw_gid == gid}
    for name in listed:
        try:
            members.add(pwd.getpwnam(name).pw_uid)
        except KeyError:
            members.add(-1)
    return members


def user_name(uid: int) -> str:
    """The name of user ``uid`` (``uid N`` when the system has none)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def trusted_owners(uid: int) -> str:
    """Who may own what user ``uid`` trusts, in words: the user, or root too."""
    user = user_name(uid)
    return user if uid == 0 else f"{user} or root"
