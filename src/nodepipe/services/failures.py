"""Failures of the machine, told as nodepipe errors: a full disk, a read-only or forbidden
folder, a store that fails. Each surface (the CLI's exit codes, the API's statuses) calls
``as_nodepipe_error`` at its boundary, so no traceback reaches a user for them.
"""

from __future__ import annotations

import errno

from nodepipe.domain.errors import NodepipeError, StorageError

_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
_NO_ACCESS = {errno.EACCES, errno.EPERM}


def as_nodepipe_error(error: BaseException) -> NodepipeError | None:
    """The nodepipe error telling ``error`` in the user's terms, or None for a real bug."""
    if isinstance(error, NodepipeError):
        return error
    if isinstance(error, OSError):
        return StorageError(_describe_os_error(error))
    if _is_store_error(error):
        cause = getattr(error, "orig", None) or error
        if "full" in str(cause).lower():
            return StorageError(
                f"the store could not be written: {cause}; free some space on its disk, then "
                "run the command again (nothing it did was half-kept)"
            )
        return StorageError(f"the store failed: {cause}")
    return None


def _describe_os_error(error: OSError) -> str:
    where = f" ({error.filename})" if error.filename else ""
    if error.filename and error.filename2:  # a rename or link: either folder may refuse it
        where = f" ({error.filename} → {error.filename2})"
    if error.errno in _DISK_FULL:
        return (
            f"no space left on the disk{where}: free some space, then run the command again "
            "(nothing it did was half-kept)"
        )
    if error.errno == errno.EROFS:
        return f"the filesystem is read-only{where}"
    if error.errno in _NO_ACCESS:
        return f"permission denied{where}: this user may not change it"
    return f"{error.strerror or error}{where}"


def _is_store_error(error: BaseException) -> bool:
    """A database error, recognised without importing SQLAlchemy when it is not loaded."""
    return any(
        cls.__module__.startswith(("sqlalchemy.", "sqlite3", "psycopg"))
        and cls.__name__ in {"DBAPIError", "DatabaseError", "OperationalError"}
        for cls in type(error).__mro__
    )
