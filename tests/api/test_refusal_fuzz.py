"""Hostile requests through every operation of the API, in process: no 5xx, and a refusal
(4xx) answers with nodepipe's error body and leaves the workspace as it was.

hypothesis drives it from the app's own OpenAPI document: for each operation (all but the
endless event stream) it draws path parameters (the seeded names, or hostile strings: unicode,
``..``, ``%2F``, a NUL, 5,000 characters), query values (the same, numbers too large for any
column, several values) and a body: one shaped by the operation's schema with hostile values
in it (wrong types, huge numbers, 1 MB strings, deep nesting, fields it does not have), or raw
bytes no JSON parser likes (100,000 levels of brackets, a 5,000-digit number, ``NaN``, not
UTF-8); an upload gets random bytes. Every answer is checked:

- never a 5xx (502/503 mean uv or the index, which the sandbox never reaches: also a failure);
- a 4xx is ``ErrorPublic`` (``kind`` and ``message``) and changed nothing: every row of the
  store and every file of the workspace (its path, size and modification time; environments
  and caches left out) are the same before and after;
- one request answers within ``REQUEST_SECONDS``.

A request that succeeds may start a background job or run; the test waits for it to end
before the next request, so a refusal is never blamed for a job's writes. What the API would
fetch or run outside the sandbox is pinned as in ``test_fuzz`` (folders to one empty folder,
interpreters to this Python, the Ray executor to local; uv offline against tiny wheels).

Each operation gets a fresh copy of the ``chain`` workspace and ``EXAMPLES`` examples
(derandomized by the ``ci`` profile: the same requests on every run). More, on demand::

    NODEPIPE_REFUSAL_EXAMPLES=200 HYPOTHESIS_PROFILE=long \
        .venv/bin/python -m pytest tests/api/test_refusal_fuzz.py
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

import nodepipe
from api.conftest import LOOPBACK, authorized, services
from api.fuzz_seeds import FOLDER_FIELDS, SEEDED
from nodepipe.api import create_app
from nodepipe.api.openapi import openapi_document
from nodepipe.domain.errors import NotFoundError
from nodepipe.schemas.errors import ErrorPublic
from support.refusal_fuzz import (
    HUGE_NUMBERS,
    differences,
    fuzz_settings,
    hostile_text,
    snapshot,
)
from support.waiting import wait_for
from support.wheels import toy_index

EXAMPLES = int(os.environ.get("NODEPIPE_REFUSAL_EXAMPLES", "12"))
REQUEST_SECONDS = 20.0
ENDLESS = {("GET", "/api/events")}
MEGABYTE = 1024 * 1024
QUERY_CHARS = 8000
"""A longer query is refused by the client before it is sent (bodies carry the megabytes)."""


def hostile_scalar() -> st.SearchStrategy[Any]:
    return st.one_of(
        hostile_text(),
        st.sampled_from(HUGE_NUMBERS),
        st.integers(),
        st.booleans(),
        st.none(),
        st.just("x" * MEGABYTE),
    )


def hostile_json() -> st.SearchStrategy[Any]:
    """Any JSON value, wrong types and deep-ish nesting included."""
    return st.recursive(
        hostile_scalar(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(hostile_text(), inner, max_size=4)
        ),
        max_leaves=12,
    )


RAW_BODIES = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b"1" + b"0" * 5000,
    b'{"x": 1' + b"0" * 5000 + b"}",
    b"NaN",
    b'{"x": NaN, "y": Infinity}',
    b"\xff\xfe\x00garbage",
    b"",
    b"{",
    b'"' + b"a" * MEGABYTE + b'"',
    b'{"name": "\\ud800"}',
]
"""Bodies no schema describes: parser limits, non-JSON, lone surrogates, not UTF-8."""


class Schemas:
    """The OpenAPI document's schemas, with ``$ref`` resolved."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.components: dict[str, Any] = document.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def value(self, schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
        """A value for ``schema``: mostly of its shape, sometimes hostile."""
        schema = self.resolve(schema)
        shaped = self._shaped(schema, depth)
        return st.one_of(shaped, shaped, shaped, hostile_json())

    def _shaped(self, schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        if "const" in schema:
            return st.just(schema["const"])
        choices = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
        if choices:
            return st.one_of([self.value(choice, depth) for choice in choices])
        kind = schema.get("type")
        if depth > 4:
            return hostile_scalar()
        if kind == "object" or "properties" in schema:
            return self._object(schema, depth)
        if kind == "array":
            return st.lists(self.value(schema.get("items", {}), depth + 1), max_size=4)
        if kind == "string":
            seeded = [name for names in SEEDED.values() for name in names]
            return st.one_of(st.sampled_from(seeded), hostile_text())
        if kind == "integer":
            return st.one_of(st.integers(-3, 100), st.sampled_from(HUGE_NUMBERS))
        if kind == "number":
            return st.one_of(st.floats(), st.integers(), st.sampled_from(HUGE_NUMBERS))
        if kind == "boolean":
            return st.booleans()
        return hostile_json()

    def _object(self, schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        properties: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", ()))
        fields = {
            name: self.value(sub, depth + 1) for name, sub in properties.items() if name in required
        }
        optional = {
            name: self.value(sub, depth + 1)
            for name, sub in properties.items()
            if name not in required
        }
        extra = st.dictionaries(
            st.sampled_from(["extra", "__proto__", "id", "$ref"]), hostile_json()
        )
        return st.builds(
            lambda known, unknown: {**unknown, **known},
            st.fixed_dictionaries(fields, optional=optional),
            st.one_of(st.just({}), st.just({}), extra),  # a field it does not have, a third
        )


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, items in document["paths"].items():
        for method, operation in items.items():
            if (method.upper(), path) not in ENDLESS:
                found.append((method.upper(), path, operation))
    return found


DOCUMENT = openapi_document()
OPERATIONS = operations(DOCUMENT)
SCHEMAS = Schemas(DOCUMENT)


ESCAPES = [
    "..",
    "../..",
    "../../../../../../a\x00b",
    "../../../../../../" + "a" * 300,
    "../../../../../../api/health",
    "..\\..\\nodepipe.toml",
]
"""Path parameters sent with their slashes: out of the route, out of ``/api`` (to a page
whose name holds a NUL or is longer than a file name may be), back into another route."""


def path_value(name: str) -> st.SearchStrategy[str]:
    """A path parameter: a seeded name, or a hostile string, as sent (quoted or not)."""
    seeded = st.sampled_from(SEEDED.get(name, ["x"]))
    hostile = hostile_text().filter(bool)
    raw = st.one_of(seeded, seeded, hostile)
    return st.one_of(
        raw.map(lambda text: quote(text, safe="")),
        raw.map(lambda text: quote(text, safe="/.")),
        st.sampled_from(ESCAPES).map(lambda text: quote(text, safe="/.")),
    )


def query_value(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    value = SCHEMAS.value(schema).filter(
        lambda v: isinstance(v, str | int | float | bool | list) and not isinstance(v, dict)
    )
    shaped = value.map(lambda v: v if not isinstance(v, list) else [str(x) for x in v[:3]])
    return st.one_of(
        shaped.filter(lambda v: len(str(v)) < QUERY_CHARS),
        hostile_text(),
        st.lists(hostile_text(), min_size=2, max_size=3),
    )


def request_of(
    method: str, path: str, operation: dict[str, Any], data: st.DataObject
) -> dict[str, Any]:
    """What to send: method, URL, query and body, drawn for ``operation``."""
    url = path
    query: dict[str, Any] = {}
    for parameter in operation.get("parameters", []):
        name, where = parameter["name"], parameter["in"]
        if where == "path":
            url = url.replace("{" + name + "}", data.draw(path_value(name), label=name))
        elif where == "query" and data.draw(st.booleans(), label=f"send {name}"):
            query[name] = data.draw(query_value(parameter.get("schema", {})), label=name)
    if data.draw(st.booleans(), label="unknown query"):
        query["unknown"] = data.draw(hostile_text(), label="unknown")
    request: dict[str, Any] = {"method": method, "url": url, "params": query}
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        schema = content["application/json"].get("schema", {})
        request["headers"] = {"Content-Type": "application/json"}
        if data.draw(st.integers(0, 4), label="raw body?") == 0:
            request["content"] = data.draw(st.sampled_from(RAW_BODIES), label="raw body")
        else:  # as Python writes JSON: infinity and NaN included
            body = pinned(data.draw(SCHEMAS.value(schema), label="body"))
            request["content"] = json.dumps(body).encode()
    elif "multipart/form-data" in content:
        request["files"] = {
            data.draw(st.sampled_from(["file", "archive", "x"]), label="part"): (
                data.draw(hostile_text(), label="filename"),
                data.draw(st.binary(max_size=2048), label="bytes"),
            )
        }
    return request


EMPTY = Path()
"""Set by the test: the one empty folder a body's folders name."""


def pinned(body: Any) -> Any:
    """Keep the request inside the sandbox (see the module's docstring)."""
    if isinstance(body, dict):
        for key in FOLDER_FIELDS:
            if isinstance(body.get(key), str):
                body[key] = str(EMPTY)
        if body.get("executor") == "ray":
            body["executor"] = "local"
        if isinstance(body.get("interpreter"), str):
            body["interpreter"] = sys.executable
    return body


def settle(client: TestClient, answer: Any) -> None:
    """Wait for what a successful request started (a job, a run) to end."""
    app = client.app
    found = services(app)  # type: ignore[arg-type]
    if answer.status_code == 202:
        try:
            job = answer.json().get("id")
        except ValueError:
            job = None
        if isinstance(job, str):
            with suppress(NotFoundError):  # a run's id, not a job's
                found.jobs.wait(job, 120)
    wait_for(lambda: found.launcher.active == 0, "the app's runs to end", 120)


def check(client: TestClient, root: Path, request: dict[str, Any]) -> None:
    before = snapshot(root)
    started = time.monotonic()
    answer = client.request(**request)
    took = time.monotonic() - started
    shown = {key: (repr(value)[:300]) for key, value in request.items()}
    assert answer.status_code < 500, (shown, answer.status_code, answer.text[:2000])
    assert took < REQUEST_SECONDS, (shown, f"took {took:.1f} s")
    if answer.status_code >= 400:
        assert answer.headers.get("content-type", "").startswith("application/json"), shown
        body = ErrorPublic.model_validate(answer.json())
        assert body.kind and body.message, (shown, answer.text[:500])
        changed = differences(before, snapshot(root))
        assert not changed, (shown, answer.status_code, answer.text[:500], changed[:10])
    else:
        settle(client, answer)


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """uv offline against tiny wheels, Jupyter kernels under the test, one empty folder."""
    monkeypatch.setenv("UV_FIND_LINKS", str(toy_index(tmp_path / "wheels")))
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    monkeypatch.setattr(sys.modules[__name__], "EMPTY", empty)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return empty


@pytest.fixture
def served(
    chain_template: Path, tmp_path: Path, sandbox: Path
) -> Iterator[tuple[TestClient, Path]]:
    root = tmp_path / "lab"
    shutil.copytree(chain_template, root, symlinks=True)
    static = tmp_path / "static"  # a built web app, whether or not this checkout has one
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text("<div id=root></div>")
    ws = nodepipe.open(root)
    try:
        with authorized(create_app(ws, LOOPBACK, static_dir=static)) as client:
            yield client, root
    finally:
        ws.close()


@pytest.mark.filterwarnings("ignore:Generating overly large repr")  # the 1 MB strings
@pytest.mark.parametrize(
    ("method", "path"),
    [(method, path) for method, path, _ in OPERATIONS],
    ids=[f"{method} {path}" for method, path, _ in OPERATIONS],
)
def test_hostile_requests_are_refused_cleanly(
    served: tuple[TestClient, Path], method: str, path: str
) -> None:
    client, root = served
    operation = next(op for m, p, op in OPERATIONS if (m, p) == (method, path))

    @fuzz_settings(EXAMPLES)
    @given(st.data())
    def hostile(data: st.DataObject) -> None:
        check(client, root, request_of(method, path, operation, data))

    hostile()
