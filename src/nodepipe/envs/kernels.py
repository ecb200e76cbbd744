"""Jupyter kernel specs that run a node's own environment (``nodepipe-<node-id>``).

A spec is replaced all at once (``durable.write_atomic``): a command killed while writing it
leaves the previous ``kernel.json`` whole (or none), never a cut-short one Jupyter cannot read;
the ``.kernel.json.1a2b3c4d.tmp`` it leaves beside it (Jupyter reads only ``kernel.json``) goes
with the next install once a minute old, or with the folder.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from nodepipe.workspace.durable import remove_cut_short_saves, write_atomic


def kernels_dir() -> Path:
    """Where Jupyter looks for user kernels ($JUPYTER_DATA_DIR or ~/.local/share/jupyter)."""
    data = os.environ.get("JUPYTER_DATA_DIR")
    base = Path(data) if data else Path.home() / ".local" / "share" / "jupyter"
    return base / "kernels"


def kernel_name(node_id: str) -> str:
    return f"nodepipe-{node_id}"


def install_kernel(
    node_id: str, tag: str, python: Path, node_dir: Path, import_path: tuple[str, ...]
) -> Path:
    """Write the kernel spec; returns its folder. ``import_path``: the folders a run puts on
    the node's PYTHONPATH (the helper ``nodepipe_node`` first), as of now."""
    folder = kernels_dir() / kernel_name(node_id)
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"nodepipe: {tag} ({node_id})",
        "language": "python",
        "env": {
            "NODEPIPE_NODE_ID": node_id,
            "NODEPIPE_NODE_DIR": str(node_dir),
            "PYTHONPATH": os.pathsep.join(import_path),
        },
        "metadata": {"nodepipe": {"node_id": node_id}},
    }
    file = folder / "kernel.json"
    write_atomic(file, json.dumps(spec, indent=2))
    remove_cut_short_saves(file)
    return folder


def remove_kernel(node_id: str) -> None:
    remove_kernel_folder(kernels_dir() / kernel_name(node_id))


def remove_kernel_folder(folder: Path) -> None:
    """Remove a nodepipe kernel's folder, whatever follows ``nodepipe-`` in its name (one
    copied or renamed by hand names its node only in its spec); never another kernel."""
    if folder.parent != kernels_dir() or not folder.name.startswith(kernel_name("")):
        return
    if folder.is_symlink():  # the link, not what it leads to
        folder.unlink(missing_ok=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)
