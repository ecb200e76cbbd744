"""A package pulled from an S3 bucket (moto's S3 server on loopback, read with s3fs through
fsspec): the same pipeline as from the file; a key that does not exist is a clear error."""

from __future__ import annotations

from pathlib import Path

import fsspec
import pytest

import nodepipe
from integration.conftest import snapshot
from nodepipe.domain.errors import InvalidInputError
from support.model_pipeline import outputs, trained_model
from support.s3_server import S3Server


def test_pull_from_an_s3_bucket(
    lab: nodepipe.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained_model(lab)
    built = lab.packages.build("model", with_data=True, destination=tmp_path / "dist")
    with S3Server() as server:
        for name, value in server.environment.items():
            monkeypatch.setenv(name, value)
        url = server.url(f"packages/{built.wheel.name}")
        with fsspec.open(url, "wb") as remote:
            remote.write(built.wheel.read_bytes())
        other = nodepipe.init(tmp_path / "other")
        before = snapshot(other)
        with pytest.raises(InvalidInputError, match="cannot read s3://"):
            other.packages.pull(server.url("packages/missing-1.0-py3-none-any.whl"))
        assert snapshot(other) == before
        pulled = other.packages.pull(url, alias="from-s3")
    assert pulled.imported.completed == ("predict", "train")
    assert outputs(other, "from-s3") == outputs(lab, "model")
    other.close()
