"""What nodepipe refuses from a conda channel, whoever serves it.

py-rattler installs a package's files and symbolic links as the package says, reads a local
(``file://``) archive without checking it against the sha256 its channel's index gave, and
reads a ``repodata.json`` of any size. So, around py-rattler:

- ``check_local_archives``: a local archive must be a file (not a pipe or a device, read for
  ever) with the sha256 the lock pins (a channel folder changed since the lock was solved is
  refused, not installed silently). py-rattler checks the archives it downloads over http(s)
  itself.
- ``package_refusal`` / ``refuse_hostile`` (``hostile_package``): a package whose paths climb
  out of the prefix (``../``, absolute), list a file twice, would overwrite what nodepipe or
  py-rattler keep in a prefix (``conda-meta/``, ``.nodepipe-*``), or whose symbolic links
  lead outside the prefix (``bin/tool -> /etc/passwd``, ``lib -> ../../..``), or with a
  control character in a path (nodepipe lists a prefix's files one a line) is refused,
  naming the package and the path; conda itself installs such links as they are. The prefix
  is built under a temporary name and removed, and the package is removed from the package
  cache, so nothing of it is left half-installed.
- ``pin_local_archives``: a package file a spec names itself gets its sha256 into the lock,
  so it is checked like a channel's.
- ``check_solved_places``: a channel placing its packages (``info.base_url``) in a local
  folder outside itself is refused.
- ``capped``: a solve or query whose ``repodata.json`` grows past ``max_repodata_bytes``
  (``NODEPIPE_CONDA_MAX_REPODATA_MB``) in the repodata cache is stopped there, the download
  cancelled and its file removed: disk and memory stay bounded by the cap.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from nodepipe.domain.environments import CONDA_LOCK
from nodepipe.domain.errors import Action, Hint, RefusedPackageError
from nodepipe.envs.conda_settings import positive_setting
from nodepipe.workspace.file_digests import sha256_file

MAX_REPODATA_VARIABLE = "NODEPIPE_CONDA_MAX_REPODATA_MB"
"""Megabytes one channel's ``repodata.json`` (one platform, decompressed) may take."""
DEFAULT_MAX_REPODATA_MB = 1024
"""Room for a full conda-forge platform index (a few hundred MB) with margin."""
RESERVED_TOP = (".nodepipe-",)
"""Names at the top of a prefix that nodepipe writes; a package may not ship them."""
RESERVED_DIRS = ("conda-meta",)
"""Folders of a prefix that py-rattler writes; a package may not ship files in them."""
STAMP_SUFFIX = ".nodepipe-stamp"
"""Beside an extracted package in the cache: the stamp of its files when last verified."""
_POLL_SECONDS = 0.1
_T = TypeVar("_T")


def max_repodata_bytes() -> int:
    """Bytes one ``repodata.json`` may take: ``NODEPIPE_CONDA_MAX_REPODATA_MB`` or the
    default."""
    return positive_setting(MAX_REPODATA_VARIABLE, DEFAULT_MAX_REPODATA_MB, "megabytes") << 20


async def capped(step: Coroutine[Any, Any, _T], folder: Path, channels: str) -> _T:
    """Await ``step``, a py-rattler call that fetches repodata into ``folder``; a file there
    growing past the cap cancels it (py-rattler stops downloading) and is removed."""
    import asyncio  # only when conda packages are solved

    limit = max_repodata_bytes()
    folder.mkdir(parents=True, exist_ok=True)
    task = asyncio.ensure_future(step)
    loop = asyncio.get_running_loop()
    over: list[Path] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(_POLL_SECONDS):
            found = _oversized(folder, limit)
            if found is not None:
                over.append(found)
                loop.call_soon_threadsafe(task.cancel)
                return

    watcher = threading.Thread(target=watch, name="conda-repodata-cap", daemon=True)
    watcher.start()
    try:
        return await task
    except asyncio.CancelledError:
        if not over:
            raise
        over[0].unlink(missing_ok=True)
        raise RefusedPackageError(
            f"the conda channel {channels} serves a repodata.json larger than "
            f"{limit >> 20} MB: refused (set {MAX_REPODATA_VARIABLE} for more)"
        ) from None
    finally:
        stop.set()
        watcher.join()


