"""API fuzzing: schemathesis against the OpenAPI document of a real server (issue 10, finding 11).

Every operation of ``/api/openapi.json`` but the endless event stream (``GET /api/events``,
covered by the stream tests) is fuzzed over HTTP on loopback by schemathesis's engine, with
the token on every request, and every answer is checked: no 5xx at all, the status
is one the operation documents, the body matches the documented schema, the content type is the
documented one, schema-violating requests are refused and schema-valid ones are not refused as
malformed, and a method an operation does not have gets 405 with an ``Allow`` header naming
exactly the methods it has. The assertion message lists each distinct failure with a ``curl``
line to reproduce it, and the number of requests made (also printed).

**Destructive operations cannot starve the run: the workspace is re-seeded per operation.**
Each operation gets a fresh copy of the ``chain`` workspace (pipeline ``baseline`` in project
``climate``: load → clean → plot) and a fresh server over it, so a ``DELETE`` or a rename that
succeeds takes nothing away from the operations after it, and the background jobs it started
end with its server. Path parameters are the seeded names most of the time (``baseline``,
``load``...) and generated strings otherwise, so most requests reach the use cases behind the
route rather than stopping at a 404.

Three kinds of values are pinned in what is sent, because the fuzzer must not act outside its
sandbox: folders named by ``path``, ``snapshot`` and ``shared`` (a folder is copied or built)
become one empty folder of the test's own (which the server may use, so the request goes as
far as it can), an ``interpreter`` (a file the node would run as its Python) is the test's own
Python, and a run asking for the ``ray`` executor runs locally (a Ray cluster per
example would dwarf the test). uv works offline against a folder of tiny wheels, so no
request reaches the network.

The run is repeatable: a fixed seed and derandomized generation. By default it makes a few
thousand requests in two to three minutes. A longer run, on demand::

    NODEPIPE_FUZZ_EXAMPLES=200 NODEPIPE_FUZZ_SEED=7 \
        .venv/bin/python -m pytest tests/api/test_fuzz.py -s

``NODEPIPE_FUZZ_PHASES`` (default ``coverage,fuzzing``) may add ``examples``. One request
waits at most ``REQUEST_TIMEOUT`` seconds; a request that takes longer is a failure.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.engine import events, from_schema
from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER
from schemathesis.openapi.checks import RejectedPositiveData

import nodepipe
from api.fuzz_seeds import FOLDER_FIELDS, SEEDED
from api.live import server_thread
from support.wheels import toy_index

TOKEN = "fuzz-token-for-tests"
AUTH = {"X-Nodepipe-Token": TOKEN}
EXAMPLES = int(os.environ.get("NODEPIPE_FUZZ_EXAMPLES", "8"))
SEED = int(os.environ.get("NODEPIPE_FUZZ_SEED", "20261202"))
PHASES = os.environ.get("NODEPIPE_FUZZ_PHASES", "coverage,fuzzing").split(",")
REQUEST_TIMEOUT = 30.0
ALL_PHASES = ("examples", "coverage", "fuzzing", "stateful")
"""Stateful runs need links between operations, which a run of one operation does not have."""

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
)
ENV = "/api/pipelines/{pipeline}/nodes/{node}/environment"
OTHER_LANGUAGES: dict[str, str | tuple[str, ...]] = {
    "PUT /api/pipelines/{pipeline}/nodes/{node}/params": "YAML",
    f"POST {ENV}/packages": "invalid requirement",
    "POST /api/pipelines/{pipeline}/base-packages": "invalid requirement",
    "POST /api/shared-envs": "invalid requirement",
    "POST /api/shared-envs/{name}/packages": "invalid requirement",
    f"DELETE {ENV}/packages": "invalid package name",
    "DELETE /api/pipelines/{pipeline}/base-packages": "invalid package name",
    "DELETE /api/shared-envs/{name}/packages": "invalid package name",
    f"POST {ENV}/conda/packages": "not a conda package spec",
    f"DELETE {ENV}/conda/packages": "not a conda package spec",
    f"POST {ENV}/import": "not a file nodepipe can import",
    f"PUT {ENV}/python": ("expected a Python version request", "nodepipe never downloads"),
    "POST /api/bundles": "not a zip archive",
    "POST /api/packages/upload": '"action":"package.upload"',
    "POST /api/packages/inputs": (
        "is not a package file, a URL or a requirement",
        "is a file on the server",
        "a package or version asked for does not exist",
        "does not name a wheel (.whl) or an sdist",
        "is not an http(s) URL: give one",
    ),
    "POST /api/pipelines/{pipeline}/nodes/{node}/package": (
        "is not a valid package name",
        "cannot be a Python package name",
        "is not a package version (PEP 440",
    ),
}
"""Operations whose strings hold text in another language, which JSON Schema does not describe
(YAML parameters, PEP 508 requirements, package names, conda specs, requirements and
environment files, package sources, names and versions, Python version requests): a
schema-valid string that is not valid in its language is refused with 422 and a message naming
the language (one of the messages given); likewise an uploaded file whose bytes are not a zip
archive, or not a wheel or sdist of a nodepipe package (refused with the hint to choose another
file), a package source naming nothing an index has, and a Python version no interpreter
installed here answers (refused before a job starts). That refusal, and no other, is
expected."""
ENDLESS = "GET /api/events"


def fuzz_config(url: str) -> schemathesis.Config:
    """The run's settings, for the server at ``url``."""
    phases = {name: {"enabled": name in PHASES} for name in ALL_PHASES}
    return schemathesis.Config.from_dict(
        {
            "base-url": url,
            "seed": SEED,
            "workers": 1,
            "headers": AUTH,
            "request-timeout": REQUEST_TIMEOUT,
            "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
            "phases": phases,
            "checks": {name: {"enabled": name in CHECKS} for name in _ALL_CHECKS},
            "dictionaries": {name: {"values": values} for name, values in SEEDED.items()},
            "parameters": {
                f"path.{name}": {"dictionary": name, "probability": 0.8} for name in SEEDED
            },
        }
    )


