"""Folders that are no tree of files: procfs, sysfs, /dev and the kernel's other filesystems.

Walking ``/proc`` as external code (``--large`` says the size is meant, so nothing stopped it)
reads a file per process and thread, follows ``/proc/*/root`` back to ``/``, and meets files
whose size says 0 and whose reading never ends; ``/dev`` holds devices a hash would block on.
So a folder on such a filesystem is refused when it is added, before any walk: the mount
table (``/proc/self/mountinfo``, one read) names the filesystem of the deepest mount point
holding the folder. Without a mount table (not Linux), the folders ``/proc``, ``/sys`` and
``/dev`` themselves and what they hold are refused.
"""

from __future__ import annotations

from pathlib import Path

from nodepipe.domain.errors import InvalidInputError

SPECIAL_FILESYSTEMS = frozenset(
    {
        "autofs",
        "binfmt_misc",
        "bpf",
        "cgroup",
        "cgroup2",
        "configfs",
        "debugfs",
        "devfs",
        "devpts",
        "devtmpfs",
        "efivarfs",
        "fusectl",
        "hugetlbfs",
        "mqueue",
        "nsfs",
        "proc",
        "pstore",
        "rpc_pipefs",
        "securityfs",
        "selinuxfs",
        "sysfs",
        "tracefs",
    }
)
"""Kernel filesystems: their files are views of the running system, not files of code."""

MOUNT_TABLE = Path("/proc/self/mountinfo")
_FALLBACK = (Path("/proc"), Path("/sys"), Path("/dev"))


def special_filesystem(folder: Path) -> str | None:
    """The kernel filesystem ``folder`` (absolute, links resolved) is on, or None for an
    ordinary one (a disk, tmpfs, a network share)."""
    try:
        table = MOUNT_TABLE.read_text(encoding="utf-8", errors="replace")
    except OSError:
        hit = [top for top in _FALLBACK if folder == top or folder.is_relative_to(top)]
        return hit[0].name if hit else None
    deepest: tuple[int, str] = (-1, "")
    for line in table.splitlines():
        fields, _, rest = line.partition(" - ")
        parts = fields.split()
        if len(parts) < 5 or not rest:
            continue
        mount = Path(_unescaped(parts[4]))
        if (folder == mount or folder.is_relative_to(mount)) and len(mount.parts) > deepest[0]:
            deepest = (len(mount.parts), rest.split()[0])
    return deepest[1] if deepest[1] in SPECIAL_FILESYSTEMS else None


def check_regular_tree(folder: Path, given: str) -> None:
    """Refuse (InvalidInputError) ``folder`` (``given``: as the user named it) when it is on a
    kernel filesystem: walking it would not end, or would read the running system."""
    kind = special_filesystem(folder)
    if kind is not None:
        raise InvalidInputError(
            f"{given} is on the {kind} filesystem ({folder}): its files are the running "
            "system's, not code; walking it would not end, whatever its size is said to be. "
            "Name a folder of code on a disk"
        )


def _unescaped(field: str) -> str:
    """A mount point as mountinfo writes it (space, tab, newline, backslash as ``\\ooo``)."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field
