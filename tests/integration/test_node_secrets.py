"""Node code gets no secrets: node processes inherit an allow-list of variables, never the
store URL (with its password), the web server's token or other credentials (issue 10, 5)."""

from __future__ import annotations

import json

import pytest

import nodepipe
from api.conftest import LOOPBACK, authorized, wait_runs
from integration.conftest import CliRunner
from nodepipe.api import create_app

DUMP_ENVIRONMENT = """\
import json, os
import nodepipe_node as node
(node.data_dir() / "env.json").write_text(json.dumps(dict(os.environ)))
"""

SECRETS = {
    "NODEPIPE_TOKEN": "server-token-123",
    "PGPASSWORD": "pg-password-456",
    "TWINE_PASSWORD": "index-password-789",
    "MY_OWN_SECRET": "not-asked-for",
}


def pass_env(ws: nodepipe.Workspace, node: str, value: str) -> None:
    """Write ``pass-env = VALUE`` under [tool.nodepipe], as a user would by hand."""
    pyproject = ws.nodes.path(node) / "code" / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(
        text.replace("[tool.nodepipe]\n", f"[tool.nodepipe]\npass-env = {value}\n")
    )


def seen_by(ws: nodepipe.Workspace, node: str) -> dict[str, str]:
    found: dict[str, str] = json.loads((ws.nodes.path(node) / "data" / "env.json").read_text())
    return found


@pytest.fixture
def leaky(chain: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch) -> nodepipe.Workspace:
    """The chain, each node dumping its environment, nodepipe holding secrets in its own."""
    for tag in ("load", "clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text(DUMP_ENVIRONMENT)
    store = chain.root / ".nodepipe" / "store.sqlite"
    monkeypatch.setenv("NODEPIPE_DB_URL", f"sqlite:///{store}")
    monkeypatch.setenv("WANDB_API_KEY", "wanted-by-plot")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return chain


def assert_no_secrets(environment: dict[str, str]) -> None:
    text = json.dumps(environment)
    for value in [*SECRETS.values(), "store.sqlite"]:
        assert value not in text
    assert "NODEPIPE_DB_URL" not in environment and "NODEPIPE_TOKEN" not in environment
    assert environment["NODEPIPE_NODE_ID"] and environment["PATH"]  # what the node needs


def test_a_cli_run_passes_no_secrets_to_node_code(
    leaky: nodepipe.Workspace, cli: CliRunner
) -> None:
    pass_env(leaky, "plot", '["WANDB_*", "AWS_REGION", "NODEPIPE_TOKEN", "PGPASSWORD"]')
    assert cli("run", "baseline").code == 0
    for tag in ("load", "clean", "plot"):
        assert_no_secrets(seen_by(leaky, tag))
    assert "WANDB_API_KEY" not in seen_by(leaky, "load")
    plot = seen_by(leaky, "plot")
    assert plot["WANDB_API_KEY"] == "wanted-by-plot" and plot["AWS_REGION"] == "eu-west-1"
    # The log says which of the names it asked for it does not get, and why.
    log = (leaky.nodes.path("plot") / "logs" / "latest.log").read_text()
    assert "not passed to the node although pass-env names NODEPIPE_TOKEN, PGPASSWORD:" in log
    assert "WANDB" not in log and "pass-env" not in cli("logs", "load").stdout


def test_a_run_started_from_the_web_app_passes_no_secrets(leaky: nodepipe.Workspace) -> None:
    app = create_app(leaky, LOOPBACK)
    with authorized(app) as client:
        assert client.post("/api/pipelines/baseline/runs", json={}).status_code == 202
        wait_runs(app)
    for tag in ("load", "clean", "plot"):
        assert_no_secrets(seen_by(leaky, tag))


def test_pass_env_must_name_variables(leaky: nodepipe.Workspace, cli: CliRunner) -> None:
    pass_env(leaky, "load", '["A B"]')
    result = cli("run", "baseline")
    assert result.code != 0 and "pass-env" in result.stdout + result.stderr
