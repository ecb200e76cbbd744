"""The content hash of a bundle: its definition and every file it ships, deterministically.

What a bundle ships is its ``pipeline.toml``, each node's ``code/`` folder and its ``py-dir``;
an include's hash also covers the hashes of the includes inside it, so an edit at any depth
changes the hash of every include above it. Paths are hashed with the bytes, sorted, so the
hash is the same on every machine and in every order the files were written. A shipped folder
that cannot be walked (a link out of the bundle) is refused naming the folder, together with
every other one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from nodepipe.bundles.errors import BundleError, refuse_all
from nodepipe.bundles.model import BundleDefinition, BundleFiles

CODE_FOLDER = "code"


def shipped_folders(definition: BundleDefinition) -> list[str]:
    """The folders of a bundle whose files its content hash covers, sorted."""
    folders = {f"{node.path}/{CODE_FOLDER}" for node in definition.nodes}
    if definition.py_dir is not None:
        folders.add(definition.py_dir)
    return sorted(folders)


def content_hash(
    files: BundleFiles,
    definition: BundleDefinition,
    definition_digest: str,
    nested: Iterable[tuple[str, str]] = (),
) -> str:
    """``sha256:<hex>`` of the definition, the shipped files and the ``(namespace, hash)`` of
    each include inside."""
    digest = hashlib.sha256()
    digest.update(f"definition {definition_digest}\n".encode())
    refused: list[BundleError] = []
    for folder in shipped_folders(definition):
        if not files.exists(folder):
            continue
        try:
            names = files.files(folder)
        except BundleError as error:  # a link out of the bundle: every folder is still walked
            where = f"{str(files.location).rstrip('/')}/{folder}"
            refused.append(BundleError(f"{where}: {error}"))
            continue
        for name in names:
            digest.update(f"file {folder}/{name} {files.sha256(f'{folder}/{name}')}\n".encode())
    refuse_all(refused)
    for namespace, child in sorted(nested):
        digest.update(f"include {namespace} {child}\n".encode())
    return f"sha256:{digest.hexdigest()}"
