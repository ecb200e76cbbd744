"""A node built as a plain library wheel: published to a real index beside its dependency,
pip-installed into a fresh environment without nodepipe, imported and called; the node named
by ``--library NODE`` or ``--library --node NODE``, never a ``--node`` ignored."""

from __future__ import annotations

import email
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner, snapshot
from nodepipe.domain.errors import InvalidInputError
from nodepipe.services.runs.service import RunRequest
from support.package_index import PASSWORD, USER, PackageIndex, offline_env
from support.wheels import toy_index

TRAIN = """\
import json
import toypkg
import nodepipe_node as node
xs, ys = [1.0, 2.0, 3.0, 4.0], [3.0, 5.0, 7.0, 9.0]
mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
model = {"slope": slope, "intercept": my - slope * mx, "toypkg": toypkg.VERSION}
(node.data_dir() / "model.json").write_text(json.dumps(model))
"""
PREDICT = """\
import json
from importlib import resources

import toypkg


def predict(x):
    model = json.loads((resources.files(__package__) / "data" / "model.json").read_text())
    return model["slope"] * x + model["intercept"], toypkg.VERSION
"""


@pytest.fixture
def trained(lab: nodepipe.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Node ``model`` (needs toypkg 1.0, from a folder of wheels) trained; returns the wheels."""
    wheels = toy_index(tmp_path / "wheels")
    monkeypatch.setenv("UV_FIND_LINKS", str(wheels))
    monkeypatch.setenv("UV_OFFLINE", "1")
    lab.pipelines.new("m")
    lab.nodes.new("m", "model", notes="Predicts y from x\nwith a line")
    code = lab.nodes.path("model") / "code"
    lab.envs.add("model", ["toypkg==1.0"])
    (code / "main.py").write_text(TRAIN)
    (code / "predict.py").write_text(PREDICT)
    (code / "__init__.py").write_text("from .predict import predict\n")
    lab.runs.run(RunRequest("m"))
    return wheels


def test_a_library_wheel_installs_and_runs_without_nodepipe(
    lab: nodepipe.Workspace,
    trained: Path,
    index: PackageIndex,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = lab.packages.build_library(
        "model", alias="acme-model", version="1.0", with_data=True, destination=tmp_path / "dist"
    )
    with zipfile.ZipFile(built.wheel) as wheel:
        names = set(wheel.namelist())
        metadata = email.message_from_bytes(wheel.read("acme_model-1.0.dist-info/METADATA"))
        fingerprint = wheel.read("acme_model/_nodepipe/fingerprint").decode().strip()
    assert metadata.get_all("Requires-Dist") == ["toypkg==1.0"]
    assert metadata["Summary"] == "Predicts y from x"
    assert {"acme_model/predict.py", "acme_model/data/model.json"} <= names
    assert "acme_model/_nodepipe/uv.lock" in names
    assert not any(
        n.endswith(("pyproject.toml", "/uv.lock")) and "_nodepipe" not in n for n in names
    )
    status = lab.runs.status("m").nodes
    (current,) = [s for s in status.values() if s.item.node.tag == "model"]
    assert current.fingerprint is not None and fingerprint == current.fingerprint.digest

    for name, value in offline_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TWINE_USERNAME", USER)
    monkeypatch.setenv("TWINE_PASSWORD", PASSWORD)
    for name in ("UV_FIND_LINKS", "UV_OFFLINE"):
        monkeypatch.delenv(name)
    toypkg = next(trained.glob("toypkg-1.0-*.whl"))
    lab.packages.publish([built.wheel, built.sdist, toypkg], repository_url=index.url)
    uv = str(Path(sys.executable).with_name("uv"))
    venv = tmp_path / "fresh"
    env = {"UV_CACHE_DIR": str(tmp_path / "uv-cache"), "PATH": "/usr/bin:/bin", **offline_env()}
    subprocess.run([uv, "venv", str(venv), "--python", sys.executable], env=env, check=True)
    python = str(venv / "bin" / "python")
    install = [uv, "pip", "install", "--python", python, "--index-url", index.simple_url]
    subprocess.run([*install, "acme-model==1.0"], env=env, check=True, capture_output=True)
    called = subprocess.run(
        [python, "-c", "from acme_model import predict; print(predict(10))"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert called.stdout.strip() == "(21.0, '1.0')"
    without = subprocess.run([python, "-c", "import nodepipe"], env=env, capture_output=True)
    assert without.returncode != 0, "the fresh environment has no nodepipe"


def test_a_library_of_a_node_without_outputs_or_with_a_path_source_is_refused(
    lab: nodepipe.Workspace, tmp_path: Path
) -> None:
    lab.pipelines.new("m")
    lab.nodes.new("m", "fresh")
    with pytest.raises(InvalidInputError, match="has no outputs yet: run it first"):
        lab.packages.build_library("fresh", with_data=True, destination=tmp_path)
    pyproject = lab.nodes.path("fresh") / "code" / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("dependencies = []", 'dependencies = ["mytool"]')
        + '\n[tool.uv.sources]\nmytool = { path = "../mytool" }\n'
    )
    with pytest.raises(InvalidInputError, match="'mytool' comes from a path or git source"):
        lab.packages.build_library("fresh", destination=tmp_path)
    assert not list(tmp_path.glob("*.whl"))


def test_a_library_never_carries_a_file_a_link_of_the_node_leads_to_outside_it(
    lab: nodepipe.Workspace, tmp_path: Path
) -> None:
    """A node whose output ``model.pkl`` is a link to a file elsewhere on this machine: its
    library wheel carried that file's bytes (published with it); a link to nothing failed
    halfway with shutil's list of errors. Both refused naming the link, nothing built."""
    secret = tmp_path / "secret.txt"
    secret.write_text("not the node's\n")
    lab.pipelines.new("m")
    lab.nodes.new("m", "model")
    main = lab.nodes.path("model") / "code" / "main.py"
    main.write_text(
        "import os\nimport nodepipe_node as node\n"
        "(node.data_dir() / 'model.json').write_text('{}')\n"
        f"os.symlink({str(secret)!r}, node.data_dir() / 'model.pkl')\n"
    )
    lab.runs.run(RunRequest("m"))
    dist = tmp_path / "dist"
    before = snapshot(lab)
    with pytest.raises(InvalidInputError, match=r"output model\.pkl is a link to .*outside"):
        lab.packages.build_library("model", with_data=True, destination=dist)
    (lab.nodes.path("model") / "data" / "model.pkl").unlink()
    (lab.nodes.path("model") / "code" / "weights.bin").symlink_to(tmp_path / "gone.bin")
    with pytest.raises(InvalidInputError, match=r"code weights\.bin is a link to .*gone\.bin"):
        lab.packages.build_library("model", destination=dist)
    assert not dist.exists() or not any(dist.iterdir())
    assert snapshot(lab) == before
    assert not any(lab.context.layout.staging_dir.iterdir())


def wheel_files(folder: Path) -> dict[str, set[str]]:
    """The wheels in ``folder``, each with the names it holds."""
    found = {}
    for wheel in sorted(folder.glob("*.whl")):
        with zipfile.ZipFile(wheel) as opened:
            found[wheel.name] = set(opened.namelist())
    return found


@pytest.fixture
def two_nodes(lab: nodepipe.Workspace) -> nodepipe.Workspace:
    """Pipeline ``m``: nodes ``model`` (its ``__init__.py`` says ``ANSWER = 42``) and
    ``report``."""
    lab.pipelines.new("m")
    for tag in ("model", "report"):
        lab.nodes.new("m", tag)
    (lab.nodes.path("model") / "code" / "__init__.py").write_text("ANSWER = 42\n")
    return lab


def test_library_with_node_builds_exactly_that_node(
    two_nodes: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    """``--library --node NODE`` (the way ``--node`` chooses nodes of a pipeline package)
    builds NODE's library, like ``--library NODE``; saying the node both ways is fine."""
    for how in (("--library", "--node", "model"), ("--library", "model", "--node", "model")):
        target = tmp_path / how[1].strip("-")
        built = cli("package", "build", "m", *how, "--destination", str(target), "--json")
        assert built.code == 0, built.stderr
        assert built.json()["name"] == "model"
        ((name, names),) = wheel_files(target).items()
        assert name == "model-0.1.0-py3-none-any.whl"
        assert "model/__init__.py" in names and "model/_nodepipe/uv.lock" in names
    with zipfile.ZipFile(tmp_path / "node" / name) as opened:
        assert opened.read("model/__init__.py") == b"ANSWER = 42\n"


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (("m", "--library", "model", "--node", "report"), "2 were given (model, report)"),
        (("m", "--library", "--node", "model", "--node", "report"), "2 were given"),
        (("--library", "--node", "report", "--node", "model", "m"), "build one library per node"),
        (("m", "--library"), "--library needs the node"),
        (("--all", "--node", "model"), "it takes no PIPELINE, --library, --node"),
    ],
)
def test_library_with_other_nodes_is_refused_not_ignored(
    two_nodes: nodepipe.Workspace,
    cli: CliRunner,
    tmp_path: Path,
    arguments: tuple[str, ...],
    said: str,
) -> None:
    refused = cli("package", "build", *arguments, "--destination", str(tmp_path / "dist"))
    assert refused.code == 2, refused.stderr
    assert said in " ".join(refused.stderr.split())
    assert not (tmp_path / "dist").exists()


def test_a_manifest_library_with_nodes_is_refused_not_ignored(
    two_nodes: nodepipe.Workspace, cli: CliRunner
) -> None:
    config = two_nodes.root / "nodepipe.toml"
    config.write_text(
        config.read_text() + '\n[package.model]\nlibrary = true\nnodes = ["report"]\n'
    )
    refused = cli("package", "build", "--all")
    assert refused.code == 2, refused.stderr
    said = " ".join(refused.stderr.split())
    assert "[package.model]: nodes cannot go with library = true" in said
    assert not (two_nodes.root / "dist").exists()
