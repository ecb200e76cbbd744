"""The light read path answers exactly what the SQLAlchemy path answers (so they cannot drift).

``status`` and a no-change ``run`` read through ``Store.light_read()``: on SQLite that is the
standard library's ``sqlite3`` with hand-written SQL (``store.light_read``), on PostgreSQL an
ordinary SQLAlchemy session. Every ``LightReads`` query is asked of both paths on one store
holding every kind of value the rows carry (timestamps, flags, floats, JSON, NULLs, states).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nodepipe.domain.bundles import IncludeMember, PipelineInclude
from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Group, Lineage
from nodepipe.domain.runs import Run, RunStatus
from nodepipe.domain.states import NodeState
from nodepipe.store.light_read import LightReads, light_session, member_of
from nodepipe.store.queries import StoreSession
from nodepipe.store.store import Store

from .test_store_contract import CHAIN, DIAMOND, Seeded, make_project, seed_pipeline
from .test_store_runs import queued_node_run

WHEN = datetime(2025, 3, 1, 9, 0, 5, 120034, tzinfo=UTC)


def make_run(seeded: Seeded, status: RunStatus, *, force: bool, finished: bool) -> Run:
    return Run(
        id=new_id(),
        pipeline_id=seeded.id,
        pipeline_tag=seeded.pipeline.tag,
        requested_by="me",
        executor="local",
        status=status,
        jobs=3,
        force=force,
        created_at=WHEN,
        finished_at=WHEN + timedelta(seconds=7) if finished else None,
        orchestrator_pid=4242,
        orchestrator_host="host",
        orchestrator_started="991",
    )


@pytest.fixture
def filled(store: Store) -> tuple[Seeded, Seeded]:
    """Two pipelines (one branched from the other, showing a node of it, with a group; both
    declaring bundle inputs), nodes in several states with fingerprints, and runs in several
    states."""
    project = make_project()
    with store.write() as session:
        session.insert_project(project)
        chain = seed_pipeline(session, project, "chain", CHAIN)
        diamond = seed_pipeline(
            session, project, "diamond", DIAMOND, shown={"x": chain.ids["load"]}
        )
        session.update_pipeline(diamond.id, locked=True, base_packages=("numpy==2.1.0",))
        session.insert_lineage(Lineage(diamond.id, chain.id, "branch", chain.ids["clean"]))
        group = Group(new_id(), diamond.id, "the left side", collapsed=True)
        session.insert_group(group)
        session.update_membership(diamond.id, diamond.ids["left"], group_id=group.id, x=0.25)
        session.set_pipeline_inputs(
            chain.id,
            {"raw": [chain.ids["load"], chain.ids["clean"]], "labels": [chain.ids["train"]]},
        )
        session.set_pipeline_inputs(diamond.id, {"side": [diamond.ids["right"]]})
        for namespace, keys in (("feat", ("clean", "train")), ("feat.sub", ("train",))):
            include = PipelineInclude(
                new_id(), chain.id, namespace, "../lib", "file", f"/ünï/{namespace}", "h", WHEN
            )
            session.insert_include(include)
            session.insert_include_members(
                IncludeMember(include.id, chain.ids[key], key) for key in keys
            )
        session.update_node(chain.ids["load"], state=NodeState.COMPLETED, locked=True)
        session.update_node(chain.ids["clean"], state=NodeState.STALE, state_reason="by hand")
        session.update_node(diamond.ids["join"], notes="ünïcode [x]", state=NodeState.FAILED)
        session.set_node_fingerprint(chain.ids["load"], '{"code": {"main.py": "ab"}}', "d" * 64)
        session.set_node_fingerprint(chain.ids["clean"], None, "e" * 64)
        for status, force, finished in (
            (RunStatus.RUNNING, False, False),
            (RunStatus.RUNNING, True, False),
            (RunStatus.COMPLETED, True, True),
        ):
            run = make_run(chain, status, force=force, finished=finished)
            session.insert_run(run)
            for i, tag in enumerate(("load", "clean")):
                queued = queued_node_run(run, chain.ids[tag])
                at = WHEN + timedelta(seconds=len(session.list_runs()) * 10 + i)
                many = [replace(queued, created_at=at, reasons=("never ran", "ünï"), pid=7)]
                session.insert_node_runs(many)
    return chain, diamond


def answers(session: LightReads, chain: Seeded, diamond: Seeded) -> dict[str, Any]:
    """Every ``LightReads`` query, with arguments that find something and that find nothing."""
    every_id = [*chain.ids.values(), *diamond.ids.values(), "nosuchnode"]
    found: dict[str, Any] = {
        "project": session.get_project(chain.pipeline.project_id),
        "no project": session.get_project("nosuchproject"),
        "projects": session.list_projects(),
        "pipelines by id": session.get_pipelines([chain.id, diamond.id, "nosuchpipeline"]),
        "no pipelines": session.get_pipelines([]),
        "all nodes": session.list_nodes(),
        "nodes of diamond": session.list_nodes(diamond.id),
        "nodes of none": session.list_nodes("nosuchpipeline"),
        "pipelines": session.list_pipelines(),
        "pipelines of project": session.list_pipelines(chain.pipeline.project_id),
        "lineage": session.lineage(),
        "lineage of": session.lineage([chain.id]),
        "lineage of none": session.lineage([]),
        "node": session.get_node(chain.ids["load"]),
        "no node": session.get_node("nosuchnode"),
        "nodes": session.get_nodes(every_id),
        "named": sorted(session.node_tags_named("load")),
        "named by id": sorted(session.node_tags_named(diamond.ids["join"])),
        "all names": sorted(session.node_tags_with_pipelines()),
        "fingerprints": session.node_fingerprints(every_id),
        "running": sorted(session.runs_with_status(RunStatus.RUNNING), key=lambda r: r.id),
        "failed": session.runs_with_status(RunStatus.FAILED),
        "runs": session.list_runs(),
        "runs of chain": session.list_runs(chain.id, 2),
        "runs of diamond": session.list_runs(diamond.id),
        "node runs": session.node_runs_of_node(chain.ids["load"]),
        "latest node run": session.node_runs_of_node(chain.ids["clean"], 1),
        "no node runs": session.node_runs_of_node("nosuchnode", 5),
    }
    for seeded in (chain, diamond):
        found[f"members {seeded.pipeline.tag}"] = session.pipeline_members(seeded.id)
        found[f"edges {seeded.pipeline.tag}"] = session.edges_of_pipeline(seeded.id)
        found[f"member rows {seeded.pipeline.tag}"] = [
            (*member_of(seeded.id, row), row[11:]) for row in session.member_rows(seeded.id)
        ]
        found[f"edge rows {seeded.pipeline.tag}"] = session.edge_rows(seeded.id)
        found[f"groups {seeded.pipeline.tag}"] = session.groups_of_pipeline(seeded.id)
        found[f"inputs {seeded.pipeline.tag}"] = session.pipeline_inputs(seeded.id)
        found[f"include origins {seeded.pipeline.tag}"] = session.include_origins(seeded.id)
        some = [*list(seeded.ids.values())[1:3], "nosuchnode"]
        found[f"member rows of {seeded.pipeline.tag}"] = [
            (*member_of(seeded.id, row), row[11:])
            for row in session.member_rows_of(seeded.id, some)
        ]
        found[f"edge rows into {seeded.pipeline.tag}"] = session.edge_rows_into(seeded.id, some)
    found["journal"] = session.graph_changes(None)
    found["code point order"] = session.code_point_order()
    return found


def test_the_light_read_path_answers_as_sqlalchemy_does(
    store: Store, filled: tuple[Seeded, Seeded]
) -> None:
    chain, diamond = filled
    with store.read() as session:
        expected = answers(session, chain, diamond)
    with store.light_read() as light:
        got = answers(light, chain, diamond)
    if store.dialect == "sqlite":
        assert not isinstance(light, StoreSession), "SQLite reads without SQLAlchemy"
    else:
        assert isinstance(light, StoreSession), "PostgreSQL falls back to SQLAlchemy"
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == value, key
    # the values really hold what was written (the comparison is not of two empty answers)
    assert got["project"] is not None and got["project"].created_at.tzinfo is not None
    assert got["nodes"][chain.ids["load"]].locked is True
    assert {r.force for r in got["running"]} == {True, False}
    assert len(got["runs"]) == 3 and len(got["runs of chain"]) == 2 and got["projects"]
    assert len(got["node runs"]) == 3 and got["node runs"][0].reasons == ("never ran", "ünï")
    assert len(got["all nodes"]) == 7 and len(got["nodes of diamond"]) == 5
    assert got["groups diamond"][0].collapsed is True
    # the rows the web app compares make the same values as the members, edges and fingerprints
    for seeded in (chain, diamond):
        tag = seeded.pipeline.tag
        assert [m[:2] for m in got[f"member rows {tag}"]] == got[f"members {tag}"]
        for node, _, stored in got[f"member rows {tag}"]:
            assert stored == got["fingerprints"][node.id], (tag, node.tag)
        assert [(e.parent_id, e.child_id, e.slot) for e in got[f"edges {tag}"]] == list(
            got[f"edge rows {tag}"]
        )
        # the rows of some nodes are those nodes' rows of the whole read, in its order
        some = set(list(seeded.ids.values())[1:3])
        assert got[f"member rows of {tag}"] == [
            m for m in got[f"member rows {tag}"] if m[0].id in some
        ]
        assert got[f"edge rows into {tag}"] == [e for e in got[f"edge rows {tag}"] if e[1] in some]
        assert got[f"edge rows into {tag}"] and len(got[f"member rows of {tag}"]) == 2
    assert got["journal"][1] is None and got["code point order"] is True
    assert got["fingerprints"][chain.ids["clean"]] == (None, "e" * 64)
    assert next(p for p in got["pipelines"] if p.id == diamond.id).base_packages == (
        "numpy==2.1.0",
    )


def test_one_light_read_sees_one_snapshot(tmp_path: Path) -> None:
    """A write committed while a light read is open is not seen by it (one transaction)."""
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    store = Store.create(url)
    project = make_project()
    with store.write() as session:
        session.insert_project(project)
    path = store.sqlite_file
    assert path is not None
    with light_session(path) as light:
        before = light.list_pipelines()
        with store.write() as session:
            seed_pipeline(session, project, "later", CHAIN)
        assert light.list_pipelines() == before == []
    with store.light_read() as light:
        assert [p.tag for p in light.list_pipelines()] == ["later"]
    store.close()


def test_opening_a_current_sqlite_store_and_reading_it_imports_no_sqlalchemy(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    Store.create(url).close()
    probe = (
        "import sys\n"
        "from nodepipe.store.store import Store\n"
        f"store = Store.open({url!r})\n"
        "with store.light_read() as session:\n"
        "    session.list_pipelines()\n"
        "store.close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic')))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "[]"