def _oversized(folder: Path, limit: int) -> Path | None:
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False) and entry.stat().st_size > limit:
                        return Path(entry.path)
                except OSError:
                    continue
    except OSError:
        return None
    return None


def check_local_archives(records: list[Any]) -> None:
    """Refuse a locked package whose local (``file://``) archive does not have the sha256 the
    lock pins: its channel folder changed since the lock was solved."""
    for record in records:
        url = str(record.url)
        expected = _hex(getattr(record, "sha256", None))
        if not url.startswith("file://") or expected is None:
            continue
        path = Path(unquote(urlparse(url).path))
        try:
            regular = stat.S_ISREG(path.stat().st_mode)
        except OSError:
            continue  # py-rattler says the package is missing
        if not regular:  # a device or a pipe would be read for ever
            raise RefusedPackageError(
                f"conda package {record.file_name} at {url} is not a file ({CONDA_LOCK} "
                "edited by hand?); nothing was installed",
                hint=Hint(Action.CONDA_LOCK),
            )
        try:
            actual = sha256_file(path)
        except OSError:
            continue
        if actual != expected:
            raise RefusedPackageError(
                f"conda package {record.file_name} at {url} is not the one {CONDA_LOCK} pins "
                f"(sha256 {actual}, the lock says {expected}): its channel changed since the "
                "lock was solved; nothing was installed",
                hint=Hint(Action.CONDA_LOCK),
            )


def pin_local_archives(records: list[Any]) -> None:
    """Give each solved package read from a local file that its solve left unpinned (a spec
    naming the file, ``NAME[url=file:///…]``: no index gives its sha256) the sha256 of that
    file, so the lock pins it and ``check_local_archives`` refuses the file changed later."""
    for record in records:
        url = str(record.url)
        if not url.startswith("file://") or _hex(getattr(record, "sha256", None)) is not None:
            continue
        path = Path(unquote(urlparse(url).path))
        try:
            if stat.S_ISREG(path.stat().st_mode):
                record.sha256 = bytes.fromhex(sha256_file(path))
        except OSError:
            continue  # the install says it is missing


def check_solved_places(records: list[Any]) -> None:
    """Refuse a solved package whose index put it at a local file outside its channel: a
    channel's ``repodata.json`` may say where its packages live (``info.base_url``), and
    py-rattler follows it, so a channel (a remote one, or one carried in a bundle) could make
    nodepipe read another folder of this machine that nobody named."""
    for record in records:
        url, channel = str(record.url), str(record.channel or "").rstrip("/")
        if channel and url.startswith("file:") and not url.startswith(f"{channel}/"):
            raise RefusedPackageError(  # no channel: a package file the spec names itself
                f"the conda channel {channel} places {record.file_name} at {url}, "
                "outside the channel (its repodata.json's base_url): refused; nothing changed",
                hint=package_hint(record.name.normalized),
            )


def _hex(value: object) -> str | None:
    if isinstance(value, bytes | bytearray):
        return value.hex()
    return str(value).lower() if value else None


def path_refusal(paths: list[str]) -> str | None:
    """What is wrong with a package's file list (``info/paths.json``), or None. (Plain string
    work: a package of 100,000 files is checked in a fraction of a second.)"""
    seen: set[str] = set()
    for text in paths:
        parts = text.split("/")
        if not text or text.startswith("/") or "\\" in text or ".." in parts:
            return f"its path {text!r} leads outside the prefix"
        if not text.isprintable():
            return f"its path {text!r} holds a control character"
        if text in seen:
            return f"it lists the file {text!r} twice"
        seen.add(text)
        if parts[0] in RESERVED_DIRS or parts[0].startswith(RESERVED_TOP):
            return f"its file {text!r} would replace what nodepipe keeps in the prefix"
    return None


