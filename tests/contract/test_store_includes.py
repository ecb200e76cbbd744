"""The store contract for pipeline includes, on SQLite and PostgreSQL alike.

A pipeline remembers each bundle it includes (source as written, resolved location, content
hash, inputs and parameters) and which of its nodes came from which include.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from nodepipe.domain.bundles import IncludeMember, PipelineInclude
from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Project
from nodepipe.store.store import Store

from .test_store_contract import Seeded, make_project, seed_pipeline

UPDATED_AT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def make_include(pipeline_id: str, namespace: str, **values: object) -> PipelineInclude:
    include = PipelineInclude(
        id=new_id(),
        pipeline_id=pipeline_id,
        namespace=namespace,
        source="../shared/features",
        loader="file",
        location="/lib/shared/features",
        content_hash="ab" * 32,
        updated_at=UPDATED_AT,
        inputs={"raw": "prep"},
        params={"window": 7, "nested": {"a": [1, 2.5, "ü"]}},
    )
    return replace(include, **values)  # type: ignore[arg-type]


@pytest.fixture
def project(store: Store) -> Project:
    project = make_project()
    with store.write() as session:
        session.insert_project(project)
    return project


@pytest.fixture
def included(store: Store, project: Project) -> tuple[Seeded, PipelineInclude]:
    """``train`` whose ``features.clean`` and ``features.scale`` came from include ``features``."""
    with store.write() as session:
        seeded = seed_pipeline(
            session,
            project,
            "train",
            {"prep": [], "features.clean": ["prep"], "features.scale": ["features.clean"]},
        )
        include = make_include(seeded.id, "features")
        session.insert_include(include)
        session.insert_include_members(
            IncludeMember(include.id, seeded.ids[f"features.{key}"], key)
            for key in ("scale", "clean")
        )
    return seeded, include


def test_includes_round_trip_with_inputs_and_params(
    store: Store, included: tuple[Seeded, PipelineInclude]
) -> None:
    seeded, include = included
    nested = make_include(seeded.id, "features.sub", source="pkg:np-sub>=1", loader="package")
    with store.write() as session:
        session.insert_include(nested)
    with store.read() as session:
        found = session.includes_of_pipeline(seeded.id)
    assert found == [include, nested]  # by namespace
    assert found[0].is_top_level and not found[1].is_top_level
    assert found[0].covers("features.sub") and not found[0].covers("featuresx")


def test_members_list_by_include_then_key(
    store: Store, included: tuple[Seeded, PipelineInclude]
) -> None:
    seeded, include = included
    with store.read() as session:
        members = session.include_members([include.id])
    assert [(m.key, m.node_id) for m in members] == [
        ("clean", seeded.ids["features.clean"]),
        ("scale", seeded.ids["features.scale"]),
    ]


def test_an_update_replaces_the_recorded_values(
    store: Store, included: tuple[Seeded, PipelineInclude]
) -> None:
    seeded, include = included
    newer = replace(include, content_hash="cd" * 32, params={}, location="/elsewhere")
    with store.write() as session:
        session.update_include(newer)
        session.delete_include_members(include.id, [seeded.ids["features.scale"]])
    with store.read() as session:
        assert session.includes_of_pipeline(seeded.id) == [newer]
        assert [m.key for m in session.include_members([include.id])] == ["clean"]


def test_a_namespace_is_included_once_per_pipeline(
    store: Store, included: tuple[Seeded, PipelineInclude]
) -> None:
    seeded, _ = included
    with pytest.raises(sa.exc.IntegrityError), store.write() as session:
        session.insert_include(make_include(seeded.id, "features"))


def test_deleting_a_node_or_the_pipeline_takes_the_rows_along(
    store: Store, included: tuple[Seeded, PipelineInclude]
) -> None:
    seeded, include = included
    with store.write() as session:
        session.delete_node(seeded.ids["features.scale"])
    with store.read() as session:
        assert [m.key for m in session.include_members([include.id])] == ["clean"]
    with store.write() as session:
        for node_id in seeded.ids.values():
            if node_id != seeded.ids["features.scale"]:
                session.delete_node(node_id)
        session.delete_pipeline(seeded.id)
    with store.read() as session:
        assert session.includes_of_pipeline(seeded.id) == []
        assert session.include_members([include.id]) == []


def test_deleting_an_include_forgets_its_members(
    store: Store, included: tuple[Seeded, PipelineInclude]
) -> None:
    seeded, include = included
    with store.write() as session:
        session.delete_include(include.id)
    with store.read() as session:
        assert session.include_members([include.id]) == []
        assert len(session.list_nodes(seeded.id)) == 3  # the nodes stay
