"""Includes resolve relative to the including file, whatever the current directory or thread:
the pypyr layout from three directories, a shared library, two threads with look-alike trees."""

from __future__ import annotations

import threading
from pathlib import Path

from nodepipe.bundles.loaders import Loaders, PackageLoader
from nodepipe.bundles.model import ResolvedPipeline
from nodepipe.bundles.resolve import resolve_bundle
from support.bundle_worlds import write_bundle

ITERATIONS = 150


def summary(pipeline: ResolvedPipeline) -> tuple[object, ...]:
    return (
        tuple((n.name, str(n.files.location)) for n in pipeline.nodes),
        tuple(sorted((e.parent, e.child, e.slot) for e in pipeline.edges)),
        tuple((i.namespace, str(i.location), i.content_hash) for i in pipeline.includes),
    )


def test_the_pypyr_layout_resolves_the_same_from_three_directories(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_bundle(root / "subdir" / "pipeC", "pipeC", {"c": "print('C beside B')\n"})
    write_bundle(root / "pipeC", "decoy", {"wrong": ""})
    write_bundle(tmp_path / "unrelated" / "pipelines" / "pipeC", "decoy", {"wrong": ""})
    write_bundle(
        root / "subdir" / "pipeB",
        "pipeB",
        {"b": "from helpers import greet\n"},
        includes={"pipeC": {"source": "../pipeC"}},
        edges=[("pipeC.c", "b", "01")],
        py_dir={"helpers.py": "def greet():\n    return 'hi'\n"},
    )
    write_bundle(
        root / "pipeA", "pipeA", {"a": ""}, includes={"pipeB": {"source": "../subdir/pipeB"}}
    )
    loaders = Loaders(package=PackageLoader([]))
    seen = {
        summary(resolve_bundle(root / "pipeA", cwd=cwd, loaders=loaders))
        for cwd in (root, root / "subdir", tmp_path / "unrelated")
    }
    assert len(seen) == 1
    nodes = dict(next(iter(seen))[0])
    assert nodes == {
        "a": str(root / "pipeA"),
        "pipeB.b": str(root / "subdir" / "pipeB"),
        "pipeB.pipeC.c": str(root / "subdir" / "pipeC"),
    }


def test_one_library_is_included_by_two_projects_kept_elsewhere(tmp_path: Path) -> None:
    library = write_bundle(tmp_path / "library" / "features", "features", {"clean": ""})
    write_bundle(
        tmp_path / "work" / "p1",
        "p1",
        {"a": ""},
        includes={"f": {"source": "../../library/features"}},
    )
    write_bundle(
        tmp_path / "deep" / "er" / "p2",
        "p2",
        {"b": ""},
        includes={"f": {"source": "../../../library/features"}},
    )
    loaders = Loaders(package=PackageLoader([]))
    one = resolve_bundle(tmp_path / "work" / "p1", cwd=tmp_path, loaders=loaders).includes[0]
    two = resolve_bundle(tmp_path / "deep/er/p2", cwd=tmp_path, loaders=loaders).includes[0]
    assert one.location == two.location and str(one.location) == str(library)
    assert one.content_hash == two.content_hash


def look_alike_tree(top: Path, flavour: str) -> Path:
    """``top/root`` includes ``../shared/features``: the same names in every tree."""
    write_bundle(
        top / "shared" / "features",
        "features",
        {f"clean_{flavour}": f"print('{flavour}')\n"},
        params={"flavour": flavour},
    )
    return write_bundle(
        top / "root", "root", {"prep": ""}, includes={"features": {"source": "../shared/features"}}
    )


def test_two_threads_resolving_look_alike_trees_each_get_their_own(tmp_path: Path) -> None:
    roots = {flavour: look_alike_tree(tmp_path / flavour, flavour) for flavour in ("a", "b")}
    loaders = Loaders(package=PackageLoader([]))  # shared: both threads use the same caches
    barrier = threading.Barrier(2)
    wrong: list[str] = []

    def work(mine: str, other: str) -> None:
        for _ in range(ITERATIONS):
            barrier.wait()
            # the other tree as cwd: only "beside the including file" may give the right one
            pipeline = resolve_bundle(roots[mine], cwd=tmp_path / other, loaders=loaders)
            names = [n.name for n in pipeline.nodes]
            include = pipeline.includes[0]
            if (
                names != ["prep", f"features.clean_{mine}"]
                or str(include.location) != str(tmp_path / mine / "shared" / "features")
                or dict(pipeline.nodes[1].params) != {"flavour": mine}
            ):
                wrong.append(f"{mine}: {names} from {include.location}")

    threads = [threading.Thread(target=work, args=pair) for pair in (("a", "b"), ("b", "a"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    assert loaders.file.definitions.parsed == 4  # two roots and two libraries, parsed once each