def escaping_link(prefix: Path) -> tuple[str, str] | None:
    """The first symbolic link in ``prefix`` leading outside it (absolute, or climbing out
    once every link on the way is followed), as its path in the prefix and its target; or
    None. Every link in the prefix is judged, whatever its package's file list calls it."""
    root = os.path.realpath(prefix)
    folders = [root]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_symlink():
                    target = str(Path(entry.path).readlink())
                    resolved = os.path.realpath(entry.path)  # a loop is left as it is
                    inside = resolved == root or resolved.startswith(root + os.sep)
                    if target.startswith("/") or not inside:
                        return os.path.relpath(entry.path, root), target
                elif entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
    return None


def package_refusal(package_dir: Path) -> str | None:
    """What is wrong with an extracted package's file list, or None (unreadable: None, the
    install says why)."""
    try:
        paths = json.loads((package_dir / "info" / "paths.json").read_text(encoding="utf-8"))
        entries = paths["paths"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(entries, list):
        return None
    return path_refusal([str(e.get("_path", "")) for e in entries if isinstance(e, dict)])


def refuse_hostile(prefix: Path, cache_dir: Path) -> None:
    """Refuse the first package installed into ``prefix`` (not yet in use) whose paths are
    refused, or that holds a link leading outside it, removing it from the package cache."""
    found = hostile_package(prefix)
    if found is not None:
        raise _refused(*found, cache_dir)


def hostile_package(prefix: Path) -> tuple[dict[str, Any], str] | None:
    """The first package installed in ``prefix`` whose paths are refused, or that holds a link
    leading outside it, as its ``conda-meta`` record and the reason; or None."""
    installed: list[tuple[dict[str, Any], list[str]]] = []
    for meta in sorted((prefix / "conda-meta").glob("*.json")):
        try:
            record = json.loads(meta.read_text(encoding="utf-8"))
            paths = [str(p.get("_path", "")) for p in record["paths_data"]["paths"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        record.setdefault("fn", meta.stem)
        reason = path_refusal(paths)
        if reason is not None:
            return record, reason
        installed.append((record, paths))
    link = escaping_link(prefix)
    if link is None:
        return None
    name, target = link
    owner = next((record for record, paths in installed if name in paths), {"fn": "?"})
    return owner, f"its link {name!r} leads outside the prefix (to {target!r})"


def refuse_broken(records: list[Any], cache_dir: Path) -> None:
    """After a failed install: refuse the first locked package whose extracted file list is
    refused (py-rattler failed on it in its own words), removing it from the cache."""
    for record in records:
        source = cache_dir / f"{record.name.normalized}-{record.version}-{record.build}"
        reason = package_refusal(source)
        if reason is not None:
            described = {"fn": record.file_name, "url": record.url, "name": record.name.normalized}
            raise _refused(described | {"extracted_package_dir": str(source)}, reason, cache_dir)


def _refused(record: dict[str, Any], reason: str, cache_dir: Path) -> RefusedPackageError:
    """The error for a refused package (its ``conda-meta`` record), once it is gone from the
    package cache."""
    forget_package(record, cache_dir)
    return RefusedPackageError(
        f"conda package {described(record)} is refused: {reason}; nothing was installed",
        hint=package_hint(str(record.get("name") or record["fn"])),
    )


def described(record: dict[str, Any]) -> str:
    """A package as its messages name it: its file, and where it came from."""
    return f"{record['fn']} ({record['url']})" if record.get("url") else str(record["fn"])


def forget_package(record: dict[str, Any], cache_dir: Path) -> None:
    """Remove a refused package (its ``conda-meta`` record) from the package cache, so that
    nothing links it again without its archive being read again."""
    source = Path(str(record.get("extracted_package_dir") or ""))
    if source.name and source.resolve().parent == cache_dir.resolve():
        shutil.rmtree(source, ignore_errors=True)
        for suffix in (".lock", STAMP_SUFFIX):
            source.with_name(source.name + suffix).unlink(missing_ok=True)


def package_hint(name: str) -> Hint:
    """What to do about a refused package: take it from a channel one trusts, or not at all."""
    return Hint(Action.CONDA_PACKAGE, {"package": name})
