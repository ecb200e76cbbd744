"""The change journal on a PostgreSQL store shared by several roles: every role that may write
the graph tables journals its writes, and every role that may read ``nodes`` reads the journal.

Migration 0007's trigger functions ran with the writer's privileges and inserted into tables only
the migrating role owned, so a store whose roles were granted the tables before 0007 (a one-time
``GRANT ... ON ALL TABLES``) refused every graph write by another role ("permission denied for
table graph_changes"). Here the two functions become ``SECURITY DEFINER``: they run as their
owner (the migrating role, who owns the journal), with ``search_path`` pinned to the journal's
schema (then ``pg_temp``), so another role can neither redirect their inserts nor needs any
grant on the journal to write the graph; nobody but a trigger may call them (``EXECUTE``
revoked from ``PUBLIC``; PostgreSQL checks it when a trigger is created, not when it fires).
Chosen over copying the write grants of ``nodes`` to the journal: a role granted the graph
tables later journals too, and no role may write journal rows by hand. Reading the journal
(``graph_journal.journal_since``) needs ``SELECT``: it is granted on both journal tables to
every role that holds ``SELECT`` on ``nodes`` now (later grants ``ON ALL TABLES`` cover them).
SQLite has one user: nothing to do. 0007 is left as it is (stores at 0007 exist; every store
passes through this one).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

FUNCTIONS = ("graph_changes_note()", "graph_changes_prune()")
JOURNAL = "graph_changes, graph_changes_floor"

_GRANT_READERS = f"""
DO $$
DECLARE
  who text;
BEGIN
  FOR who IN
    SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END
    FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
    LEFT JOIN pg_roles r ON r.oid = a.grantee
    WHERE c.oid = 'nodes'::regclass AND a.privilege_type = 'SELECT'
      AND a.grantee <> c.relowner
  LOOP
    EXECUTE 'GRANT SELECT ON {JOURNAL} TO ' || who;
  END LOOP;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for function in FUNCTIONS:
        op.execute(
            "DO $$ BEGIN EXECUTE format("
            f"'ALTER FUNCTION {function} SECURITY DEFINER SET search_path = %I, pg_temp',"
            " current_schema()); END $$"
        )
        op.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
    op.execute(_GRANT_READERS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SECURITY INVOKER RESET search_path")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO PUBLIC")
