"""Run a Jupyter notebook's code cells in order, with the node's own interpreter.

nodepipe launches ``python nodepipe_notebook.py NOTEBOOK.ipynb`` for nodes whose entry is a
notebook. When the node's environment has ``nbclient`` and ``ipykernel``, the notebook runs on a
real kernel and the executed copy (with outputs) is saved to the reports folder. Otherwise its
code cells run here, one after the other in one namespace, with the standard library only;
IPython magics (``%...``, ``!...``) cannot run that way and fail with a clear message.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def run_with_kernel(path: Path) -> bool:
    """Execute with nbclient if available; returns False when it is not installed."""
    try:
        import nbclient  # type: ignore[import-not-found]
        import nbformat  # type: ignore[import-not-found]
    except ImportError:
        return False
    notebook = nbformat.read(str(path), as_version=4)
    nbclient.NotebookClient(notebook, resources={"metadata": {"path": str(path.parent)}}).execute()
    reports = Path(os.environ.get("NODEPIPE_REPORTS_DIR", path.parent))
    nbformat.write(notebook, str(reports / f"{path.stem}.executed.ipynb"))
    return True


def run_plain(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(path)}
    for number, cell in enumerate(notebook.get("cells", []), 1):
        if cell.get("cell_type") != "code":
            continue
        source = _source(cell)
        magic = next(
            (line for line in source.splitlines() if line.lstrip().startswith(("%", "!"))), None
        )
        if magic is not None:
            raise SystemExit(
                f"cell {number} uses the IPython magic {magic.strip()!r}; add nbclient and "
                "ipykernel to this node's environment to run it on a real kernel"
            )
        exec(compile(source, f"{path.name}[cell {number}]", "exec"), namespace)


def main() -> None:
    path = Path(sys.argv[1]).resolve()
    if not run_with_kernel(path):
        run_plain(path)


if __name__ == "__main__":
    main()
