"""``nodepipe node params NODE --set/--unset`` keep params.yaml as the user wrote it (README:
"saved as typed, comments kept"): its comments, blank lines, order of keys and untouched
lines; a layout that cannot be edited line by line is written anew, values right, and the
command says so."""

from __future__ import annotations

from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from nodepipe import NodeState
from nodepipe.domain.params import parse_params

WRITTEN_ANEW = "params.yaml was written anew, without its comments and layout"

COMMENTED = """\
# my header
# second header line

b: 2  # keep me
lr: 0.01   # learning rate

# the model
model:  # sizes
  depth: 3  # layers
  width: 64
columns: [a, b]  # read these
# the end
"""


@pytest.fixture
def params_file(chain: nodepipe.Workspace) -> Path:
    """``clean``'s params.yaml holding ``COMMENTED``; ``clean`` completed."""
    path = chain.nodes.path("clean") / "code" / "params.yaml"
    path.write_text(COMMENTED)
    chain.nodes.mark("clean", NodeState.COMPLETED)
    return path


def params(cli: CliRunner, *args: str) -> str:
    """``node params clean ARGS`` (it succeeds); what it says on stderr."""
    changed = cli("node", "params", "clean", *args)
    assert changed.code == 0, changed.stderr
    return changed.stderr


def test_setting_a_key_keeps_every_other_line_and_its_own_comment(
    chain: nodepipe.Workspace, cli: CliRunner, params_file: Path
) -> None:
    assert params(cli, "--set", "b=5", "--set", "columns=[c]") == ""
    assert params_file.read_text() == COMMENTED.replace("b: 2  #", "b: 5  #").replace(
        "columns: [a, b]  #", "columns: [c]  #"
    )
    clean = chain.nodes.find("clean")  # as the edit recorded it
    assert clean.state is NodeState.STALE and clean.state_reason == "parameter b, columns changed"


def test_a_new_key_goes_at_the_end_and_the_templates_header_stays(
    chain: nodepipe.Workspace, cli: CliRunner, params_file: Path
) -> None:
    assert params(cli, "--set", "a=1") == ""
    assert params_file.read_text() == COMMENTED + "a: 1\n"

    template = chain.nodes.path("load") / "code" / "params.yaml"  # a new node's, as made
    header = template.read_text()
    assert header.startswith("# ") and header.endswith("{}\n")
    assert cli("node", "params", "load", "--set", "seed=7", "--set", "n=[1, 2]").code == 0
    assert template.read_text() == header.removesuffix("{}\n") + "seed: 7\nn:\n- 1\n- 2\n"


def test_unsetting_a_key_takes_its_lines_and_comment_only(
    cli: CliRunner, params_file: Path
) -> None:
    """Comment lines above a key stay (a section's header or the file's look the same as the
    key's own); the key's lines and the comment on them go."""
    assert params(cli, "--unset", "lr", "--unset", "model") == ""
    assert params_file.read_text() == (
        "# my header\n# second header line\n\nb: 2  # keep me\n\n"
        "# the model\ncolumns: [a, b]  # read these\n# the end\n"
    )
    params_file.write_text("# header\nb: 2\n# -- training --\nlr: 1\nc: 3\n")
    assert params(cli, "--unset", "lr", "--unset", "b") == ""
    assert params_file.read_text() == "# header\n# -- training --\nc: 3\n"


def test_a_file_of_mixed_line_endings_is_written_with_lf(cli: CliRunner, params_file: Path) -> None:
    params_file.write_bytes(b"a: 1\nb: 2\r\nc: 3\r\n")
    assert params(cli, "--set", "a=5") == ""
    assert params_file.read_bytes() == b"a: 5\nb: 2\nc: 3\n"
    params_file.write_bytes(b"a: 1\r\nb: 2\r\n")
    assert params(cli, "--set", "a=5") == ""
    assert params_file.read_bytes() == b"a: 5\r\nb: 2\r\n"


def test_a_value_of_another_type_is_a_change(
    chain: nodepipe.Workspace, cli: CliRunner, params_file: Path
) -> None:
    """``1``, ``1.0`` and ``true`` are equal in Python, not as parameters."""
    params_file.write_text("lr: 1  # rate\nflag: true\n")
    assert params(cli, "--set", "lr=1.0", "--set", "flag=1") == ""
    assert params_file.read_text() == "lr: 1.0  # rate\nflag: 1\n"
    found = chain.nodes.params("clean")
    assert (type(found["lr"]), type(found["flag"])) == (float, int)
    clean = chain.nodes.find("clean")  # as the edit recorded it
    assert clean.state is NodeState.STALE and clean.state_reason == "parameter flag, lr changed"


