"""The object store keeps each content once, checks it when read back, and leaks nothing."""

from __future__ import annotations

import hashlib
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nodepipe.domain.environments import CodeManifest
from nodepipe.domain.errors import InvalidInputError
from nodepipe.workspace.object_collect import collect, survey
from nodepipe.workspace.objects import DamagedObjectError, MissingObjectError, ObjectStore
from nodepipe.workspace.run_environment import write_code


def test_a_content_is_kept_once_however_often_it_is_put(tmp_path: Path) -> None:
    objects = ObjectStore(tmp_path / "objects")
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("x = 1\n")
    digest, new = objects.put_file(tmp_path / "a.py")
    assert new and digest == hashlib.sha256(b"x = 1\n").hexdigest()
    assert objects.put_file(tmp_path / "b.py") == (digest, False)
    assert objects.put_file(tmp_path / "b.py", digest) == (digest, False)
    assert objects.put_bytes(b"x = 1\n") == (digest, False)
    assert [p for p in objects.root.rglob("*") if p.is_file()] == [objects.path(digest)]
    assert objects.read(digest) == b"x = 1\n"


def test_a_private_file_stays_private_in_the_store(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("token")
    secret.chmod(0o600)
    objects = ObjectStore(tmp_path / "objects")
    digest, _ = objects.put_file(secret)
    mode = stat.S_IMODE(objects.path(digest).stat().st_mode)
    assert mode & (stat.S_IRWXG | stat.S_IRWXO) == 0 and not mode & stat.S_IWUSR


def test_a_damaged_or_missing_content_is_reported_never_used(tmp_path: Path) -> None:
    objects = ObjectStore(tmp_path / "objects")
    digest, _ = objects.put_bytes(b"print(1)\n")
    path = objects.path(digest)
    path.chmod(0o644)
    path.write_bytes(b"print(2)\n")
    with pytest.raises(DamagedObjectError, match="damaged"):
        objects.read(digest)
    with pytest.raises(DamagedObjectError, match="damaged"):
        objects.copy_to(digest, tmp_path / "copy.py")
    assert not (tmp_path / "copy.py").exists()
    with pytest.raises(MissingObjectError, match="missing"):
        objects.read("0" * 64)
    with pytest.raises(ValueError, match="not a sha256"):
        objects.path("../../etc/passwd")


def test_stored_code_is_written_only_inside_the_new_folder(tmp_path: Path) -> None:
    objects = ObjectStore(tmp_path / "objects")
    digest, _ = objects.put_bytes(b"x")
    write_code(tmp_path / "ok", CodeManifest({"pkg/mod.py": digest}, {"link": "pkg"}), objects)
    assert (tmp_path / "ok" / "pkg" / "mod.py").read_bytes() == b"x"
    assert (tmp_path / "ok" / "link").readlink() == Path("pkg")
    with pytest.raises(InvalidInputError, match="not a path inside"):
        write_code(tmp_path / "bad", CodeManifest({"../escape.py": digest}), objects)
    assert not (tmp_path / "escape.py").exists()


def test_a_content_this_process_collected_is_written_again_when_kept_next(
    tmp_path: Path,
) -> None:
    objects = ObjectStore(tmp_path / "objects")
    digest, new = objects.put_bytes(b"lock = 1\n")
    assert new and objects.put_bytes(b"lock = 1\n") == (digest, False)
    (content,) = survey(objects.root)
    assert collect(content, older_than=time.time() + 60)  # as `doctor --objects --collect`
    assert not objects.has(digest)
    assert objects.put_bytes(b"lock = 1\n") == (digest, True)  # not taken as kept a moment ago
    assert objects.read(digest) == b"lock = 1\n"


def test_a_content_another_process_collected_is_written_again_when_kept_next(
    tmp_path: Path,
) -> None:
    """Audit4 F5: a content touched a moment ago is still looked for, since another process
    (`doctor --objects --collect --grace 0`) may have collected it meanwhile."""
    objects = ObjectStore(tmp_path / "objects")
    digest, _ = objects.put_bytes(b"lock = 1\n")
    assert objects.put_bytes(b"lock = 1\n") == (digest, False)  # touched by this process
    collector = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from nodepipe.workspace.object_collect import collect, survey\n"
        "for content in survey(Path(sys.argv[1])):\n"
        "    assert collect(content, older_than=time.time() + 60)\n"
    )
    subprocess.run([sys.executable, "-c", collector, str(objects.root)], check=True, timeout=60)
    assert not objects.has(digest)
    assert objects.put_bytes(b"lock = 1\n") == (digest, True)  # written again, not taken as kept
    assert objects.read(digest) == b"lock = 1\n"
