"""The package routes' request bodies (build, publish, pull) and a built file's description.

Credentials given to publish are used for that upload only: never stored, never logged, never
in a job's description.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from nodepipe.api.schemas.common import Input
from nodepipe.api.schemas.fields import Name, Slot, slot_keys
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


class LibraryBuild(Input):
    alias: str | None = Field(default=None, description="Distribution name (the node's tag).")
    version: str | None = Field(default=None, description="PEP 440 version (0.1.0).")
    with_data: bool = Field(default=False, description="Carry the node's outputs as package data.")


class PackageSource(Input):
    """A package by URL or ``name[==version]`` on an index (never a path on the server)."""

    source: str = Field(min_length=1, description="An http(s)/fsspec URL, or name[==version].")
    index_url: str | None = Field(default=None, description="The index of a name==version.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="HTTP headers for a URL source (tokens)."
    )


class PackageInclude(PackageSource):
    """A package included in a pipeline (``nodepipe package pull --into``)."""

    namespace: Name = Field(description="Namespace of its nodes (NS.key), and their group.")
    inputs: dict[Slot, Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=dict,
        max_length=200,
        json_schema_extra=slot_keys,
        description="Each input the package declares → the node (id or tag) of the pipeline "
        "feeding it.",
    )


class PackageInputsPublic(Schema):
    """What a package needs when it is included."""

    release: str = Field(description="name==version of the package.")
    name: str = Field(description="The name of the pipeline it holds.")
    inputs: dict[str, list[str]] = Field(
        description="The bundle's [inputs]: input name → the keys of its nodes that take it."
    )


class PackageFilePublic(Schema):
    """A wheel or sdist built into the workspace's dist/ folder."""

    name: str
    size: int
