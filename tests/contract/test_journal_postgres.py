"""The change journal on PostgreSQL set-ups the test cluster's defaults do not show: a store
shared by several roles (migration 0008: any role that may write the graph tables journals its
writes, whether the store was at 0006 or already at 0007) and a database whose default
collation is ICU's while ``datcollate`` says ``C`` (the text order is asked of the database)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from psycopg import sql

from nodepipe.domain.states import NodeState
from nodepipe.store.engine import create_store_engine
from nodepipe.store.migrate import HEAD_REVISION, MIGRATIONS_DIR, current_revision
from nodepipe.store.queries import StoreSession
from nodepipe.store.store import Store
from support.postgres_server import SUPERUSER, PostgresServer

from .test_store_contract import CHAIN, Seeded, make_project, seed_pipeline
from .test_store_runs import claim

pytestmark = pytest.mark.postgres


@pytest.fixture
def roles(postgres_server: PostgresServer, fresh_postgres_url: str) -> Iterator[Callable[[], str]]:
    """Makes login roles of the cluster (roles are the cluster's, not a database's), each
    dropped after with what it owns and its grants in the test's database."""
    made: list[str] = []

    def make() -> str:
        made.append(f"bob_{uuid.uuid4().hex[:12]}")
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(made[-1])))
        return made[-1]

    yield make
    database = fresh_postgres_url.rsplit("/", 1)[1]
    for name in reversed(made):
        who = sql.Identifier(name)
        with psycopg.connect(postgres_server.conninfo(database), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP OWNED BY {}").format(who))
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(who))


@pytest.fixture
def role(roles: Callable[[], str]) -> str:
    """A login role of the cluster (see ``roles``)."""
    return roles()


def as_role(url: str, role: str) -> str:
    return url.replace(f"//{SUPERUSER}@", f"//{role}@", 1)


def seeded(url: str, granted_to: str | None = None) -> Seeded:
    """The chain pipeline written into the store at ``url`` (and, with ``granted_to``, every
    table and sequence granted to that role, as an admin does once): what ``seed_pipeline``
    returns."""
    engine = create_store_engine(url)
    with engine.begin() as connection:
        project = make_project()
        session = StoreSession(connection)
        session.insert_project(project)
        chain = seed_pipeline(session, project, "chain", CHAIN)
        for what in ("TABLES", "SEQUENCES") if granted_to else ():
            connection.execute(
                sa.text(f'GRANT ALL ON ALL {what} IN SCHEMA public TO "{granted_to}"')
            )
    engine.dispose()
    return chain


def upgrade(url: str, revision: str) -> None:
    engine = create_store_engine(url, create=True)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


@pytest.mark.parametrize("start", ["0006", "0007"])
def test_another_role_writes_and_reads_the_graph_after_the_upgrade(
    fresh_postgres_url: str, role: str, start: str
) -> None:
    """The usual shared set-up: the admin granted the team's role every table once, before the
    journal existed; the store then meets a nodepipe with the journal (from 0006, or from a
    0007 that already refused the role's writes)."""
    upgrade(fresh_postgres_url, "0006")
    chain = seeded(fresh_postgres_url, granted_to=role)
    theirs = as_role(fresh_postgres_url, role)
    if start == "0007":
        upgrade(fresh_postgres_url, "0007")
        refused = create_store_engine(theirs)
        with (
            pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
            refused.begin() as connection,
        ):  # audit5 F9, what 0008 repairs
            connection.execute(sa.text("UPDATE nodes SET notes = 'refused'"))
        refused.dispose()
    Store.open(fresh_postgres_url).close()  # the owner's nodepipe upgrades the store
    store = Store.open(theirs)  # the other role's nodepipe, at the head too
    try:
        assert current_revision(store.engine) == HEAD_REVISION
        with store.light_read() as light:
            mark, _ = light.graph_changes(None)
        with store.write() as writing:
            writing.update_node(chain.ids["train"], notes="written by another role")
        with store.engine.begin() as connection:
            connection.execute(
                sa.text("DELETE FROM edges WHERE child_id = :c"), {"c": chain.ids["clean"]}
            )
        with store.light_read() as light:
            assert light.graph_changes(mark)[1] == {chain.ids["train"], chain.ids["clean"]}
            assert [row[0] for row in light.member_rows(chain.id)] == [
                chain.ids[tag] for tag in sorted(CHAIN)
            ]
        with (  # the journal is the owner's to write
            pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
            store.engine.begin() as connection,
        ):
            connection.execute(sa.text("INSERT INTO graph_changes (node_id) VALUES ('x')"))
        with (  # nor may it make the owner's function write for a table of its own
            pytest.raises(sa.exc.ProgrammingError, match="permission denied for function"),
            store.engine.begin() as connection,
        ):
            connection.execute(sa.text("CREATE TEMPORARY TABLE mine (id text)"))
            connection.execute(
                sa.text(
                    "CREATE TRIGGER mine_noted AFTER INSERT ON mine"
                    " FOR EACH ROW EXECUTE FUNCTION graph_changes_note('id')"
                )
            )
    finally:
        store.close()


