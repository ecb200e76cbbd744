"""The three loaders (file, fsspec, package) behind one small interface.

A loader opens a bundle at one place it understands (a folder, a URL, an installed
distribution) or says there is none there; each keeps its own cache of parsed definitions
(``definitions.DefinitionCache``). Where to look for an include's ``source`` is decided once,
in ``nodepipe.bundles.lookup``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import fsspec
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from nodepipe.bundles.definitions import DefinitionCache
from nodepipe.bundles.errors import BundleError, IncludeNotFoundError
from nodepipe.bundles.files import FsspecBundleFiles, LocalBundleFiles
from nodepipe.bundles.model import BUNDLE_FILE, BundleFiles, BundleLocation

ENTRY_POINT_GROUP = "nodepipe.bundles"
"""Installed distributions expose bundles here: ``name = "package.folder"`` (a package folder
holding ``pipeline.toml``; no code of the distribution is imported or run)."""

StorageOptions = Mapping[str, Mapping[str, Any]]
"""fsspec options per protocol, for one call: ``{"https": {"headers": {...}}}``."""
HTTP_CONNECT_TIMEOUT_S = 30.0
"""How long an http(s) bundle's (or pulled package's) server may take to accept a connection."""
HTTP_READ_TIMEOUT_S = 30.0
"""How long it may then stay silent in one request (between two reads: a large file may take
longer in all). Options that give their own ``client_kwargs`` ``timeout`` replace both."""


class Loader(Protocol):
    """Opens bundles of one kind; ``definitions`` is this loader's own cache."""

    kind: str
    definitions: DefinitionCache


class FileLoader:
    """Bundles in local folders."""

    kind = "file"

    def __init__(self) -> None:
        self.definitions = DefinitionCache(self.kind)

    def open(self, folder: Path) -> LocalBundleFiles | None:
        """The bundle in ``folder`` (absolute), or None when it holds no ``pipeline.toml``."""
        if not (folder / BUNDLE_FILE).is_file():
            return None
        real = folder.resolve()
        return LocalBundleFiles(real, BundleLocation(self.kind, str(real)))


class FsspecLoader:
    """Bundles at any fsspec URL; options (credentials, HTTP headers) are given per call."""

    kind = "fsspec"

    def __init__(self) -> None:
        self.definitions = DefinitionCache(self.kind)

    def open(self, url: str, options: StorageOptions) -> BundleFiles | None:
        protocol = url.split("://", 1)[0]
        try:
            fs, path = fsspec.core.url_to_fs(url, **with_http_timeouts(protocol, options))
        except (ImportError, ValueError) as exc:
            raise BundleError(f"cannot read {url}: {exc}") from None
        location = BundleLocation(self.kind, url.rstrip("/"))
        try:
            if not _is_file(fs, f"{path.rstrip('/')}/{BUNDLE_FILE}", protocol):
                return None
        except TimeoutError:
            raise BundleError(
                f"cannot read {url}: its server did not answer in time (an include is read with "
                f"at most {HTTP_CONNECT_TIMEOUT_S:g} s to connect and {HTTP_READ_TIMEOUT_S:g} s "
                "of silence in each request); nothing was changed"
            ) from None
        except Exception as exc:  # each fsspec backend raises its own errors (aiohttp, botocore)
            raise BundleError(f"cannot read {url}: {type(exc).__name__}: {exc}") from None
        if protocol in ("file", "local"):
            return LocalBundleFiles(Path(path), location)
        return FsspecBundleFiles(fs, path, location)


def _is_file(fs: Any, path: str, protocol: str) -> bool:
    """Whether ``path`` is a file; TimeoutError when an http(s) server did not answer in time
    (fsspec's ``isfile`` takes that for a file that is not there)."""
    if protocol not in ("http", "https"):
        return bool(fs.isfile(path))
    try:
        fs.info(path)
    except FileNotFoundError as exc:
        if timed_out(exc):
            raise TimeoutError(str(exc)) from None
        return False
    return True


