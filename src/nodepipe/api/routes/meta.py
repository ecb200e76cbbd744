"""The workspace itself: what it is, and a trivial health check (the benchmarks' floor)."""

from __future__ import annotations

from nodepipe.api.deps import ServicesDep
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.common import Health, WorkspacePublic
from nodepipe.services.version import installed_version

router = resource_router(tags=["workspace"])


@router.get("/health")
def health() -> Health:
    return Health()


@router.get("/workspace")
def workspace(services: ServicesDep) -> WorkspacePublic:
    ws = services.workspace
    return WorkspacePublic(
        root=str(ws.root),
        store=ws.context.store.dialect,
        python_version=ws.context.python_version,
        version=installed_version(),
        token_required=services.settings.token is not None,
    )
