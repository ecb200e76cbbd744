"""Every hint is worded on every surface, and every exit code is in the one table and the README.

The CLI words an action as a command (``nodepipe.cli.hints``), the web app as its menu item
(``web/src/api/hints.ts``), the Python API as a call (``nodepipe.services.hints``): an action
only some of them word would leave users of the others with a bare refusal. The messages of the
layers below the surfaces name no CLI option or command: the web app and the Python API show
them as they are. The README's table of exit codes is the CLI's table, row for row.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest

from nodepipe.cli.errors import EXIT_CODES, exit_code_for
from nodepipe.cli.hints import COMMANDS, command_for
from nodepipe.domain.errors import (
    Action,
    Hint,
    NodeLaunchError,
    NodepipeError,
    ReadOnlyError,
    RequirementNotFoundError,
    UnresolvableRequirementsError,
)
from nodepipe.services.hints import CALLS, words_for

REPO = Path(__file__).resolve().parents[2]
WEB_HINTS = REPO / "web" / "src" / "api" / "hints.ts"


def web_menu_items() -> dict[str, str]:
    """The web table's entries: action id → the words of its menu item."""
    table = WEB_HINTS.read_text().split("MENU_ITEMS", 1)[1].split("\n};", 1)[0]
    return dict(re.findall(r'^\s*"([a-z_.]+)": \(\w*\) =>\s*(.+),$', table, re.MULTILINE))


@pytest.mark.parametrize("action", list(Action))
def test_every_action_is_worded_by_the_cli_and_the_web_app(action: Action) -> None:
    named = r"`(nodepipe|pip install|\{typed\}) "  # {typed}: the command the user typed
    assert re.search(named, COMMANDS[action]), "the CLI names a command"
    web = web_menu_items()
    assert action.value in web, f"web/src/api/hints.ts does not word {action.value}"
    assert "nodepipe" not in web[action.value], "the web app never tells its user to run a command"
    assert not re.search(r"command line|--[a-z]", web[action.value]), "nor to use the CLI"


def test_the_tables_word_no_action_that_does_not_exist() -> None:
    assert set(COMMANDS) == set(Action)
    assert set(web_menu_items()) == {action.value for action in Action}


SURFACES = ("cli/", "api/", "runtime/", "services/upkeep/")
"""Left out of the scan: the CLI and the web API word their own refusals; the node helper
speaks to node code; ``services.upkeep`` (doctor, backups, servers) is reached from the CLI
alone, and its refusals name the CLI's options on purpose, but for ``UPKEEP_FOR_ALL``."""
UPKEEP_FOR_ALL = (
    "services/upkeep/backup.py",  # ws.backup()
    "services/upkeep/servers.py",  # ws.servers
    "services/upkeep/crash_recovery.py",  # every run and status
)
"""The modules of ``services.upkeep`` the Python API reaches too: scanned like the others."""

CLI_WORDS = re.compile(r"(?:^|[\s(`])--[a-z]|`(?:nodepipe|env|node|pipeline|package|doctor) ")


def _called(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def test_messages_below_the_surfaces_name_no_cli_option_or_command() -> None:
    found = []
    source = REPO / "src" / "nodepipe"
    for path in sorted(source.rglob("*.py")):
        module = path.relative_to(source).as_posix()
        if module.startswith(SURFACES) and module not in UPKEEP_FOR_ALL:
            continue
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(call, ast.Call) and _called(call).endswith("Error")):
                continue
            for argument in [*call.args, *(keyword.value for keyword in call.keywords)]:
                found += [
                    f"{module}:{text.lineno}: {text.value!r}"
                    for text in ast.walk(argument)
                    if isinstance(text, ast.Constant)
                    and isinstance(text.value, str)
                    and CLI_WORDS.search(text.value)
                ]
    assert found == [], "say what must be true; the way to do it is a Hint each surface words"


def test_the_python_api_words_every_action_and_no_other() -> None:
    assert set(CALLS) == set(Action)
    for action in Action:
        assert words_for(Hint(action)), action  # a slot with no value reads as its name


def test_a_hint_becomes_a_call_with_python_literals() -> None:
    hint = Hint(Action.NODE_DETACH, {"node": "3fa9c2d1", "pipeline": "my 'runs'"})
    assert words_for(hint) == (
        "detach it with ws.node_copies.detach(['3fa9c2d1'], pipeline=\"my 'runs'\")"
    )


