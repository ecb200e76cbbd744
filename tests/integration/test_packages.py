"""Packages for real: a pipeline built as a wheel and an sdist with uv build (offline), pulled
back from either file, from an HTTP server wanting a header, and by name from a real index
(pypiserver) it was published to; bad packages and requests refused with nothing changed.
"""

from __future__ import annotations

import email
import functools
import io
import json
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import nodepipe
from integration.conftest import CliRunner, snapshot
from nodepipe import NodeState
from nodepipe.bundles import loaders
from nodepipe.domain.errors import (
    Action,
    ConflictError,
    Hint,
    IndexUnreachableError,
    InvalidInputError,
    NameTakenError,
    RequirementNotFoundError,
)
from nodepipe.services.runs.service import RunRequest
from support.file_systems import folder_on_another_file_system
from support.model_pipeline import TRAIN, outputs, states, trained_model
from support.package_index import PASSWORD, USER, PackageIndex, offline_env
from support.silent_server import silent_server
from support.wheels import build_wheel, local_project
from support.worlds import NodeSpec, add_nodes


@pytest.fixture
def trained(lab: nodepipe.Workspace) -> nodepipe.Workspace:
    """Pipeline ``model``: train → predict, run once."""
    return trained_model(lab)


def test_build_writes_a_wheel_and_sdist_with_the_bundle_and_no_dependencies(
    trained: nodepipe.Workspace, tmp_path: Path
) -> None:
    built = trained.packages.build("model", version="1.2", destination=tmp_path / "dist")
    assert (built.wheel.name, built.sdist.name) == (
        "model-1.2-py2.py3-none-any.whl",
        "model-1.2.tar.gz",
    )
    with zipfile.ZipFile(built.wheel) as wheel:
        names = set(wheel.namelist())
        metadata = email.message_from_bytes(wheel.read("model-1.2.dist-info/METADATA"))
        points = wheel.read("model-1.2.dist-info/entry_points.txt").decode()
    assert "model/bundle/pipeline.toml" in names
    assert "model/bundle/nodes/train/code/uv.lock" in names
    assert not any("/data/" in name or ".venv" in name for name in names)
    assert metadata["Summary"] == "A tiny model"
    assert metadata.get_all("Requires-Dist") is None, "a pipeline package has no dependencies"
    assert "[nodepipe.bundles]\nmodel = model.bundle" in points
    with tarfile.open(built.sdist) as sdist:
        assert "model-1.2/model/bundle/nodes/predict/code/main.py" in sdist.getnames()
    again = trained.packages.build("model", version="1.2", destination=tmp_path / "again")
    assert again.wheel.read_bytes() == built.wheel.read_bytes(), "a build is reproducible"


@pytest.fixture
def other_file_system(tmp_path: Path) -> Iterator[Path]:
    """A new folder on another file system than ``tmp_path`` (the machine's tmpfs)."""
    with folder_on_another_file_system(tmp_path) as folder:
        yield folder


def test_build_into_a_folder_on_another_file_system_writes_both_files(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner, other_file_system: Path
) -> None:
    """``--destination`` on a share, a USB disk or a tmpfs: the files built in the workspace's
    scratch folder could not be renamed there ("Invalid cross-device link", exit 9, an empty
    folder made). They are copied beside their place and renamed into it, replacing a
    previous build's, nothing left beside them."""
    lab.pipelines.new("xd")
    lab.nodes.new("xd", "n")
    dist = other_file_system / "dist"
    for _ in range(2):  # the second replaces the first
        built = cli("package", "build", "xd", "--destination", str(dist))
        assert built.code == 0, built.stdout + built.stderr
    names = ["xd-0.1.0-py2.py3-none-any.whl", "xd-0.1.0.tar.gz"]
    assert sorted(p.name for p in dist.iterdir()) == names
    here = lab.packages.build("xd", destination=tmp_path / "here")
    assert (dist / names[0]).read_bytes() == here.wheel.read_bytes()
    assert (dist / names[1]).read_bytes() == here.sdist.read_bytes()


