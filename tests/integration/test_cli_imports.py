"""What a CLI command imports before it does anything: its module budget.

Every ``nodepipe`` process pays for the modules it imports (SQLAlchemy alone was half of a
read command's start-up), so ``--help`` imports no command module and no heavy library, and a
read command on the embedded store imports only what reading needs: its queries go through
``sqlite3`` (``store.light_read``), ``nodepipe.toml`` and ``pyproject.toml`` through
``tomllib``, its listing is drawn without rich (``cli.listing``); so not SQLAlchemy, Alembic,
asyncio, PyYAML, tomlkit nor rich, not the bundle machinery, not the web app's libraries. The
budgets are module counts, not times; measure times with
``python -m tests.bench.bench_startup``.

Each dataclass a command imports costs its start about 0.6 ms (4 M instructions: Python
compiles its six generated methods), and 0.1 ms more without a docstring (one is made from its
signature): so the dataclasses of nodepipe's modules a command imports also have a budget, and
each has its own docstring. Records nothing compares or prints are plain ``__slots__`` classes.
"""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

import nodepipe
from nodepipe.cli.app import COMMANDS, app
from nodepipe.services import resolver
from nodepipe.services.runs.service import RunRequest

PROBE = """
import json, sys
from nodepipe.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
made = {  # nodepipe's dataclasses: whether each has its own docstring
    f"{module.__name__}.{name}": not (value.__doc__ or "").startswith(name + "(")
    for module in list(sys.modules.values())
    if getattr(module, "__name__", "").startswith("nodepipe")
    for name, value in list(vars(module).items())
    if isinstance(value, type)
    and value.__module__ == module.__name__
    and "__dataclass_fields__" in vars(value)
}
print(json.dumps(made))
print(json.dumps(sorted(sys.modules)))
"""

# Never imported by --help (the root help is printed from the command table).
HEAVY = (
    "sqlalchemy",
    "asyncio",
    "rich",
    "yaml",
    "tomlkit",
    "pydantic",
    "packaging",
    "fsspec",
    "nodepipe.services.workspace",
    "nodepipe.cli.runs",
)
# Never imported by a read command: the SQL toolkit, the editing and display libraries, the
# web app's libraries, bundles, building environments.
NOT_FOR_READING = (
    "sqlalchemy",
    "alembic",
    "asyncio",
    "yaml",
    "tomlkit",
    "rich",
    "pydantic",
    "fastapi",
    "uvicorn",
    "fsspec",
    "packaging",
    "psycopg",
    "aiosqlite",
    "nodepipe.bundles",
    "nodepipe.services.bundles",
    "nodepipe.services.graph.node_copies",
    "importlib.resources",  # (and zipfile through it) the templates of a new node only
    "zipfile",
    "secrets",  # (and random, hmac, base64) only what makes ids
    "socket",
    "nodepipe.domain.events",  # what only a run that runs something needs
    "nodepipe.services.runs.claims",
    "nodepipe.workspace.output_swap",
    "nodepipe.envs.conda",  # what syncs or checks an environment
)
SQL_TOOLKIT = ("sqlalchemy", "alembic", "asyncio", "aiosqlite", "psycopg")
# Read commands that do not yet avoid every library above: the listings still draw with rich
# and read pipeline settings with tomlkit; node commands import the environment services
# (PyYAML, tomlkit, packaging through them). Their budgets hold what they import today.
LISTING_BUDGET = 380  # project list 263, pipeline list / show 369, logs 277 today (457, 525,
# 514, 465 before)
NODE_BUDGET = 290  # node list / path: 284 today (330 while they imported node restore's
# environment services and PyYAML; 474 before, 91 of them SQLAlchemy)
HELP_BUDGET = 130  # modules in all (the interpreter's own start-up included): 126 today
STATUS_BUDGET = 235  # 235 (a no-change run) today, each with the workspace's
# ownership check (one module, os and stat only), domain.toml_limits (TOML read without
# exhausting the stack: tomllib only), workspace.regular_files (no read waits on a named
# pipe: os and stat) and workspace.direct_references (`NAME @ file:///…` requirements as
# external code), store.graph_journal (a run plans again when another command changed its
# graph meanwhile: the journal's mark is read with the status); 525 with SQLAlchemy
RUN_BUDGET = 302  # a first full run of a small pipeline: 302 today with the ownership check,
# toml_limits, regular_files, direct_references, graph_journal and execution.warm_start
# (secrets, random, hmac, base64 no more),
# 310 with importlib.resources
STATUS_DATACLASSES = 32  # nodepipe's dataclasses: 30 (status) and 31 (no-change run), 65 before
RUN_DATACLASSES = 43  # those a first full run imports: 42 today, 64 before the run's records,
# plan, context and service holders became plain classes, 71 before


def imported(*args: str) -> list[str]:
    return probe(*args)[1]


def probe(*args: str) -> tuple[dict[str, bool], list[str]]:
    """What a command imports: nodepipe's dataclasses (whether each has a docstring of its
    own), and all modules."""
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    lines = completed.stdout.splitlines()
    return json.loads(lines[-2]), json.loads(lines[-1])


