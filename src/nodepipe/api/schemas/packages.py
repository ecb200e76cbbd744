"""The package routes' request bodies (build, publish, pull) and a built file's description.

Credentials given to publish are used for that upload only: never stored, never logged, never
in a job's description.
"""

from __future__ import annotations

from pydantic import Field

from nodepipe.api.schemas.common import Input
from nodepipe.schemas.base import Schema


class PackageBuild(Input):
    alias: str | None = Field(default=None, description="Distribution name (the pipeline's tag).")
    version: str | None = Field(default=None, description="PEP 440 version (0.1.0).")
    with_data: bool = Field(default=False, description="Carry each node's outputs too.")


class PackagePublish(Input):
    files: list[str] = Field(min_length=1, description="Names of built files (GET /packages).")
    repository_url: str | None = Field(default=None, description="The index's upload URL.")
    repository: str | None = Field(default=None, description="A repository of ~/.pypirc.")
    username: str | None = Field(default=None, description="For this upload only.")
    password: str | None = Field(default=None, description="For this upload only; never kept.")


class PackagePull(Input):
    source: str = Field(min_length=1, description="An http(s)/fsspec URL, or name[==version].")
    alias: str | None = Field(default=None, description="Tag of the new pipeline.")
    project: str | None = Field(default=None, description="Project name or id (default).")
    index_url: str | None = Field(default=None, description="The index of a name==version.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="HTTP headers for a URL source (tokens)."
    )


class PackageFilePublic(Schema):
    """A wheel or sdist built into the workspace's dist/ folder."""

    name: str
    size: int
