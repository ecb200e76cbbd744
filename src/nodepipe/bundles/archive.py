"""A bundle as one zip file: packed deterministically, unpacked only when it is safe.

Packing takes what travels with a bundle (``tree``: no ``.venv``, no caches, no link leading
outside), sorted, with fixed timestamps and permissions (0644, or 0755 for executables), so the
same bundle gives the same bytes.

Unpacking reads an archive from anyone (an upload, a download), so every member is checked
before a byte is written: no absolute name, drive letter, backslash or ``..``; no duplicate
name; no link, device or pipe; no encrypted member; at most ``MAX_ENTRIES`` members (counted
before ``zipfile`` loads them: ``zip_members``),
``MAX_TOTAL_BYTES`` in all and ``MAX_RATIO`` of expansion (zip bombs); sizes are enforced while
extracting too, in case an archive lies about them. It is extracted into a hidden folder beside
the destination and renamed into place only when complete: on any refusal or failure nothing is
left behind. A bundle zipped with its folder (``mybundle/pipeline.toml``) is unpacked without it;
a bundle deeper in a larger archive (a wheel's ``np_demo/bundle/``) is unpacked by naming that
folder (``inside``): every member of the archive is still checked, only that folder's written.
"""

from __future__ import annotations

import secrets
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from nodepipe.bundles.errors import BundleError
from nodepipe.bundles.model import BUNDLE_FILE
from nodepipe.bundles.paths import path_problem
from nodepipe.bundles.tree import is_skipped, local_files
from nodepipe.bundles.zip_members import count_members
from nodepipe.workspace.durable import new_file_mode, sync_filesystem

MAX_ENTRIES = 20_000
"""Members an archive may hold."""
MAX_TOTAL_BYTES = 8 * 1024**3
"""Bytes all members may expand to (a bundle with data can be large; a disk is not endless)."""
MAX_RATIO = 200
"""How many times larger than its compressed bytes a member may expand (zip bombs: ~1000)."""
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
"""Every packed member's timestamp (the earliest zip can write): no clock in the bytes."""
CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """What an unpacked archive may hold (the defaults are the named constants)."""

    max_entries: int = MAX_ENTRIES
    max_total_bytes: int = MAX_TOTAL_BYTES
    max_ratio: int = MAX_RATIO


def pack_bundle(folder: Path, out: BinaryIO) -> None:
    """Write the bundle in ``folder`` as a zip to ``out``: the same bundle, the same bytes."""
    if not (folder / BUNDLE_FILE).is_file():
        raise BundleError(f"{folder} is not a bundle: it has no {BUNDLE_FILE}")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, source in local_files(folder, "."):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            executable = source.stat().st_mode & 0o111
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            with source.open("rb") as reader, archive.open(info, "w", force_zip64=True) as writer:
                shutil.copyfileobj(reader, writer, CHUNK)


def unpack_bundle(
    archive: Path | BinaryIO,
    destination: Path,
    limits: ArchiveLimits = ArchiveLimits(),
    inside: str = "",
) -> Path:
    """Unpack the bundle ``archive`` (or its folder ``inside``, like ``pkg/bundle``) into the
    new folder ``destination`` (returned)."""
    if destination.exists() or destination.is_symlink():
        raise BundleError(f"cannot unpack into {destination}: it already exists")
    try:
        opened = open_zip(archive, limits)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"not a zip archive: {exc}") from None
    with opened:
        members = _checked_members(opened, limits, inside.strip("/"))
        staging = destination.with_name(f".{destination.name}.unpacking-{secrets.token_hex(4)}")
        try:
            staging.mkdir(parents=True)
            for info, name in members:
                _extract(opened, info, staging / name)
            sync_filesystem(staging)
            staging.rename(destination)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return destination


