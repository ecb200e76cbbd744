"""Pipeline inputs: the ``[inputs]`` a pipeline declares as a bundle (input name → the nodes
taking it, by id), so an export without ``--input`` writes what the import or an earlier export
declared. A row refers to the node's membership of the pipeline (``ON DELETE CASCADE``): a node
deleted or taken out of the pipeline leaves its inputs.

On PostgreSQL, every role holding a privilege on ``memberships`` (the graph tables a store
shared by several roles grants together) is given the same on the new table, so that another
role's export, import and delete keep working after the upgrade; and when the upgrading role is
not the one that owns ``memberships`` (a superuser, or a team role that may create tables,
opened the store first with this nodepipe), the new table is given to that owner (or, where
the upgrading role may not give it away, every privilege on it is granted to the owner), so
the store's owner is not locked out of it. SQLite has one user.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.String(16)

_GRANT_LIKE_MEMBERSHIPS = """
DO $$
DECLARE
  grant_row record;
  owner_oid oid;
  owner_name text;
BEGIN
  SELECT c.relowner, quote_ident(r.rolname) INTO owner_oid, owner_name
  FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
  WHERE c.oid = 'memberships'::regclass;
  FOR grant_row IN
    SELECT DISTINCT a.privilege_type AS privilege,
      CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS who
    FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
    LEFT JOIN pg_roles r ON r.oid = a.grantee
    WHERE c.oid = 'memberships'::regclass AND a.grantee <> c.relowner
  LOOP
    EXECUTE 'GRANT ' || grant_row.privilege || ' ON pipeline_inputs TO ' || grant_row.who;
  END LOOP;
  IF owner_oid <> (SELECT oid FROM pg_roles WHERE rolname = current_user) THEN
    BEGIN
      EXECUTE 'ALTER TABLE pipeline_inputs OWNER TO ' || owner_name;
    EXCEPTION WHEN insufficient_privilege THEN
      EXECUTE 'GRANT ALL ON pipeline_inputs TO ' || owner_name;
    END;
  END IF;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "pipeline_inputs",
        sa.Column("pipeline_id", ID),
        sa.Column("name", sa.String(32)),
        sa.Column("node_id", ID),
        sa.PrimaryKeyConstraint("pipeline_id", "name", "node_id", name="pk_pipeline_inputs"),
        sa.ForeignKeyConstraint(
            ["pipeline_id", "node_id"],
            ["memberships.pipeline_id", "memberships.node_id"],
            name="fk_pipeline_inputs_pipeline_id_memberships",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_pipeline_inputs_node_id", "pipeline_inputs", ["node_id"])
    if op.get_bind().dialect.name != "sqlite":
        op.execute(_GRANT_LIKE_MEMBERSHIPS)


def downgrade() -> None:
    op.drop_index("ix_pipeline_inputs_node_id", table_name="pipeline_inputs")
    op.drop_table("pipeline_inputs")
