"""Schema versions: bringing a store to the head revision with Alembic, checked cheaply on open.

Opening compares the revision the store records with ``HEAD_REVISION`` (an SQLite store's with
one ``sqlite3`` query, ``light_read.stored_revision``): neither Alembic nor SQLAlchemy is
imported unless there is a migration to apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nodepipe.domain.errors import WorkspaceError

if TYPE_CHECKING:
    import sqlalchemy as sa

HEAD_REVISION = "0012"
"""The newest migration; a test checks it matches Alembic's head so opening needs no Alembic."""

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def current_revision(engine: sa.Engine) -> str | None:
    """The store's schema revision, or None for an empty database."""
    import sqlalchemy as sa

    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def upgrade_to_head(engine: sa.Engine) -> None:
    """Apply every pending migration (Alembic is imported only when there is work to do)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def ensure_current(engine: sa.Engine, revision: str | None) -> None:
    """Upgrade a store at ``revision`` (None: a new one) to the head; refuse one written by a
    newer nodepipe."""
    if revision == HEAD_REVISION:
        return
    if revision is not None and revision > HEAD_REVISION:
        raise WorkspaceError(
            f"the store is at schema {revision}, newer than this nodepipe ({HEAD_REVISION}); "
            "upgrade nodepipe"
        )
    upgrade_to_head(engine)
