"""Bundles over HTTP: a pipeline downloaded as a zip is its export; the zip uploaded makes the
same pipeline again; a hostile or broken zip is a 422 and leaves nothing; an include is listed
and updated, its removals refused (409, listed) until confirmed; a process killed while it
holds an archive leaves nothing once the workspace is opened again.

Real workspaces (real uv environments, offline), the real app; uploads are real multipart
bodies.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of, finish_job
from nodepipe.api.limits import MAX_BODY_BYTES, MAX_UPLOAD_BYTES, limit_of
from support.hostile_pyproject import with_nodepipe_setting
from support.locked_bundles import (
    APPEND_INPUTS,
    alpha_including_features,
    features_toml,
)


def staging_entries(ws: nodepipe.Workspace) -> list[str]:
    return sorted(p.name for p in ws.context.layout.staging_dir.iterdir())


def zipped_files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def folder_files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


def upload(client: TestClient, data: bytes, **fields: str) -> Any:  # the TestClient's response type
    files = {"archive": ("bundle.zip", data, "application/zip")}
    return client.post("/api/bundles", files=files, data=fields)


def graph(ws: nodepipe.Workspace, pipeline: str) -> tuple[set[str], set[tuple[str, str]]]:
    view = ws.pipelines.show(pipeline)
    tags = {item.node.id: item.node.tag for item in view.nodes}
    return set(tags.values()), {(tags[e.parent_id], tags[e.child_id]) for e in view.edges}


def test_a_downloaded_bundle_is_the_export_and_uploads_as_the_same_pipeline(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    answer = client.get("/api/pipelines/baseline/bundle.zip")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"] == 'attachment; filename="baseline.zip"'
    chain.bundles.export("baseline", tmp_path / "exported")
    assert zipped_files(answer.content) == folder_files(tmp_path / "exported")
    assert client.get("/api/pipelines/baseline/bundle.zip").content == answer.content
    assert staging_entries(chain) == []

    started = upload(client, answer.content, name="again", project="climate")
    assert started.status_code == 202, started.text
    job = finish_job(client, app, started.json())
    assert job["status"] == "succeeded", job
    assert job["message"] == "imported pipeline 'again' (3 nodes)"
    made = chain.pipelines.get(job["pipeline_id"])
    assert made.tag == "again"
    assert chain.projects.get("climate").id == made.project_id
    assert graph(chain, "again") == graph(chain, "baseline")
    original = {item.node.id for item in chain.pipelines.show("baseline").nodes}
    assert original.isdisjoint(item.node.id for item in chain.pipelines.show("again").nodes)
    assert staging_entries(chain) == []


def test_an_upload_whose_tag_is_taken_or_invalid_is_refused_at_once_about_its_name(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    """The tag is the request's answer, not the job's error: the web app says it beside the
    field it was typed in (``name``), its dialog still open; nothing is left behind."""
    data = client.get("/api/pipelines/baseline/bundle.zip").content
    taken = "a pipeline tagged 'baseline' already exists"
    for fields in ({}, {"name": "baseline"}):  # the bundle's own tag, or the one given
        refused = upload(client, data, **fields)
        assert taken in error_of(refused, 409, "conflict")
        assert [d["loc"] for d in refused.json()["details"]] == [["body", "name"]]
    invalid = upload(client, data, name="b/2024")
    assert "invalid name 'b/2024': it contains a slash" in error_of(invalid, 422, "invalid_input")
    assert [d["loc"] for d in invalid.json()["details"]] == [["body", "name"]]
    error_of(upload(client, data, name="fine", project="nowhere"), 404, "not_found")
    assert [p.tag for p in chain.pipelines.list()] == ["baseline"]
    assert staging_entries(chain) == []


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


TOML = b'format = 1\n[pipeline]\nname = "evil"\n'


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"this is no zip at all", "not a zip archive"),
        (zip_of({"pipeline.toml": TOML, "../escape.py": b"x"}), "'../escape.py' is refused"),
        (zip_of({"pipeline.toml": TOML, "/etc/evil": b"x"}), "'/etc/evil' is refused"),
        (zip_of({"readme.txt": b"hello"}), "holds no pipeline.toml"),
        (zip_of({"pipeline.toml": TOML + b"surprise = 1\n"}), "surprise"),
    ],
    ids=["not-a-zip", "dot-dot", "absolute", "no-bundle", "unknown-key"],
)
def test_a_hostile_or_broken_zip_is_refused_and_changes_nothing(
    client: TestClient, chain: nodepipe.Workspace, tmp_path: Path, data: bytes, expected: str
) -> None:
    before = sorted(p.name for p in chain.root.iterdir())
    message = error_of(upload(client, data, name="evil"), 422, "invalid_input")
    assert expected in message
    assert [p.tag for p in chain.pipelines.list()] == ["baseline"]
    assert staging_entries(chain) == []
    assert sorted(p.name for p in chain.root.iterdir()) == before
    assert not list(chain.root.parent.rglob("escape.py"))


def nested_includes(depth: int, times: int) -> bytes:
    """A zip whose bundle includes ``sub/b1`` ``times`` times, which includes ``../b2`` as
    often, and so on ``depth`` levels down; each bundle holds one node."""
    members: dict[str, bytes] = {}
    for level in range(depth + 1):
        folder = f"sub/b{level}/" if level else ""
        source = f"../b{level + 1}" if level else "sub/b1"
        toml = f'format = 1\n[pipeline]\nname = "b{level}"\n[nodes.n]\n'
        if level < depth:
            toml += "".join(f'[includes.x{i}]\nsource = "{source}"\n' for i in range(times))
        members[f"{folder}pipeline.toml"] = toml.encode()
        members[f"{folder}nodes/n/code/main.py"] = b""
    return zip_of(members)


@pytest.mark.parametrize(
    ("depth", "times", "expected"),
    [
        (400, 1, "longer than 100 characters (at include depth 34)"),
        (11, 2, "the bundle brings more than 1000 includes with its own"),
    ],
    ids=["400-deep", "diamond"],
)
def test_includes_nested_too_deep_or_multiplying_are_a_422_at_once(
    client: TestClient, chain: nodepipe.Workspace, depth: int, times: int, expected: str
) -> None:
    """A small zip whose includes nest 400 deep (read to the bottom, naming nodes with 1,200
    characters; past about 330 levels Python's RecursionError) or double at each level (2,047
    includes, 4,095 nodes from 24 members; a billion at 30 levels, while the request lasts)
    is refused at once in nodepipe's words, naming where, nothing made."""
    message = error_of(upload(client, nested_includes(depth, times), name="deep"), 422)
    assert expected in message, message
    assert [p.tag for p in chain.pipelines.list()] == ["baseline"]
    assert staging_entries(chain) == []


