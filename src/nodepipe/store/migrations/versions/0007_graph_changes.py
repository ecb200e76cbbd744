"""The graph's change journal: the database's triggers note the node of every row of ``nodes``,
``memberships`` and ``edges`` written, whoever writes it (any nodepipe process, a manual SQL
edit), in the writing transaction; the journal prunes itself (``store.graph_journal``).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.String(16)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEEP = 100_000
"""Journal rows kept: older ones are pruned, a thousand at a time."""
NOTED = {"nodes": "id", "memberships": "node_id", "edges": "child_id"}
"""Each journaled table and the column naming the node a row of it belongs to."""

_SQLITE_NOTE = """
CREATE TRIGGER graph_changes_{table}_{event} AFTER {event} ON {table} BEGIN
  {body}
END
"""
_SQLITE_PRUNE = f"""
CREATE TRIGGER graph_changes_prune AFTER INSERT ON graph_changes WHEN NEW.seq % 1000 = 0
BEGIN
  UPDATE graph_changes_floor SET pruned = max(pruned, NEW.seq - {KEEP}) WHERE NEW.seq > {KEEP};
  DELETE FROM graph_changes WHERE seq <= NEW.seq - {KEEP};
END
"""
_PG_NOTE = """
CREATE FUNCTION graph_changes_note() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_id text;
  new_id text;
BEGIN
  IF TG_OP <> 'INSERT' THEN old_id := to_jsonb(OLD) ->> TG_ARGV[0]; END IF;
  IF TG_OP <> 'DELETE' THEN new_id := to_jsonb(NEW) ->> TG_ARGV[0]; END IF;
  IF old_id IS NOT NULL THEN
    INSERT INTO graph_changes (node_id, txid) VALUES (old_id, txid_current());
  END IF;
  IF new_id IS NOT NULL AND new_id IS DISTINCT FROM old_id THEN
    INSERT INTO graph_changes (node_id, txid) VALUES (new_id, txid_current());
  END IF;
  RETURN NULL;
END $$
"""
_PG_PRUNE = f"""
CREATE FUNCTION graph_changes_prune() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  gone bigint;
BEGIN
  IF NEW.seq % 1000 = 0 THEN
    WITH deleted AS (DELETE FROM graph_changes WHERE seq <= NEW.seq - {KEEP} RETURNING txid)
    SELECT max(txid) INTO gone FROM deleted;
    IF gone IS NOT NULL THEN
      UPDATE graph_changes_floor SET pruned = GREATEST(pruned, gone);
    END IF;
  END IF;
  RETURN NULL;
END $$
"""


def _sqlite_body(event: str, column: str) -> str:
    note = "INSERT INTO graph_changes (node_id) VALUES ({}.{});"
    if event == "INSERT":
        return note.format("NEW", column)
    if event == "DELETE":
        return note.format("OLD", column)
    return (
        note.format("OLD", column)
        + f" INSERT INTO graph_changes (node_id) SELECT NEW.{column}"
        + f" WHERE NEW.{column} IS NOT OLD.{column};"
    )


def upgrade() -> None:
    op.create_table(
        "graph_changes",
        sa.Column("seq", SEQ, autoincrement=True),
        sa.Column("node_id", ID, nullable=False),
        sa.Column("txid", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_graph_changes"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_graph_changes_txid", "graph_changes", ["txid"])
    op.create_table(
        "graph_changes_floor",
        sa.Column("id", sa.Integer, autoincrement=False),
        sa.Column("epoch", sa.String(32), nullable=False),
        sa.Column("pruned", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_graph_changes_floor"),
    )
    op.execute(
        sa.text(
            "INSERT INTO graph_changes_floor (id, epoch, pruned) VALUES (1, :epoch, 0)"
        ).bindparams(epoch=secrets.token_hex(16))
    )
    if op.get_bind().dialect.name == "sqlite":
        for table, column in NOTED.items():
            for event in ("INSERT", "UPDATE", "DELETE"):
                body = _sqlite_body(event, column)
                op.execute(_SQLITE_NOTE.format(table=table, event=event.lower(), body=body))
        op.execute(_SQLITE_PRUNE)
        return
    op.execute(_PG_NOTE)
    op.execute(_PG_PRUNE)
    for table, column in NOTED.items():
        op.execute(
            f"CREATE TRIGGER graph_changes_{table} AFTER INSERT OR UPDATE OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION graph_changes_note('{column}')"
        )
    op.execute(
        "CREATE TRIGGER graph_changes_prune AFTER INSERT ON graph_changes"
        " FOR EACH ROW EXECUTE FUNCTION graph_changes_prune()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in NOTED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER graph_changes_{table}_{event}")
        op.execute("DROP TRIGGER graph_changes_prune")
    else:
        for table in NOTED:
            op.execute(f"DROP TRIGGER graph_changes_{table} ON {table}")
        op.execute("DROP TRIGGER graph_changes_prune ON graph_changes")
        op.execute("DROP FUNCTION graph_changes_note()")
        op.execute("DROP FUNCTION graph_changes_prune()")
    op.drop_table("graph_changes_floor")
    op.drop_index("ix_graph_changes_txid", "graph_changes")
    op.drop_table("graph_changes")
