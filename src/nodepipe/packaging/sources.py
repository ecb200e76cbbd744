"""Where ``package pull`` gets a package: a local file, any fsspec URL, or an index by name.

A SOURCE is a wheel or sdist path (``dist/np_demo-1.0-py3-none-any.whl``), a URL (``https://…``,
``s3://…``: anything fsspec reads, with options such as HTTP headers from ``--fs-args``), or a
requirement ``name[==version]`` looked up on an index with ``uv pip install --target`` (wheels
only, no dependencies: nothing is built or run; credentials the way uv takes them:
``UV_INDEX_<NAME>_USERNAME``/``_PASSWORD`` for an index given as ``NAME=URL``, netrc,
keyring). A download lands in a scratch folder; the caller reads the bundle from it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import fsspec
from packaging.requirements import InvalidRequirement, Requirement

from nodepipe.bundles import loaders
from nodepipe.bundles.archive import CHUNK, MAX_TOTAL_BYTES
from nodepipe.bundles.errors import BundleError
from nodepipe.bundles.files import LocalBundleFiles
from nodepipe.bundles.loaders import PackageLoader, timed_out, with_http_timeouts
from nodepipe.domain.errors import IndexUnreachableError
from nodepipe.envs.uv import HTTP_RETRIES_VAR, HTTP_TIMEOUT_VAR, UvRunner, silent_server
from nodepipe.packaging.errors import PackageError

ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz")


@dataclass(frozen=True, slots=True)
class PackageSource:
    """A parsed SOURCE: ``kind`` says how to fetch ``value``."""

    kind: Literal["file", "url", "index"]
    value: str


def parse_source(source: str) -> PackageSource:
    """What SOURCE names; PackageError when it is none of a file, a URL or a requirement."""
    if "://" in source:
        return PackageSource("url", source)
    if source.endswith(ARCHIVE_SUFFIXES) or "/" in source or _is_there(Path(source)):
        path = Path(source).expanduser()
        if not _is_there(path, file=True):
            raise PackageError(f"no package file {source[:200]!r}")
        return PackageSource("file", str(path.resolve()))
    return requirement_source(source)


def _is_there(path: Path, file: bool = False) -> bool:
    """Whether ``path`` exists (``file``: is a file); a name no file system takes (too long,
    a NUL) names nothing rather than failing."""
    try:
        return path.is_file() if file else path.exists()
    except (OSError, ValueError):
        return False


def requirement_source(source: str) -> PackageSource:
    """SOURCE as ``name[==version]`` on an index (no file is looked at)."""
    try:
        requirement = Requirement(source)
    except InvalidRequirement:
        raise PackageError(
            f"{source!r} is not a package file, a URL or a requirement like name==1.0"
        ) from None
    if requirement.url or requirement.extras or requirement.marker:
        raise PackageError(f"{source!r}: give name or name==version, without extras or markers")
    return PackageSource("index", str(requirement))


def download(url: str, options: dict[str, Any], folder: Path) -> Path:
    """Copy the archive at ``url`` (fsspec, ``options`` for its filesystem) into ``folder``;
    an http(s) server gets the timeouts an include's does (``bundles.loaders``)."""
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if not name.endswith(ARCHIVE_SUFFIXES) or name.startswith("."):
        raise PackageError(f"{url} does not name a wheel (.whl) or an sdist (.tar.gz)")
    target = folder / name
    copied = 0
    protocol = url.split("://", 1)[0].lower()
    try:
        opened = fsspec.open(url, "rb", **with_http_timeouts(protocol, {protocol: options}))
        with opened as reader, target.open("xb") as writer:
            while chunk := reader.read(CHUNK):
                copied += len(chunk)
                if copied > MAX_TOTAL_BYTES:
                    raise PackageError(f"{url} is larger than {MAX_TOTAL_BYTES} bytes")
                writer.write(chunk)
    except PackageError:
        raise
    except Exception as exc:  # each fsspec backend raises its own errors (aiohttp, botocore)
        if timed_out(exc):
            raise PackageError(_silent_server(url)) from None
        raise PackageError(f"cannot read {url}: {type(exc).__name__}: {exc}") from None
    return target


def _silent_server(url: str) -> str:
    """What to say when the server of ``url`` did not answer in time (named by host and port,
    never by the credentials a URL may carry)."""
    parts = urlsplit(url)
    server = parts.hostname or url
    if parts.port is not None:
        server = f"{server}:{parts.port}"
    return (
        f"cannot pull {url.split('?', 1)[0].rsplit('/', 1)[-1]}: the server {server} did not "
        f"answer in time (a package is downloaded with at most "
        f"{loaders.HTTP_CONNECT_TIMEOUT_S:g} s to connect and {loaders.HTTP_READ_TIMEOUT_S:g} s "
        "of silence in each read); nothing was changed"
    )


def install_from_index(requirement: str, index_url: str | None, folder: Path, uv: UvRunner) -> Path:
    """The wheel ``requirement`` names, unpacked by uv into ``folder`` (no dependencies, no
    build: ``--only-binary``); returns ``folder``. An index that accepts the connection and
    then says nothing is given up on after ``UV_HTTP_TIMEOUT`` seconds of silence, once
    unless the user sets ``UV_HTTP_RETRIES`` (as every uv command: ``envs.uv``), and named
    (IndexUnreachableError)."""
    args = ["pip", "install", "--target", str(folder), "--no-deps", "--only-binary", ":all:"]
    args += ["--python", sys.executable, "--quiet"]
    if index_url:  # NAME=URL names it, so uv reads its UV_INDEX_<NAME>_USERNAME/PASSWORD
        args += ["--default-index", index_url]
    try:
        uv.run(
            [*args, requirement],
            cwd=folder.parent,
            action=f"get {requirement} from the index",
            extra_env={"UV_LINK_MODE": "copy"},  # files become node code: never cache links
        )
    except IndexUnreachableError as exc:
        silent = _silent_index(requirement, exc.detail, os.environ)
        if silent is None:
            raise
        raise silent from None
    return folder


def _silent_index(
    requirement: str, detail: str, environ: Mapping[str, str]
) -> IndexUnreachableError | None:
    """The error for an index that timed out (by host and port, never by the credentials its
    URL may carry: ``envs.uv.silent_server``), or None for another failure to reach it."""
    silent = silent_server(" ".join(detail.split()), environ)
    if silent is None:
        return None
    server, waited = silent
    return IndexUnreachableError(
        f"cannot get {requirement}: {server} accepted the connection but sent nothing for "
        f"{waited}; nothing was changed (a slow index: set {HTTP_TIMEOUT_VAR} to more "
        f"seconds; a flaky network: set {HTTP_RETRIES_VAR} to retry)",
        detail=detail,
    )


def installed_bundle(folder: Path, requirement: str) -> tuple[Path, str]:
    """The bundle folder of the distribution uv installed into ``folder``, and its
    ``name==version``."""
    try:
        found = PackageLoader([str(folder)]).open_requirement(Requirement(requirement))
    except BundleError as exc:
        raise PackageError(f"{requirement} is not a nodepipe package: {exc}") from None
    if not isinstance(found, LocalBundleFiles):  # pragma: no cover - installed means local
        raise PackageError(f"{requirement}: its bundle is not in a local folder")
    return found.root, found.location.uri.removeprefix("pkg:").split("#", 1)[0]