def test_a_file_with_crlf_line_endings_keeps_them(cli: CliRunner, params_file: Path) -> None:
    params_file.write_bytes(COMMENTED.replace("\n", "\r\n").encode())
    assert params(cli, "--set", "b=5", "--set", "new=1", "--unset", "lr") == ""
    expected = COMMENTED.replace("b: 2  #", "b: 5  #").replace("lr: 0.01   # learning rate\n", "")
    assert params_file.read_bytes() == (expected + "new: 1\n").replace("\n", "\r\n").encode()
    params_file.write_bytes(b"{a: 1}\r\n")  # written anew: still CRLF
    assert WRITTEN_ANEW in " ".join(params(cli, "--set", "c=3").split())
    assert params_file.read_bytes() == b"a: 1\r\nc: 3\r\n"


def test_a_document_end_marker_is_named_when_the_file_is_written_anew(
    chain: nodepipe.Workspace, cli: CliRunner, params_file: Path
) -> None:
    params_file.write_text("a: 1  # one\n...\n")
    said = " ".join(params(cli, "--set", "c=3").split())
    assert said.startswith(f"warning: {WRITTEN_ANEW}: it holds a YAML document marker"), said
    assert "'...'" in said and "flow" not in said
    assert chain.nodes.params("clean") == {"a": 1, "c": 3}


def test_a_nested_value_or_a_dotted_name_keeps_the_comments_around(
    chain: nodepipe.Workspace, cli: CliRunner, params_file: Path
) -> None:
    """``a.b=1`` names a top-level parameter ``a.b``, as before: there are no nested names."""
    assert params(cli, "--set", "model={depth: 4, width: 64}", "--set", "model.depth=5") == ""
    assert (
        params_file.read_text()
        == COMMENTED.replace(
            "model:  # sizes\n  depth: 3  # layers\n  width: 64\n",
            "model:  # sizes\n  depth: 4\n  width: 64\n",
        )
        + "model.depth: 5\n"
    )
    assert chain.nodes.params("clean")["model"] == {"depth": 4, "width": 64}
    assert chain.nodes.params("clean")["model.depth"] == 5


@pytest.mark.parametrize(
    ("text", "args", "values"),
    [
        ("# flow\n{a: 1}\n", ["--set", "c=3"], {"a": 1, "c": 3}),
        ("doc: |\n  one\n  two\nb: 1  # kept?\n", ["--set", "doc=short"], {"doc": "short", "b": 1}),
        ("base: &b 1  # anchor\nother: *b\n", ["--set", "base=2"], {"base": 2, "other": 1}),
        ("base: &b [1]\nother: *b\n", ["--unset", "base"], {"other": [1]}),
        ("a: 1  # first\na: 2  # twice\n", ["--set", "a=3"], {"a": 3}),
    ],
    ids=["flow-mapping", "block-scalar", "anchor", "anchor-unset", "key-twice"],
)
def test_a_layout_that_lines_cannot_edit_is_written_anew_and_said(
    chain: nodepipe.Workspace,
    cli: CliRunner,
    params_file: Path,
    text: str,
    args: list[str],
    values: dict[str, object],
) -> None:
    params_file.write_text(text)
    said = " ".join(params(cli, *args).split())
    assert said.startswith(f"warning: {WRITTEN_ANEW}")
    assert parse_params(params_file.read_text()) == values
    assert chain.nodes.params("clean") == values


def test_an_untouched_exotic_value_stays_as_written(cli: CliRunner, params_file: Path) -> None:
    text = "doc: |\n  one\n  two\nbase: &b 1\nother: *b\nb: 1  # kept\n"
    params_file.write_text(text)
    assert params(cli, "--set", "b=2") == ""
    assert params_file.read_text() == text.replace("b: 1  # kept", "b: 2  # kept")


def test_a_params_file_saved_in_latin_1_is_refused_as_it_is_and_left_alone(
    params_file: Path, cli: CliRunner
) -> None:
    """An editor saved it in Latin-1 (an é in a comment): editing or showing it says which
    byte and how to fix it (exit 2), and the file keeps its bytes (a traceback before)."""
    params_file.write_bytes(COMMENTED.replace("my header", "café").encode("latin-1"))
    before = params_file.read_bytes()
    for command in (("node", "params", "clean", "--set", "b=3"), ("node", "show", "clean")):
        result = cli(*command)
        assert result.code == 2, (command, result.stdout, result.stderr)
        assert f"cannot read {params_file}: it is not UTF-8 text (byte 0xe9" in result.stderr
        assert "Traceback" not in result.stderr
    assert params_file.read_bytes() == before
