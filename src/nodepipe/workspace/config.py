"""The workspace config file ``nodepipe.toml``: reading, writing and defaults; and where the
store's password lives instead of it.

``nodepipe.toml`` holds no secret: a PostgreSQL password given to ``init --db`` goes to
``.nodepipe/store-password`` (mode 0600, in the 0700 ``.nodepipe/``), and is added back to the
URL when the store is opened. ``$NODEPIPE_DB_URL`` replaces the whole URL (password included),
and a URL without a password also works with libpq's password file (``~/.pgpass``).
``nodepipe.toml`` itself is written with mode 0600, flushed to disk.

Every command reads this file, so reading it uses the standard library's ``tomllib``;
``tomlkit`` (which keeps comments and layout) is imported only to write or edit it, and
SQLAlchemy's URL parser only for a PostgreSQL URL.
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from nodepipe.domain.errors import InvalidInputError, WorkspaceError
from nodepipe.domain.toml_limits import load_toml
from nodepipe.workspace.durable import remove_cut_short_saves, write_atomic
from nodepipe.workspace.layout import WorkspaceLayout

DB_URL_ENV = "NODEPIPE_DB_URL"
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


@dataclass(frozen=True, slots=True)
class WorkspaceConfig:
    """``store_url`` may be relative (``sqlite:///.nodepipe/store.sqlite``) to the workspace.

    ``shared_fs`` (``[execution] shared-fs``, default true): whether Ray workers see the
    workspace; without, node tasks travel through the object storage at ``storage_url``
    (``[storage] url``: any fsspec URL, or a folder relative to the workspace)."""

    store_url: str
    python: str
    shared_fs: bool = True
    storage_url: str | None = None
    conda_channels: tuple[str, ...] = ("conda-forge",)
    """Where a node's conda packages come from unless it names channels (``[conda] channels``;
    a folder relative to the workspace, a URL, or a name such as ``conda-forge``)."""

    def resolved_store_url(self, layout: WorkspaceLayout) -> str:
        """The URL to connect with: $NODEPIPE_DB_URL if set; else ``store_url`` with a relative
        SQLite path made absolute, or with the password from ``.nodepipe/store-password``."""
        override = os.environ.get(DB_URL_ENV)
        if override:
            return _absolute_sqlite(_store_scheme(override, f"${DB_URL_ENV}"), layout)
        url = _absolute_sqlite(_store_scheme(self.store_url, str(layout.config_file)), layout)
        password = read_store_password(layout)
        if password is None or url.startswith("sqlite"):
            return url
        import sqlalchemy as sa

        parsed = sa.engine.make_url(url)
        if parsed.password is not None:
            return url
        return parsed.set(password=password).render_as_string(hide_password=False)


STORE_SCHEMES = ("sqlite:///", "postgresql://", "postgresql+")
"""How a store URL nodepipe can open begins (checked before SQLAlchemy is imported)."""


def _store_scheme(url: str, source: str) -> str:
    """``url`` if it names an SQLite or PostgreSQL store, else WorkspaceError naming
    ``source`` (the file or variable it came from)."""
    if not url.startswith(STORE_SCHEMES):
        raise WorkspaceError(
            f"{source}: the store URL {url!r} is neither an SQLite nor a PostgreSQL one: use "
            "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DATABASE"
        )
    return url


def _absolute_sqlite(url: str, layout: WorkspaceLayout) -> str:
    """A relative SQLite URL made absolute: the workspace's folder put in front of it, with
    the three characters a URL would read otherwise escaped (a folder named ``a%20b`` is not
    ``a b``, nor ``run?1`` a query); a folder without them stays as it is, and is read
    without SQLAlchemy (``store.health.sqlite_file``)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        root = str(layout.root).replace("%", "%25").replace("?", "%3F").replace("#", "%23")
        return f"{prefix}{root}/{url.removeprefix(prefix)}"
    return url


