"""Conda packages unpacked into the package cache by nodepipe, measured before they are.

py-rattler extracts a package archive as it comes, whatever it unpacks to: a ``.conda`` or
``.tar.bz2`` of a few kilobytes may hold a terabyte of zeros (a bomb) or millions of empty
files, and fill the disk or its inodes before anything could look at the result. So every
package an install needs that is not in the package cache yet is unpacked here first, by
py-rattler's own extractor, once its archive has been read through (its entries' headers,
nothing written): past ``NODEPIPE_CONDA_MAX_PACKAGE_MB`` megabytes or
``NODEPIPE_CONDA_MAX_PACKAGE_FILES`` files, or with an entry climbing out (``../``, absolute),
it is refused naming it and nothing of it is written. The install then links the package from
the cache as py-rattler would have unpacked it.

A remote archive is downloaded once into a folder of the cache and checked against the sha256
its lock pins before it is read, so what was measured is what is unpacked. One a spec names by
its URL (``NAME[url=https://…]``), which no index gives a sha256, is downloaded at the solve
too, and its sha256 pinned (``pin_remote_archives``): a local file a spec names is pinned the
same way (``conda_checks.pin_local_archives``). The folder is
journaled by the install (``CondaEnvironments.install``): a kill leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from nodepipe.domain.environments import CONDA_LOCK
from nodepipe.domain.errors import (
    Action,
    EnvironmentBuildError,
    Hint,
    IndexUnreachableError,
    RefusedPackageError,
    RequirementNotFoundError,
)
from nodepipe.envs.conda_checks import described, package_hint
from nodepipe.envs.conda_settings import positive_setting
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.file_digests import sha256_file

MAX_PACKAGE_MB_VARIABLE = "NODEPIPE_CONDA_MAX_PACKAGE_MB"
"""Megabytes one conda package may unpack to (its files' sizes together)."""
DEFAULT_MAX_PACKAGE_MB = 20480
"""Room for the largest packages of conda-forge (CUDA and deep-learning libraries unpack to a
few GB each) with margin."""
MAX_PACKAGE_FILES_VARIABLE = "NODEPIPE_CONDA_MAX_PACKAGE_FILES"
"""Files (links and folders counted) one conda package may unpack to."""
DEFAULT_MAX_PACKAGE_FILES = 1_000_000
"""Room for the packages of the most files (a TeX distribution: some 100,000) with margin."""
UNPACKING = ".nodepipe-unpacking-"
"""The name of an install's folder in the package cache (with its token after it)."""
SECTIONS = ("info", "pkg")
"""The two parts of an archive that py-rattler extracts."""
ESCAPING = "invalid package-relative archive path:"
"""What py-rattler says reading an entry whose path climbs out (``../``, absolute)."""


def cache_entry(cache_dir: Path, record: Any) -> Path:
    """Where py-rattler keeps ``record``'s package unpacked in the package cache."""
    return cache_dir / f"{record.name.normalized}-{record.version}-{record.build}"


async def unpack_uncached(
    r: Any, records: list[Any], cache_dir: Path, work: Path, channels: str
) -> None:
    """Unpack into ``cache_dir`` each of ``records`` it does not hold, each measured first;
    ``work`` (a folder of the cache, removed after) holds downloads and half-unpacked ones.
    ``r`` is the py-rattler module."""
    streaming = importlib.import_module("rattler.package_streaming")
    client = None
    try:
        for record in records:
            if cache_entry(cache_dir, record).exists():
                continue
            url = str(record.url)
            if url.startswith("file:"):
                archive = Path(unquote(urlparse(url).path))
                if not archive.is_file():
                    continue  # py-rattler's install says it is missing, in nodepipe's words
            else:
                if client is None:
                    from nodepipe.envs.conda import request_timeout

                    client = r.Client.default_client(timeout=request_timeout())
                archive = await _download(streaming, client, record, work, channels)
            await _measure(streaming, record, archive)
            _unpack(streaming, record, archive, cache_dir, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def pin_remote_archives(r: Any, records: list[Any], work: Path, channels: str) -> None:
    """Give each solved package at a remote (``http(s)``) URL that its solve left unpinned (a
    spec naming the file, ``NAME[url=https://…]``: no index gives its sha256) the sha256 of
    the file the URL serves now, downloaded into ``work`` (removed after): the lock pins it, and
    every later install refuses another file at the same URL (``_download``). ``r`` is the
    py-rattler module."""
    unpinned = [
        record
        for record in records
        if not record.sha256 and str(record.url).startswith(("http://", "https://"))
    ]
    if not unpinned:
        return
    from nodepipe.envs.conda import request_timeout

    streaming = importlib.import_module("rattler.package_streaming")
    client = r.Client.default_client(timeout=request_timeout())
    try:
        for record in unpinned:
            archive = await _download(streaming, client, record, work, channels)
            record.sha256 = bytes.fromhex(sha256_file(archive))
            archive.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def _download(streaming: Any, client: Any, record: Any, work: Path, channels: str) -> Path:
    """``record``'s archive, downloaded into ``work`` and checked against its locked sha256."""
    work.mkdir(parents=True, exist_ok=True)
    archive = work / str(record.file_name)
    try:
        await streaming.download_to_path(client, str(record.url), archive)
    except Exception as exc:  # py-rattler raises RuntimeError for every failed request
        detail = str(exc).strip()
        if any(cause in detail for cause in ("404", "Not Found")):
            raise RequirementNotFoundError(
                f"{CONDA_LOCK} names {record.file_name}, which {channels} do not hold "
                f"(a lock edited by hand, or a package gone from its channel): {detail}",
                hint=Hint(Action.CONDA_LOCK),
            ) from exc
        raise IndexUnreachableError(
            f"could not download conda package {record.file_name} from {channels}: {detail}"
        ) from exc
    expected = record.sha256.hex() if record.sha256 else None
    actual = sha256_file(archive)
    if expected is not None and actual != expected:
        raise RefusedPackageError(
            f"conda package {record.file_name} at {record.url} is not the one {CONDA_LOCK} "
            f"pins (sha256 {actual}, the lock says {expected}): its channel or its server "
            "changed it since the lock was solved; nothing was installed",
            hint=Hint(Action.CONDA_LOCK),
        )
    return archive


async def _measure(streaming: Any, record: Any, archive: Path) -> None:
    """Read ``archive`` through (its entries' headers); refuse it past the caps or with an
    entry leading out of where it is unpacked."""
    max_bytes = positive_setting(MAX_PACKAGE_MB_VARIABLE, DEFAULT_MAX_PACKAGE_MB, "megabytes")
    max_files = positive_setting(MAX_PACKAGE_FILES_VARIABLE, DEFAULT_MAX_PACKAGE_FILES, "files")
    size = files = 0
    try:
        opened = await streaming.PackageArchive.from_path(archive)
        for section in SECTIONS:
            async for entry in opened.stream(section):
                size, files = size + entry.size, files + 1
                parts = entry.name.split("/")
                if entry.name.startswith("/") or ".." in parts:
                    reason = f"its path {entry.name!r} leads outside the prefix"
                elif size > max_bytes << 20:
                    reason = (
                        f"it unpacks to more than {max_bytes} MB "
                        f"(set {MAX_PACKAGE_MB_VARIABLE} for more)"
                    )
                elif files > max_files:
                    reason = (
                        f"it unpacks to more than {max_files} files "
                        f"(set {MAX_PACKAGE_FILES_VARIABLE} for more)"
                    )
                else:
                    continue
                raise _refused(record, reason)
    except OSError as exc:
        _, _, path = str(exc).partition(ESCAPING)
        if path:  # py-rattler reads no entry climbing out, and stops there
            raise _refused(record, f"its path {path.strip()!r} leads outside the prefix") from exc
        raise _broken(record, exc) from exc


def _unpack(streaming: Any, record: Any, archive: Path, cache_dir: Path, work: Path) -> None:
    """Unpack ``archive`` under ``work``, then rename it into its place in the cache."""
    unpacking = work / f"unpacking-{os.urandom(4).hex()}"
    try:
        streaming.extract(archive, unpacking)
    except OSError as exc:
        raise _broken(record, exc) from exc
    crash_point("conda.unpacked")
    with contextlib.suppress(OSError):  # another install unpacked it meanwhile: kept
        unpacking.rename(cache_entry(cache_dir, record))


def _refused(record: Any, reason: str) -> RefusedPackageError:
    named = {"fn": record.file_name, "url": record.url}
    return RefusedPackageError(
        f"conda package {described(named)} is refused: {reason}; nothing was installed",
        hint=package_hint(record.name.normalized),
    )


def _broken(record: Any, exc: Exception) -> EnvironmentBuildError:
    return EnvironmentBuildError(
        f"conda package {record.file_name} from {record.channel or record.url} could not be "
        f"unpacked (a broken or truncated archive); nothing was installed: {exc}"
    )
