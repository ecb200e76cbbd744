"""The ``[server]`` table of ``nodepipe.toml``: the password hash a shared server accepts.

```toml
[server]
password = "scrypt$n=16384,r=8,p=1$<salt>$<key>"   # written by `nodepipe server password`
```

Only the hash is ever written (see ``nodepipe.domain.passwords``). The file is edited in place
with tomlkit (comments and the other tables stay as they were) and replaced durably, keeping
its permissions; a save killed before its rename leaves ``.nodepipe.toml.1a2b3c4d.tmp``
(the new hash in it), which the next save removes once it is a minute old (``doctor`` reports it,
``--repair`` removes it).
"""

from __future__ import annotations

import tomlkit
from tomlkit.items import Table

from nodepipe.domain.errors import WorkspaceError
from nodepipe.domain.passwords import check_hash
from nodepipe.workspace.durable import remove_cut_short_saves, write_atomic
from nodepipe.workspace.layout import WorkspaceLayout

SERVER_TABLE = "server"
PASSWORD_KEY = "password"


def password_hash(layout: WorkspaceLayout) -> str | None:
    """The configured password hash, or None when the server takes its token only."""
    table = _document(layout).get(SERVER_TABLE)
    value = table.get(PASSWORD_KEY) if isinstance(table, Table) else None
    return None if value is None else check_hash(str(value))


def set_password_hash(layout: WorkspaceLayout, hashed: str | None) -> None:
    """Write ``hashed`` as ``[server] password``; None removes it."""
    document = _document(layout)
    table = document.get(SERVER_TABLE)
    if hashed is None:
        if isinstance(table, Table):
            table.pop(PASSWORD_KEY, None)
            if not table:
                document.pop(SERVER_TABLE)
    else:
        if not isinstance(table, Table):
            table = tomlkit.table()
            document[SERVER_TABLE] = table
        table[PASSWORD_KEY] = check_hash(hashed)
    write_atomic(layout.config_file, tomlkit.dumps(document))  # keeps the file's mode
    remove_cut_short_saves(layout.config_file)  # what a killed save of it left


def _document(layout: WorkspaceLayout) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(layout.config_file.read_text(encoding="utf-8"))
    except (OSError, tomlkit.exceptions.TOMLKitError) as exc:
        raise WorkspaceError(f"cannot read {layout.config_file}: {exc}") from exc
