"""Every REST router, in the order the app factory mounts them under ``/api``."""

from __future__ import annotations

from fastapi import APIRouter

from nodepipe.api.routes import (
    bundles,
    code,
    conda,
    edges,
    environments,
    events,
    groups,
    jobs,
    logs,
    meta,
    node_copies,
    nodes,
    outputs,
    packages,
    pipeline_copies,
    pipelines,
    projects,
    runs,
    shared_envs,
    tickets,
)

ROUTERS: tuple[APIRouter, ...] = (
    meta.router,
    projects.router,
    pipelines.router,
    pipeline_copies.router,
    bundles.router,
    packages.router,
    nodes.router,
    node_copies.router,
    edges.router,
    groups.router,
    runs.router,
    logs.router,
    outputs.router,
    code.router,
    environments.router,
    conda.router,
    shared_envs.router,
    jobs.router,
    events.router,
    tickets.router,
)