def timed_out(error: BaseException) -> bool:
    """Whether ``error`` is, or was caused by, a server not answering in time (aiohttp's and
    fsspec's timeouts are TimeoutErrors; fsspec's http ``info`` turns one into a
    FileNotFoundError whose cause it is)."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, TimeoutError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def with_http_timeouts(protocol: str, options: StorageOptions) -> dict[str, Any]:
    """The fsspec options for ``protocol``; for http(s), with timeouts unless they give their
    own (aiohttp's default waits five minutes on a server that accepts and never answers)."""
    given = dict(options.get(protocol, {}))
    if protocol not in ("http", "https"):
        return given
    try:  # only for an http(s) include: a heavy import no other command needs
        import aiohttp
    except ImportError:  # fsspec then says what to install
        return given

    client = dict(given.get("client_kwargs") or {})
    client.setdefault(
        "timeout",
        aiohttp.ClientTimeout(
            total=None, sock_connect=HTTP_CONNECT_TIMEOUT_S, sock_read=HTTP_READ_TIMEOUT_S
        ),
    )
    return {**given, "client_kwargs": client}


class PackageLoader:
    """Bundles shipped in installed distributions (the ``nodepipe.bundles`` entry points).

    ``paths`` are where distributions are looked for (``sys.path`` when None).
    """

    kind = "package"

    def __init__(self, paths: Sequence[str] | None = None) -> None:
        self.paths = list(paths) if paths is not None else None
        self.definitions = DefinitionCache(self.kind)

    def _distributions(self, name: str | None = None) -> list[metadata.Distribution]:
        if self.paths is None:
            return list(metadata.distributions(name=name))
        return list(metadata.distributions(name=name, path=self.paths))

    def open_requirement(self, requirement: Requirement) -> BundleFiles:
        """The bundle of the installed distribution ``requirement`` names, at a matching version."""
        wanted = f"pkg:{requirement}"
        found = self._distributions(name=requirement.name)
        if not found:
            raise IncludeNotFoundError(
                f"no bundle {wanted!r}: no distribution {requirement.name!r} is installed",
                (f"installed distributions named {requirement.name!r}",),
            )
        dist = found[0]
        version = dist.version
        if not requirement.specifier.contains(version, prereleases=True):
            raise IncludeNotFoundError(
                f"no bundle {wanted!r}: {requirement.name} {version} is installed, "
                f"which is not {requirement.specifier}",
                (f"installed distributions named {requirement.name!r}",),
            )
        points = [ep for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP]
        own = [ep for ep in points if canonicalize_name(ep.name) == canonicalize_name(dist.name)]
        if len(points) != 1 and len(own) != 1:
            names = ", ".join(sorted(ep.name for ep in points)) or "none"
            raise BundleError(
                f"{wanted}: {dist.name} {version} exposes {len(points)} bundles in the "
                f"{ENTRY_POINT_GROUP!r} entry points ({names}); expected one"
            )
        point = own[0] if len(own) == 1 else points[0]
        return self._files(dist, point)

    def open_name(self, name: str) -> BundleFiles | None:
        """The bundle an installed distribution exposes under the entry point ``name``."""
        for dist in self._distributions():
            for point in dist.entry_points:
                if point.group == ENTRY_POINT_GROUP and point.name == name:
                    return self._files(dist, point)
        return None

    def _files(self, dist: metadata.Distribution, point: metadata.EntryPoint) -> BundleFiles:
        uri = f"pkg:{canonicalize_name(dist.name)}=={dist.version}"
        if canonicalize_name(point.name) != canonicalize_name(dist.name):
            uri += f"#{point.name}"
        if ":" in point.value or not all(part.isidentifier() for part in point.value.split(".")):
            raise BundleError(
                f"{uri}: entry point {point.name!r} = {point.value!r} must name a package folder "
                "(like np_features.bundle), not an object"
            )
        relative = PurePosixPath(*point.value.split("."))
        folder = Path(str(dist.locate_file(relative)))
        if not (folder / BUNDLE_FILE).is_file():
            raise BundleError(f"{uri}: {folder} holds no {BUNDLE_FILE}")
        installed = dist.files
        if installed is not None and relative / BUNDLE_FILE not in {
            PurePosixPath(str(file)) for file in installed
        }:
            raise BundleError(
                f"{uri}: entry point {point.name!r} = {point.value!r} names {folder}, which "
                f"{dist.name} did not install (its RECORD does not list {relative}/{BUNDLE_FILE}): "
                "a distribution exposes only a bundle of its own; refused"
            )
        return LocalBundleFiles(folder.resolve(), BundleLocation(self.kind, uri))


@dataclass(frozen=True)
class Loaders:
    """The loaders one resolution uses; each keeps its own cache across resolutions."""

    file: FileLoader = field(default_factory=FileLoader)
    fsspec: FsspecLoader = field(default_factory=FsspecLoader)
    package: PackageLoader = field(default_factory=PackageLoader)

    def of(self, location: BundleLocation) -> Loader:
        """The loader that found ``location`` (its cache holds that bundle's definition)."""
        loaders: dict[str, Loader] = {"file": self.file, "fsspec": self.fsspec}
        return loaders.get(location.loader, self.package)


DEFAULT_LOADERS = Loaders()
"""Shared by callers that pass none: the caches are thread-safe and keyed by content."""
