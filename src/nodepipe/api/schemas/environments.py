"""Bodies of environments: a node's packages and Python, pipeline base packages, shared ones."""

from __future__ import annotations

from pydantic import Field

from nodepipe.api.schemas.common import Input, Schema
from nodepipe.api.schemas.fields import Name
from nodepipe.services.envs.environments import EnvironmentView
from nodepipe.services.envs.shared_envs import SharedEnvView


class EnvironmentPublic(Schema):
    """What ``nodepipe env show`` tells: Python, direct and locked packages, snapshots."""

    node_id: str
    tag: str
    python: str = Field(description="Version of the environment's interpreter.")
    python_request: str = Field(description="The version asked for, or 'default'.")
    direct: list[str] = Field(description="Requirements the node declares.")
    locked: dict[str, str] = Field(description="Every locked package and its version.")
    snapshots: dict[str, str] = Field(description="Snapshot name -> where it was copied from.")
    shared: dict[str, str] = Field(description="Package -> shared checkout it points to.")

    @classmethod
    def of(cls, view: EnvironmentView) -> EnvironmentPublic:
        return cls(
            node_id=view.node_id,
            tag=view.tag,
            python=view.python,
            python_request=view.python_request,
            direct=list(view.direct),
            locked=dict(view.locked),
            snapshots=dict(view.snapshots),
            shared=dict(view.shared),
        )


class PackagesAdd(Input):
    """Packages (pinned, ranged or ``git+URL@rev``), or exactly one of path/snapshot/shared."""

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


class PythonUpdate(Input):
    version: str = Field(min_length=1, description="An installed Python, e.g. 3.12.")


class LockRequest(Input):
    upgrade: bool = False


class BasePackagesPublic(Schema):
    pipeline_id: str
    packages: list[str]


class PackagesChange(Input):
    packages: list[str] = Field(min_length=1)


class SharedEnvCreate(Input):
    name: Name
    packages: list[str] = Field(default_factory=list)


class SharedEnvPublic(Schema):
    name: str
    python: str
    direct: list[str]
    locked: dict[str, str]

    @classmethod
    def of(cls, view: SharedEnvView) -> SharedEnvPublic:
        return cls(
            name=view.name,
            python=view.python,
            direct=list(view.direct),
            locked=dict(view.locked),
        )
