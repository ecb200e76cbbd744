"""``/api/projects``: every route, and each refusal leaving the workspace unchanged."""

from __future__ import annotations

from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of
from integration.conftest import snapshot


def test_list_create_show_rename_annotate_delete(client: TestClient) -> None:
    names = [p["name"] for p in client.get("/api/projects").json()]
    assert names == sorted(names) or set(names) == {"default", "climate"}
    created = client.post("/api/projects", json={"name": "ocean", "notes": "waves"})
    assert created.status_code == 201
    project = created.json()
    assert project["name"] == "ocean" and project["notes"] == "waves"
    detail = client.get(f"/api/projects/{project['id']}").json()
    assert detail["project"]["name"] == "ocean" and detail["pipelines"] == []
    renamed = client.patch("/api/projects/ocean", json={"name": "sea", "notes": "tides"}).json()
    assert (renamed["name"], renamed["notes"]) == ("sea", "tides")
    assert client.delete("/api/projects/sea").status_code == 204
    assert "sea" not in [p["name"] for p in client.get("/api/projects").json()]


def test_project_detail_has_pipelines_and_lineage(client: TestClient, app: object) -> None:
    detail = client.get("/api/projects/climate").json()
    assert [p["tag"] for p in detail["pipelines"]] == ["baseline"]
    assert detail["lineage"] == []


def test_unknown_project_is_404_with_a_suggestion(client: TestClient) -> None:
    message = error_of(client.get("/api/projects/climat"), 404, "not_found")
    assert "did you mean 'climate'" in message
    error_of(client.patch("/api/projects/nope", json={"notes": "x"}), 404)
    error_of(client.delete("/api/projects/nope"), 404)


def test_refusals_change_nothing(client: TestClient, chain: nodepipe.Workspace) -> None:
    before = snapshot(chain)
    assert "already exists" in error_of(
        client.post("/api/projects", json={"name": "climate"}), 409, "conflict"
    )
    assert "slash" in error_of(client.post("/api/projects", json={"name": "a/b"}), 422)
    error_of(client.patch("/api/projects/default", json={"name": "climate"}), 409)
    message = error_of(client.delete("/api/projects/climate"), 409, "conflict")
    assert "still holds pipelines (baseline)" in message
    assert snapshot(chain) == before


def test_a_name_already_taken_names_the_field_it_was_given_in(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    """A pipeline's tag, a project's or a group's name that another one has: the 409 says
    which field of the body it is about, as a 422 does (a form says it beside that field)."""
    chain.pipelines.new("second", project="climate")
    chain.groups.new("baseline", "prep", ["clean"])
    chain.groups.new("baseline", "show", ["plot"])
    taken = [
        (client.post("/api/pipelines", json={"tag": "second"}), "tag"),
        (client.patch("/api/pipelines/baseline", json={"tag": "second"}), "tag"),
        (client.post("/api/projects", json={"name": "climate"}), "name"),
        (client.patch("/api/projects/default", json={"name": "climate"}), "name"),
        (client.patch("/api/pipelines/baseline/groups/prep", json={"name": "show"}), "name"),
    ]
    for answer, field in taken:
        message = error_of(answer, 409, "conflict")
        assert answer.json()["details"] == [{"loc": ["body", field], "msg": message}]
    # a conflict about no one field has no details
    assert "details" not in client.delete("/api/projects/climate").json()


def test_malformed_bodies_are_422_never_500(client: TestClient) -> None:
    error_of(client.post("/api/projects", json={}), 422, "invalid_input")
    error_of(client.post("/api/projects", json={"name": "x", "colour": "red"}), 422)
    error_of(client.post("/api/projects", content=b"{not json", headers=_json()), 422)
    error_of(client.post("/api/projects", json=["a list"]), 422)


def _json() -> dict[str, str]:
    return {"content-type": "application/json"}
