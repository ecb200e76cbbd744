"""Request bodies of environments: a node's packages and Python, base packages, shared ones."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nodepipe.api.schemas.common import Input
from nodepipe.api.schemas.fields import AbsolutePath, Name, Requirements


class PackagesAdd(Input):
    """Packages (pinned, ranged or ``git+URL@rev``), or exactly one of path/snapshot/shared/
    from_node."""

    requirements: list[str] = Field(default_factory=list)
    path: str | None = Field(
        default=None, min_length=1, description="A local project folder to install."
    )
    snapshot: str | None = Field(
        default=None,
        min_length=1,
        description="A folder or git URL copied into code/snapshots/, editable.",
    )
    shared: str | None = Field(
        default=None, min_length=1, description="One shared checkout, editable (less reproducible)."
    )
    from_node: str | None = Field(
        default=None,
        min_length=1,
        description="A library node (id or tag) whose package is installed editable and linked.",
    )
    large: bool = Field(
        default=False,
        description="Accept a path or shared checkout of more than 20,000 files (every status "
        "then reads them all); refused (422) otherwise.",
    )
    package: str | None = Field(
        default=None, min_length=1, description="With from_node: which of its packages."
    )


class CodePathAdd(Input):
    path: str = Field(
        min_length=1,
        description="A folder outside the node put on its import path and in its fingerprint.",
    )
    large: bool = Field(
        default=False,
        description="Accept a folder of more than 20,000 files (every status then reads them "
        "all); refused (422) otherwise.",
    )


class CondaPackagesAdd(Input):
    """Conda specs (``ffmpeg 6.1.*``), from these channels first (else the node's own or the
    workspace's)."""

    specs: list[str] = Field(min_length=1)
    channels: list[str] = Field(default_factory=list)


class PythonUpdate(Input):
    version: str = Field(min_length=1, description="An installed Python, e.g. 3.12.")


class IsolationUpdate(Input):
    """How isolated the node is: its own environment, a shared one, or an existing interpreter
    (not isolated)."""

    mode: Literal["own", "shared", "interpreter"]
    shared_env: Name | None = Field(default=None, description="With mode 'shared'.")
    interpreter: AbsolutePath | None = Field(
        default=None, min_length=1, description="With mode 'interpreter': its absolute path."
    )


class LockRequest(Input):
    upgrade: bool = False


class PackagesChange(Input):
    packages: Requirements = Field(min_length=1)


class SharedEnvCreate(Input):
    name: Name
    packages: Requirements = Field(default_factory=list)


class EnvironmentRestore(Input):
    """Put back the environment a node ran with in a past run."""

    run: str = Field(min_length=1, description="The run (an id or a unique id prefix).")


class NodeRestoreCreate(Input):
    """A new node from a past run of this one: its code, parameters and environment."""

    run: str = Field(min_length=1, description="The run (an id or a unique id prefix).")
    tag: Name = Field(description="Tag of the new node.")


class EnvironmentImport(Input):
    """A requirements.txt or an environment.yml sent from the user's machine."""

    file_name: str = Field(
        min_length=1,
        max_length=120,
        description="Its name: ending in .yml or .yaml it is an environment file, else a "
        "requirements file.",
    )
    text: str = Field(description="Its content (UTF-8 text, at most 1 MiB).")
