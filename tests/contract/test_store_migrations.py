"""Schema contract: the migrations build exactly ``schema.metadata``, and opening is cheap."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from nodepipe.domain.errors import WorkspaceError
from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Project
from nodepipe.store.migrate import HEAD_REVISION, MIGRATIONS_DIR, current_revision
from nodepipe.store.schema import metadata
from nodepipe.store.store import Store

CREATED_AT = datetime(2024, 5, 17, 13, 45, tzinfo=UTC)
_CHANGES = ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE")


@contextmanager
def recorded_changes() -> Iterator[list[str]]:
    """Every schema- or data-changing SQL statement any engine runs inside the block."""
    changes: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(_CHANGES):
            changes.append(statement)

    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        yield changes
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)


def test_head_revision_is_the_alembic_script_head() -> None:
    assert ScriptDirectory(str(MIGRATIONS_DIR)).get_heads() == [HEAD_REVISION]


def test_a_new_store_is_at_the_head_revision(store: Store) -> None:
    assert current_revision(store.engine) == HEAD_REVISION


def server_defaults_differ(
    _context: MigrationContext,
    _inspected_column: sa.Column[Any],
    _metadata_column: sa.Column[Any],
    inspected_default: str | None,
    _metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Alembic's own comparison (None), minus one false alarm of its SQLite dialect.

    SQLite reflects ``DEFAULT ''`` as ``('')`` and Alembic's unquoting needs at least one
    character between the quotes, so an empty-string default always looks changed.
    """
    if inspected_default == "('')" and rendered_metadata_default == "":
        return False
    return None


def schema_differences(store: Store, target: sa.MetaData) -> list[Any]:
    with store.engine.connect() as connection:
        options = {"compare_type": True, "compare_server_default": server_defaults_differ}
        context = MigrationContext.configure(connection, opts=options)
        differences: list[Any] = compare_metadata(context, target)
    return differences


def test_migrations_build_exactly_the_declared_schema(store: Store) -> None:
    assert schema_differences(store, metadata) == []


def test_the_schema_comparison_notices_a_changed_default(store: Store) -> None:
    """Guards the false-alarm filter above: a real difference in a default still shows."""
    changed = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["nodes"].c.notes.server_default = sa.DefaultClause("(none)")
    assert [diff[0][0] for diff in schema_differences(store, changed)] == ["modify_default"]


def test_opening_a_migrated_store_changes_nothing(
    store: Store, open_store: Callable[[], Store]
) -> None:
    project = Project(id=new_id(), name="kept", notes="", created_at=CREATED_AT)
    with store.write() as session:
        session.insert_project(project)
    with recorded_changes() as changes:
        reopened = open_store()
    assert changes == []
    assert current_revision(reopened.engine) == HEAD_REVISION
    with reopened.read() as session:
        assert session.list_projects() == [project]


def test_a_store_from_a_newer_nodepipe_is_refused(store: Store, store_url: str) -> None:
    with store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(WorkspaceError, match="newer"):
        Store.open(store_url).close()


def test_a_store_of_the_revision_before_the_journal_keeps_its_graph_and_journals_writes(
    store_url: str,
) -> None:
    """0006 -> 0007 with data: the graph is kept, the journal starts empty, and the next write
    of the graph (through nodepipe or plain SQL) is journaled."""
    from alembic import command
    from alembic.config import Config

    from nodepipe.store.engine import create_store_engine
    from nodepipe.store.queries import StoreSession

    from .test_store_contract import CHAIN, make_project, seed_pipeline

    engine = create_store_engine(store_url, create=True)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        project = make_project()
        session = StoreSession(connection)
        session.insert_project(project)
        chain = seed_pipeline(session, project, "chain", CHAIN)
    engine.dispose()
    store = Store.open(store_url)
    try:
        assert current_revision(store.engine) == HEAD_REVISION
        with store.light_read() as light:
            assert [row[0] for row in light.member_rows(chain.id)] == [
                chain.ids[tag] for tag in sorted(CHAIN)
            ]
            assert len(light.edge_rows(chain.id)) == 2
            mark, changed = light.graph_changes(None)
            assert changed is None and mark[2] == 0  # nothing journaled before the journal
        with store.write() as writing:
            writing.update_node(chain.ids["train"], notes="after the upgrade")
        with store.engine.begin() as connection:
            connection.execute(
                sa.text("DELETE FROM edges WHERE child_id = :c"), {"c": chain.ids["clean"]}
            )
        with store.light_read() as light:
            assert light.graph_changes(mark)[1] == {chain.ids["train"], chain.ids["clean"]}
    finally:
        store.close()


