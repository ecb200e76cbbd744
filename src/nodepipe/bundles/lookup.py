"""Where a bundle's ``source`` is looked for, in one place, in one order.

- ``pkg:NAME[spec]``: the installed distribution ``NAME`` (package loader);
- a URL (``scheme://...``): that URL (fsspec loader);
- a relative path: beside the including ``pipeline.toml`` (its folder or URL), then the
  current directory given by the caller, then its ``pipelines/`` folder, then, for a bare
  name, the bundle an installed distribution exposes under that entry point name.

The current directory is always passed in (``Lookup.cwd``): nothing here reads the process's
working directory, so two threads resolving different trees never see each other's paths.
A source found nowhere raises ``IncludeNotFoundError`` naming every place searched.

A bundle received from someone else by a server (an upload, a package pulled through the web
app) is looked up ``confined`` to its own folder: a relative source only beside the including
file and inside that folder (links followed), never the server's current directory, its
``pipelines/`` or a URL (the server would fetch it: a request forged by the sender); an
installed package (``pkg:``, an entry point name) is still found, as nothing is fetched.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from nodepipe.bundles.errors import BundleError, IncludeNotFoundError
from nodepipe.bundles.files import LocalBundleFiles
from nodepipe.bundles.loaders import ENTRY_POINT_GROUP, Loaders, StorageOptions
from nodepipe.bundles.model import BUNDLE_FILE, BundleFiles, frozen_mapping
from nodepipe.bundles.paths import parse_source


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a relative source is resolved against."""

    cwd: Path
    """The caller's current directory (absolute), passed down, never read from the process."""
    including: BundleFiles | None = None
    """The bundle whose ``pipeline.toml`` names the source (None for the bundle asked for)."""
    storage_options: StorageOptions = field(default_factory=frozen_mapping)
    confined: Path | None = None
    """The folder of a bundle received from someone else: nothing outside it is looked at."""


def locate(source: str, lookup: Lookup, loaders: Loaders) -> BundleFiles:
    """The bundle ``source`` names, looked up in the documented order."""
    try:
        parsed = parse_source(source)
    except ValueError as exc:
        raise BundleError(f"source {source!r} is not usable: {exc}") from None
    if parsed.kind == "package":
        return loaders.package.open_requirement(parsed.requirement)
    if parsed.kind == "url":
        if lookup.confined is not None:
            raise BundleError(
                f"source {source!r} is a URL, which a bundle sent to this server may not "
                "include (the server would fetch it): inline it before sending the bundle"
            )
        found = loaders.fsspec.open(source, lookup.storage_options)
        if found is None:
            raise IncludeNotFoundError(f"no bundle {source!r}: no {BUNDLE_FILE} there", (source,))
        return found
    searched: list[str] = []
    places = _places(parsed.text, lookup)
    if lookup.confined is not None:
        places = [_inside(place, lookup.confined, source) for place in places[:1]]
    for place in places:
        if str(place) in searched:
            continue
        searched.append(str(place))
        opened = (
            loaders.fsspec.open(place, lookup.storage_options)
            if isinstance(place, str)
            else loaders.file.open(place)
        )
        if opened is not None:
            return opened
    if "/" not in parsed.text:
        searched.append(f"installed packages (entry point {parsed.text!r} of {ENTRY_POINT_GROUP})")
        exposed = loaders.package.open_name(parsed.text)
        if exposed is not None:
            return exposed
    listing = "; ".join(searched)  # on the problem's line: a list of problems stays one a line
    files = [place for place in places if isinstance(place, Path) and place.is_file()]
    note = f" ({_a_file(files[0])})" if files else ""
    raise IncludeNotFoundError(
        f"no bundle {source!r} found; searched: {listing}{note}", tuple(searched)
    )


def _a_file(path: Path) -> str:
    """What to say of a bundle named by a file: a bundle is the folder of its
    ``pipeline.toml``, named the same way in every field (never the file itself)."""
    folder = f": name its folder, {path.parent}" if path.name == BUNDLE_FILE else ""
    return f"{path} is a file, not a bundle's folder{folder}"


def _places(relative: str, lookup: Lookup) -> list[Path | str]:
    places: list[Path | str] = []
    including = lookup.including
    if isinstance(including, LocalBundleFiles):
        places.append(_joined(including.root, relative))
    elif including is not None:
        places.append(join_url(including.location.uri, relative))
    places.append(_joined(lookup.cwd, relative))
    places.append(_joined(lookup.cwd / "pipelines", relative))
    return places


def _inside(place: Path | str, confined: Path, source: str) -> Path:
    """``place`` when it lies in the folder ``confined`` (links followed), else refused."""
    if isinstance(place, Path) and Path(os.path.realpath(place)).is_relative_to(
        os.path.realpath(confined)
    ):
        return place
    raise BundleError(
        f"source {source!r} leaves the bundle, which a bundle sent to this server may not do: "
        "inline that include before sending the bundle"
    )


def _joined(folder: Path, relative: str) -> Path:
    return Path(os.path.normpath(folder / relative))


def join_url(base: str, relative: str) -> str:
    """``memory://lib/train`` + ``../shared`` → ``memory://lib/shared``."""
    scheme, _, path = base.partition("://")
    joined = posixpath.normpath(posixpath.join(path or "/", relative))
    return f"{scheme}://{joined}"


def locate_root(
    source: str | Path, *, cwd: Path, loaders: Loaders, storage_options: StorageOptions
) -> BundleFiles:
    """The bundle asked for: a folder (absolute, or relative to ``cwd``), or a source."""
    if isinstance(source, Path) or Path(source).is_absolute():
        folder = Path(os.path.normpath(cwd / source))
        found = loaders.file.open(folder)
        if found is None and folder.is_file():
            raise IncludeNotFoundError(_a_file(folder), (str(folder),))
        if found is None:
            raise IncludeNotFoundError(f"no {BUNDLE_FILE} in {folder}", (str(folder),))
        return found
    return locate(source, Lookup(cwd, None, storage_options), loaders)
