"""Code paths (``[tool.nodepipe] code-paths``, ``env code-path add``) obey the rules of
``[tool.uv.sources]`` paths: ``bundle export`` and ``package build`` refuse a node whose code
path lies outside its ``code/`` (the bundle would carry the exporter's folder name: the node
breaks elsewhere, or imports whatever is at that path), naming the node, the path and the fix;
``bundle check``, ``import``, ``pipeline include`` and ``package pull`` refuse a bundle whose
code path is absolute or climbs out, naming file and entry, exit 2, nothing imported, nothing
left behind, and the folder it names (another OS user's) is never read.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner, snapshot
from nodepipe import NodeState
from nodepipe.domain.errors import InvalidInputError
from nodepipe.services.runs.service import RunRequest
from support.hostile_pyproject import with_nodepipe_setting
from support.model_pipeline import states, trained_model
from support.other_user import other_user

PYPROJECT = "nodes/train/code/pyproject.toml"


def test_export_and_build_refuse_a_code_path_outside_the_node(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    trained = trained_model(lab)
    scripts = tmp_path / "outside" / "scripts"
    scripts.mkdir(parents=True)
    (scripts / "helpers.py").write_text("OFFSET = 0\n", encoding="utf-8")
    added = cli("env", "code-path", "add", "train", str(scripts))
    assert added.code == 0, added.stderr
    before = snapshot(trained)
    bundle, dist = tmp_path / "bundle", tmp_path / "dist"
    commands = {
        bundle: ("bundle", "export", "model", str(bundle)),
        dist: ("package", "build", "model", "--destination", str(dist)),
    }
    for target, command in commands.items():
        refused = cli(*command)
        assert refused.code == 2, refused.stdout + refused.stderr
        words = " ".join(refused.stderr.split())
        assert "node 'train' imports code from outside its code/ folder" in words
        assert f"code-paths: {scripts}" in words, "the path is named"
        train = trained.nodes.find("train").id  # a hint names a node by id: tags repeat
        assert f"`nodepipe env code-path remove {train} {scripts}`" in words, "the fix is named"
        assert not target.exists(), f"{command[:2]} wrote {target}"
        assert snapshot(trained) == before, "a scratch folder or a row was left behind"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab", "outside"]

    # The fix the message names: the scripts copied into code/, the code path taken off.
    code = trained.nodes.path("train") / "code"
    shutil.copy(scripts / "helpers.py", code / "helpers.py")
    assert cli("env", "code-path", "remove", "train", str(scripts)).code == 0
    exported = cli("bundle", "export", "model", str(bundle))
    assert exported.code == 0, exported.stderr
    assert "code-paths" not in (bundle / PYPROJECT).read_text(encoding="utf-8")
    assert (bundle / "nodes/train/code/helpers.py").is_file()


@pytest.fixture
def theirs() -> Iterator[Path]:
    """A folder of another OS user holding a module ``zz`` that says it ran."""
    user = other_user()
    folder = user.folder("np-theirs-")
    (folder / "zz.py").write_text("print('imported theirs')\n", encoding="utf-8")
    user.give(folder)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _hostile(bundle: Path, code_path: str) -> None:
    """Make node train of ``bundle`` put ``code_path`` on its import path and import zz."""
    pyproject = bundle / PYPROJECT
    pyproject.write_text(
        with_nodepipe_setting(pyproject.read_text(encoding="utf-8"), "code-paths", [code_path]),
        encoding="utf-8",
    )
    main = bundle / "nodes/train/code/main.py"
    main.write_text("import zz\n" + main.read_text(encoding="utf-8"), encoding="utf-8")


def test_check_import_and_include_refuse_a_code_path_leaving_the_bundle(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner, theirs: Path
) -> None:
    trained = trained_model(lab)
    clean = tmp_path / "clean"
    assert cli("bundle", "export", "model", str(clean)).code == 0
    climbing = "../" * (len(clean.resolve().parts) + 2) + str(theirs).lstrip("/")
    for code_path in (str(theirs), climbing, "~/scripts"):
        bundle = tmp_path / "evil"
        shutil.rmtree(bundle, ignore_errors=True)
        shutil.copytree(clean, bundle)
        _hostile(bundle, code_path)
        before = snapshot(trained)
        commands = [
            ("bundle", "check", str(bundle)),
            ("bundle", "import", str(bundle), "--name", "evil"),
            ("pipeline", "include", "model", str(bundle), "--as", "evil"),
        ]
        for command in commands:
            refused = cli(*command)
            assert refused.code == 2, (command, refused.stdout + refused.stderr)
            words = " ".join((refused.stdout + refused.stderr).split())
            assert f"train: {PYPROJECT} [tool.nodepipe] code-paths" in words, words
            assert repr(code_path) in words, "the entry is named"
            assert snapshot(trained) == before, f"{command[:2]} left something behind"
        assert "evil" not in [p.tag for p in trained.pipelines.list()]
    assert not list((trained.root / ".nodepipe" / "staging").glob("*"))


def test_a_pulled_package_with_an_escaping_code_path_is_refused(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner, theirs: Path
) -> None:
    trained = trained_model(lab)
    built = cli("package", "build", "model", "--destination", str(tmp_path / "dist"), "--json")
    assert built.code == 0, built.stderr
    wheel = Path(built.json()["wheel"])
    hostile = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as good, zipfile.ZipFile(hostile, "w") as evil:
        for name in good.namelist():
            data = good.read(name)
            if name.endswith(PYPROJECT):
                data = with_nodepipe_setting(data.decode(), "code-paths", [str(theirs)]).encode()
            evil.writestr(name, data)
    other = nodepipe.init(tmp_path / "other")
    before = snapshot(other)
    with pytest.raises(InvalidInputError, match="code-paths names a folder outside the node"):
        other.packages.pull(str(hostile), alias="evil")
    assert snapshot(other) == before
    pulled = other.packages.pull(str(wheel))  # the package as built is fine
    other.runs.run(RunRequest(pulled.imported.view.pipeline.tag))
    assert set(states(other, pulled.imported.view.pipeline.tag).values()) == {NodeState.COMPLETED}
    other.close()
    del trained
