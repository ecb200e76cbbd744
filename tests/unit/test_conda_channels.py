"""Which conda channels name a folder of this machine (and so are read from it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodepipe.workspace.conda_project import channel_location, local_channel_path


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
    assert local_channel_path("conda-forge") is None


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
    assert local_channel_path((tmp_path / "chan").as_uri()) == tmp_path / "chan"
    assert local_channel_path("https://example.invalid/ch") is None
