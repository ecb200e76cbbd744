"""``/api/pipelines/{p}/nodes``: create, details, update, parameters, outputs, delete."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of, ids
from integration.conftest import snapshot
from support.wheels import local_project

NODES = "/api/pipelines/baseline/nodes"


def test_create_a_node_where_it_was_asked(client: TestClient, chain: nodepipe.Workspace) -> None:
    created = client.post(NODES, json={"tag": "report", "notes": "n", "x": 480, "y": 60})
    assert created.status_code == 201
    node = created.json()
    assert (node["tag"], node["state"], node["notes"]) == ("report", "ready", "n")
    assert (chain.root / "nodes" / node["id"] / "code" / "main.py").is_file()
    graph = client.get("/api/pipelines/baseline").json()
    placed = next(n for n in graph["nodes"] if n["id"] == node["id"])
    assert (placed["x"], placed["y"]) == (480.0, 60.0)


def test_create_refusals_change_nothing(client: TestClient, chain: nodepipe.Workspace) -> None:
    before = snapshot(chain)
    error_of(client.post(NODES, json={"tag": "a/b"}), 422, "invalid_input")
    error_of(client.post(NODES, json={"tag": ""}), 422)
    error_of(client.post("/api/pipelines/nope/nodes", json={"tag": "x"}), 404)
    chain.pipelines.lock("baseline")
    before = snapshot(chain)
    error_of(client.post(NODES, json={"tag": "x"}), 409, "read_only")
    assert snapshot(chain) == before


def test_details_have_links_folder_and_parameters(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    chain.nodes.set_params("clean", ["threshold=0.5", "columns=[a, b]"])
    detail = client.get(f"{NODES}/clean").json()
    assert detail["node"]["tag"] == "clean"
    assert detail["owner_pipeline"] == "baseline" and detail["pipelines"] == ["baseline"]
    assert [(link["slot"], link["tag"]) for link in detail["inputs"]] == [("01", "load")]
    assert [link["tag"] for link in detail["outputs"]] == ["plot"]
    assert Path(detail["folder"]) == chain.nodes.path("clean")
    assert detail["params"]["params"] == {"threshold": 0.5, "columns": ["a", "b"]}
    assert "threshold: 0.5" in detail["params"]["yaml"]
    assert "did you mean 'clean'" in error_of(client.get(f"{NODES}/clea"), 404, "not_found")


def test_update_answers_the_effective_state(client: TestClient, chain: nodepipe.Workspace) -> None:
    """A stale node renamed, annotated or locked was answered ``completed`` (as stored)."""
    chain.runs.run(nodepipe.RunRequest("baseline"))
    main = chain.nodes.path("load") / "code" / "main.py"
    main.write_text(main.read_text() + "\n# edited\n")
    for change in ({"tag": "tidy"}, {"notes": "n"}, {"locked": True}, {"locked": False}):
        node = client.patch(f"{NODES}/{'tidy' if 'tag' not in change else 'clean'}", json=change)
        assert node.status_code == 200, node.text
        answered = node.json()
        assert (answered["state"], answered["state_reason"]) == (
            "stale",
            "parent 01 (load) is stale",
        )


def test_a_mark_or_a_clearing_answers_the_effective_state(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    """A mark and a clearing answered the state they stored ("marked completed by hand" under
    a stale parent; "outputs cleared"), where ``GET …/nodes/{n}`` gives the computed one."""
    chain.runs.run(nodepipe.RunRequest("baseline"))
    main = chain.nodes.path("load") / "code" / "main.py"
    main.write_text(main.read_text() + "\n# edited\n")
    for method, tag, change in (
        ("PATCH", "plot", {"state": "completed"}),
        ("PATCH", "clean", {"state": "stale"}),
        ("DELETE", "clean/data", None),
    ):
        answer = client.request(method, f"{NODES}/{tag}", json=change)
        assert answer.status_code == 200, answer.text
        tag = tag.removesuffix("/data")
        shown = client.get(f"{NODES}/{tag}").json()["node"]
        assert (answer.json()["state"], answer.json()["state_reason"]) == (
            shown["state"],
            shown["state_reason"],
        )
        assert "parent 01" in shown["state_reason"]


def test_update_renames_annotates_marks_and_locks(client: TestClient) -> None:
    node = client.patch(f"{NODES}/load", json={"tag": "fetch", "notes": "from the web"}).json()
    assert (node["tag"], node["notes"]) == ("fetch", "from the web")
    marked = client.patch(f"{NODES}/fetch", json={"state": "completed"}).json()
    assert (marked["state"], marked["state_reason"]) == ("completed", "")  # as GET shows it
    locked = client.patch(f"{NODES}/fetch", json={"locked": True}).json()
    assert locked["locked"]
    message = error_of(client.patch(f"{NODES}/fetch", json={"tag": "x"}), 409, "read_only")
    assert "locked" in message
    assert not client.patch(f"{NODES}/fetch", json={"locked": False}).json()["locked"]


def test_update_refusals_change_nothing(client: TestClient, chain: nodepipe.Workspace) -> None:
    before = snapshot(chain)
    message = error_of(client.patch(f"{NODES}/load", json={"state": "stale"}), 409, "conflict")
    assert "never ran" in message
    error_of(client.patch(f"{NODES}/load", json={"state": "running"}), 422)
    error_of(client.patch(f"{NODES}/load", json={"tag": "a..b"}), 422)
    error_of(client.patch(f"{NODES}/nope", json={"notes": "x"}), 404)
    assert snapshot(chain) == before


def test_parameters_are_validated_before_saving(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    saved = client.put(f"{NODES}/clean/params", json={"yaml": "lr: 0.1\nlayers: [8, 4]\n"})
    assert saved.json()["params"] == {"lr": 0.1, "layers": [8, 4]}
    assert chain.nodes.params("clean") == {"lr": 0.1, "layers": [8, 4]}
    before = snapshot(chain)
    message = error_of(client.put(f"{NODES}/clean/params", json={"yaml": "lr: [1,"}), 422)
    assert "malformed YAML" in message
    error_of(client.put(f"{NODES}/clean/params", json={"yaml": "- a list"}), 422)
    error_of(client.put(f"{NODES}/nope/params", json={"yaml": "a: 1"}), 404)
    assert snapshot(chain) == before
    assert client.put(f"{NODES}/clean/params", json={"yaml": ""}).json()["params"] == {}


def test_a_parameters_save_never_overwrites_a_change_made_since_it_was_read(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    read = client.get(f"{NODES}/clean").json()
    assert read["params_version"]
    chain.nodes.set_params("clean", ["lr=0.5"])  # the CLI's `params --set`, meanwhile
    on_disk = (chain.nodes.path("clean") / "code" / "params.yaml").read_bytes()
    stale = client.put(
        f"{NODES}/clean/params", json={"yaml": "lr: 0.1\n", "version": read["params_version"]}
    )
    assert stale.status_code == 409
    body = stale.json()
    assert body["kind"] == "changed_on_disk"
    assert "changed since you read them" in body["message"]
    assert "differs from your text in lr" in body["message"]
    now = client.get(f"{NODES}/clean").json()
    assert body["current_version"] == now["params_version"] != read["params_version"]
    assert (chain.nodes.path("clean") / "code" / "params.yaml").read_bytes() == on_disk
    assert chain.nodes.params("clean") == {"lr": 0.5}

    # saved over the version it has now (the user chose to keep theirs): saved, and answered
    # with the version the next save names (its ETag)
    kept = client.put(
        f"{NODES}/clean/params", json={"yaml": "lr: 0.1", "version": body["current_version"]}
    )
    assert kept.status_code == 200
    assert kept.json()["params"] == {"lr": 0.1}
    now = client.get(f"{NODES}/clean").json()
    assert now["params_text"] == "lr: 0.1\n"
    assert kept.headers["ETag"] == f'"{now["params_version"]}"'
    again = client.put(
        f"{NODES}/clean/params",
        json={"yaml": "lr: 0.2\n", "version": kept.headers["ETag"].strip('"')},
    )
    assert again.status_code == 200
    assert chain.nodes.params("clean") == {"lr": 0.2}


def test_notes_saved_over_what_they_were_never_overwrite_a_change_made_since(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    chain.nodes.notes("clean", "read by the tab")
    chain.nodes.notes("clean", "set by the CLI meanwhile")
    stale = client.patch(
        f"{NODES}/clean", json={"notes": "typed in the tab", "notes_were": "read by the tab"}
    )
    assert error_of(stale, 409, "changed_on_disk").startswith("the notes of node 'clean'")
    assert chain.nodes.get("clean").notes == "set by the CLI meanwhile"
    saved = client.patch(
        f"{NODES}/clean",
        json={"notes": "typed in the tab", "notes_were": "set by the CLI meanwhile"},
    )
    assert saved.json()["notes"] == "typed in the tab"
    assert chain.nodes.get("clean").notes == "typed in the tab"


def test_clear_outputs(client: TestClient, chain: nodepipe.Workspace) -> None:
    data = chain.nodes.path("load") / "data"
    (data / "out.txt").write_text("x")
    chain.nodes.mark("load", nodepipe.NodeState.COMPLETED)
    node = client.delete(f"{NODES}/load/data").json()
    assert node["state"] == "ready" and not any(data.iterdir())
    chain.nodes.lock("load")
    error_of(client.delete(f"{NODES}/load/data"), 409, "read_only")
    error_of(client.delete(f"{NODES}/nope/data"), 404)


def test_removal_preview_names_what_would_be_lost_and_changes_nothing(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    (chain.nodes.path("clean") / "data" / "out.txt").write_text("x")
    before = snapshot(chain)
    preview = client.get(
        "/api/pipelines/baseline/removal-preview", params={"nodes": ["clean"]}
    ).json()
    [effect] = preview["effects"]
    assert (effect["tag"], effect["fate"], effect["has_outputs"]) == ("clean", "deleted", True)
    assert preview["disconnected"] == ["clean → plot"]
    assert snapshot(chain) == before
    error_of(client.get("/api/pipelines/baseline/removal-preview", params={"nodes": ["x"]}), 404)
    error_of(client.get("/api/pipelines/baseline/removal-preview"), 422)


def test_delete_nodes(client: TestClient, chain: nodepipe.Workspace) -> None:
    node_ids = ids(chain)
    report = client.delete(NODES, params={"nodes": ["plot", "clean"]}).json()
    assert set(report["deleted"]) == {node_ids["plot"], node_ids["clean"]}
    assert not (chain.root / "nodes" / node_ids["plot"]).exists()
    assert set(ids(chain)) == {"load"}


def test_delete_refusals_change_nothing(client: TestClient, chain: nodepipe.Workspace) -> None:
    chain.nodes.lock("clean")
    before = snapshot(chain)
    error_of(client.delete(NODES, params={"nodes": ["clean"]}), 409, "read_only")
    error_of(client.delete(NODES, params={"nodes": ["nope"]}), 404)
    error_of(client.delete(NODES), 422)
    assert snapshot(chain) == before


def test_references_are_read_only_where_referenced(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    chain.pipelines.new("other", project="climate")
    chain.node_copies.reference(["load"], "other", "baseline")
    before = snapshot(chain)
    message = error_of(
        client.patch("/api/pipelines/other/nodes/load", json={"notes": "x"}), 409, "read_only"
    )
    assert "reference" in message
    error_of(client.put("/api/pipelines/other/nodes/load/params", json={"yaml": "a: 1"}), 409)
    error_of(client.patch("/api/pipelines/other/nodes/load", json={"locked": True}), 409)
    assert snapshot(chain) == before
    graph = client.get("/api/pipelines/other").json()
    assert [n["reference"] for n in graph["nodes"]] == [True]


def test_deleting_a_library_node_in_use_is_refused_naming_its_users(
    client: TestClient, chain: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_OFFLINE", "1")
    lib = chain.nodes.new("baseline", "lib")
    local_project(chain.nodes.path(lib.id) / "code" / "mylib", "mylib", "0.1", "ANSWER = 1\n")
    chain.external.add_from_node("plot", "lib", "baseline")
    before = snapshot(chain)
    preview = client.get("/api/pipelines/baseline/removal-preview", params={"nodes": ["lib"]})
    message = error_of(preview, 409, "conflict")  # the web app's Delete shows it, asks nothing
    assert "'lib' is the library node of plot" in message
    hint = preview.json()["hint"]
    assert hint["action"] == "library.unlink"
    assert hint["params"] | {"user_id": ""} == {
        "library": "lib",
        "user": "plot",
        "user_id": "",
        "package": "mylib",
        "pipeline": "baseline",
    }
    error_of(client.delete(NODES, params={"nodes": ["lib"]}), 409, "conflict")
    assert snapshot(chain) == before
    assert client.delete(NODES, params={"nodes": ["lib", "plot"]}).status_code == 200  # both go
