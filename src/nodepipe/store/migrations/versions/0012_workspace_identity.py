"""Workspace identity: the table ``workspace_identity`` holds one row, the id of the workspace
the store belongs to and the folder that last opened it (its root), so that a folder pointed at
another workspace's store (``$NODEPIPE_DB_URL``, a hand-edited ``nodepipe.toml``) is refused
instead of showing that workspace's nodes without their folders. The same id is kept in the
folder (``.nodepipe/workspace-id``); a store of an older nodepipe has no row, and takes one the
first time its workspace opens (``services.identity``).

A new table rather than new columns of an existing one (0011's reasoning). On PostgreSQL every
role holding a privilege on ``projects`` is given the same on the new table, and the new table
is given to the owner of ``projects`` (or, where the upgrading role may not give it away, every
privilege on it is granted to that owner). SQLite has one user.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_GRANT_LIKE_PROJECTS = """
DO $$
DECLARE
  grant_row record;
  owner_oid oid;
  owner_name text;
BEGIN
  SELECT c.relowner, quote_ident(r.rolname) INTO owner_oid, owner_name
  FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
  WHERE c.oid = 'projects'::regclass;
  FOR grant_row IN
    SELECT DISTINCT a.privilege_type AS privilege,
      CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS who
    FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
    LEFT JOIN pg_roles r ON r.oid = a.grantee
    WHERE c.oid = 'projects'::regclass AND a.grantee <> c.relowner
  LOOP
    EXECUTE 'GRANT ' || grant_row.privilege || ' ON workspace_identity TO ' || grant_row.who;
  END LOOP;
  IF owner_oid <> (SELECT oid FROM pg_roles WHERE rolname = current_user) THEN
    BEGIN
      EXECUTE 'ALTER TABLE workspace_identity OWNER TO ' || owner_name;
    EXCEPTION WHEN insufficient_privilege THEN
      EXECUTE 'GRANT ALL ON workspace_identity TO ' || owner_name;
    END;
  END IF;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "workspace_identity",
        sa.Column("id", sa.Integer, autoincrement=False),
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("root", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workspace_identity"),
    )
    if op.get_bind().dialect.name != "sqlite":
        op.execute(_GRANT_LIKE_PROJECTS)


def downgrade() -> None:
    op.drop_table("workspace_identity")