def test_a_hint_becomes_a_command_that_can_be_pasted() -> None:
    hint = Hint(Action.NODE_DETACH, {"node": "3fa9c2d1", "pipeline": "my runs"})
    sentence = command_for(hint)
    command = sentence.split("`")[1]
    assert shlex.split(command) == [
        "nodepipe", "node", "detach", "3fa9c2d1", "--pipeline", "my runs"
    ]  # fmt: skip


def test_a_hint_is_a_frozen_value() -> None:
    hint = Hint(Action.NODE_UNLOCK, {"node": "3fa9c2d1"})
    with pytest.raises(TypeError):
        hint.params["node"] = "other"  # type: ignore[index]
    assert hint == Hint(Action.NODE_UNLOCK, {"node": "3fa9c2d1"})


def test_exit_codes_come_from_the_one_table() -> None:
    codes = [row.code for row in EXIT_CODES]
    assert codes == sorted(set(codes)), "one row per code"
    assert {8, 130} <= set(codes), "a failed node and a cancelled run are in the table"
    assert exit_code_for(ReadOnlyError("x")) == 5  # more specific than ConflictError's 4
    assert exit_code_for(RequirementNotFoundError("x")) == 2  # not EnvironmentBuildError's 7
    assert exit_code_for(UnresolvableRequirementsError("x")) == 2
    assert exit_code_for(NodeLaunchError("x")) == 1
    assert exit_code_for(NodepipeError("x")) == 1


def test_the_readme_lists_every_exit_code_as_the_table_says() -> None:
    readme = (REPO / "README.md").read_text()
    section = (
        readme.split("Exit codes (`nodepipe.cli.errors`):", 1)[1].lstrip("\n").split("\n\n", 1)[0]
    )
    rows = re.findall(r"^\| `(\d+)` \| (.+) \|$", section, re.MULTILINE)
    assert rows == [(str(row.code), row.meaning) for row in EXIT_CODES]


def test_a_hint_repeating_the_typed_command_leaves_its_credentials_out() -> None:
    typed = [
        "package", "pull", "w.whl", "--index-url", "https://alice:s3cr3t@index.example/simple",
        "--extra=https://tok3n@other.example/simple", "--into", "q",
        "--index-url", "priv=https://bob:pa55@pkgs.example.com/simple",
        "--index-url=mine=https://carol:w0rd@pkgs.example.com/simple",
        "--index-url", "git+ssh://git:k3y@git.example/x.git",
    ]  # fmt: skip
    said = command_for(Hint(Action.TAG_DUPLICATE, {"tag": "x"}), typed)
    for secret in ("s3cr3t", "tok3n", "alice", "bob", "pa55", "carol", "w0rd", "k3y"):
        assert secret not in said, said
    command = shlex.split(said.split("`")[1])
    assert command[5:7] == ["https://index.example/simple", "--extra=https://other.example/simple"]
    assert command[9:14] == [
        "--index-url", "priv=https://pkgs.example.com/simple",
        "--index-url=mine=https://pkgs.example.com/simple",
        "--index-url", "git+ssh://git@git.example/x.git",
    ]  # fmt: skip


def test_a_run_hint_carries_the_options_asked_for_and_the_python_api_repeats_them() -> None:
    """Its words named ``RunRequest(PIPELINE)``: the selection and the options left out."""
    from nodepipe.services.runs.request_hints import request_params
    from nodepipe.services.runs.service import RunRequest

    asked = RunRequest(
        "p",
        from_=["load data", "b"],
        executor="ray",
        ray_address="ray://alice:s3cr3t@head:10001",
        shared_fs=False,
        storage="s3://key:s3cr3t@bucket/runs",
    )
    params = request_params(asked)
    assert "s3cr3t" not in str(params) and "alice" not in str(params)
    said = words_for(Hint(Action.RUN_STORAGE, {"pipeline": "p", **params}))
    assert said.startswith(
        "name one for this run with RunRequest('p', from_=['load data', 'b'], executor='ray', "
        "ray_address='ray://head:10001', shared_fs=False, storage=URL)"
    )
