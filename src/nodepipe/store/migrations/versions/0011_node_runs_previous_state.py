"""Each node run keeps the state its node had when the run claimed it (the table
``node_run_previous_states``), so that crash recovery gives a node the run never started its
state back, as a run that is cancelled does. A run claimed before this revision has none (its
nodes that never started are marked interrupted, as before).

A new table rather than new columns of ``node_runs``: on PostgreSQL only the owner of a table
may alter it, and a store shared by several roles may be upgraded by a role that does not own
it (0010's reasoning). Every role holding a privilege on ``node_runs`` is given the same on the
new table, and the new table is given to the owner of ``node_runs`` (or, where the upgrading
role may not give it away, every privilege on it is granted to that owner). SQLite has one user.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ID = sa.String(16)

_GRANT_LIKE_NODE_RUNS = """
DO $$
DECLARE
  grant_row record;
  owner_oid oid;
  owner_name text;
BEGIN
  SELECT c.relowner, quote_ident(r.rolname) INTO owner_oid, owner_name
  FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
  WHERE c.oid = 'node_runs'::regclass;
  FOR grant_row IN
    SELECT DISTINCT a.privilege_type AS privilege,
      CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS who
    FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
    LEFT JOIN pg_roles r ON r.oid = a.grantee
    WHERE c.oid = 'node_runs'::regclass AND a.grantee <> c.relowner
  LOOP
    EXECUTE 'GRANT ' || grant_row.privilege || ' ON node_run_previous_states TO '
      || grant_row.who;
  END LOOP;
  IF owner_oid <> (SELECT oid FROM pg_roles WHERE rolname = current_user) THEN
    BEGIN
      EXECUTE 'ALTER TABLE node_run_previous_states OWNER TO ' || owner_name;
    EXCEPTION WHEN insufficient_privilege THEN
      EXECUTE 'GRANT ALL ON node_run_previous_states TO ' || owner_name;
    END;
  END IF;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "node_run_previous_states",
        sa.Column("node_run_id", ID),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("node_run_id", name="pk_node_run_previous_states"),
        sa.ForeignKeyConstraint(
            ["node_run_id"],
            ["node_runs.id"],
            name="fk_node_run_previous_states_node_run_id_node_runs",
            ondelete="CASCADE",
        ),
    )
    if op.get_bind().dialect.name != "sqlite":
        op.execute(_GRANT_LIKE_NODE_RUNS)


def downgrade() -> None:
    op.drop_table("node_run_previous_states")