def test_an_upload_may_be_larger_than_other_bodies_and_needs_a_file(
    client: TestClient,
) -> None:
    assert limit_of("/api/bundles", MAX_BODY_BYTES) == MAX_UPLOAD_BYTES > MAX_BODY_BYTES
    bad_toml = TOML + b"surprise = 1\n"
    big = zip_of({"pipeline.toml": bad_toml, "padding.bin": os.urandom(MAX_BODY_BYTES + 1024)})
    assert len(big) > MAX_BODY_BYTES
    assert "surprise" in error_of(upload(client, big), 422)  # read whole, refused as a bundle
    json_body = {"content-type": "application/json"}
    error_of(client.post("/api/projects", content=big, headers=json_body), 413, "too_large")
    assert "archive" in error_of(client.post("/api/bundles", data={"name": "x"}), 422)
    not_allowed = client.get("/api/bundles")
    error_of(not_allowed, 405, "method_not_allowed")
    assert not_allowed.headers["allow"] == "POST"


def test_includes_are_listed_and_updated_and_removals_wait_for_confirmation(
    client: TestClient, chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    features, project = alpha_including_features(tmp_path, ("clean", "old"))
    chain.bundles.import_(project)

    listed = client.get("/api/pipelines/alpha/includes")
    assert listed.status_code == 200, listed.text
    [include] = listed.json()
    assert include["namespace"] == "features" and include["source"] == "../library/features"
    assert include["nodes"] == ["features.clean", "features.old"]
    assert include["inputs"] == {"raw": "prep"}
    error_of(client.get("/api/pipelines/nowhere/includes"), 404)

    shutil.rmtree(features / "nodes" / "old")
    (features / "pipeline.toml").write_text(features_toml(("clean",)))
    (features / "nodes" / "clean" / "code" / "main.py").write_text(APPEND_INPUTS + "# v2\n")
    old_id = chain.nodes.get("features.old").id
    update = "/api/pipelines/alpha/includes/features/update"
    refused = client.post(update, json={})
    assert "features.old" in error_of(refused, 409, "conflict")
    assert refused.json()["nodes"] == ["features.old"]
    assert chain.nodes.get("features.old").id == old_id  # nothing changed

    done = client.post(update, json={"confirm_removals": True})
    assert done.status_code == 200, done.text
    assert done.json() | {"content_hash": ""} == {
        "pipeline": "alpha",
        "namespace": "features",
        "content_hash": "",
        "changed": ["features.clean"],
        "added": [],
        "removed": ["features.old"],
        "unchanged": [],
        "kept": [],
        "disconnected": [],
    }
    assert [i["nodes"] for i in client.get("/api/pipelines/alpha/includes").json()] == [
        ["features.clean"]
    ]
    error_of(client.post("/api/pipelines/alpha/includes/nowhere/update", json={}), 404)


def test_an_update_replacing_a_node_edited_here_waits_for_replace_edits(
    client: TestClient, chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    features, project = alpha_including_features(tmp_path, ("clean",))
    chain.bundles.import_(project)
    main = chain.nodes.path("features.clean") / "code" / "main.py"
    main.write_text(main.read_text() + "# edited here\n")
    (features / "nodes" / "clean" / "code" / "main.py").write_text(APPEND_INPUTS + "# v2\n")
    update = "/api/pipelines/alpha/includes/features/update"

    refused = client.post(update, json={})
    assert "features.clean (main.py)" in error_of(refused, 409, "edited")
    assert refused.json()["nodes"] == ["features.clean"]
    assert main.read_text().endswith("# edited here\n")  # nothing changed

    done = client.post(update, json={"replace_edits": True})
    assert done.status_code == 200, done.text
    [kept] = done.json()["kept"]
    assert kept["node"] == "features.clean" and kept["edited"] is True
    assert Path(kept["path"]).parent == main.parent.parent / "undone-edits"
    assert (Path(kept["path"]) / "main.py").read_text().endswith("# edited here\n")
    assert main.read_text() == APPEND_INPUTS + "# v2\n"


def test_an_update_of_a_bundle_that_renamed_its_input_is_told_what_feeds_it_now(
    client: TestClient, chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    features, project = alpha_including_features(tmp_path, ("clean",))
    chain.bundles.import_(project)
    (features / "pipeline.toml").write_text(features_toml(("clean",)).replace("raw =", "source ="))
    update = "/api/pipelines/alpha/includes/features/update"

    refused = client.post(update, json={})
    assert "no longer declares 'raw'" in error_of(refused, 422)
    assert [i["inputs"] for i in client.get("/api/pipelines/alpha/includes").json()] == [
        {"raw": "prep"}
    ]  # nothing changed
    error_of(client.post(update, json={"inputs": {"source": "nowhere"}}), 404)

    done = client.post(update, json={"inputs": {"source": "prep"}})
    assert done.status_code == 200, done.text
    assert [i["inputs"] for i in client.get("/api/pipelines/alpha/includes").json()] == [
        {"source": "prep"}
    ]
    prep, clean = chain.nodes.get("prep").id, chain.nodes.get("features.clean").id
    edges = chain.pipelines.show("alpha").edges
    assert {(e.parent_id, e.slot) for e in edges if e.child_id == clean} == {(prep, "source")}


def test_a_downloaded_zip_carries_its_local_includes_inlined(
    client: TestClient, chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    _, project = alpha_including_features(tmp_path, ("clean", "old"))
    chain.bundles.import_(project)
    answer = client.get("/api/pipelines/alpha/bundle.zip")
    assert answer.status_code == 200, answer.text
    files = zipped_files(answer.content)
    assert b"[includes" not in files["pipeline.toml"]  # no path relative to the server's disk
    elsewhere = nodepipe.init(tmp_path / "elsewhere")
    (tmp_path / "alpha.zip").write_bytes(answer.content)
    with zipfile.ZipFile(tmp_path / "alpha.zip") as archive:
        archive.extractall(tmp_path / "unzipped")
    shutil.rmtree(tmp_path / "library")  # the zip alone is enough
    made = elsewhere.bundles.import_(tmp_path / "unzipped")
    assert {item.node.tag for item in made.view.nodes} == {
        "prep",
        "features.clean",
        "features.old",
    }
    elsewhere.close()


KILLED = """\
import sys
from pathlib import Path
import nodepipe
from nodepipe.services.bundles.archives import export_archive, stage_archive
ws = nodepipe.open(sys.argv[1])
name, packed = export_archive(ws.context, "baseline")
stage_archive(ws.context, packed)
"""


@pytest.mark.parametrize("point", ["export.written", "archive.exported", "archive.unpacked"])
def test_a_process_killed_holding_an_archive_leaves_nothing_once_reopened(
    chain: nodepipe.Workspace, point: str
) -> None:
    env = {**os.environ, "NODEPIPE_CRASH_AT": point}
    killed = subprocess.run(
        [sys.executable, "-c", KILLED, str(chain.root)], env=env, capture_output=True
    )
    assert killed.returncode == -9, killed.stderr
    assert staging_entries(chain) != []
    nodepipe.open(chain.root).close()
    assert staging_entries(chain) == []


def test_an_upload_naming_a_conda_channel_outside_the_bundle_is_a_422(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    """A bundle whose node's conda lock names a folder of the server (``file:///…``) or climbs
    out of the bundle would make the server install what is there: refused while the request
    lasts, naming node and location, nothing left behind."""
    members = zipped_files(client.get("/api/pipelines/baseline/bundle.zip").content)
    code = "nodes/clean/code/"
    before = [p.id for p in chain.pipelines.list()]
    for location in ("file:///tmp/elsewhere", "file-relative:../elsewhere"):
        lock = (
            f"version: 6\nenvironments:\n  default:\n    channels:\n    - url: {location}/\n"
            f"packages:\n- conda: {location}/noarch/tool-1-0.conda\n"
        )
        hostile = {**members, code + "conda.lock": lock.encode()}
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w") as archive:
            for name, data in hostile.items():
                archive.writestr(name, data)
        message = error_of(upload(client, packed.getvalue(), name="evil"), 422)
        assert "clean: its conda packages would be installed from outside the bundle" in message
        assert f"{location}/noarch/tool-1-0.conda" in message
    assert [p.id for p in chain.pipelines.list()] == before
    assert staging_entries(chain) == []


def test_an_upload_whose_code_path_leaves_the_bundle_is_a_422(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    """A bundle whose node puts a folder of the server on its import path (absolute, or
    climbing out) would make every run import what is there and every status hash it:
    refused while the request lasts, naming file and entry, nothing left behind."""
    members = zipped_files(client.get("/api/pipelines/baseline/bundle.zip").content)
    pyproject = "nodes/clean/code/pyproject.toml"
    before = [p.id for p in chain.pipelines.list()]
    for code_path in ("/etc", "../../../../../../etc", "scripts/../../.."):
        text = with_nodepipe_setting(members[pyproject].decode(), "code-paths", [code_path])
        packed = zip_of({**members, pyproject: text.encode()})
        message = error_of(upload(client, packed, name="evil"), 422)
        assert f"clean: {pyproject} [tool.nodepipe] code-paths names a folder" in message
        assert repr(code_path) in message
    assert [p.id for p in chain.pipelines.list()] == before
    assert staging_entries(chain) == []


def test_an_upload_is_refused_with_everything_its_import_would_refuse(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    """A node installing a package from a folder beside the bundle (``[tool.uv.sources]``) is
    a 422 while the request lasts, not a job that fails later; so is a pipeline.toml with
    several mistakes, every one of them named in one answer."""
    members = zipped_files(client.get("/api/pipelines/baseline/bundle.zip").content)
    pyproject = "nodes/clean/code/pyproject.toml"
    before = [p.id for p in chain.pipelines.list()]
    source = '\n[tool.uv.sources]\nmytool = { path = "../../../outside" }\n'
    packed = zip_of({**members, pyproject: members[pyproject] + source.encode()})
    message = error_of(upload(client, packed, name="evil"), 422, "invalid_input")
    assert "node 'clean' would have its environment built from outside the bundle" in message
    assert "pyproject.toml: ../../../outside" in message
    toml = members["pipeline.toml"].decode()
    broken = toml.replace("[nodes.clean]", '[nodes.clean]\ncolour = "blue"') + (
        '[nodes."a/b"]\n[[edges]]\nfrom = "load"\nto = "ghost"\n'
    )
    packed = zip_of({**members, "pipeline.toml": broken.encode()})
    message = error_of(upload(client, packed, name="evil"), 422, "invalid_input")
    for mistake in ("unknown key 'colour'", "invalid node tag 'a/b'", "no node 'ghost'"):
        assert mistake in message, message
    assert [p.id for p in chain.pipelines.list()] == before
    assert staging_entries(chain) == []


def test_a_download_of_a_node_with_an_outside_code_path_is_a_422_naming_the_fix(
    client: TestClient, chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """The download is the export: a node whose code path lies outside its code/ would carry
    this server's folder name to whoever imports it; refused, naming node, path and the menu
    item of the fix (hint ``code_path.copy``), nothing left in staging."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "helpers.py").write_text("OFFSET = 0\n", encoding="utf-8")
    chain.external.code_path_add("clean", str(scripts), "baseline")
    answer = client.get("/api/pipelines/baseline/bundle.zip")
    message = error_of(answer, 422)
    assert "node 'clean' imports code from outside its code/ folder" in message
    assert str(scripts) in message
    assert answer.json()["hint"] == {
        "action": "code_path.copy",
        "params": {"node": chain.nodes.get("clean").id, "tag": "clean", "path": str(scripts)},
    }
    assert staging_entries(chain) == []


@contextmanager
def recording_http_server(requests: list[str]) -> Iterator[str]:
    """An HTTP server on loopback that notes each path asked of it (and answers 404)."""

    class Noting(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Noting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_upload_includes_nothing_of_the_servers_disk_or_network(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """A bundle sent to the server looks for its includes inside itself alone: one naming a
    bundle elsewhere on the server's disk (climbing out, beside the server's current
    directory) or a URL (the server would fetch it) is a 422 naming the include; the server
    reads and fetches nothing, and nothing is made. An include inside the bundle still comes
    in; the same include on one's own machine (bundle import) finds the bundle beside it."""
    elsewhere = chain.root / "pipelines" / "features"  # the server's ./pipelines lookup too
    chain.bundles.export("baseline", elsewhere)
    members = zipped_files(client.get("/api/pipelines/baseline/bundle.zip").content)
    toml = members["pipeline.toml"].decode()
    before = [p.id for p in chain.pipelines.list()]
    requests: list[str] = []
    with recording_http_server(requests) as url:
        for source in ("features", "../" * 12 + str(elsewhere)[1:], f"{url}/internal/secret"):
            included = toml + f'\n[includes.srv]\nsource = "{source}"\n'
            packed = zip_of({**members, "pipeline.toml": included.encode()})
            message = error_of(upload(client, packed, name="evil"), 422, "invalid_input")
            assert "include 'srv'" in message, message
    assert requests == []  # the server fetched nothing
    assert [p.id for p in chain.pipelines.list()] == before
    assert staging_entries(chain) == []

    included = toml + '\n[includes.srv]\nsource = "lib/features"\n'
    inside = {f"lib/features/{name}": data for name, data in folder_files(elsewhere).items()}
    packed = zip_of({**members, "pipeline.toml": included.encode(), **inside})
    job = finish_job(client, app, upload(client, packed, name="whole").json())
    assert job["status"] == "succeeded", job
    assert "srv.clean" in {item.node.tag for item in chain.pipelines.show("whole").nodes}

    own = tmp_path / "own"
    for name, data in {
        **members,
        "pipeline.toml": (toml + '\n[includes.srv]\nsource = "../pipelines/features"\n').encode(),
    }.items():
        (own / name).parent.mkdir(parents=True, exist_ok=True)
        (own / name).write_bytes(data)
    shutil.move(str(elsewhere.parent), str(tmp_path / "pipelines"))
    imported = chain.bundles.import_(own, name="mine")
    assert "srv.clean" in {item.node.tag for item in imported.view.nodes}


def test_an_upload_with_thousands_of_problems_is_refused_naming_a_screenful(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    """The 422 of a bundle with 2,000 problems carried every one of them in one message."""
    ghosts = "".join(
        f'[[edges]]\nfrom = "load"\nto = "ghost{i}"\nslot = "01"\n' for i in range(2000)
    )
    toml = 'format = 1\n[pipeline]\nname = "many"\n[nodes.load]\n' + ghosts
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("pipeline.toml", toml)
    message = error_of(upload(client, data.getvalue()), 422)
    assert "ghost18'" in message and "ghost1999'" not in message, message[:2000]
    assert message.endswith("more (`nodepipe bundle check` of the unzipped bundle lists all)")
    assert len(message) < 5000