def test_another_role_declares_inputs_after_the_upgrade_that_adds_them(
    fresh_postgres_url: str, role: str
) -> None:
    """Migration 0010's table: a role granted the graph tables at 0009 may declare a
    pipeline's inputs, read them, and delete a node that takes one, after the upgrade."""
    upgrade(fresh_postgres_url, "0009")
    chain = seeded(fresh_postgres_url, granted_to=role)
    Store.open(fresh_postgres_url).close()  # the owner's nodepipe upgrades the store
    store = Store.open(as_role(fresh_postgres_url, role))
    try:
        with store.write() as writing:
            writing.set_pipeline_inputs(
                chain.id, {"raw": [chain.ids["load"]], "labels": [chain.ids["train"]]}
            )
        with store.write() as writing:
            writing.delete_node(chain.ids["train"])
        with store.read() as reading:
            assert reading.pipeline_inputs(chain.id) == {"raw": (chain.ids["load"],)}
    finally:
        store.close()


def test_another_role_claims_runs_after_the_upgrade_that_keeps_previous_states(
    fresh_postgres_url: str, role: str
) -> None:
    """Migration 0011's table: a role granted every table at 0010 may claim a run (each node's
    state before the claim kept with its node run) and read it back, after the upgrade."""
    upgrade(fresh_postgres_url, "0010")
    chain = seeded(fresh_postgres_url, granted_to=role)
    Store.open(fresh_postgres_url).close()  # the owner's nodepipe upgrades the store
    store = Store.open(as_role(fresh_postgres_url, role))
    try:
        load = chain.ids["load"]
        run, queued = claim(store, chain, {load: (NodeState.FAILED, "exited with code 1")})
        with store.read() as reading:
            assert reading.previous_states(run.id) == {
                queued["load"].id: (NodeState.FAILED, "exited with code 1")
            }
    finally:
        store.close()


def test_another_role_claims_the_workspace_identity_after_the_upgrade_that_adds_it(
    fresh_postgres_url: str, role: str
) -> None:
    """Migration 0012's table: a role granted every table at 0011 may give the store its
    workspace's identity (the first open of the workspace by that role's nodepipe) and record a
    moved folder, after the owner's nodepipe upgraded the store."""
    upgrade(fresh_postgres_url, "0011")
    chain = seeded(fresh_postgres_url, granted_to=role)
    Store.open(fresh_postgres_url).close()  # the owner's nodepipe upgrades the store
    store = Store.open(as_role(fresh_postgres_url, role))
    try:
        assert store.identity() is None
        assert store.node_ids() != [] and chain.ids["load"] in store.node_ids()
        assert store.claim_identity("id-of-lab", "/srv/lab") == ("id-of-lab", "/srv/lab")
        store.record_root("id-of-lab", "/srv/moved")
        assert store.identity() == ("id-of-lab", "/srv/moved")
    finally:
        store.close()


