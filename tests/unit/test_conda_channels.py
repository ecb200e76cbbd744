"""Which conda channels name a folder of this machine (and so are read from it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodepipe.workspace.conda_project import (
    channel_location,
    foreign_conda_sources,
    spec_locations,
)


def test_a_bare_channel_name_is_never_a_folder_of_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anyone can make ``/tmp/conda-forge``: started from /tmp, a name stays a name."""
    (tmp_path / "conda-forge" / "noarch").mkdir(parents=True)
    (tmp_path / "conda-forge" / "label" / "dev").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert channel_location("conda-forge") == "conda-forge"
    assert channel_location("conda-forge/label/dev") == "conda-forge/label/dev"
    assert channel_location("conda-forge", base=tmp_path) == "conda-forge"


def test_a_channel_written_as_a_folder_is_a_file_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert channel_location("./chan") == (tmp_path / "work" / "chan").as_uri()
    assert channel_location("../chan") == (tmp_path / "chan").as_uri()
    assert channel_location("~/chan") == (tmp_path / "chan").as_uri()
    assert channel_location("./chan", base=tmp_path) == (tmp_path / "chan").as_uri()
    assert channel_location("~/chan", base=tmp_path / "x") == (tmp_path / "chan").as_uri()
    assert channel_location(f"{tmp_path}/chan/") == (tmp_path / "chan").as_uri()
    assert channel_location("https://example.invalid/ch/") == "https://example.invalid/ch"


def test_a_bundle_may_name_only_remote_channels_or_files_it_carries(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "channel").mkdir(parents=True)
    pyproject = (
        "[tool.nodepipe.conda]\ndependencies = ['hello-tool']\n"
        "channels = ['conda-forge', 'https://conda.example/ch', 'file-relative:channel',"
        " 'file-relative:../theirs', '/tmp/theirs', 's3://bucket/ch']\n"
    )
    lock = (
        "environments:\n  default:\n    channels:\n"
        "    - url: file-relative:channel/\n"
        "    - url: https://conda.example/ch/\n"
        "packages:\n"
        "- conda: file-relative:channel/noarch/a-1-0.conda\n"
        "- conda: file-relative:channel/../../x/noarch/b-1-0.conda\n"
        f"- conda: {tmp_path.as_uri()}/x/noarch/c-1-0.conda\n"
        f"- conda: {bundle}/channel/noarch/d-1-0.conda\n"
        "- conda: noarch/e-1-0.conda\n"
    )
    assert foreign_conda_sources(pyproject, lock, bundle) == [
        "pyproject.toml: file-relative:../theirs",
        "pyproject.toml: /tmp/theirs",
        "pyproject.toml: s3://bucket/ch",
        "conda.lock conda: file-relative:channel/../../x/noarch/b-1-0.conda",
        f"conda.lock conda: {tmp_path.as_uri()}/x/noarch/c-1-0.conda",
        "conda.lock conda: noarch/e-1-0.conda",
    ]
    # a bundle that is not a local folder holds no local file
    assert len(foreign_conda_sources(pyproject, lock, None)) == 10
    assert foreign_conda_sources("not toml [", "", bundle) == []


def test_the_locations_a_conda_spec_names_itself() -> None:
    """What py-rattler reads as it solves a spec: its ``url=`` and ``channel=``, a channel
    before ``::``, or the spec as a package file's URL or path (audit2 F22)."""
    assert spec_locations("ffmpeg[url=file:///tmp/x/ffmpeg-99.0-0.conda]") == [
        "file:///tmp/x/ffmpeg-99.0-0.conda"
    ]
    assert spec_locations("ffmpeg >=1 [ URL = '/tmp/a.conda', md5=ab ]") == ["/tmp/a.conda"]
    assert spec_locations("ffmpeg[url=./a]") == ["./a"]
    assert spec_locations("/tmp/x/ffmpeg-99.0-0.conda") == ["/tmp/x/ffmpeg-99.0-0.conda"]
    assert spec_locations("file:///tmp/x/f-1-0.tar.bz2") == ["file:///tmp/x/f-1-0.tar.bz2"]
    assert spec_locations("/tmp/chan::ffmpeg") == ["/tmp/chan"]
    assert spec_locations('ffmpeg[channel="file:///tmp/chan"]') == ["file:///tmp/chan"]
    assert spec_locations("ffmpeg[channel=./rel]") == ["./rel"]
    assert spec_locations("https://conda.example/ch::ffmpeg") == ["https://conda.example/ch"]
    for remote in (
        "ffmpeg 6.1.*",
        "python >=3.10,<4",
        "conda-forge::ffmpeg >=6",
        "ffmpeg[channel=conda-forge/label/dev]",
        "ffmpeg[fn=/tmp/a.conda]",
    ):
        assert spec_locations(remote) == [], remote


def test_a_bundle_spec_may_name_only_remote_files_or_files_it_carries(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "channel").mkdir(parents=True)
    specs = [
        "hello-tool",
        "a[url=https://conda.example/ch/noarch/a-1-0.conda]",
        f"b[url={bundle.as_uri()}/channel/noarch/b-1-0.conda]",
        f"c[url={tmp_path.as_uri()}/theirs/noarch/c-1-0.conda]",
        "/tmp/theirs::d",
        "e[url=./e-1-0.conda]",
    ]
    pyproject = f"[tool.nodepipe.conda]\ndependencies = {specs!r}\n"
    assert foreign_conda_sources(pyproject, "", bundle) == [
        f"pyproject.toml: {specs[3]}",
        f"pyproject.toml: {specs[4]}",
        f"pyproject.toml: {specs[5]}",
    ]
    assert len(foreign_conda_sources(pyproject, "", None)) == 4
