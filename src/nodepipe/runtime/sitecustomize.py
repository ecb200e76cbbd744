"""Run by Python as a node process starts: the node's imports write no bytecode into a folder
another user owns.

``site`` imports ``sitecustomize`` from the path as Python starts, and nodepipe puts this
folder first on a node's PYTHONPATH. Python caches each module it imports in ``__pycache__``
beside the source; run as root (CI, a shared server) it can write anywhere, so a shared
checkout or a code path of another user would get root's files, which that user's ``git
clean`` or own Python then trip over. nodepipe compiles the folders the running user owns
before a launch and leaves the others alone (``nodepipe.execution.bytecode``); this holds the
node's own imports to the same rule: a module whose folder another user owns is compiled in
memory, and nothing is written. Python does this only when it writes a ``.pyc`` (a module
without an up-to-date one), so a launch that writes none costs nothing more.

A ``sitecustomize`` of the node's environment still runs, after this one. Nothing here
imports nodepipe (this runs under the node's interpreter), nor anything Python has not loaded
as it starts (pathlib, importlib): the import machinery is taken from where Python keeps it.
"""

import os
import sys

_bootstrap = sys.modules["_frozen_importlib"]
_external = sys.modules["_frozen_importlib_external"]


def _write_only_into_own_folders() -> None:
    loader = _external.SourceFileLoader
    cache_bytecode = loader._cache_bytecode
    user = os.geteuid()

    def own_folders_only(self: object, source: str, bytecode: str, data: bytes) -> None:
        try:
            owner = os.stat(os.path.dirname(source) or os.curdir).st_uid  # noqa: PTH116, PTH120
        except OSError:
            return
        if owner == user:
            cache_bytecode(self, source, bytecode, data)

    own_folders_only.__wrapped__ = cache_bytecode  # type: ignore[attr-defined]
    loader._cache_bytecode = own_folders_only  # (a warm interpreter's fork unwraps it)


def _run_the_environments_own() -> None:
    """The next ``sitecustomize`` on the path (the environment's), as ``site`` would have."""
    here = os.path.dirname(os.path.abspath(__file__))  # noqa: PTH100, PTH120
    rest = [e for e in sys.path if os.path.abspath(e or os.curdir) != here]  # noqa: PTH100
    spec = _external.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = _bootstrap.module_from_spec(spec)
    sys.modules[__name__] = module
    spec.loader.exec_module(module)


if __name__ == "sitecustomize":  # not when imported as part of nodepipe
    _write_only_into_own_folders()
    _run_the_environments_own()