@pytest.fixture
def icu_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A database whose default collation is ICU's while ``datcollate`` says ``C``
    (PostgreSQL 15+: ``ORDER BY`` puts 'a' before 'B' there), dropped after."""
    name = f"icu_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as admin:
        admin.execute(
            sql.SQL(
                "CREATE DATABASE {} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'und'"
                " LC_COLLATE 'C' LC_CTYPE 'C'"
            ).format(sql.Identifier(name))
        )
    try:
        yield postgres_server.url(name)
    finally:
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_a_database_ordering_text_with_icu_is_not_taken_for_code_point_order(
    icu_url: str, fresh_postgres_url: str
) -> None:
    """The journal's reader must not place moved rows by Python's order in an ICU database
    (it reads every row instead); the C database of the other tests still may."""
    store = Store.create(icu_url)
    try:
        with store.engine.connect() as connection:
            row = connection.execute(
                sa.text(
                    "SELECT datcollate, datlocprovider FROM pg_database"
                    " WHERE datname = current_database()"
                )
            ).one()
            assert tuple(row) == ("C", "i")
            tags = ["a", "B", "c"]
            assert [
                r[0]
                for r in connection.execute(
                    sa.text("SELECT x FROM unnest(CAST(:t AS text[])) AS t (x) ORDER BY x"),
                    {"t": tags},
                )
            ] == ["a", "B", "c"]
        with store.light_read() as light:
            assert light.code_point_order() is False
    finally:
        store.close()
    code_point = Store.create(fresh_postgres_url)
    try:
        with code_point.light_read() as light:
            assert light.code_point_order() is True
    finally:
        code_point.close()


def test_a_pipelines_inputs_come_in_code_point_order_whatever_the_databases_collation(
    icu_url: str,
) -> None:
    """Bundle inputs are answered (and so exported and shown) in the same order on every
    store: by code point ('B' before 'a'), not by the database's collation."""
    Store.create(icu_url).close()
    chain = seeded(icu_url)
    store = Store.open(icu_url)
    try:
        load, train = chain.ids["load"], chain.ids["train"]
        with store.write() as writing:
            writing.set_pipeline_inputs(chain.id, {"a": [load], "B": [train], "_c": [load]})
        with store.read() as reading:
            assert list(reading.pipeline_inputs(chain.id)) == ["B", "_c", "a"]
    finally:
        store.close()


@pytest.mark.parametrize("upgrader", ["superuser", "another role"])
def test_the_stores_owner_keeps_its_inputs_when_another_role_upgrades(
    postgres_server: PostgresServer,
    fresh_postgres_url: str,
    roles: Callable[[], str],
    upgrader: str,
) -> None:
    """Migration 0010 run by a role that does not own the store (a superuser, or a team role
    that may create tables, opened it first with this nodepipe): the store's owner may still
    declare, read and delete inputs; and so may the upgrading role."""
    database = fresh_postgres_url.rsplit("/", 1)[1]
    owner = roles()

    def connect(user: str) -> psycopg.Connection[tuple[object, ...]]:
        info = postgres_server.conninfo(database).replace(f"user={SUPERUSER}", f"user={user}")
        return psycopg.connect(info, autocommit=True)

    def may_create(user: str) -> None:
        with connect(SUPERUSER) as admin:
            admin.execute(
                sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(user))
            )

    may_create(owner)
    owners = as_role(fresh_postgres_url, owner)
    upgrade(owners, "0009")  # the role owns every table of the store
    chain = seeded(owners)
    upgrading = fresh_postgres_url
    if upgrader == "another role":
        other = roles()
        may_create(other)
        with connect(owner) as own:
            own.execute(
                sql.SQL("GRANT ALL ON ALL TABLES IN SCHEMA public TO {}").format(
                    sql.Identifier(other)
                )
            )
        upgrading = as_role(fresh_postgres_url, other)
    Store.open(upgrading).close()  # the upgrade, by a role that does not own the store
    for url in (owners, upgrading):
        store = Store.open(url)
        try:
            run, queued = claim(store, chain, {chain.ids["load"]: (NodeState.STALE, "")})
            with store.read() as reading:  # 0011's table, made by the upgrading role
                assert reading.previous_states(run.id) == {queued["load"].id: (NodeState.STALE, "")}
            with store.write() as writing:
                writing.set_pipeline_inputs(chain.id, {"raw": [chain.ids["load"]]})
            with store.read() as reading:
                assert reading.pipeline_inputs(chain.id) == {"raw": (chain.ids["load"],)}
            with store.write() as writing:
                writing.set_pipeline_inputs(chain.id, {})
        finally:
            store.close()
