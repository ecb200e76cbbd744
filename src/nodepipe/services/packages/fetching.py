"""Getting a package's bundle into a scratch folder, wherever the package is.

``fetched_bundle`` parses SOURCE (``packaging.sources``), downloads or installs it into a
scratch folder of the workspace journal (``ARCHIVE_KIND``: what a killed command leaves there,
the next command removes) and reads the bundle out of the archive; the folder lives as long as
the ``with`` block (``packages.kept`` keeps the bundles ``pull --into`` includes).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodepipe.domain.arguments import path_of
from nodepipe.domain.errors import InvalidInputError
from nodepipe.packaging.archives import unpack_package
from nodepipe.packaging.errors import PackageError
from nodepipe.packaging.sources import (
    ARCHIVE_SUFFIXES,
    PackageSource,
    download,
    install_from_index,
    installed_bundle,
    parse_source,
    requirement_source,
)
from nodepipe.services.bundles.archives import ARCHIVE_KIND
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace import journal
from nodepipe.workspace.crash_points import crash_point


@dataclass(frozen=True, slots=True)
class FetchedBundle:
    directory: Path
    release: str
    """``name==version`` of the package."""


@contextmanager
def fetched_bundle(
    context: WorkspaceContext,
    source: str,
    fs_args: Path | str | Mapping[str, Any] | None,
    index_url: str | None,
    local_files: bool,
) -> Iterator[FetchedBundle]:
    """The bundle of the package at ``source``, unpacked in a scratch folder for the block."""
    if index_url is not None and not isinstance(index_url, str):
        raise InvalidInputError(f"an index URL is text, not {index_url!r:.80}")
    if not isinstance(source, str):
        raise InvalidInputError(
            f"a package is named by text (a file, a URL or name==version), not {source!r:.80}"
        )
    parsed = parse_source(source) if local_files else _remote_source(source, index_url)
    if isinstance(fs_args, Mapping):
        options = dict(fs_args)
    else:
        options = read_fs_args(fs_args) if fs_args is not None else {}
    with journal.operation(context.layout.staging_dir, ARCHIVE_KIND) as operation:
        folder = operation.folder
        if parsed.kind == "index":
            uv = context.environments.uv
            installed = install_from_index(parsed.value, index_url, folder / "installed", uv)
            bundle, release = installed_bundle(installed, parsed.value)
        else:
            archive = Path(parsed.value)
            if parsed.kind == "url":
                archive = download(parsed.value, options, folder)
            bundle = folder / "bundle"
            found = unpack_package(archive, bundle)
            release = f"{found.dist}=={found.version}"
        crash_point("package.unpacked")
        yield FetchedBundle(bundle, release)


REMOTE_PROTOCOLS = frozenset({"http", "https", "s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})
"""What a web request may pull from: remote stores only (never a chain like
``simplecache::file://…``, ``zip://…::file://…``, which would read the server's files)."""


def _remote_source(source: str, index_url: str | None) -> PackageSource:
    """What SOURCE of a web request names, which is never a path on the server (a file, a
    local or chained fsspec URL; refused alike whether such a file exists or not, so the
    answer tells nothing of the server's files), nor an index that is not http(s)."""
    _check_index(index_url)
    if "://" in source:
        protocol = source.split("://", 1)[0].lower()
        if "::" not in source and protocol in REMOTE_PROTOCOLS:
            return PackageSource("url", source)
    elif not (
        source.endswith(ARCHIVE_SUFFIXES)
        or source.startswith(("~", "."))
        or any(sep in source for sep in "/\\")
    ):
        return requirement_source(source)
    raise PackageError(f"{source!r} is a file on the server: give an http(s) URL or name==version")


def _check_index(index_url: str | None) -> None:
    if index_url:
        name, _, url = index_url.partition("=")
        url = index_url if "://" in name or not url else url  # NAME=URL names the index
        if not url.lower().startswith(("http://", "https://")):
            raise PackageError(f"index {index_url!r} is not an http(s) URL: give one")


def read_fs_args(path: Path | str) -> dict[str, Any]:
    """The fsspec options in the YAML file ``path`` (a mapping: ``headers``, ``token``…)."""
    from nodepipe.domain.yaml_limits import load_yaml
    from nodepipe.services.envs.imported_files import read_imported

    file = path_of(path, "the fsspec options file")
    try:  # read with a limit: a special file (/dev/zero) or a huge one is refused
        loaded = load_yaml(read_imported(file, "an fsspec options file"), str(file))
    except InvalidInputError as exc:
        raise PackageError(f"cannot read the fsspec options file {file}: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict) or not all(isinstance(k, str) for k in loaded):
        raise PackageError(f"the fsspec options file {file} holds no mapping of options")
    return loaded
