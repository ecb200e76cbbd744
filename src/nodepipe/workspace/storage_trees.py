"""Folders in the object storage: a node's code and a node's outputs, by one digest each.

- **Outputs.** A ``data/`` folder travels as its files' contents plus a manifest, the compact
  sorted JSON ``{path: sha256}``; the manifest's own sha256 is exactly the folder's output
  digest (``fingerprint_outputs``), the value the store records and children's fingerprints
  name. So "the outputs ``3f2a…``" mean the same thing in the workspace, on a worker and in the
  storage, and a workspace that knows a digest can pull those outputs. Symbolic links have no
  content to carry: outputs holding one are refused with their path.
- **Code.** A ``code/`` folder travels as its files plus its ``CodeManifest`` (the record a run
  keeps of what it ran with, ``workspace.run_environment``): files, and links by target.
- **Order.** Contents first, the manifest last: a manifest in the storage always names
  contents that are there. Every path a manifest names is checked to stay inside the folder it
  is written to; every content is checked against its digest as it is read.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from nodepipe.domain.environments import CodeManifest, is_sha256
from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.staleness import canonical_json
from nodepipe.workspace.code_trees import DATA, code_files, scan
from nodepipe.workspace.file_digests import sha256_file
from nodepipe.workspace.objects import DamagedObjectError, ObjectStore
from nodepipe.workspace.run_environment import code_modes, write_code
from nodepipe.workspace.storage import Storage


def upload_outputs(storage: Storage, data_dir: Path) -> str:
    """Upload every file of ``data_dir`` and its manifest: the output digest."""
    tree = scan(data_dir, DATA)
    files, links = tree.files, tree.links
    if links:
        first = sorted(links)[0]
        raise InvalidInputError(
            f"the outputs hold the symbolic link {first}: outputs that travel through the "
            "storage must be plain files (write the file itself)"
        )
    digests = {relative: sha256_file(data_dir / relative) for relative in sorted(files)}
    return _upload_tree(storage, data_dir, digests, canonical_json(digests).encode())


def read_outputs_manifest(storage: Storage, digest: str) -> dict[str, str]:
    """The files (path -> content digest) of the outputs ``digest``, checked."""
    try:
        found = json.loads(storage.read(digest))
    except ValueError:
        found = None
    if not isinstance(found, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and is_sha256(v) for k, v in found.items()
    ):
        raise DamagedObjectError(f"the content {digest[:12]} in {storage.url} names no outputs")
    return {str(k): str(v) for k, v in found.items()}


def download_outputs(storage: Storage, digest: str, target: Path) -> None:
    """Write the outputs ``digest`` into the empty folder ``target`` (made if missing)."""
    files = read_outputs_manifest(storage, digest)
    target.mkdir(parents=True, exist_ok=True)
    for relative, content in sorted(files.items()):
        path = inside(target, relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        storage.get_file(content, path)


def upload_code(storage: Storage, code: Path) -> str:
    """Upload the files of a node's ``code/`` (never its environment) and their manifest."""
    files, links = code_files(code)
    digests = {relative: sha256_file(code / relative) for relative in sorted(files)}
    manifest = canonical_json(CodeManifest(digests, links, code_modes(files)).to_dict()).encode()
    return _upload_tree(storage, code, digests, manifest)


def _upload_tree(storage: Storage, folder: Path, digests: dict[str, str], manifest: bytes) -> str:
    """Upload ``folder``'s files (``digests``), then their ``manifest``: its digest. Contents
    a read refused are checked and replaced if damaged."""
    refused = storage.refused()
    for relative, digest in digests.items():
        storage.put_file(folder / relative, digest, recheck=digest in refused)
    digest = hashlib.sha256(manifest).hexdigest()
    storage.put_bytes(manifest, recheck=digest in refused)
    return digest


def read_code_manifest(storage: Storage, digest: str) -> CodeManifest:
    try:
        return CodeManifest.from_dict(json.loads(storage.read(digest)))
    except ValueError as exc:
        raise DamagedObjectError(f"the content {digest[:12]} in {storage.url}: {exc}") from exc


def download_code(storage: Storage, digest: str, target: Path, cache: ObjectStore) -> None:
    """Write the code ``digest`` into the new folder ``target``. Its contents are kept in
    ``cache`` (a worker's local object store), so the same code is downloaded once."""
    manifest = read_code_manifest(storage, digest)
    for content in sorted(set(manifest.files.values())):
        fetch_into(storage, content, cache)
    write_code(target, manifest, cache)


def fetch_into(storage: Storage, digest: str, cache: ObjectStore) -> None:
    """Download the content ``digest`` into the local object store ``cache`` unless there."""
    if cache.has(digest):
        return
    final = cache.path(digest)
    final.parent.mkdir(parents=True, exist_ok=True)
    storage.get_file(digest, final, mode=0o444)


def inside(folder: Path, relative: str) -> Path:
    """``folder / relative``, refusing a path that would lead out of ``folder``, or that no
    file can have (a NUL byte: the system would refuse it with a ``ValueError``)."""
    parts = Path(relative).parts
    if not parts or Path(relative).is_absolute() or ".." in parts or "\0" in relative:
        raise InvalidInputError(f"the storage names {relative!r}, not a path inside a folder")
    return folder / relative


def contents_named(storage: Storage, digest: str) -> set[str]:
    """The contents a manifest names (for collecting unreferenced ones); a plain content
    names nothing."""
    try:
        found = json.loads(storage.read(digest))
    except (ValueError, UnicodeDecodeError):
        return set()
    if isinstance(found, dict) and isinstance(found.get("files"), dict):
        values = list(found["files"].values())
    elif isinstance(found, dict):
        values = list(found.values())
    else:
        return set()
    return {v for v in values if isinstance(v, str) and is_sha256(v)}