_ALL_CHECKS = (
    *CHECKS,
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
)


@dataclass
class Findings:
    """What the run saw: requests made, and each distinct failure once."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def record(self, operation: str, check: str, title: str, detail: str) -> None:
        self.failures.setdefault((operation, check, title), detail)

    def report(self) -> str:
        lines = [f"{len(self.failures)} distinct failures in {self.requests} requests"]
        for (operation, check, title), detail in sorted(self.failures.items()):
            lines.append(f"- {operation}: {check}: {title}\n    {detail}")
        return "\n".join(lines)


@contextmanager
def pinned_hazards(sandbox: Path) -> Iterator[None]:
    """Keep the fuzzer's requests inside its sandbox (see above), in every phase.

    ``before_call`` exists only as a process-wide hook: it is removed again on the way out.
    """
    empty = sandbox / "empty-folder"
    empty.mkdir()

    def pin(_: Any, case: Any, kwargs: dict[str, Any]) -> None:
        if not isinstance(case.body, dict):
            return
        for key in FOLDER_FIELDS:
            if isinstance(case.body.get(key), str):
                case.body[key] = str(empty)
        if case.body.get("executor") == "ray":
            case.body["executor"] = "local"
        if isinstance(case.body.get("interpreter"), str):  # a path it would run as Python
            case.body["interpreter"] = sys.executable

    schemathesis.hook("before_call")(pin)
    try:
        yield
    finally:
        GLOBAL_HOOK_DISPATCHER.unregister(pin)


def _expected(_: Any, failure: Any, case: Any, response: Any) -> bool:
    """A ``filter_failure`` hook: False drops the one expected kind of failure (see above)."""
    language = OTHER_LANGUAGES.get(case.operation.label, ())
    said = (language,) if isinstance(language, str) else language
    refused_in_its_language = (
        isinstance(failure, RejectedPositiveData)
        and response.status_code == 422
        and any(words in response.text for words in said)
    )
    return not refused_in_its_language


def _counter(findings: Findings) -> Any:
    def count(_: Any, case: Any, response: Any) -> None:
        findings.requests += 1
        findings.statuses[response.status_code] += 1
        if response.status_code == 401:
            findings.record(case.operation.label, "token", "the token was refused", "")

    return count


def _collect(findings: Findings, event: events.EngineEvent) -> None:
    if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
        recorder = event.recorder
        for checks in recorder.checks.values():
            for check in checks:
                info = check.failure_info
                if check.status.value != "failure" or info is None:
                    continue
                failure = info.failure
                message = failure.message.strip().splitlines()[0] if failure.message else ""
                findings.record(
                    recorder.label, check.name, failure.title, f"{message}\n    {info.code_sample}"
                )
    elif isinstance(event, events.NonFatalError):
        findings.record(event.label, "error", type(event.value).__name__, str(event.value))
    elif isinstance(event, events.FatalError):
        findings.record("engine", "fatal", type(event.exception).__name__, str(event.exception))


def fuzz_operation(document: dict[str, Any], url: str, label: str, findings: Findings) -> None:
    """Run schemathesis's engine on one operation (``METHOD /path``) of the server at ``url``."""
    schema = schemathesis.openapi.from_dict(document, config=fuzz_config(url))
    schema.hook("after_call")(_counter(findings))
    schema.hook("filter_failure")(_expected)
    method, path = label.split(" ", 1)
    for event in from_schema(schema.include(method=method, path=path)).execute():
        _collect(findings, event)


