"""`env import NODE requirements.txt` reads the file in nodepipe's words before uv does:
what is not a requirements file (YAML, a binary, a huge file, a line uv would not read, an
include that is missing or loops) is bad input, exit 2, naming the file and line, and the
node's environment is left exactly as it was (real uv, offline, tiny local wheels)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner, snapshot
from nodepipe.domain.errors import InvalidInputError
from support.wheels import local_project

YAML = "name: analysis\nchannels: [conda-forge]\ndependencies:\n  - numpy\n"


def environment_state(ws: nodepipe.Workspace, tag: str) -> dict[str, bytes]:
    code = ws.nodes.path(tag) / "code"
    names = ("pyproject.toml", "uv.lock", ".venv/.nodepipe-synced")
    return {name: (code / name).read_bytes() for name in names}


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (YAML.encode(), "line 1: 'name: analysis' is YAML, not a requirement"),
        (b"- numpy\n- pandas\n", "line 1: '- numpy' is YAML"),
        (bytes(range(256)) * 8, "is not a requirements file: not UTF-8 text"),
        (b"toypkg==1.0\x00\n", "holds NUL bytes"),
        (b"toypkg==1.0\n" * 100_000, "larger than 1,048,576 bytes"),
        (b"toypkg==1.0\n--frobnicate\n", "line 2: '--frobnicate' is neither a requirement nor"),
        (b"# pins\ntoypkg===\n", "line 2: invalid requirement 'toypkg==='"),
        (b"--index-url\n", "line 1: --index-url needs a value"),
        (b"-r missing.txt\n", "includes 'missing.txt': no such file"),
        (b"-r requirements.txt\n", "includes itself"),
        (b"# nothing but a comment\n\n", "names no package to add"),
    ],
    ids=[
        "yaml",
        "yaml-list",
        "binary",
        "nul",
        "huge",
        "unknown-option",
        "bad-requirement",
        "option-without-value",
        "missing-include",
        "self-include",
        "empty",
    ],
)
def test_a_file_that_is_not_a_requirements_file_is_refused_in_nodepipes_words(
    chain: nodepipe.Workspace,
    offline_index: Path,
    cli: CliRunner,
    tmp_path: Path,
    content: bytes,
    said: str,
) -> None:
    chain.envs.add("clean", ["toypkg==1.0"])
    before, environment = snapshot(chain), environment_state(chain, "clean")
    file = tmp_path / "requirements.txt"
    file.write_bytes(content)
    refused = cli("env", "import", "clean", str(file))
    assert refused.code == 2, refused.stderr
    assert said in refused.stderr and str(file) in refused.stderr
    assert "uv" not in refused.stderr.replace("uv.lock", "")  # not uv's parser speaking
    assert environment_state(chain, "clean") == environment
    assert snapshot(chain) == before


def test_a_folder_or_a_missing_file_is_refused_too(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    before = snapshot(chain)
    for path, said in ((tmp_path, "is a folder"), (tmp_path / "nope.txt", "no such file")):
        refused = cli("env", "import", "clean", str(path))
        assert refused.code == 2 and said in refused.stderr
    assert snapshot(chain) == before


def test_comments_markers_options_and_includes_still_import(
    chain: nodepipe.Workspace, offline_index: Path, cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "more.txt").write_text("otherpkg  # the other one\n")
    file = tmp_path / "requirements.txt"
    file.write_text(
        "# pinned for the paper\n"
        f"--find-links {offline_index}\n"
        "toypkg==1.0 ; python_version >= '3.8'\n"
        "-r more.txt\n"
    )
    imported = cli("env", "import", "clean", str(file), "--json")
    assert imported.code == 0, imported.stderr
    assert imported.json()["locked"] == {"toypkg": "1.0", "otherpkg": "0.1"}


def test_a_file_sent_over_the_web_names_no_file_of_the_server(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    before = snapshot(chain)
    for line in ("-r /etc/passwd", "-e ./mine", "./mine", "--find-links /srv", "x @ file:///x"):
        file = tmp_path / "requirements.txt"
        file.write_text(f"{line}\n")
        with pytest.raises(InvalidInputError, match="of the server"):
            chain.envs.import_requirements("clean", file, local_files=False)
    assert snapshot(chain) == before


def test_relative_paths_in_the_file_start_from_its_folder_not_the_nodes_code(
    chain: nodepipe.Workspace,
    offline_index: Path,
    cli: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """audit2 F16: as pip and uv read it (`-e ../libs/x`, `./pkg`, `-r other.txt`)."""
    local_project(tmp_path / "libs" / "pathtool", "pathtool", "0.3", "WHERE = 'libs'\n")
    local_project(tmp_path / "reqdir" / "pkg", "inpkg", "0.4", "WHERE = 'beside'\n")
    (tmp_path / "reqdir" / "more.txt").write_text("./pkg\n")
    file = tmp_path / "reqdir" / "requirements.txt"
    file.write_text("-e ../libs/pathtool\n-r more.txt\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # neither the file's folder nor the node's
    imported = cli("-w", str(chain.root), "env", "import", "clean", str(file), "--json")
    assert imported.code == 0, imported.stderr
    assert imported.json()["locked"] == {"pathtool": "0.3", "inpkg": "0.4"}
    python = chain.nodes.path("clean") / "code" / ".venv" / "bin" / "python"
    said = subprocess.run(
        [str(python), "-c", "import pathtool, inpkg; print(pathtool.WHERE, inpkg.WHERE)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert said.stdout.split() == ["libs", "beside"], said.stderr


def test_a_file_of_editable_projects_alone_imports_them_and_a_missing_one_is_named(
    chain: nodepipe.Workspace, offline_index: Path, cli: CliRunner, tmp_path: Path
) -> None:
    """audit2 F16's rest: `-e ../libs/x` or `-e /abs/x` is a package (it was refused "names no
    package to add"); an `-e` folder that is missing or holds no project is refused naming its
    line, before uv runs, and nothing changes."""
    local_project(tmp_path / "libs" / "pathtool", "pathtool", "0.3", "WHERE = 'libs'\n")
    local_project(tmp_path / "abs" / "abstool", "abstool", "0.5", "WHERE = 'abs'\n")
    (tmp_path / "libs" / "empty").mkdir()
    folder = tmp_path / "reqdir"
    folder.mkdir()
    before = environment_state(chain, "clean")
    for lines, said in (
        ("toypkg==1.0\n-e ../libs/missing\n", "line 2: -e ../libs/missing: no folder at"),
        ("-e ../libs/empty\n", "is no Python project"),
    ):
        (folder / "bad.txt").write_text(lines)
        refused = cli("env", "import", "clean", str(folder / "bad.txt"))
        assert refused.code == 2 and said in refused.stderr, refused.stderr
        assert "uv" not in refused.stderr
        assert environment_state(chain, "clean") == before
    (folder / "relative.txt").write_text("-e ../libs/pathtool\n")
    imported = cli("env", "import", "clean", str(folder / "relative.txt"), "--json")
    assert imported.code == 0, imported.stderr
    assert imported.json()["locked"] == {"pathtool": "0.3"}
    (folder / "absolute.txt").write_text(f"-e {tmp_path / 'abs' / 'abstool'}\n")
    imported = cli("env", "import", "clean", str(folder / "absolute.txt"), "--json")
    assert imported.code == 0, imported.stderr
    assert imported.json()["locked"] == {"pathtool": "0.3", "abstool": "0.5"}
    python = chain.nodes.path("clean") / "code" / ".venv" / "bin" / "python"
    said = subprocess.run(
        [str(python), "-c", "import pathtool, abstool; print(pathtool.WHERE, abstool.WHERE)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert said.stdout.split() == ["libs", "abs"], said.stderr


def test_an_environment_file_shows_what_its_pip_part_added_and_a_kernel_names_the_node(
    chain: nodepipe.Workspace,
    offline_index: Path,
    cli: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The import printed only "clean: no conda part", as if nothing had been added; the
    kernel's advice said `nodepipe env add NODE ipykernel`."""
    file = tmp_path / "environment.yml"
    file.write_text("name: analysis\ndependencies:\n  - pip:\n    - toypkg==1.0\n")
    imported = cli("env", "import", "clean", str(file))
    assert imported.code == 0, imported.stderr
    assert re.search(r"toypkg +│ 1\.0 +│ toypkg==1\.0", imported.stdout), imported.stdout
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    kernel = cli("env", "kernel", "clean")
    assert kernel.code == 0, kernel.stderr
    clean = chain.nodes.get("clean").id
    assert f"`nodepipe env add {clean} ipykernel`" in kernel.stdout


