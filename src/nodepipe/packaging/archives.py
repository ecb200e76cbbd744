"""Reading the bundle out of a wheel or an sdist: from the archive, never by building it.

A wheel (zip) names its bundle in ``*.dist-info/entry_points.txt``; an sdist (``.tar.gz``) in
the ``[project.entry-points."nodepipe.bundles"]`` of its ``pyproject.toml``. Nothing of the
package is built, installed, imported or run. Every member of the archive is checked before a
byte is written (the rules of ``bundles.archive``: no absolute name, no ``..``, no link or
device, no name twice, no file that is also a folder, size limits; an sdist's members are read
one header at a time and, since its gzip stream compresses them all together, the expansion
limit holds for the whole archive), only the bundle's folder is unpacked (without environments
and caches: ``bundles.tree.is_skipped``, from a wheel and an sdist alike), into a hidden folder
renamed into place when complete: a refused archive leaves nothing behind.
"""

from __future__ import annotations

import configparser
import email.parser
import secrets
import shutil
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from nodepipe.bundles.archive import (
    CHUNK,
    ArchiveLimits,
    member_problem,
    open_zip,
    unpack_bundle,
)
from nodepipe.bundles.errors import BundleError
from nodepipe.bundles.model import BUNDLE_FILE
from nodepipe.bundles.tree import is_skipped
from nodepipe.domain.toml_limits import load_toml
from nodepipe.packaging.errors import PackageError
from nodepipe.packaging.project import ENTRY_POINT_GROUP
from nodepipe.workspace.durable import new_file_mode, sync_filesystem


@dataclass(frozen=True, slots=True)
class PackageArchive:
    """What an archive says about itself: its distribution, version and bundle folder."""

    dist: str
    version: str
    inside: str
    """The folder of the bundle inside the archive (``np_demo/bundle``)."""


def unpack_package(
    archive: Path, destination: Path, limits: ArchiveLimits = ArchiveLimits()
) -> PackageArchive:
    """Unpack the bundle of the wheel or sdist ``archive`` into the new folder ``destination``."""
    if archive.name.endswith(".whl"):
        return _unpack_wheel(archive, destination, limits)
    if archive.name.endswith((".tar.gz", ".tgz")):
        return _unpack_sdist(archive, destination, limits)
    raise PackageError(f"{archive.name} is neither a wheel (.whl) nor an sdist (.tar.gz)")


def _bundle_folder(points: dict[str, str], dist: str, where: str) -> str:
    """The folder the ``nodepipe.bundles`` entry points name (the distribution's own first)."""
    own = [value for name, value in points.items() if canonicalize_name(name) == dist]
    values = own or list(points.values())
    if len(values) != 1:
        raise PackageError(
            f"{where} is not a nodepipe package: it names {len(points)} bundles in the "
            f"{ENTRY_POINT_GROUP!r} entry points; expected one"
        )
    value = values[0].strip()
    if not all(part.isidentifier() for part in value.split(".")):
        raise PackageError(f"{where}: entry point {value!r} does not name a package folder")
    return value.replace(".", "/")


def _unpack_wheel(path: Path, destination: Path, limits: ArchiveLimits) -> PackageArchive:
    try:
        with open_zip(path, limits) as wheel:
            infos = [n for n in wheel.namelist() if n.count("/") == 1]
            dist_infos = sorted({n.split("/")[0] for n in infos if ".dist-info/" in n})
            if len(dist_infos) != 1:
                raise PackageError(f"{path.name} is not a wheel: no single *.dist-info folder")
            stem = dist_infos[0].removesuffix(".dist-info")
            name, _, version = stem.partition("-")
            metadata_file = f"{dist_infos[0]}/METADATA"
            if metadata_file in infos:
                headers = email.parser.HeaderParser().parsestr(wheel.read(metadata_file).decode())
                claims = {"its METADATA": (headers["Name"] or "", headers["Version"] or "")}
            else:
                claims = {}
            _check_identity(path.name, name, version, claims)
            points_file = f"{dist_infos[0]}/entry_points.txt"
            text = wheel.read(points_file).decode() if points_file in infos else ""
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as exc:
        raise PackageError(f"{path.name} is not a readable wheel: {exc}") from None
    except BundleError as exc:
        raise PackageError(f"{path.name}: {exc}") from None
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise PackageError(f"{path.name}: its entry_points.txt is malformed: {exc}") from None
    points = dict(parser[ENTRY_POINT_GROUP]) if parser.has_section(ENTRY_POINT_GROUP) else {}
    found = _found(points, canonicalize_name(name), version, path.name)
    try:
        unpack_bundle(path, destination, limits, inside=found.inside)
    except BundleError as exc:
        raise PackageError(f"{path.name}: {exc}") from None
    return found


def _check_identity(
    where: str, name: str, version: str, claims: dict[str, tuple[str, str]]
) -> None:
    """PackageError unless the wheel's file name ``where`` (when it is a wheel's name) and each
    of ``claims`` (its METADATA) name the distribution and version of its ``.dist-info`` folder
    (``name``, ``version``): installers refuse such a wheel, and a pull would take it for a
    release it is not."""
    try:
        file_name, file_version, _, _ = parse_wheel_filename(where)
    except (InvalidWheelFilename, InvalidVersion):
        pass  # a wheel saved under another name: its .dist-info folder says what it is
    else:
        claims = {"its file name": (file_name, str(file_version)), **claims}
    for whose, (claimed_name, claimed_version) in claims.items():
        if canonicalize_name(claimed_name) != canonicalize_name(name) or _version(
            claimed_version
        ) != _version(version):
            raise PackageError(
                f"{where} is not a wheel to trust: {whose} names {claimed_name} "
                f"{claimed_version}, its {name}-{version}.dist-info folder {name} {version}; "
                "refused (build the package again with the version it should have, rather "
                "than renaming or editing it)"
            )


