"""The path-trust check on real folders, with another OS user owning some of them.

The server (these tests run as root, like it) uses a path only when it, every folder above it
and everything inside it belongs to the server's user or root and no one else can write there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import nodepipe
from nodepipe.workspace import path_trust
from nodepipe.workspace.path_trust import (
    check_trusted_inputs,
    check_trusted_interpreter,
    check_trusted_path,
    local_path_of,
)
from support.other_user import OtherUser


def project(folder: Path) -> Path:
    (folder / "src" / "tool").mkdir(parents=True)
    (folder / "pyproject.toml").write_text("[project]\nname = 'tool'\nversion = '1'\n")
    (folder / "src" / "tool" / "__init__.py").write_text("")
    return folder


def refused(path: str | Path, *words: str) -> str:
    with pytest.raises(nodepipe.InvalidInputError) as caught:
        check_trusted_path(path)
    message = str(caught.value)
    assert all(word in message for word in words), message
    return message


def test_a_folder_of_the_servers_user_is_used(open_area: Path) -> None:
    folder = project(open_area / "tool")
    assert check_trusted_path(folder) == folder.resolve()
    (folder / "link").symlink_to(folder / "src")  # a link inside, to inside
    assert check_trusted_path(open_area / "tool" / "src" / "..") == folder


def test_another_users_folder_or_file_inside_is_refused(open_area: Path, other: OtherUser) -> None:
    theirs = project(open_area / "theirs")
    other.give(theirs)
    refused(theirs, str(theirs), f"belongs to {other.name}", "copy it into a folder")
    ours = project(open_area / "ours")
    planted = ours / "src" / "tool" / "backend.py"
    planted.write_text("")
    os.chown(planted, other.uid, other.gid)
    refused(ours, str(planted), f"belongs to {other.name}")


def test_a_folder_above_that_another_user_owns_or_anyone_can_write_is_refused(
    open_area: Path, other: OtherUser
) -> None:
    above = open_area / "above"
    folder = project(above / "tool")
    os.chown(above, other.uid, other.gid)
    refused(folder, str(above), f"belongs to {other.name}")
    os.chown(above, 0, 0)
    above.chmod(0o777)
    refused(folder, str(above), "other users can write")
    above.chmod(0o1777)  # sticky, like /tmp: others cannot replace what is not theirs
    assert check_trusted_path(folder) == folder


def test_writable_by_a_group_is_refused_unless_only_trusted_users_are_in_it(
    open_area: Path, other: OtherUser
) -> None:
    folder = project(open_area / "tool")
    folder.chmod(0o775)
    os.chown(folder, 0, other.gid)  # the other user's own group
    refused(folder, "other users can write")
    os.chown(folder, 0, 0)  # root's group: no one else in it
    assert check_trusted_path(folder) == folder
    (folder / "pyproject.toml").chmod(0o666)
    refused(folder, "pyproject.toml", "other users can write")


def test_links_inside_are_followed_and_checked(open_area: Path, other: OtherUser) -> None:
    theirs = other.folder("nodepipe-theirs-")
    try:
        folder = project(open_area / "tool")
        (folder / "src" / "extra").symlink_to(theirs)
        refused(folder, str(theirs), f"belongs to {other.name}")
        (folder / "src" / "extra").unlink()
        (folder / "src" / "later").symlink_to(open_area / "nothing-yet")
        refused(folder, "a link to nothing")
    finally:
        shutil.rmtree(theirs)


def test_the_walk_is_bounded(open_area: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = project(open_area / "tool")
    monkeypatch.setattr(path_trust, "MAX_ENTRIES", 3)
    refused(folder, "more than 3 files")


def test_what_names_a_local_path() -> None:
    assert local_path_of("numpy==2.1") is None
    assert local_path_of("tool @ https://example.org/tool-1.0.tar.gz") is None
    assert local_path_of("git+https://example.org/tool@v1") is None
    assert local_path_of("git@example.org:org/tool.git") is None
    assert local_path_of("tool[extra] @ file:///srv/tool") == "/srv/tool"
    assert local_path_of("git+file:///srv/tool") == "/srv/tool"
    assert local_path_of("/srv/tool") == "/srv/tool"
    assert local_path_of("tool @ /srv/tool") == "/srv/tool"
    assert local_path_of("../tool") == "../tool"
    assert local_path_of("tool-1.0-py3-none-any.whl") == "tool-1.0-py3-none-any.whl"


def test_requests_naming_paths(open_area: Path, other: OtherUser) -> None:
    ours, theirs = project(open_area / "ours"), project(open_area / "theirs")
    other.give(theirs)
    check_trusted_inputs(["numpy==2.1", f"tool @ file://{ours}"], [str(ours), None], [None])
    check_trusted_inputs(sources=["https://example.org/tool.git", str(ours)])
    for requirements, folders, sources in (
        ([f"tool @ file://{theirs}"], [], []),
        ([str(theirs)], [], []),
        ([], [str(theirs)], []),
        ([], [], [f"file://{theirs}"]),
        ([], [], [str(theirs)]),
    ):
        with pytest.raises(nodepipe.InvalidInputError, match=f"belongs to {other.name}"):
            check_trusted_inputs(requirements, folders, sources)
    with pytest.raises(nodepipe.InvalidInputError, match="relative path"):
        check_trusted_inputs(["../ours"])
    check_trusted_interpreter("3.12")
    interpreter = theirs / "python"
    interpreter.write_text("#!/bin/sh\n")
    other.give(theirs)
    with pytest.raises(nodepipe.InvalidInputError, match=f"belongs to {other.name}"):
        check_trusted_interpreter(str(interpreter))