def test_a_store_of_the_revision_before_pipeline_inputs_keeps_its_graph_and_declares_none(
    store_url: str,
) -> None:
    """0009 -> 0010 with data: the graph is kept, no pipeline declares inputs, and a pipeline
    can declare them after the upgrade."""
    from alembic import command
    from alembic.config import Config

    from nodepipe.store.engine import create_store_engine
    from nodepipe.store.queries import StoreSession

    from .test_store_contract import CHAIN, make_project, seed_pipeline

    engine = create_store_engine(store_url, create=True)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0009")
        project = make_project()
        session = StoreSession(connection)
        session.insert_project(project)
        chain = seed_pipeline(session, project, "chain", CHAIN)
    engine.dispose()
    store = Store.open(store_url)
    try:
        assert current_revision(store.engine) == HEAD_REVISION
        with store.read() as reading:
            assert len(reading.list_nodes(chain.id)) == len(CHAIN)
            assert reading.pipeline_inputs(chain.id) == {}
        with store.write() as writing:
            writing.set_pipeline_inputs(chain.id, {"raw": [chain.ids["load"]]})
        with store.read() as reading:
            assert reading.pipeline_inputs(chain.id) == {"raw": (chain.ids["load"],)}
    finally:
        store.close()


def test_a_store_of_the_revision_before_previous_states_keeps_its_runs_and_recovers_them(
    store_url: str,
) -> None:
    """0010 -> 0011 with a claimed run: its node runs are kept, with no state from before the
    claim (crash recovery fails them, as it did), and a new claim keeps those states."""
    from alembic import command
    from alembic.config import Config

    from nodepipe.domain.runs import NodeRun
    from nodepipe.domain.states import NodeState
    from nodepipe.store.changes import column_values
    from nodepipe.store.engine import create_store_engine
    from nodepipe.store.queries import StoreSession
    from nodepipe.store.schema import node_runs

    from .test_store_contract import CHAIN, make_project, seed_pipeline
    from .test_store_runs import a_run, claim, queued_node_run

    engine = create_store_engine(store_url, create=True)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0010")
        project = make_project()
        session = StoreSession(connection)
        session.insert_project(project)
        chain = seed_pipeline(session, project, "chain", CHAIN)
        old = a_run(chain)
        session.insert_run(old)
        rows = [queued_node_run(old, chain.ids[tag]) for tag in CHAIN]
        fields = NodeRun.__dataclass_fields__  # the columns of 0010's node_runs
        connection.execute(
            node_runs.insert(), [column_values({f: getattr(r, f) for f in fields}) for r in rows]
        )
    engine.dispose()
    store = Store.open(store_url)
    try:
        assert current_revision(store.engine) == HEAD_REVISION
        with store.read() as reading:
            assert {nr.id for nr in reading.node_runs_of_run(old.id)} == {r.id for r in rows}
            assert reading.previous_states(old.id) == {}
        load = chain.ids["load"]
        run, queued = claim(store, chain, {load: (NodeState.STALE, "code changed")})
        with store.read() as reading:
            assert reading.previous_states(run.id) == {
                queued["load"].id: (NodeState.STALE, "code changed")
            }
    finally:
        store.close()