def loaded(modules: list[str], package: str) -> bool:
    return any(name == package or name.startswith(package + ".") for name in modules)


def test_help_imports_no_command_and_no_heavy_library() -> None:
    modules = imported("--help")
    assert [name for name in HEAVY if loaded(modules, name)] == []
    assert len(modules) <= HELP_BUDGET, f"--help imports {len(modules)} modules"


def test_status_and_a_no_change_run_import_only_what_reading_needs(
    chain: nodepipe.Workspace,
) -> None:
    chain.runs.run(RunRequest("baseline"))
    for command in (["status", "baseline"], ["run", "baseline"]):
        made, modules = probe("-w", str(chain.root), *command)
        assert "nodepipe.services.runs.service" in modules, "the probe ran the command"
        assert [name for name in NOT_FOR_READING if loaded(modules, name)] == []
        assert len(modules) <= STATUS_BUDGET, f"{command} imports {len(modules)} modules"
        assert len(made) <= STATUS_DATACLASSES, f"{command} makes {len(made)} dataclasses"
        assert [name for name, documented in made.items() if not documented] == []


def test_connect_and_disconnect_import_only_what_reading_needs(
    chain: nodepipe.Workspace,
) -> None:
    """An edge edit on the embedded store is written through sqlite3 (``store.light_edges``):
    it costs the start of a read command, whatever the pipeline's size."""
    for command in (
        ["connect", "load", "plot", "-p", "baseline"],
        ["disconnect", "load", "plot", "-p", "baseline"],
    ):
        made, modules = probe("-w", str(chain.root), *command)
        assert "nodepipe.services.graph.edges" in modules, "the probe ran the command"
        assert [name for name in NOT_FOR_READING if loaded(modules, name)] == []
        assert len(modules) <= STATUS_BUDGET, f"{command} imports {len(modules)} modules"
        assert len(made) <= STATUS_DATACLASSES, f"{command} makes {len(made)} dataclasses"
        assert [name for name, documented in made.items() if not documented] == []
    with chain.context.store.light_read() as session:
        baseline = resolver.pipeline(session, "baseline")
        plot = resolver.node(session, "plot", baseline)
        assert [
            e.slot for e in session.edges_of_pipeline(baseline.id) if e.child_id == plot.id
        ] == ["01"], "the connect was made and the disconnect undid it"


@pytest.mark.parametrize(
    ("command", "budget"),
    [
        (["project", "list"], LISTING_BUDGET),
        (["pipeline", "list"], LISTING_BUDGET),
        (["pipeline", "show", "baseline"], LISTING_BUDGET),
        (["node", "list", "-p", "baseline"], NODE_BUDGET),
        (["node", "path", "plot"], NODE_BUDGET),
        (["runs", "baseline"], STATUS_BUDGET),
        (["logs", "plot"], LISTING_BUDGET),
    ],
)
def test_the_plain_read_commands_import_no_sql_toolkit(
    chain: nodepipe.Workspace, command: list[str], budget: int
) -> None:
    """Their queries go through sqlite3 (``Store.light_read()``), as ``status``'s."""
    chain.runs.run(RunRequest("baseline"))  # a log to show
    modules = imported("-w", str(chain.root), *command)
    assert "nodepipe.services.workspace" in modules, "the probe ran the command"
    assert [name for name in SQL_TOOLKIT if loaded(modules, name)] == []
    assert len(modules) <= budget, f"{command} imports {len(modules)} modules"


def test_a_run_on_the_embedded_store_imports_no_sql_toolkit(chain: nodepipe.Workspace) -> None:
    """A run's claim and progress are written through sqlite3; piped, it draws no live line."""
    made, modules = probe("-w", str(chain.root), "run", "baseline", "--force")
    assert "nodepipe.execution.runner" in modules, "the probe ran the nodes"
    heavy = ("sqlalchemy", "alembic", "asyncio", "rich", "pydantic", "zipfile", "py_compile")
    heavy += ("socket",)  # the host's name comes from os.uname()
    heavy += ("secrets", "random")  # ids are drawn from os.urandom
    assert [name for name in heavy if loaded(modules, name)] == []
    assert len(modules) <= RUN_BUDGET, f"run --force imports {len(modules)} modules"
    assert len(made) <= RUN_DATACLASSES, f"run --force makes {len(made)} dataclasses"
    assert [name for name, documented in made.items() if not documented] == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_root_help_summary_is_the_commands_own(name: str) -> None:
    """The table's summaries (printed without importing the commands) match each command."""
    context = click.Context(app)
    command = app.get_command(context, name)
    assert command is not None
    summary = click.Command(name, help=COMMANDS[name].summary).get_short_help_str(200)
    assert command.get_short_help_str(200) == summary


def test_version_imports_no_command_and_no_heavy_library() -> None:
    """``--version`` reads the installed distribution's metadata, and nothing else."""
    modules = imported("--version")
    assert "importlib.metadata" in modules, "the probe printed the version"
    assert [name for name in HEAVY if loaded(modules, name)] == []
    commands = {lazy.target.split(":")[0] for lazy in COMMANDS.values()}
    assert [name for name in commands if name in modules] == ["nodepipe.cli.version"]
