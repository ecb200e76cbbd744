"""Who may read a storage that is a local folder: its owner, or its owner's team, never others.

A folder standing for a bucket (a disk, an NFS share) holds a workspace's code and outputs, so
what nodepipe writes there is **private by default**: folders 0700, contents 0400 (read-only:
nothing in the storage is ever written again, only replaced by a rename). A folder nodepipe
creates for the storage is made 0700.

A **team folder** shares it: when the storage folder itself grants its group write and search
(``chgrp team bucket && chmod 2770 bucket``), folders are made 0770 and contents 0440, so every
member of the group reads and adds to it (the set-group-ID bit, if the folder has it, keeps
new folders in the team's group). The folder's own mode is the setting, the way a shared git
repository is: no option to keep in step with it. As with git's ``core.sharedRepository``, the
folder's choice wins over the usual umask (022 would take the group's write away and break the
team); a umask that denies the group reading (077, 047) keeps the contents private. Others get
nothing either way.

Object storages (S3 and the like) have no modes: their access is the bucket's policy.
"""

from __future__ import annotations

import contextlib
import stat
from dataclasses import dataclass
from pathlib import Path

from nodepipe.workspace.durable import current_umask

PRIVATE_FOLDER, PRIVATE_CONTENT = 0o700, 0o400
TEAM_FOLDER, TEAM_CONTENT = 0o770, 0o440


@dataclass(frozen=True, slots=True)
class FolderModes:
    """The modes of what is made in one storage folder."""

    folder: int
    content: int

    @classmethod
    def of(cls, root: Path) -> FolderModes:
        """The modes for the storage at ``root`` (private while it does not exist yet)."""
        try:
            granted = root.stat().st_mode
        except FileNotFoundError:
            granted = 0
        team = granted & (stat.S_IWGRP | stat.S_IXGRP) == stat.S_IWGRP | stat.S_IXGRP
        if team and not current_umask() & stat.S_IRGRP:
            return cls(TEAM_FOLDER, TEAM_CONTENT)
        return cls(PRIVATE_FOLDER, PRIVATE_CONTENT)

    def make_folders(self, root: Path, folder: Path) -> None:
        """Make ``folder`` (``root`` or inside it) and what is missing on the way, ``root``
        included, each with the folder mode; folders above ``root`` as ``mkdir -p`` would."""
        if not root.exists():
            root.parent.mkdir(parents=True, exist_ok=True)
        relative = folder.relative_to(root)
        steps = [root, *(root / part for part in reversed(relative.parents[:-1]))]
        for step in dict.fromkeys([*steps, folder]):
            with contextlib.suppress(FileExistsError):
                step.mkdir(mode=self.folder)
                # mkdir's mode passes through the umask; the set-group-ID bit a team folder
                # passes down must survive the chmod.
                step.chmod(self.folder | (step.stat().st_mode & stat.S_ISGID))