def _version(text: str) -> Version | str:
    """``text`` as a version to compare (``1.0`` and ``1.0.0`` are equal), else as it is."""
    try:
        return Version(text)
    except InvalidVersion:
        return text.strip()


def _found(points: dict[str, str], dist: str, version: str, where: str) -> PackageArchive:
    if not points:
        raise PackageError(
            f"{where} is not a nodepipe package: it names no bundle in the "
            f"{ENTRY_POINT_GROUP!r} entry points (nodepipe builds a package from a pipeline)"
        )
    return PackageArchive(dist, version, _bundle_folder(points, dist, where))


def _unpack_sdist(path: Path, destination: Path, limits: ArchiveLimits) -> PackageArchive:
    try:
        with tarfile.open(path, "r:*") as sdist:
            members = _checked_tar_members(sdist, path.name, limits, path.stat().st_size)
            tops = {m.name.split("/", 1)[0] for m in members}
            top = next(iter(tops)) if len(tops) == 1 else ""
            project = _pyproject(sdist, members, f"{top}/pyproject.toml", path.name)
            name, version = str(project.get("name", "")), str(project.get("version", ""))
            points = project.get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
            found = _found(dict(points), canonicalize_name(name), version, path.name)
            _extract_tar(sdist, members, f"{top}/{found.inside}/", destination, path.name)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise PackageError(f"{path.name} is not a readable sdist: {exc}") from None
    return found


def _checked_tar_members(
    sdist: tarfile.TarFile, where: str, limits: ArchiveLimits, compressed: int
) -> list[tarfile.TarInfo]:
    """The members of ``sdist`` (``compressed`` bytes on disk); PackageError if one is unsafe
    or they are too many, too large or expand too much."""
    members: list[tarfile.TarInfo] = []
    names: set[str] = set()
    total = 0
    for member in sdist:  # header by header: millions of them are never all read, nor kept
        members.append(member)
        total += member.size
        if len(members) > limits.max_entries:
            raise PackageError(f"{where} holds more than {limits.max_entries} members")
        if total > limits.max_total_bytes:
            raise PackageError(f"{where} expands to more than {limits.max_total_bytes} bytes")
        problem = member_problem(member.name)
        if problem:
            raise PackageError(f"{where}: archive member {member.name!r} is refused: {problem}")
        if not (member.isreg() or member.isdir()):
            kind = "a link" if member.issym() or member.islnk() else "not a regular file"
            raise PackageError(f"{where}: archive member {member.name!r} is {kind}; refused")
        name = member.name.rstrip("/")
        if name in names:
            raise PackageError(f"{where}: the archive holds {name!r} twice; refused")
        names.add(name)
    _refuse_file_as_folder(members, where)
    if total > CHUNK and total > limits.max_ratio * max(compressed, 1):
        raise PackageError(
            f"{where} expands {total // max(compressed, 1)} times (at most {limits.max_ratio}): "
            "refused as a zip bomb"
        )
    return members


def _refuse_file_as_folder(members: list[tarfile.TarInfo], where: str) -> None:
    """PackageError if a file of the archive is also the folder of another member."""
    parents = {str(p) for m in members for p in PurePosixPath(m.name.rstrip("/")).parents}
    clash = sorted(m.name for m in members if m.isreg() and m.name in parents)
    if clash:
        raise PackageError(
            f"{where}: the archive holds {clash[0]!r} both as a file and as a folder"
        )


def _pyproject(
    sdist: tarfile.TarFile, members: list[tarfile.TarInfo], name: str, where: str
) -> dict[str, Any]:
    member = next((m for m in members if m.name == name and m.isreg()), None)
    reader = sdist.extractfile(member) if member else None
    if reader is None:
        raise PackageError(f"{where} is not a nodepipe package: it has no {name}")
    try:
        project: dict[str, Any] = load_toml(reader.read(1024 * 1024).decode()).get("project", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PackageError(f"{where}: its pyproject.toml is malformed: {exc}") from None
    return project


def _extract_tar(
    sdist: tarfile.TarFile,
    members: list[tarfile.TarInfo],
    prefix: str,
    destination: Path,
    where: str,
) -> None:
    chosen = [(m, m.name[len(prefix) :]) for m in members if m.name.startswith(prefix)]
    files = [
        (m, name)
        for m, name in chosen
        if m.isreg() and name and not any(is_skipped(p) for p in PurePosixPath(name).parts)
    ]  # environments and caches stay behind, as from a wheel (``unpack_bundle``)
    if BUNDLE_FILE not in {name for _, name in files}:
        raise PackageError(f"{where} holds no {prefix}{BUNDLE_FILE}: it is not a nodepipe package")
    if destination.exists():
        raise PackageError(f"cannot unpack into {destination}: it already exists")
    staging = destination.with_name(f".{destination.name}.unpacking-{secrets.token_hex(4)}")
    try:
        for member, name in files:
            target = staging / PurePosixPath(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            reader = sdist.extractfile(member)
            assert reader is not None  # a regular member
            with reader, target.open("xb") as writer:
                shutil.copyfileobj(reader, writer, CHUNK)
            target.chmod(new_file_mode(executable=bool(member.mode & 0o111)))
        sync_filesystem(staging)
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