def split_password(url: str) -> tuple[str, str | None]:
    """``url`` without its password, and the password (None when it has none); a URL that is
    not an SQLite or PostgreSQL one is refused."""
    import sqlalchemy as sa

    try:
        parsed = sa.engine.make_url(url)
        known = parsed.get_backend_name() in ("sqlite", "postgresql")
        if known:
            parsed.get_dialect()  # its driver: "postgresql+nodriver://" is refused here
    except (ValueError, sa.exc.ArgumentError) as exc:  # a port that is no number, a driver
        from nodepipe.domain.url_credentials import text_without_password

        shown = text_without_password(url, None)
        raise InvalidInputError(f"{shown} is not a store URL nodepipe can use: {exc}") from None
    if not known:
        raise InvalidInputError(
            f"unsupported store URL {parsed!r}: use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST:PORT/DATABASE"
        )
    if parsed.password is None:
        return url, None
    without = sa.engine.URL.create(
        parsed.drivername,
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return without.render_as_string(hide_password=False), str(parsed.password)


def read_store_password(layout: WorkspaceLayout) -> str | None:
    try:
        return layout.store_password_file.read_text(encoding="utf-8").rstrip("\n")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WorkspaceError(f"cannot read {layout.store_password_file}: {exc.strerror}") from exc


def write_store_password(layout: WorkspaceLayout, password: str) -> None:
    """Keep the store's password in ``.nodepipe/store-password``, readable by its owner only."""
    write_atomic(layout.store_password_file, password + "\n", mode=PRIVATE_FILE_MODE)


def move_password_out(layout: WorkspaceLayout) -> bool:
    """Move a password found in ``nodepipe.toml``'s store URL to ``.nodepipe/store-password``
    (the rest of the file kept as it is); True if there was one."""
    import tomlkit

    document = tomlkit.parse(layout.config_file.read_text(encoding="utf-8"))
    store = document.get("store")
    if not isinstance(store, tomlkit.items.Table) or not isinstance(store.get("url"), str):
        return False
    url = str(store["url"])
    without, password = split_password(url)
    if password is None:
        return False
    write_store_password(layout, password)
    store["url"] = without
    write_atomic(layout.config_file, tomlkit.dumps(document), mode=PRIVATE_FILE_MODE)
    remove_cut_short_saves(layout.config_file)  # what a killed save of it left
    return True


def default_interpreter() -> str:
    """The base interpreter running nodepipe (not a venv's, and never a pyenv shim)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidate = Path(sys.base_prefix) / "bin" / version
    return str(candidate if candidate.exists() else Path(sys.executable).resolve())


def write_config(layout: WorkspaceLayout, config: WorkspaceConfig) -> None:
    """Write ``nodepipe.toml`` (mode 0600, flushed); a password in the URL goes to
    ``.nodepipe/store-password`` instead."""
    import tomlkit

    store_url, password = split_password(config.store_url)
    if password is not None:
        write_store_password(layout, password)
    document = tomlkit.document()
    document.add(tomlkit.comment("nodepipe workspace; see `nodepipe --help`"))
    store = tomlkit.table()
    store.add("url", store_url)
    document.add("store", store)
    python = tomlkit.table()
    python.add("interpreter", config.python)
    document.add("python", python)
    if not config.shared_fs:
        document.add("execution", tomlkit.table().add("shared-fs", False))
    if config.storage_url is not None:
        document.add("storage", tomlkit.table().add("url", config.storage_url))
    conda = tomlkit.table()
    conda.add("channels", list(config.conda_channels))
    document.add("conda", conda)
    write_atomic(layout.config_file, tomlkit.dumps(document), mode=PRIVATE_FILE_MODE)
    remove_cut_short_saves(layout.config_file)  # what a killed save of it left


def read_config(layout: WorkspaceLayout) -> WorkspaceConfig:
    try:
        data = load_toml(layout.config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WorkspaceError(f"cannot read {layout.config_file}: {exc}") from exc
    try:
        store_url, python = data["store"]["url"], data["python"]["interpreter"]
    except (KeyError, TypeError) as exc:
        raise WorkspaceError(
            f"{layout.config_file} lacks {exc}; expected [store] url and [python] interpreter"
        ) from exc
    if not isinstance(store_url, str) or not isinstance(python, str):
        raise WorkspaceError(
            f"{layout.config_file}: [store] url and [python] interpreter must be strings "
            '(url = "sqlite:///.nodepipe/store.sqlite", interpreter = "/usr/bin/python3")'
        )
    shared_fs = _table(layout, data, "execution").get("shared-fs", True)
    storage_url = _table(layout, data, "storage").get("url")
    if not isinstance(shared_fs, bool) or not isinstance(storage_url, str | None):
        raise WorkspaceError(
            f"{layout.config_file}: [execution] shared-fs must be true or false and [storage] "
            'url a string (url = "s3://bucket/prefix")'
        )
    channels = _table(layout, data, "conda").get("channels", ["conda-forge"])
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise WorkspaceError(f"{layout.config_file}: [conda] channels must be a list of names")
    return WorkspaceConfig(store_url, python, shared_fs, storage_url, tuple(channels))


def _table(layout: WorkspaceLayout, data: dict[str, object], name: str) -> dict[str, object]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise WorkspaceError(f"{layout.config_file}: [{name}] must be a table")
    return table