def test_a_file_named_with_a_control_character_is_refused_by_name_before_uv_builds(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    """A node's ``notes<TAB>draft.txt`` (a bundle brings such a name in as it is): uv refused
    the sdist with "Invalid tar file … rejected by name policy" (exit 7, as if uv failed on
    its own). A pipeline package and a library are refused naming the file, nothing built."""
    lab.pipelines.new("xd")
    lab.nodes.new("xd", "n")
    (lab.nodes.path("n") / "code" / "notes\tdraft.txt").write_text("to do\n")
    dist = tmp_path / "dist"
    for argv, command in ((("xd",), "package build"), (("--library", "n"), "build --library")):
        refused = cli("package", "build", *argv, "--destination", str(dist))
        assert refused.code == 2, refused.stdout + refused.stderr
        said = " ".join(refused.stderr.split())
        assert f"{command}: cannot build a package holding '" in said, said
        assert "notes\\tdraft.txt': its name holds the control character '\\t'" in said
        assert not dist.exists()
    assert list(lab.context.layout.staging_dir.iterdir()) == []


def test_wheel_and_sdist_pulled_under_two_aliases_are_two_independent_pipelines(
    trained: nodepipe.Workspace, tmp_path: Path
) -> None:
    built = trained.packages.build("model", alias="np-model", destination=tmp_path, with_data=True)
    assert built.wheel.name.startswith("np_model-0.1.0-")
    other = nodepipe.init(tmp_path / "other")
    first = other.packages.pull(str(built.wheel), alias="first")
    second = other.packages.pull(str(built.sdist), alias="second")
    assert first.imported.completed == ("predict", "train"), "data vouched for by the lock"
    assert outputs(other, "first") == outputs(other, "second") == outputs(trained, "model")
    ids = {n.node.id for n in first.imported.view.nodes} | {
        n.node.id for n in second.imported.view.nodes
    }
    assert len(ids) == 4, "new ids for each pull"
    (other.nodes.path("train", "first") / "code" / "main.py").write_text(TRAIN + "# edited\n")
    assert states(other, "first")["train"] == NodeState.STALE
    assert states(other, "second")["train"] == NodeState.COMPLETED
    code = (trained.nodes.path("train", "model") / "code" / "main.py").read_text()
    assert code == TRAIN, "an alias never rewrites user code"
    before = snapshot(other)
    with pytest.raises(ConflictError, match="'first' already exists"):
        other.packages.pull(str(built.wheel), alias="first")
    assert snapshot(other) == before
    other.close()


def test_a_pull_whose_tag_is_taken_names_the_alias_to_give(
    trained: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    """``package pull`` without ``--alias`` of a package whose pipeline name another pipeline
    has: refused saying only "a pipeline tagged 'model' already exists". The refusal names the
    fix, in the CLI as the command with ``--alias``, and as a hint every surface words
    (``package.alias``, about the ``alias`` field: the web app says it beside "Tag")."""
    built = trained.packages.build("model", destination=tmp_path / "dist")
    before = snapshot(trained)
    refused = cli("package", "pull", str(built.wheel))
    assert refused.code == 4, refused.stdout + refused.stderr
    words = " ".join(refused.stderr.split())
    assert "a pipeline tagged 'model' already exists" in words
    assert f"`nodepipe package pull {built.wheel} --alias NEW_TAG`" in words
    assert snapshot(trained) == before
    with pytest.raises(NameTakenError) as taken:
        trained.packages.pull(str(built.wheel))
    assert taken.value.hint == Hint(Action.PACKAGE_ALIAS) and taken.value.field == "alias"
    assert "call again with alias=NEW_TAG" in str(taken.value.__notes__)
    assert cli("package", "pull", str(built.wheel), "--alias", "model-2").code == 0


class HeaderOnly(SimpleHTTPRequestHandler):
    """Serves its folder to requests with the header ``X-Token: s3cret``; 403 to others."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.headers.get("X-Token") != "s3cret":
            self.send_error(403)
            return
        super().do_GET()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    folder = tmp_path / "site"
    folder.mkdir()
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(HeaderOnly, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_pull_from_an_http_url_with_the_header_from_fs_args(
    trained: nodepipe.Workspace, site: tuple[Path, str], tmp_path: Path, cli: CliRunner
) -> None:
    folder, url = site
    built = trained.packages.build("model", destination=folder)
    args = tmp_path / "fs-args.yaml"
    args.write_text("headers:\n  X-Token: s3cret\n")
    before = snapshot(trained)
    refused = cli("package", "pull", f"{url}/{built.wheel.name}", "--alias", "web")
    assert refused.code == 2
    assert "package pull: cannot read" in refused.stderr and "403" in refused.stderr
    assert snapshot(trained) == before
    pulled = cli(
        "package", "pull", f"{url}/{built.wheel.name}", "--alias", "web",
        "--fs-args", str(args), "--json",
    )  # fmt: skip
    assert pulled.code == 0, pulled.stderr
    assert sorted(n["tag"] for n in pulled.json()["nodes"]) == ["predict", "train"]


def test_a_pull_from_a_server_that_never_answers_is_refused_in_time_naming_it(
    lab: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loaders, "HTTP_READ_TIMEOUT_S", 0.5)
    before = snapshot(lab)
    outcome: list[BaseException | None] = []

    def pull(url: str) -> None:
        try:
            lab.packages.pull(f"{url}/model-1.0-py3-none-any.whl", alias="hung")
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    with silent_server() as url:
        worker = threading.Thread(target=pull, args=(url,), daemon=True)
        worker.start()
        worker.join(30)  # aiohttp's own default: five minutes
        assert not worker.is_alive(), "still waiting on a server that never answers"
    (error,) = outcome
    assert isinstance(error, InvalidInputError)
    server = url.removeprefix("http://")
    assert f"the server {server} did not answer in time" in str(error)
    assert "nothing was changed" in str(error)
    assert snapshot(lab) == before
    assert not any(lab.context.layout.staging_dir.iterdir()), "a scratch folder was left behind"


def test_a_pull_from_an_index_that_never_answers_is_refused_in_time_naming_it(
    lab: nodepipe.Workspace, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``package pull NAME==V --index-url URL`` of an index that accepts the connection and
    never answers waited uv's 30 s of silence four times (three retries, about 127 s) and then
    said "the package index cannot be reached". Now one wait of ``UV_HTTP_TIMEOUT`` (uv's 30 s,
    or the user's), the index named by host and port, the variable to set for a slow one."""
    monkeypatch.delenv("UV_HTTP_TIMEOUT", raising=False)
    monkeypatch.delenv("UV_HTTP_RETRIES", raising=False)
    before = snapshot(lab)
    outcome: list[BaseException | None] = []

    def pull(url: str) -> None:
        try:
            lab.packages.pull("model==1.0", alias="hung", index_url=f"{url}/simple/")
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    with silent_server() as url:
        server = url.removeprefix("http://")
        began = time.monotonic()
        worker = threading.Thread(target=pull, args=(url,), daemon=True)
        worker.start()
        worker.join(75)
        assert not worker.is_alive(), "still waiting on an index that never answers"
        assert time.monotonic() - began < 60
        (error,) = outcome
        assert isinstance(error, IndexUnreachableError)
        said = f"the package index {server} accepted the connection but sent nothing for 30 s"
        assert said in str(error)
        assert "set UV_HTTP_TIMEOUT to more seconds" in str(error)

        monkeypatch.setenv("UV_HTTP_TIMEOUT", "2")  # the user's own, honoured and said
        began = time.monotonic()
        refused = cli("package", "pull", "model==1.0", "--index-url", f"{url}/simple/")
        assert time.monotonic() - began < 15
    assert refused.code == 7, refused.stdout + refused.stderr
    words = " ".join(refused.stderr.split())
    assert f"package index {server} accepted the connection but sent nothing for 2 s" in words
    assert snapshot(lab) == before
    assert not any(lab.context.layout.staging_dir.iterdir()), "a scratch folder was left behind"


def test_the_full_loop_build_publish_pull_by_name_run_same_outputs(
    trained: nodepipe.Workspace,
    index: PackageIndex,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: CliRunner,
) -> None:
    for name, value in offline_env().items():
        monkeypatch.setenv(name, value)
    for name in ("UV_PUBLISH_USERNAME", "UV_PUBLISH_PASSWORD", "UV_INDEX_URL", "PIP_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.pypirc of the machine's
    built = trained.packages.build("model", alias="loop-model", version="1.0", with_data=True)
    files = [str(built.wheel), str(built.sdist)]
    monkeypatch.setenv("TWINE_USERNAME", USER)
    monkeypatch.setenv("TWINE_PASSWORD", "wrong")
    refused = cli("package", "publish", *files, "--repository-url", index.url)
    assert refused.code == 2
    assert "refused the credentials (HTTP 403" in refused.stderr
    assert "TWINE_PASSWORD" in refused.stderr
    assert index.files() == []
    monkeypatch.setenv("TWINE_PASSWORD", PASSWORD)
    published = cli("package", "publish", *files, "--repository-url", index.url, "--json")
    assert published.code == 0, published.stderr
    assert published.json()["uploaded"] == [built.wheel.name, built.sdist.name]
    assert index.files() == sorted([built.wheel.name, built.sdist.name])
    again = cli("package", "publish", *files, "--repository-url", index.url)
    assert again.code == 0, again.stderr
    assert f"skipped {built.wheel.name}" in again.stdout
    assert PASSWORD not in again.stdout + again.stderr
    other = nodepipe.init(tmp_path / "elsewhere")
    pulled = other.packages.pull("loop-model==1.0", alias="loop", index_url=index.simple_url)
    assert pulled.imported.completed == ("predict", "train")
    other.runs.run(RunRequest("loop", force=True))
    assert states(other, "loop") == dict.fromkeys(("train", "predict"), NodeState.COMPLETED)
    assert outputs(other, "loop") == outputs(trained, "model")
    assert json.loads(outputs(other, "loop")["predict"]["predictions.json"]) == [21.0, 41.0]
    before = snapshot(other)
    with pytest.raises(RequirementNotFoundError):
        other.packages.pull("loop-model==9.9", alias="nine", index_url=index.simple_url)
    assert snapshot(other) == before
    other.close()


def test_bad_packages_and_requests_are_refused_with_nothing_changed(
    lab: nodepipe.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = build_wheel(tmp_path, "plainpkg", "1.0", "VALUE = 1\n")
    escaping = tmp_path / "evil-1.0-py3-none-any.whl"
    with zipfile.ZipFile(escaping, "w") as wheel:
        wheel.writestr("evil-1.0.dist-info/entry_points.txt", "[nodepipe.bundles]\nevil = evil.b\n")
        wheel.writestr("evil/b/pipeline.toml", 'format = 1\n[pipeline]\nname = "evil"\n')
        wheel.writestr("evil/b/../../../outside.txt", "escaped")
    linked = tmp_path / "linked-1.0.tar.gz"
    with tarfile.open(linked, "w:gz") as sdist:
        link = tarfile.TarInfo("linked-1.0/linked/bundle/pipeline.toml")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        sdist.addfile(link)
    before = snapshot(lab)
    cases = [
        (str(plain), "is not a nodepipe package"),
        (str(escaping), "outside.txt' is refused: it leads outside the bundle"),
        (str(linked), "is a link; refused"),
        (str(tmp_path / "missing.whl"), "no package file"),
        ("not a name!", "is not a package file, a URL or a requirement"),
    ]
    for source, message in cases:
        with pytest.raises(InvalidInputError, match=message):
            lab.packages.pull(source)
        assert snapshot(lab) == before, source
    assert not (tmp_path.parent / "outside.txt").exists()
    for name, value in offline_env().items():
        monkeypatch.setenv(name, value)
    with pytest.raises(IndexUnreachableError):
        lab.packages.pull("np-model==1.0", index_url="http://127.0.0.1:9/simple/")
    assert snapshot(lab) == before


def test_a_package_of_some_nodes_declares_their_outside_parents_as_inputs(
    trained: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    built = cli(
        "package", "build", "model", "--node", "predict", "--alias", "predictor",
        "--destination", str(tmp_path), "--json",
    )  # fmt: skip
    assert built.code == 0, built.stderr
    wheel = Path(built.json()["wheel"])
    with zipfile.ZipFile(wheel) as opened:
        names = set(opened.namelist())
        toml = opened.read("predictor/bundle/pipeline.toml").decode()
        lock = opened.read("predictor/bundle/pipeline.lock").decode()
    assert "predictor/bundle/nodes/predict/code/main.py" in names
    assert not any("/nodes/train/" in name for name in names)
    assert '[inputs]\n01 = ["predict"]' in toml
    assert "[nodes.train]" not in toml and "train" not in lock
    other = nodepipe.init(tmp_path / "other")
    pulled = other.packages.pull(str(wheel))
    assert [n.node.tag for n in pulled.imported.view.nodes] == ["predict"]
    other.close()
    refused = cli("package", "build", "model", "--node", "nope", "--destination", str(tmp_path))
    assert refused.code == 2
    assert "no node nope in the pipeline to package (it has: predict, train)" in refused.stderr
    assert sorted(p.name for p in tmp_path.glob("*.whl")) == [wheel.name]


def test_pull_into_a_pipeline_includes_the_package_fed_by_a_node_there(
    trained: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    built = trained.packages.build("model", alias="predictor", nodes=["predict"])
    other = nodepipe.init(tmp_path / "other")
    other.pipelines.new("alpha")
    add_nodes(other, "alpha", {"mytrain": NodeSpec(code=TRAIN)})
    before = snapshot(other)
    for wrong, message in [
        (("--into", "nope", "--alias", "pred"), "no pipeline"),
        (("--into", "alpha", "--alias", "bad.ns"), "may not contain '.'"),
        (("--into", "alpha", "--alias", "pred", "--input", "nope=mytrain"), "no input 'nope'"),
    ]:
        refused = cli("-w", str(other.root), "package", "pull", str(built.wheel), *wrong)
        assert refused.code in (2, 3) and message in refused.stderr, refused.stderr
        assert snapshot(other) == before
        kept_dir = other.context.layout.state_dir / "packages"
        assert not kept_dir.exists() or list(kept_dir.iterdir()) == [], "a bundle kept for nothing"
    pulled = cli(
        "-w", str(other.root), "package", "pull", str(built.wheel),
        "--into", "alpha", "--alias", "pred", "--input", "01=mytrain",
    )  # fmt: skip
    assert pulled.code == 0, pulled.stderr
    other.runs.run(RunRequest("alpha"))
    assert outputs(other, "alpha")["pred.predict"] == outputs(trained, "model")["predict"]
    (include,) = other.bundles.includes("alpha")
    assert include.nodes == ("pred.predict",)
    kept = other.context.layout.state_dir / "packages" / "predictor-0.1.0"
    assert (kept / "pipeline.toml").is_file(), "the included bundle stays where it was found"
    other.close()


def test_a_package_whose_version_leads_outside_is_not_kept_there(
    trained: nodepipe.Workspace, tmp_path: Path
) -> None:
    """The kept folder of `pull --into` is named by the archive's name and version: an sdist
    whose version climbs out (``1/../../…``) is refused, nothing is written outside."""
    built = trained.packages.build("model", alias="climber", destination=tmp_path / "dist")
    escape = tmp_path / "escaped"
    evil = tmp_path / "climber-1.0.tar.gz"
    with tarfile.open(built.sdist) as source, tarfile.open(evil, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member) if member.isreg() else None
            if member.name.endswith("/pyproject.toml") and data is not None:
                climb = "../" * 12 + str(escape).lstrip("/")
                text = data.read().decode().replace('version = "0.1.0"', f'version = "1/{climb}"')
                member.size = len(text.encode())
                data = io.BytesIO(text.encode())
            target.addfile(member, data)
    trained.pipelines.new("host")
    before = snapshot(trained)
    with pytest.raises(InvalidInputError, match="is not a PEP 440 version"):
        trained.packages.pull_into(str(evil), "host", "ns")
    assert not escape.exists()
    assert snapshot(trained) == before
    assert not (trained.context.layout.state_dir / "packages").exists()


def test_a_web_pull_never_reads_a_path_on_the_server(
    trained: nodepipe.Workspace, tmp_path: Path
) -> None:
    """What the web API asks (``local_files=False``): no path, no local or chained fsspec URL
    (a cache or zip over ``file://`` reads the server's files too), no index that is not
    http(s); nothing changes."""
    built = trained.packages.build("model", destination=tmp_path / "dist")
    wheel = built.wheel.as_uri()
    before = snapshot(trained)
    for source, index in [
        (str(built.wheel), None),
        (wheel, None),
        (f"simplecache::{wheel}", None),
        (f"filecache::{wheel}", None),
        (f"blockcache::{wheel}", None),
        (f"memory://{built.wheel.name}", None),
        ("model==0.1.0", (tmp_path / "dist").as_uri()),
        ("model==0.1.0", f"team={(tmp_path / 'dist').as_uri()}"),
    ]:
        with pytest.raises(InvalidInputError, match=r"on the server|not an http"):
            trained.packages.pull(source, alias="web", index_url=index, local_files=False)
        assert snapshot(trained) == before, source


def test_a_release_pulled_again_with_other_contents_is_never_mixed_up(
    trained: nodepipe.Workspace, tmp_path: Path
) -> None:
    """`pull --into` keeps a release's bundle once: the same name and version built again from
    changed code is refused while an include reads the old copy (never silently the old
    code), and replaces it once none does."""
    first = trained.packages.build("model", alias="pred", destination=tmp_path)
    other = nodepipe.init(tmp_path / "other")
    for tag in ("one", "two"):
        other.pipelines.new(tag)
    other.packages.pull_into(str(first.sdist), "one", "p")
    predict = trained.nodes.path("predict", "model") / "code" / "main.py"
    predict.write_text(predict.read_text() + "# v2\n")
    second = trained.packages.build("model", alias="pred", destination=tmp_path)
    assert second.sdist == first.sdist  # same name and version, other contents
    before = snapshot(other)
    with pytest.raises(InvalidInputError, match="pulled before with other contents"):
        other.packages.pull_into(str(second.sdist), "two", "p")
    assert snapshot(other) == before
    other.pipelines.delete("one")  # no include reads the old copy any more
    other.packages.pull_into(str(second.sdist), "two", "p")
    (item,) = [n for n in other.pipelines.show("two").nodes if n.node.tag == "p.predict"]
    code = other.nodes.path(item.node.id) / "code" / "main.py"
    assert code.read_text().endswith("# v2\n"), "the old release's code was included"
    other.close()


def test_a_package_never_makes_the_pull_build_a_folder_of_this_machine(
    trained: nodepipe.Workspace, tmp_path: Path
) -> None:
    """A node that installs a folder from outside itself (``--path``) names that folder in its
    pyproject and lock: pulled elsewhere, syncing would build whatever that path holds there
    (its PEP 517 backend runs). Refused before anything is synced, naming it. (nodepipe's own
    build refuses such a node, so the package is made by hand: a clean build whose node files
    are swapped for those of the node once it installs the folder.)"""
    tool = local_project(tmp_path / "outside" / "tool", "outtool", "0.1", "X = 1\n")
    marker = tmp_path / "built.txt"
    backend = tool / "np_backend.py"
    backend.write_text(f"open({str(marker)!r}, 'a').write('built\\n')\n" + backend.read_text())
    built = trained.packages.build("model", alias="carrier", destination=tmp_path / "dist")
    trained.envs.add("train", [], path=str(tool))
    marker.unlink()
    code = trained.nodes.path("train", "model") / "code"
    inside = "carrier/bundle/nodes/train/code/"
    swapped = {inside + name: (code / name).read_bytes() for name in ("pyproject.toml", "uv.lock")}
    replace_members(built.wheel, swapped)
    other = nodepipe.init(tmp_path / "other")
    before = snapshot(other)
    with pytest.raises(InvalidInputError, match="built from outside the bundle") as refused:
        other.packages.pull(str(built.wheel))
    assert str(tool) in str(refused.value)
    assert refused.value.hint is None  # the fix is the bundle's author's, not this workspace's
    assert "its author must take a snapshot" in str(refused.value)
    assert not marker.exists(), "the folder's build backend ran at pull time"
    assert snapshot(other) == before
    assert not any((other.context.layout.staging_dir).iterdir())
    other.close()


def test_a_wheel_whose_file_name_or_metadata_lies_is_refused_naming_the_lie(
    trained: nodepipe.Workspace, tmp_path: Path
) -> None:
    """A wheel renamed to another version, or whose METADATA names another package, was pulled
    as the release its .dist-info folder names (uv and pip refuse to install either)."""
    built = trained.packages.build("model", version="1.0", destination=tmp_path / "dist")
    renamed = built.wheel.with_name("model-2.0-py2.py3-none-any.whl")
    renamed.write_bytes(built.wheel.read_bytes())
    with zipfile.ZipFile(built.wheel) as wheel:
        metadata = wheel.read("model-1.0.dist-info/METADATA")
    replace_members(built.wheel, {"model-1.0.dist-info/METADATA": metadata.replace(
        b"Name: model\n", b"Name: other-model\n"
    )})  # fmt: skip
    other = nodepipe.init(tmp_path / "other")
    before = snapshot(other)
    cases = [
        (renamed, "its file name names model 2.0, its model-1.0.dist-info folder model 1.0"),
        (built.wheel, "its METADATA names other-model 1.0, its model-1.0.dist-info folder"),
    ]
    for wheel, message in cases:
        with pytest.raises(InvalidInputError, match=message):
            other.packages.pull(str(wheel), alias="liar")
        assert snapshot(other) == before, wheel.name
    assert not any(other.context.layout.staging_dir.iterdir())
    other.close()


def test_a_package_with_data_whose_output_links_outside_is_refused_naming_it(
    lab: nodepipe.Workspace, tmp_path: Path
) -> None:
    """A node's output that is a link to a file elsewhere: the export kept the link and uv
    failed to build, in words of tar ("unsafe symbolic-link target", exit 7, as if uv were
    to blame). Refused naming the link, exit 2, nothing built."""
    secret = tmp_path / "secret.txt"
    secret.write_text("not the node's\n")
    lab.pipelines.new("m")
    lab.nodes.new("m", "model")
    (lab.nodes.path("model") / "code" / "main.py").write_text(
        "import os\nimport nodepipe_node as node\n"
        f"os.symlink({str(secret)!r}, node.data_dir() / 'model.pkl')\n"
    )
    lab.runs.run(RunRequest("m"))
    dist = tmp_path / "dist"
    with pytest.raises(InvalidInputError, match=r"data/model\.pkl is a link to .*secret\.txt"):
        lab.packages.build("m", with_data=True, destination=dist)
    assert not dist.exists() or not any(dist.iterdir())
    assert not any(lab.context.layout.staging_dir.iterdir())
    built = lab.packages.build("m", destination=dist)  # without its data: nothing to refuse
    assert built.wheel.is_file()


def test_a_package_of_some_nodes_is_not_refused_for_a_link_in_a_node_left_out(
    lab: nodepipe.Workspace, tmp_path: Path
) -> None:
    """``package build --node clean --with-data``: a link to a file elsewhere in the outputs
    of ``model``, which the package leaves out, refuses nothing (the export's check of links
    looks at the nodes the package keeps); building ``model`` itself is refused naming it."""
    secret = tmp_path / "secret.txt"
    secret.write_text("not the node's\n")
    lab.pipelines.new("m")
    for tag in ("clean", "model"):
        lab.nodes.new("m", tag)
    (lab.nodes.path("clean") / "code" / "main.py").write_text(
        "import nodepipe_node as node\n(node.data_dir() / 'out.csv').write_text('a\\n')\n"
    )
    (lab.nodes.path("model") / "code" / "main.py").write_text(
        "import os\nimport nodepipe_node as node\n"
        f"os.symlink({str(secret)!r}, node.data_dir() / 'model.pkl')\n"
    )
    lab.runs.run(RunRequest("m"))
    dist = tmp_path / "dist"
    built = lab.packages.build("m", alias="clean-only", nodes=["clean"], with_data=True,
                               destination=dist)  # fmt: skip
    assert built.wheel.is_file()
    with pytest.raises(InvalidInputError, match=r"node 'model': data/model\.pkl is a link"):
        lab.packages.build("m", nodes=["model"], with_data=True, destination=dist)


def replace_members(wheel: Path, members: dict[str, bytes]) -> None:
    """Rewrite the zip ``wheel`` with ``members`` (by name) replacing or adding files."""
    with zipfile.ZipFile(wheel) as source:
        kept = {i.filename: source.read(i) for i in source.infolist() if i.filename not in members}
    with zipfile.ZipFile(wheel, "w") as target:
        for name, data in {**kept, **members}.items():
            target.writestr(name, data)


def test_a_package_carries_the_inputs_the_pipeline_declares(
    trained: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    """The inputs declared by ``bundle export --input`` go into the package of the whole
    pipeline, and those of the chosen nodes into a package of some nodes (beside the inputs
    their left-out parents become)."""
    declared = ("--input", "extra=train", "--input", "labels=predict")
    assert cli("bundle", "export", "model", str(tmp_path / "bundle"), *declared).code == 0
    whole = trained.packages.build("model", destination=tmp_path / "whole")
    some = trained.packages.build(
        "model", alias="predictor", nodes=["predict"], destination=tmp_path / "some"
    )
    with zipfile.ZipFile(whole.wheel) as opened:
        toml = opened.read("model/bundle/pipeline.toml").decode()
    assert '[inputs]\nextra = ["train"]\nlabels = ["predict"]' in toml
    with zipfile.ZipFile(some.wheel) as opened:
        toml = opened.read("predictor/bundle/pipeline.toml").decode()
    assert '[inputs]\n01 = ["predict"]\nlabels = ["predict"]' in toml
    other = nodepipe.init(tmp_path / "other")
    pulled = other.packages.pull(str(some.wheel))
    assert [n.node.tag for n in pulled.imported.view.nodes] == ["predict"]
    again = other.bundles.export(pulled.imported.view.pipeline.tag, tmp_path / "again")
    assert again.inputs == {"01": ("predict",), "labels": ("predict",)}
    other.close()
