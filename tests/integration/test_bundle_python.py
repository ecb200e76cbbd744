"""A bundle or package never makes nodepipe run a program of this machine as a node's Python.

A node's ``code/.python-version`` in a bundle may hold only a version request (``3.12``,
``cpython@3.12``): a path is refused by ``bundle check``, ``import``, ``pipeline include`` and
``package pull`` naming the node and the file (exit 2), before anything is copied or run;
``[tool.nodepipe] interpreter`` in a bundle is refused the same way, and ``bundle export`` /
``package build`` of a node on ``env interpreter`` refuse naming ``env detach``. And
``env show`` or a run never executes an interpreter another OS user owns: show says
"interpreter not trusted: …", a run is refused before it launches.

The program is a real script of another OS user that appends to a marker file when it runs:
every test asserts the marker is never written.
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner, snapshot
from nodepipe.domain.errors import InvalidInputError
from nodepipe.services.envs.environments import EnvironmentService
from support.hostile_pyproject import with_nodepipe_setting
from support.model_pipeline import trained_model
from support.other_user import other_user, their_python

CODE = "nodes/train/code"


@pytest.fixture
def theirs(tmp_path: Path) -> Iterator[Path]:
    """A Python 'interpreter' of another OS user: a script that writes tmp_path/ran.txt, then
    runs the real Python."""
    with their_python(tmp_path / "ran.txt") as script:
        yield script


def test_check_import_and_include_refuse_a_python_named_by_path(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner, theirs: Path
) -> None:
    trained = trained_model(lab)
    clean = tmp_path / "clean"
    assert cli("bundle", "export", "model", str(clean)).code == 0
    hostile = {
        f"{CODE}/.python-version": [str(theirs), "~/py", "./py", "../../py", "py"],
        f"{CODE}/pyproject.toml": [str(theirs)],
    }
    for file, values in hostile.items():
        for value in values:
            bundle = tmp_path / "evil"
            shutil.rmtree(bundle, ignore_errors=True)
            shutil.copytree(clean, bundle)
            target = bundle / file
            if file.endswith("pyproject.toml"):
                target.write_text(
                    with_nodepipe_setting(target.read_text(), "interpreter", value),
                    encoding="utf-8",
                )
            else:
                shutil.copy(theirs, bundle / CODE / "py")  # a relative path names a real file
                target.write_text(f"{value}\n", encoding="utf-8")
            before = snapshot(trained)
            for command in (
                ("bundle", "check", str(bundle)),
                ("bundle", "import", str(bundle), "--name", "evil"),
                ("pipeline", "include", "model", str(bundle), "--as", "evil"),
            ):
                refused = cli(*command)
                assert refused.code == 2, (command, value, refused.stdout + refused.stderr)
                words = " ".join((refused.stdout + refused.stderr).split())
                assert f"train: {file}" in words, words
                assert snapshot(trained) == before, f"{command[:2]} left something behind"
            assert not (tmp_path / "ran.txt").exists(), f"{value} was run"
    assert "evil" not in [p.tag for p in trained.pipelines.list()]
    assert not list((trained.root / ".nodepipe" / "staging").glob("*"))

    # version requests still travel
    for request in ("3.12", "cpython@3.12", "cpython-3.12.1", ">=3.11"):
        bundle = tmp_path / "fine"
        shutil.rmtree(bundle, ignore_errors=True)
        shutil.copytree(clean, bundle)
        (bundle / CODE / ".python-version").write_text(f"{request}\n", encoding="utf-8")
        checked = cli("bundle", "check", str(bundle))
        assert checked.code == 0, (request, checked.stdout + checked.stderr)


def test_a_pulled_package_naming_a_python_by_path_is_refused_without_running_it(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner, theirs: Path
) -> None:
    trained_model(lab)
    built = cli("package", "build", "model", "--destination", str(tmp_path / "dist"), "--json")
    assert built.code == 0, built.stderr
    wheel = Path(built.json()["wheel"])
    hostile = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as good, zipfile.ZipFile(hostile, "w") as evil:
        for name in good.namelist():
            evil.writestr(name, good.read(name))
            if name.endswith(f"{CODE}/pyproject.toml"):
                evil.writestr(name.replace("pyproject.toml", ".python-version"), f"{theirs}\n")
    other = nodepipe.init(tmp_path / "other")
    before = snapshot(other)
    with pytest.raises(InvalidInputError, match=r"train: .*\.python-version: .* is not a Python"):
        other.packages.pull(str(hostile), alias="evil")
    assert snapshot(other) == before
    assert not (tmp_path / "ran.txt").exists()
    other.close()


def test_export_and_build_refuse_a_node_on_an_interpreter_or_a_python_path(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    trained = trained_model(lab)
    code = trained.nodes.path("train") / "code"
    assert cli("env", "interpreter", "train", sys.executable).code == 0
    bundle, dist = tmp_path / "bundle", tmp_path / "dist"
    commands = {
        bundle: ("bundle", "export", "model", str(bundle)),
        dist: ("package", "build", "model", "--destination", str(dist)),
    }
    train = trained.nodes.get("train").id  # a hint names a node by id: tags repeat
    for target, command in commands.items():
        refused = cli(*command)
        assert refused.code == 2, refused.stdout + refused.stderr
        words = " ".join(refused.stderr.split())
        assert f"node 'train' runs with the interpreter {sys.executable}" in words, words
        assert f"`nodepipe env detach {train}`" in words, "the fix is named"
        assert not target.exists()
    assert cli("env", "detach", "train").code == 0
    (code / ".python-version").write_text(f"{sys.executable}\n", encoding="utf-8")
    refused = cli("bundle", "export", "model", str(bundle))
    assert refused.code == 2, refused.stdout + refused.stderr
    words = " ".join(refused.stderr.split())
    assert "node 'train' asks for its Python by path" in words, words
    assert f"`nodepipe env python {train} VERSION`" in words
    assert not bundle.exists()


def test_show_and_run_never_execute_another_users_interpreter(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner, theirs: Path, offline_index: Path
) -> None:
    trained = trained_model(lab)
    EnvironmentService(trained.context).add("train", ["toypkg==1.0"])
    code = trained.nodes.path("train") / "code"
    pyproject = code / "pyproject.toml"
    clean = pyproject.read_text(encoding="utf-8")

    refused = cli("env", "interpreter", "train", str(theirs))
    assert refused.code == 2, refused.stdout + refused.stderr
    assert "interpreter not trusted" in refused.stderr
    assert f"belongs to {other_user().name}" in " ".join(refused.stderr.split())

    # as an older import or a hand edit leaves it: the setting is there already
    pyproject.write_text(with_nodepipe_setting(clean, "interpreter", str(theirs)), encoding="utf-8")
    shown = cli("env", "show", "train", "--json")
    assert shown.code == 0, shown.stderr
    assert shown.json()["python"].startswith("interpreter not trusted: refusing to use")
    assert shown.json()["locked"], "the node has packages to look for"
    assert shown.json()["not_installed"] == [], "nothing was asked of it, so nothing is missing"
    ran = cli("run", "model")
    assert ran.code != 0
    assert "interpreter not trusted" in " ".join((ran.stdout + ran.stderr).split())

    pyproject.write_text(clean, encoding="utf-8")
    (code / ".python-version").write_text(f"{theirs}\n", encoding="utf-8")
    shown = cli("env", "show", "train", "--json")
    assert shown.code == 0, shown.stderr
    assert shown.json()["python"].startswith("interpreter not trusted: refusing to use")
    ran = cli("run", "model")
    assert ran.code != 0
    assert "interpreter not trusted" in " ".join((ran.stdout + ran.stderr).split())
    assert not (tmp_path / "ran.txt").exists(), "another user's program was run"


def test_every_request_form_the_check_accepts_is_one_the_lookup_uses(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    """ext14g: ``cpython@3.12`` (and the other forms of uv's request syntax the bundle check
    lets through) locks and runs, from a bundle's ``.python-version`` and a node's own, instead
    of failing at lock with "expected a Python version like 3.12"."""
    major, minor = sys.version_info[:2]
    here = f"{major}.{minor}"
    trained = trained_model(lab)
    clean = tmp_path / "clean"
    assert cli("bundle", "export", "model", str(clean)).code == 0
    forms = (f"cp{major}{minor}", f"cpython-{here}", f"cpython{here}", f"{major}{minor}")
    forms += (f"=={here}.*", f"cpython-{here}-linux-x86_64-gnu")
    for request in forms:
        changed = cli("env", "python", "train", request, "--pipeline", "model", "--json")
        assert changed.code == 0, (request, changed.stdout + changed.stderr)
        assert changed.json()["python"].startswith(f"{here}."), request
        assert changed.json()["python_request"] == request
    code = trained.nodes.path("train") / "code"
    (code / ".python-version").write_text(f"# the team's Python\ncpython@{here}\n")
    assert cli("env", "lock", "train", "--pipeline", "model").code == 0
    ran = cli("run", "model", "--force")
    assert ran.code == 0, ran.stdout + ran.stderr

    for index, request in enumerate((f"cpython@{here}", f">={here},<{major}.{minor + 1}")):
        bundle = tmp_path / f"fine{index}"
        shutil.copytree(clean, bundle)
        (bundle / CODE / ".python-version").write_text(f"{request}\n", encoding="utf-8")
        assert cli("bundle", "check", str(bundle)).code == 0
        imported = cli("bundle", "import", str(bundle), "--name", f"fine{index}")
        assert imported.code == 0, (request, imported.stdout + imported.stderr)
        ran = cli("run", f"fine{index}", "--force")
        assert ran.code == 0, (request, ran.stdout + ran.stderr)
