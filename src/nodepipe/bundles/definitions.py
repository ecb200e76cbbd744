"""Parsed definitions, cached per loader by location and content.

A ``DefinitionCache`` belongs to one loader. Its key is the loader, the bundle's resolved
location and the sha256 of its ``pipeline.toml``: reading the file again is cheap, parsing it
is not, and a changed file (a new hash) is parsed anew. Definitions are immutable, so one
cached value may be shared by every thread.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from nodepipe.bundles.errors import BundleError
from nodepipe.bundles.model import BUNDLE_FILE, BundleDefinition, BundleFiles
from nodepipe.bundles.schema import parse_definition, readable_nodes

MAX_DEFINITION_BYTES = 4 * 1024 * 1024
"""A pipeline.toml larger than this is refused (a graph of thousands of nodes is far smaller)."""
CACHED_DEFINITIONS = 256
"""How many parsed definitions one loader keeps (least recently used ones go first)."""


def definition_origin(files: BundleFiles) -> str:
    """How messages name a bundle's ``pipeline.toml``."""
    return f"{str(files.location).rstrip('/')}/{BUNDLE_FILE}"


def readable_part(files: BundleFiles) -> BundleDefinition | None:
    """The nodes of ``files``' ``pipeline.toml`` that read, when the file as a whole does not
    (``schema.readable_nodes``); None when none do or it cannot be read at all."""
    try:
        data = files.read_bytes(BUNDLE_FILE, MAX_DEFINITION_BYTES)
        return readable_nodes(data.decode("utf-8"), definition_origin(files))
    except (BundleError, UnicodeDecodeError):
        return None


class DefinitionCache:
    """One loader's parsed definitions, keyed by (loader, location, content hash)."""

    def __init__(self, loader: str, size: int = CACHED_DEFINITIONS) -> None:
        self.loader = loader
        self.size = size
        self._entries: OrderedDict[tuple[str, str, str], BundleDefinition] = OrderedDict()
        self._lock = threading.Lock()
        self.parsed = 0
        """How many times a definition was parsed (not found in the cache)."""

    def definition(self, files: BundleFiles) -> tuple[BundleDefinition, str]:
        """The definition of ``files`` and the sha256 of its ``pipeline.toml``."""
        data = files.read_bytes(BUNDLE_FILE, MAX_DEFINITION_BYTES)
        origin = definition_origin(files)
        digest = hashlib.sha256(data).hexdigest()
        key = (self.loader, files.location.uri, digest)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key], digest
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BundleError(f"{origin}: not UTF-8 text (byte {exc.start})") from None
        definition = parse_definition(text, origin)
        with self._lock:
            self.parsed += 1
            self._entries[key] = definition
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return definition, digest