def test_an_environment_file_asking_for_a_python_names_the_command_that_sets_it(
    chain: nodepipe.Workspace, offline_index: Path, cli: CliRunner, tmp_path: Path
) -> None:
    """`python=3.11` said "set the node's Python version instead" where the README says use
    `env python`: the CLI names the command with the file's version, the JSON (and the API)
    carry it as a hint, the Python API words it as the call."""
    from nodepipe.services.hints import words_for

    file = tmp_path / "environment.yml"
    file.write_text("dependencies:\n  - python=3.11\n  - pip:\n    - toypkg==1.0\n")
    clean = chain.nodes.get("clean").id
    imported = cli("env", "import", "clean", str(file))
    assert imported.code == 0, imported.stderr
    said = " ".join(imported.stdout.split())
    assert "not placed: python=3.11 (the node's Python is uv's, not conda's)" in said
    assert f"set a version with `nodepipe env python {clean} 3.11`" in said
    shown = cli("env", "import", "clean", str(file), "--json").json()
    params = {"node": clean, "tag": "clean", "version": "3.11"}
    assert shown["hint"] == {"action": "env.python", "params": params}
    view = chain.conda.import_file("clean", file)
    assert view.hint is not None
    assert words_for(view.hint) == f"set a version with ws.envs.set_python({clean!r}, '3.11')"