def open_zip(archive: Path | BinaryIO, limits: ArchiveLimits) -> zipfile.ZipFile:
    """``archive`` opened as a zip, once its central directory was counted: one listing more
    than ``limits.max_entries`` members is refused (BundleError) before ``zipfile`` makes an
    object for each of them. A file that is no zip raises as ``zipfile.ZipFile`` does."""
    if isinstance(archive, Path):
        with archive.open("rb") as reader:
            listed = count_members(reader, limits.max_entries)
    else:
        listed = count_members(archive, limits.max_entries)
    if listed is not None and listed > limits.max_entries:
        raise BundleError(
            f"the archive holds more than {limits.max_entries} members; "
            f"at most {limits.max_entries}"
        )
    return zipfile.ZipFile(archive)


def _checked_members(
    archive: zipfile.ZipFile, limits: ArchiveLimits, inside: str
) -> list[tuple[zipfile.ZipInfo, str]]:
    """The members to extract with their names inside the bundle; BundleError if any is unsafe."""
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise BundleError(f"the archive holds {len(infos)} members; at most {limits.max_entries}")
    total = sum(info.file_size for info in infos)
    if total > limits.max_total_bytes:
        raise BundleError(
            f"the archive expands to {total} bytes; at most {limits.max_total_bytes} are unpacked"
        )
    names: set[str] = set()
    for info in infos:
        _check_member(info, limits)
        name = info.filename.rstrip("/")
        if name in names:
            raise BundleError(f"the archive holds {name!r} twice; refused")
        names.add(name)
    prefix = f"{inside}/" if inside else _wrapping_folder(names)
    members = []
    for info in infos:
        if not info.filename.startswith(prefix):
            continue
        name = info.filename.rstrip("/")[len(prefix) :]
        if info.is_dir() or not name or any(is_skipped(p) for p in PurePosixPath(name).parts):
            continue
        members.append((info, name))
    parents = {str(p) for _, name in members for p in PurePosixPath(name).parents}
    clash = sorted(parents & {name for _, name in members})
    if clash:
        raise BundleError(f"the archive holds {clash[0]!r} both as a file and as a folder")
    if BUNDLE_FILE not in {name for _, name in members}:
        raise BundleError(f"the archive holds no {BUNDLE_FILE}: it is not a bundle")
    return members


def member_problem(name: str) -> str | None:
    """Why an archive member called ``name`` may not be written (None: it may)."""
    steps = name.rstrip("/").split("/")
    return path_problem(name.rstrip("/")) or (
        "it holds an empty, '.' or '..' step" if any(s in ("", ".", "..") for s in steps) else None
    )


def _check_member(info: zipfile.ZipInfo, limits: ArchiveLimits) -> None:
    name = info.filename
    problem = member_problem(name)
    if problem:
        raise BundleError(f"archive member {name!r} is refused: {problem}")
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        what = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
        raise BundleError(f"archive member {name!r} is {what}; refused")
    if info.flag_bits & 0x1:
        raise BundleError(f"archive member {name!r} is encrypted; refused")
    if info.file_size > limits.max_ratio * max(info.compress_size, 1) and info.file_size > CHUNK:
        raise BundleError(
            f"archive member {name!r} expands {info.file_size // max(info.compress_size, 1)} "
            f"times (at most {limits.max_ratio}): refused as a zip bomb"
        )


def _wrapping_folder(names: set[str]) -> str:
    """``mybundle/`` when every member is inside that one folder and it holds the bundle file."""
    if BUNDLE_FILE in names:
        return ""
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1 and f"{next(iter(tops))}/{BUNDLE_FILE}" in names:
        return f"{next(iter(tops))}/"
    return ""


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Copy one member, never more bytes than it declares (an archive may lie)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with archive.open(info) as reader, target.open("xb") as writer:
            while chunk := reader.read(CHUNK):
                written += len(chunk)
                if written > info.file_size:
                    raise BundleError(f"archive member {info.filename!r} is larger than it says")
                writer.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise BundleError(f"archive member {info.filename!r} is damaged: {exc}") from None
    mode = info.external_attr >> 16
    target.chmod(new_file_mode(executable=bool(mode & 0o111)))


__all__ = ["ArchiveLimits", "member_problem", "pack_bundle", "unpack_bundle"]
