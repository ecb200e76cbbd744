"""The API does what its OpenAPI document says (regressions of the fuzzing of issue 10, #11).

Each test here is a finding of the fuzzer, kept as an ordinary test: a 405 names every method
of the path, a body that cannot be read is a 422 and a huge one a 413 (never a 400 or a 500),
request schemas accept exactly what the validation accepts, uv failing because of what was
asked for is a 4xx, and every operation documents the statuses any route may answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of, ids
from integration.conftest import snapshot
from nodepipe.api.limits import MAX_BODY_BYTES
from nodepipe.api.routing import ALWAYS
from nodepipe.domain.names import name_pattern
from support.wheels import toy_index

JSON = {"content-type": "application/json"}


def test_a_405_names_every_method_of_the_path(client: TestClient) -> None:
    refused = client.put("/api/pipelines")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, POST"
    assert refused.json()["kind"] == "method_not_allowed"
    assert client.options("/api/pipelines/baseline").headers["allow"] == "DELETE, GET, PATCH"
    assert client.put("/api/pipelines/merges").headers["allow"] == "POST"  # the literal path
    error_of(client.put("/api/no-such-route"), 404, "not_found")


def test_a_body_that_cannot_be_read_is_malformed_input(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    before = snapshot(chain)
    for body in (b"\xff\xfe{", b"{", b"[" * 100_000 + b"]" * 100_000):
        error_of(client.post("/api/projects", content=body, headers=JSON), 422, "invalid_input")
    assert client.get("/api/health").status_code == 200
    assert snapshot(chain) == before


def _chunks(size: int) -> Iterator[bytes]:
    yield b'{"name": "'
    for _ in range(size // 65536 + 1):
        yield b"a" * 65536
    yield b'"}'


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    before = snapshot(chain)
    huge = b'{"name": "' + b"a" * MAX_BODY_BYTES + b'"}'
    error_of(client.post("/api/projects", content=huge, headers=JSON), 413, "too_large")
    streamed = client.post("/api/projects", content=_chunks(MAX_BODY_BYTES), headers=JSON)
    error_of(streamed, 413, "too_large")
    assert snapshot(chain) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/api/pipelines/baseline", {"locked": 0}),
        ("PATCH", "/api/pipelines/baseline", {"tag": 7}),
        ("POST", "/api/pipelines/baseline/copies", {"tag": "c", "with_data": 0}),
        ("POST", "/api/pipelines/baseline/plan", {"force": 0}),
        ("POST", "/api/pipelines/baseline/plan", {"jobs": "2"}),
        ("POST", "/api/pipelines/baseline/plan", {"jobs": 2.5}),
        ("POST", "/api/pipelines/baseline/plan", {"jobs": 10**30}),
        ("POST", "/api/pipelines/baseline/plan", {"executor": "slurm"}),
        ("POST", "/api/pipelines/baseline/copies", {"tag": "a/b"}),
        ("POST", "/api/pipelines/baseline/branches", {"from_node": "clean", "tag": " x"}),
        ("POST", "/api/shared-envs", {"name": "tools\u200b"}),
        (
            "POST",
            "/api/pipelines/baseline/edges",
            {"parent": "load", "child": "plot", "slot": "01\n"},
        ),
    ],
)
def test_what_the_schema_refuses_is_refused_at_once(
    client: TestClient, chain: nodepipe.Workspace, method: str, path: str, body: object
) -> None:
    """No coercion (``0`` is not ``false``), names checked before a background job starts."""
    before = snapshot(chain)
    error_of(client.request(method, path, json=body), 422, "invalid_input")
    assert snapshot(chain) == before


def test_parameters_with_a_control_character_are_malformed_yaml(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    """YAML refuses most control characters while it reads; that was a 500 (ReaderError)."""
    before = snapshot(chain)
    response = client.put("/api/pipelines/baseline/nodes/load/params", json={"yaml": "a: \x11"})
    assert "malformed YAML" in error_of(response, 422, "invalid_input")
    assert snapshot(chain) == before


def test_positions_must_be_finite(client: TestClient, chain: nodepipe.Workspace) -> None:
    load = ids(chain)["load"]
    body = b'{"positions": [{"node_id": "%s", "x": NaN, "y": 1}]}' % load.encode()
    error_of(client.put("/api/pipelines/baseline/positions", content=body, headers=JSON), 422)
    graph = client.get("/api/pipelines/baseline").json()
    assert all(node["x"] == node["x"] for node in graph["nodes"])  # no NaN stored


def test_what_the_schema_accepts_is_accepted(client: TestClient) -> None:
    """JSON Schema counts 2.0 as an integer; so does the API."""
    assert client.post("/api/pipelines/baseline/plan", json={"jobs": 2.0}).status_code == 200


def test_every_operation_documents_what_any_route_may_answer(client: TestClient) -> None:
    document = client.get("/api/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            documented = {int(status) for status in operation["responses"] if status.isdigit()}
            assert set(ALWAYS) <= documented, f"{method.upper()} {path}"
            error = operation["responses"]["422"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorPublic"}
    creating_a_node = document["paths"]["/api/pipelines/{pipeline}/nodes"]["post"]["responses"]
    assert "502" in creating_a_node  # uv runs during the request
    tag = document["components"]["schemas"]["NodeCreate"]["properties"]["tag"]
    assert tag["pattern"] == name_pattern() and re.fullmatch(tag["pattern"], "train-2")


@pytest.fixture
def wheels_gone(chain: nodepipe.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pipeline ``baseline`` gives all its nodes ``toypkg==1.0``; then its wheel is gone."""
    monkeypatch.setenv("UV_FIND_LINKS", str(toy_index(tmp_path / "wheels")))
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    chain.base_envs.add("baseline", ["toypkg==1.0"])
    (tmp_path / "no-wheels").mkdir()
    monkeypatch.setenv("UV_FIND_LINKS", str(tmp_path / "no-wheels"))


@pytest.mark.usefixtures("wheels_gone")
@pytest.mark.parametrize(
    ("network", "status", "kind", "named"),
    [
        (False, 422, "requirement_not_found", "toypkg"),
        (True, 503, "index_unreachable", "127.0.0.1:9"),
    ],
)
def test_uv_failing_says_whose_fault_it_is(
    client: TestClient,
    chain: nodepipe.Workspace,
    monkeypatch: pytest.MonkeyPatch,
    network: bool,
    status: int,
    kind: str,
    named: str,
) -> None:
    """Creating a node runs uv at once: a package that cannot be had is the request's fault
    (422, not 502); only an index out of reach (a closed port on loopback) is a 5xx. Nothing
    is created either way."""
    if network:
        monkeypatch.delenv("UV_OFFLINE")
        monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    before = snapshot(chain)
    response = client.post("/api/pipelines/baseline/nodes", json={"tag": "new"})
    assert named in error_of(response, status, kind)
    assert snapshot(chain) == before


def test_names_a_new_node_refers_to_are_names_in_the_schema(client: TestClient) -> None:
    """An empty template or shared environment is refused by the schema, not after it."""
    document = client.get("/api/openapi.json").json()
    create = document["components"]["schemas"]["NodeCreate"]["properties"]
    for field in ("template", "shared_env"):
        patterns = [choice.get("pattern") for choice in create[field]["anyOf"]]
        assert name_pattern() in patterns, field
    answer = client.post("/api/pipelines/baseline/nodes", json={"tag": "x", "shared_env": ""})
    assert error_of(answer, 422)
