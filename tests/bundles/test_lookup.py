"""Finding an include: beside the including file, then cwd, cwd/pipelines, installed packages;
each loader caching parsed definitions by location and content."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from nodepipe.bundles.errors import BundleError, IncludeNotFoundError
from nodepipe.bundles.loaders import FileLoader, Loaders, PackageLoader
from nodepipe.bundles.lookup import Lookup, locate
from nodepipe.bundles.model import BundleFiles
from support.bundle_worlds import write_bundle


def named(files: BundleFiles, loaders: Loaders) -> str:
    return loaders.of(files.location).definitions.definition(files)[0].name


def including(folder: Path) -> BundleFiles:
    files = FileLoader().open(write_bundle(folder, "parent", {"prep": ""}))
    assert files is not None
    return files


def test_a_relative_source_is_looked_up_in_the_documented_order(tmp_path: Path) -> None:
    loaders = Loaders()
    cwd = tmp_path / "cwd"
    parent = including(tmp_path / "project" / "train")
    lookup = Lookup(cwd, parent)
    write_bundle(cwd / "pipelines" / "features", "in-pipelines", {"a": ""})
    assert named(locate("features", lookup, loaders), loaders) == "in-pipelines"
    write_bundle(cwd / "features", "in-cwd", {"a": ""})
    assert named(locate("features", lookup, loaders), loaders) == "in-cwd"
    write_bundle(tmp_path / "project" / "train" / "features", "beside", {"a": ""})
    assert named(locate("features", lookup, loaders), loaders) == "beside"


def test_a_missing_include_names_every_place_searched(tmp_path: Path) -> None:
    parent = including(tmp_path / "project" / "train")
    cwd = tmp_path / "cwd"
    with pytest.raises(IncludeNotFoundError) as caught:
        locate("features", Lookup(cwd, parent), Loaders(package=PackageLoader([])))
    assert caught.value.searched == (
        str(tmp_path / "project" / "train" / "features"),
        str(cwd / "features"),
        str(cwd / "pipelines" / "features"),
        "installed packages (entry point 'features' of nodepipe.bundles)",
    )
    assert str(caught.value) == "no bundle 'features' found; searched: " + "; ".join(
        caught.value.searched
    )


def test_a_changed_definition_is_parsed_again_an_unchanged_one_is_not(tmp_path: Path) -> None:
    loaders = Loaders()
    folder = write_bundle(tmp_path / "b", "first", {"prep": ""})
    lookup = Lookup(tmp_path)
    assert named(locate("b", lookup, loaders), loaders) == "first"
    assert named(locate("b", lookup, loaders), loaders) == "first"
    assert loaders.file.definitions.parsed == 1
    text = (folder / "pipeline.toml").read_text()
    (folder / "pipeline.toml").write_text(text.replace('"first"', '"second"'))
    assert named(locate("b", lookup, loaders), loaders) == "second"
    assert loaders.file.definitions.parsed == 2
    assert loaders.fsspec.definitions.parsed == 0


def test_an_fsspec_url_is_read_with_the_options_given_for_that_call(tmp_path: Path) -> None:
    loaders = Loaders()
    write_bundle(tmp_path / "one" / "train", "from-one", {"prep": ""})
    write_bundle(tmp_path / "two" / "train", "from-two", {"prep": ""})
    for folder, name in (("one", "from-one"), ("two", "from-two")):
        options = {"dir": {"path": str(tmp_path / folder), "target_protocol": "file"}}
        files = locate("dir://train", Lookup(tmp_path, None, options), loaders)
        assert files.location.loader == "fsspec"
        assert named(files, loaders) == name
        assert files.files("nodes/prep/code") == ("main.py", "uv.lock")


def test_a_relative_include_of_a_bundle_at_a_url_is_read_beside_it(tmp_path: Path) -> None:
    loaders = Loaders()
    write_bundle(tmp_path / "lib" / "train", "train", {"prep": ""})
    write_bundle(tmp_path / "lib" / "shared" / "features", "features", {"clean": ""})
    options = {"dir": {"path": str(tmp_path / "lib"), "target_protocol": "file"}}
    train = locate("dir://train", Lookup(tmp_path / "elsewhere", None, options), loaders)
    found = locate("../shared/features", Lookup(tmp_path / "elsewhere", train, options), loaders)
    assert (found.location.loader, found.location.uri) == ("fsspec", "dir://shared/features")
    assert named(found, loaders) == "features"


def test_an_unknown_url_scheme_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="cannot read nosuch://x"):
        locate("nosuch://x", Lookup(tmp_path), Loaders())


def installed_bundle(tmp_path: Path, version: str) -> Path:
    """np-features ``version``, a real wheel exposing a bundle, installed by uv into a folder."""
    source = tmp_path / "src"
    write_bundle(source / "np_features" / "bundle", "np-features", {"clean": "print(1)\n"})
    wheel = tmp_path / f"np_features-{version}-py3-none-any.whl"
    dist_info = f"np_features-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("np_features/__init__.py", "")
        for path in sorted((source / "np_features").rglob("*")):
            if path.is_file():
                archive.write(path, str(path.relative_to(source)))
        archive.writestr(
            f"{dist_info}/METADATA",
            f"Metadata-Version: 2.1\nName: np-features\nVersion: {version}\n",
        )
        archive.writestr(
            f"{dist_info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(
            f"{dist_info}/entry_points.txt",
            "[nodepipe.bundles]\nnp-features = np_features.bundle\n",
        )
        archive.writestr(f"{dist_info}/RECORD", "")
    site = tmp_path / "site"
    uv = Path(sys.executable).parent / "uv"
    subprocess.run(
        [str(uv), "pip", "install", "--offline", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    return site


def test_a_package_source_reads_the_bundle_an_installed_distribution_exposes(
    tmp_path: Path,
) -> None:
    loaders = Loaders(package=PackageLoader([str(installed_bundle(tmp_path, "1.3.0"))]))
    found = locate("pkg:np-features>=1.2", Lookup(tmp_path), loaders)
    assert (found.location.loader, found.location.uri) == ("package", "pkg:np-features==1.3.0")
    assert named(found, loaders) == "np-features"
    assert found.read_bytes("nodes/clean/code/main.py") == b"print(1)\n"
    by_name = locate("np-features", Lookup(tmp_path / "nowhere"), loaders)
    assert by_name.location == found.location
    with pytest.raises(
        IncludeNotFoundError, match=re.escape("np-features 1.3.0 is installed, which is not >=2")
    ):
        locate("pkg:np-features>=2", Lookup(tmp_path), loaders)
    with pytest.raises(IncludeNotFoundError, match="no distribution 'np-nothing' is installed"):
        locate("pkg:np-nothing", Lookup(tmp_path), loaders)


def test_a_package_exposing_a_bundle_another_distribution_installed_is_refused(
    tmp_path: Path,
) -> None:
    site = installed_bundle(tmp_path, "1.3.0")
    wheel = tmp_path / "np_thief-1.0-py3-none-any.whl"
    dist_info = "np_thief-1.0.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("np_thief/__init__.py", "")
        archive.writestr(
            f"{dist_info}/METADATA", "Metadata-Version: 2.1\nName: np-thief\nVersion: 1.0\n"
        )
        archive.writestr(
            f"{dist_info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(
            f"{dist_info}/entry_points.txt", "[nodepipe.bundles]\nnp-thief = np_features.bundle\n"
        )
        archive.writestr(f"{dist_info}/RECORD", "")
    uv = Path(sys.executable).parent / "uv"
    subprocess.run(
        [str(uv), "pip", "install", "--offline", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    loaders = Loaders(package=PackageLoader([str(site)]))
    for source in ("pkg:np-thief", "np-thief"):
        with pytest.raises(BundleError, match="which np-thief did not install") as refused:
            locate(source, Lookup(tmp_path / "nowhere"), loaders)
        assert "np_features/bundle/pipeline.toml" in str(refused.value)
    assert locate("pkg:np-features", Lookup(tmp_path), loaders).location.uri == (
        "pkg:np-features==1.3.0"
    )