def api_document(url: str) -> dict[str, Any]:
    """The OpenAPI document, read once: every server of the run serves the same one."""
    answer = httpx.get(f"{url}/api/openapi.json", headers=AUTH, timeout=30)
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


def operation_labels(document: dict[str, Any]) -> list[str]:
    """``METHOD /path`` of every operation but the endless event stream (see above)."""
    schema = schemathesis.openapi.from_dict(document)
    labels = [result.ok().label for result in schema.get_all_operations()]
    return [label for label in labels if label != ENDLESS]


@pytest.fixture
def offline_uv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """uv finds packages only in a folder of tiny wheels; Jupyter kernels go to the test dir."""
    monkeypatch.setenv("UV_FIND_LINKS", str(toy_index(tmp_path / "wheels")))
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    (tmp_path / "sandbox").mkdir()
    monkeypatch.chdir(tmp_path / "sandbox")  # a relative or empty folder names an empty one


@contextmanager
def seeded_server(template: Path, root: Path) -> Iterator[str]:
    """A fresh copy of the seeded workspace at ``root``, served; yields the base URL."""
    shutil.copytree(template, root, symlinks=True)
    with nodepipe.open(root) as ws, server_thread(ws, token=TOKEN) as live:
        yield live.url
    shutil.rmtree(root)


@pytest.mark.usefixtures("offline_uv")
def test_fuzzing_the_api_finds_nothing(chain_template: Path, tmp_path: Path) -> None:
    findings = Findings()
    with seeded_server(chain_template, tmp_path / "ws") as url:
        document = api_document(url)
    labels = operation_labels(document)
    with pinned_hazards(tmp_path / "sandbox"):
        for index, label in enumerate(labels):
            with seeded_server(chain_template, tmp_path / f"ws{index}") as url:
                fuzz_operation(document, url, label, findings)
    print(f"\nAPI fuzzing: {findings.requests} requests over {len(labels)} operations")
    print(f"statuses: {dict(sorted(findings.statuses.items()))}")
    assert findings.requests > 10 * len(labels), findings.report()
    assert not findings.failures, findings.report()
