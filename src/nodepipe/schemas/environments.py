"""Environments as both interfaces show them: a node's, a pipeline's base packages, shared ones."""

from __future__ import annotations

from pydantic import Field

from nodepipe.schemas.base import Schema
from nodepipe.schemas.hints import HintPublic


class EnvironmentPublic(Schema):
    """What ``nodepipe env show`` tells: Python, direct and locked packages, snapshots."""

    node_id: str
    tag: str
    python: str = Field(
        description="Version of the interpreter the node asks for (its next sync builds its "
        "environment with it)."
    )
    environment_python: str = Field(
        default="",
        description="Version of the Python the node's .venv was built with ('' without one, "
        "or not isolated); another than python after a sync that failed, with a warning.",
    )
    python_request: str = Field(description="The version asked for, or 'default'.")
    direct: list[str] = Field(description="Requirements the node declares.")
    locked: dict[str, str] = Field(description="Every locked package and its version.")
    snapshots: dict[str, str] = Field(description="Snapshot name -> where it was copied from.")
    shared: dict[str, str] = Field(description="Package -> shared checkout it points to.")
    origins: dict[str, str] = Field(
        description="Each direct requirement's package -> where it comes from: node, pipeline "
        "base, snapshot, shared checkout, local path, library node <tag>, git URL, URL."
    )
    code_paths: list[str] = Field(
        description="Folders on the node's import path at launch (fingerprinted like its code)."
    )
    isolation: str = Field(
        description="'own' environment, 'shared:NAME' (a shared environment) or "
        "'interpreter:PATH' (an existing interpreter: not isolated)."
    )
    not_installed: list[str] = Field(
        description="With an existing interpreter: the locked packages it does not have "
        "(nothing installs them there; empty otherwise)."
    )
    warnings: list[str] = Field(
        description="What the user should know: requirements that will not be there."
    )


class CondaEnvironmentPublic(Schema):
    """What ``nodepipe env conda show`` tells: the node's conda specs, channels and lock."""

    node_id: str
    tag: str
    specs: list[str] = Field(description="Conda specs the node asks for (ffmpeg 6.1.*).")
    channels: list[str] = Field(description="Channels it solves from: its own or the workspace's.")
    locked: dict[str, str] = Field(description="Every package conda.lock pins, with its version.")
    installed: bool = Field(description="Whether code/.conda matches the lock.")
    unplaced: list[str] = Field(
        default_factory=list,
        description="After an environment.yml import: what could not be placed, and why.",
    )
    hint: HintPublic | None = Field(
        default=None,
        description="After an environment.yml import that asks for a Python: set it as the "
        "node's Python (env.python, with the file's version), as uv, not conda, gives it.",
    )


class BaseNotGivenPublic(Schema):
    """A node of the pipeline its base packages do not reach."""

    node_id: str
    tag: str
    reason: str = Field(description="Why: a shared environment or an interpreter it runs on.")


class BasePackagesPublic(Schema):  # reads a BasePackages
    pipeline_id: str
    packages: list[str]
    not_given: list[BaseNotGivenPublic] = Field(
        default_factory=list,
        description="Nodes of the pipeline that do not get the base packages, and why.",
    )


class SharedEnvPublic(Schema):
    name: str
    python: str
    direct: list[str]
    locked: dict[str, str]
