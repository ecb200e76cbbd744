"""``bundle check`` tells everything ``bundle import`` would refuse, all at once: what the
nodes would build from or copy outside the bundle (a ``[tool.uv.sources]`` path, a link), and
every independent mistake of ``pipeline.toml`` in one run, each problem on its own line; a good
bundle still passes, and import refuses what check refuses, the workspace unchanged.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner, snapshot
from support.locked_bundles import APPEND_INPUTS, make_node_template, write_bundle

NODEPIPE = str(Path(sys.executable).with_name("nodepipe"))

GOOD = """\
format = 1
[pipeline]
name = "good"
[nodes.load]
[nodes.clean]
[[edges]]
from = "load"
to = "clean"
slot = "01"
"""

CODE = {"nodes/load": APPEND_INPUTS, "nodes/clean": APPEND_INPUTS}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_node_template(tmp_path_factory.mktemp("template"))


def words(text: str) -> str:
    """``text`` with rich's line wrapping undone."""
    return " ".join(text.split())


OUTSIDE_SOURCE = '\n[tool.uv.sources]\nmytool = { path = "../../../outside" }\n'
"""A package installed from a folder beside the bundle, from nodes/<key>/code."""


def test_check_refuses_a_uv_source_path_leaving_the_bundle_as_import_does(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, cli: CliRunner
) -> None:
    """clean's pyproject installs ``mytool`` from ``../../../outside``: check names the node
    and the path (exit 2), and import refuses it the same way, the workspace unchanged."""
    bundle = write_bundle(tmp_path / "bundle", GOOD, CODE, template)
    (tmp_path / "outside").mkdir()
    pyproject = bundle / "nodes/clean/code/pyproject.toml"
    pyproject.write_text(pyproject.read_text() + OUTSIDE_SOURCE)
    before = snapshot(lab)
    expected = (
        "node 'clean' would have its environment built from outside the bundle "
        "(pyproject.toml: ../../../outside)"
    )
    checked = cli("bundle", "check", str(bundle))
    assert checked.code == 2, checked.stdout + checked.stderr
    assert expected in words(checked.stdout)
    assert cli("bundle", "check", str(bundle), "--json").json()["problems"][0].startswith(expected)
    refused = cli("bundle", "import", str(bundle), "--name", "copy")
    assert refused.code == 2, refused.stdout + refused.stderr
    assert f"bundle import: {expected}" in words(refused.stderr)
    assert snapshot(lab) == before
    assert not list((lab.root / ".nodepipe" / "staging").glob("*"))


def test_check_refuses_what_a_node_would_take_from_outside_the_bundle_all_at_once(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, cli: CliRunner
) -> None:
    """clean installs a package from a folder outside the bundle (its pyproject's
    ``[tool.uv.sources]``); load's code holds a link to a file outside it. Check names both
    nodes and the path, one problem a line; import refuses the same, changing nothing."""
    bundle = write_bundle(tmp_path / "bundle", GOOD, CODE, template)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not the bundle's\n")
    pyproject = bundle / "nodes/clean/code/pyproject.toml"
    pyproject.write_text(pyproject.read_text() + OUTSIDE_SOURCE)
    (bundle / "nodes/load/code/secret.txt").symlink_to(outside / "secret.txt")
    before = snapshot(lab)

    checked = cli("bundle", "check", str(bundle), "--json")
    assert checked.code == 2, checked.stdout + checked.stderr
    problems = checked.json()["problems"]
    assert len(problems) == 2, problems
    source = next(p for p in problems if "'clean'" in p)
    assert "outside the bundle" in source and "pyproject.toml: ../../../outside" in source
    link = next(p for p in problems if f"{bundle}/nodes/load/code: secret.txt" in p)
    assert f"is a link to {outside / 'secret.txt'}, outside the bundle" in link

    shown = cli("bundle", "check", str(bundle))
    assert shown.code == 2
    lines = [line.strip() for line in shown.stdout.splitlines() if line.strip().startswith("- ")]
    assert len(lines) == 2, shown.stdout
    assert "2 problem(s)" in shown.stdout

    refused = cli("bundle", "import", str(bundle), "--name", "copy")
    assert refused.code == 2, refused.stdout + refused.stderr
    said = words(refused.stderr)
    assert "bundle import:" in said and "2 problems:" in said
    assert "pyproject.toml: ../../../outside" in said and "code: secret.txt is a link" in said
    assert snapshot(lab) == before
    assert not list((lab.root / ".nodepipe" / "staging").glob("*"))


BROKEN = """\
format = 1
[pipeline]
name = "good"
[nodes.load]
[nodes."a/b"]
[nodes.clean]
colour = "blue"
[[edges]]
from = "load"
to = "clean"
slot = "01"
[[edges]]
from = "load"
to = "ghost"
"""
"""Three independent mistakes: a node key that is no tag (line 5), an unknown key (line 7),
an edge to no node (line 14)."""


def test_check_reports_every_mistake_of_pipeline_toml_in_one_run(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, cli: CliRunner
) -> None:
    bundle = write_bundle(tmp_path / "bundle", BROKEN, CODE, template)
    before = snapshot(lab)
    checked = cli("bundle", "check", str(bundle), "--json")
    assert checked.code == 2, checked.stdout + checked.stderr
    problems = checked.json()["problems"]
    origin = f"{bundle}/pipeline.toml"
    assert len(problems) == 3, problems
    assert problems[0].startswith(f"{origin}:5: invalid node tag 'a/b'"), problems
    assert problems[1].startswith(f"{origin}:7: unknown key 'colour' in [nodes.clean]")
    assert problems[2].startswith(f"{origin}:14: edge to 'ghost': no node 'ghost' here")

    shown = cli("bundle", "check", str(bundle))
    assert shown.code == 2 and "3 problem(s)" in shown.stdout
    said = words(shown.stdout)
    for problem in problems:
        assert f"- {problem}" in said

    refused = cli("bundle", "import", str(bundle))
    assert refused.code == 2
    said = words(refused.stderr)
    assert "3 problems:" in said and all(problem in said for problem in problems)
    assert snapshot(lab) == before


def test_check_refuses_a_lock_uv_cannot_read_and_a_python_not_installed_as_import_does(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, cli: CliRunner
) -> None:
    """A walkthrough: check said "fine" of a bundle whose clean's uv.lock was not TOML (import
    then failed on uv's parse error, exit 7) and whose load asked for Python 3.99 (import: "no
    Python 3.99 is installed here"). Check names both, and import refuses them alike, before
    anything is written."""
    bundle = write_bundle(tmp_path / "bundle", GOOD, CODE, template)
    (bundle / "nodes/clean/code/uv.lock").write_text("version = 1\n[[package]\nname = 'x'\n")
    (bundle / "nodes/load/code/.python-version").write_text("3.99\n")
    before = snapshot(lab)

    checked = cli("bundle", "check", str(bundle), "--json")
    assert checked.code == 2, checked.stdout + checked.stderr
    problems = checked.json()["problems"]
    assert len(problems) == 2, problems
    lock = next(p for p in problems if p.startswith("clean:"))
    assert lock.startswith("clean: nodes/clean/code/uv.lock is not valid TOML"), lock
    assert "must lock again and export again" in lock
    python = next(p for p in problems if p.startswith("load:"))
    assert ".python-version: no Python 3.99 is installed here" in python, python

    refused = cli("bundle", "import", str(bundle), "--name", "copy")
    assert refused.code == 2, refused.stdout + refused.stderr
    said = words(refused.stderr)
    assert "uv.lock is not valid TOML" in said and "no Python 3.99 is installed here" in said
    assert snapshot(lab) == before


def test_a_good_bundle_with_a_snapshot_and_bundle_code_still_passes_and_imports(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, cli: CliRunner
) -> None:
    """What stays inside the bundle is not refused: a ``[tool.uv.sources]`` path inside the
    node's code/ (a snapshot), a link to another file of the bundle, the bundle's py-dir."""
    toml = GOOD.replace('name = "good"', 'name = "good"\npy-dir = "lib"')
    files = {"lib/helpers.py": "def mark(tag):\n    return tag\n"}
    bundle = write_bundle(tmp_path / "bundle", toml, CODE, template, files)
    pyproject = bundle / "nodes/clean/code/pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + '\n[tool.uv.sources]\nmytool = { path = "snapshots/mytool" }\n'
    )
    (bundle / "nodes/load/code/helpers.py").symlink_to(bundle / "lib/helpers.py")
    checked = cli("bundle", "check", str(bundle), "--json")
    assert checked.code == 0, checked.stdout + checked.stderr
    assert checked.json()["problems"] == [] and checked.json()["nodes"] == 2
    imported = cli("bundle", "import", str(bundle), "--name", "copy")
    assert imported.code == 0, imported.stderr


FED_INPUT = GOOD.replace('name = "good"', 'name = "good"\n[inputs]\n01 = ["clean"]')
"""``[inputs] 01`` taken by ``clean``, which already reads slot ``01`` from ``load``."""


def wheel_of(bundle: Path, folder: Path) -> Path:
    """A nodepipe package (wheel) holding the bundle in ``bundle``, zipped by hand."""
    wheel = folder / "good-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(
            "good-0.1.0.dist-info/entry_points.txt", "[nodepipe.bundles]\ngood = np_good.bundle\n"
        )
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                archive.write(path, f"np_good/bundle/{path.relative_to(bundle).as_posix()}")
    return wheel


def test_an_input_on_a_slot_the_bundle_already_feeds_is_refused_everywhere(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, cli: CliRunner
) -> None:
    """check lists it (the input, the node, the slot, the node it reads from); import,
    include and package pull refuse it with exit 2, the workspace unchanged."""
    bundle = write_bundle(tmp_path / "bundle", FED_INPUT, CODE, template)
    lab.pipelines.new("host")
    lab.nodes.new("host", "x")
    before = snapshot(lab)
    expected = "input '01' names 'clean', which already reads slot '01' from 'load'"
    checked = cli("bundle", "check", str(bundle), "--json")
    assert checked.code == 2, checked.stdout + checked.stderr
    (problem,) = checked.json()["problems"]
    assert problem.startswith(f"{bundle}/pipeline.toml:5: {expected}"), problem
    for argv in (
        ("bundle", "import", str(bundle)),
        ("pipeline", "include", "host", str(bundle), "--as", "ns", "--input", "01=x"),
        ("package", "pull", str(wheel_of(bundle, tmp_path)), "--alias", "pulled"),
        ("package", "pull", str(wheel_of(bundle, tmp_path)), "--into", "host", "--alias", "ns"),
    ):
        refused = cli(*argv)
        assert refused.code == 2, (argv, refused.stdout + refused.stderr)
        assert expected in words(refused.stderr), (argv, refused.stderr)
        assert snapshot(lab) == before, argv


TWO_INPUTS = GOOD.replace('name = "good"', 'name = "good"\n[inputs]\n01 = ["load"]\n02 = ["load"]')
"""Inputs ``01`` and ``02``, both taken by ``load``."""


def test_an_include_feeding_two_inputs_of_one_node_from_one_node_is_refused(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, cli: CliRunner
) -> None:
    """``--input 01=x --input 02=x`` would make x feed ns.load twice: exit 2 naming them (it
    was the store's UNIQUE error, exit 9); another feeder for one of them is taken."""
    bundle = write_bundle(tmp_path / "bundle", TWO_INPUTS, CODE, template)
    lab.pipelines.new("host")
    lab.nodes.new("host", "x")
    lab.nodes.new("host", "y")
    before = snapshot(lab)
    include = ("pipeline", "include", "host", str(bundle), "--as", "ns")
    refused = cli(*include, "--input", "01=x", "--input", "02=x")
    assert refused.code == 2, refused.stdout + refused.stderr
    said = words(refused.stderr)
    assert "node x would feed ns.load twice, as the bundle's inputs '01' and '02'" in said
    assert snapshot(lab) == before
    included = cli(*include, "--input", "01=x", "--input", "02=y")
    assert included.code == 0, included.stderr


SUB = 'format = 1\n[pipeline]\nname = "sub"\n[inputs]\n01 = ["k"]\n02 = ["k"]\n[nodes.k]\n'
OUTER = """\
format = 1
[pipeline]
name = "outer"
[nodes.load]
[includes.sub]
source = "sub"
inputs = { 01 = "load", 02 = "load" }
"""


def test_a_bundle_feeding_two_inputs_of_an_include_from_one_node_is_refused(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, cli: CliRunner
) -> None:
    """load would feed sub.k on slots 01 and 02: check says so, import refuses it (exit 2,
    the store's UNIQUE error before), the workspace unchanged."""
    bundle = write_bundle(tmp_path / "outer", OUTER, {"nodes/load": APPEND_INPUTS}, template)
    write_bundle(bundle / "sub", SUB, {"nodes/k": APPEND_INPUTS}, template)
    before = snapshot(lab)
    expected = "load feeds sub.k twice (slots '01' and '02'"
    checked = cli("bundle", "check", str(bundle), "--json")
    assert checked.code == 2, checked.stdout + checked.stderr
    (problem,) = checked.json()["problems"]
    assert expected in problem, problem
    refused = cli("bundle", "import", str(bundle))
    assert refused.code == 2, refused.stdout + refused.stderr
    assert expected in words(refused.stderr)
    assert snapshot(lab) == before


MISSING_INCLUDE = GOOD.replace("[nodes.load]", '[nodes.load]\n[includes.feat]\nsource = "feat"')


def test_a_missing_include_is_one_problem_its_searched_places_on_its_line(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, cli: CliRunner
) -> None:
    """A walkthrough: "2 problem(s)" showed six bullets, the places a missing include was
    searched for listed with the same "  - " as the problems."""
    bundle = write_bundle(tmp_path / "bundle", MISSING_INCLUDE, CODE, template)
    (bundle / "nodes/clean/code/uv.lock").unlink()
    checked = cli("bundle", "check", str(bundle), "--json")
    assert checked.code == 2, checked.stdout + checked.stderr
    problems = checked.json()["problems"]
    assert len(problems) == 2, problems
    missing = next(p for p in problems if "no bundle 'feat' found" in p)
    assert f"searched: {bundle / 'feat'};" in missing and "\n" not in missing
    shown = cli("bundle", "check", str(bundle))
    assert "2 problem(s)" in shown.stdout
    bullets = [line for line in shown.stdout.splitlines() if line.strip().startswith("- ")]
    assert len(bullets) == 2, shown.stdout


def test_a_node_folder_or_py_dir_linked_out_of_an_included_bundle_is_named_a_link_out(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, cli: CliRunner
) -> None:
    """A walkthrough: a library whose node folder and py-dir were links to folders outside it
    was refused with "its folder nodes/load/code is missing", which it was not."""
    outside = write_bundle(tmp_path / "outside", GOOD, CODE, template, {"lib/helpers.py": ""})
    library = tmp_path / "library"
    library.mkdir()
    (library / "pipeline.toml").write_text(
        GOOD.replace('name = "good"', 'name = "lib"\npy-dir = "lib"')
    )
    (library / "nodes").mkdir()
    (library / "nodes" / "load").symlink_to(outside / "nodes" / "load")
    (library / "nodes" / "clean").symlink_to(outside / "nodes" / "clean")
    (library / "lib").symlink_to(outside / "lib")
    bundle = write_bundle(
        tmp_path / "bundle",
        GOOD.replace("[nodes.load]", '[nodes.load]\n[includes.feat]\nsource = "../library"'),
        CODE,
        template,
    )
    checked = cli("bundle", "check", str(bundle), "--json")
    assert checked.code == 2, checked.stdout + checked.stderr
    problems = sorted(checked.json()["problems"])
    assert len(problems) == 3, problems
    for problem, part in zip(
        problems, ("feat.clean", "feat.load", "the bundle's py-dir"), strict=True
    ):
        assert problem.startswith(part), problems
        assert "is missing" not in problem
        assert "leads outside the bundle" in problem and str(outside) in problem


def test_a_mistake_in_pipeline_toml_leaves_the_problems_of_its_nodes_told_too(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, cli: CliRunner
) -> None:
    """A walkthrough: with a mistake in pipeline.toml, check named only it; the node missing
    its lock was named once the file was fixed. Both are named in one run now."""
    broken = GOOD.replace('name = "good"', 'name = "good"\ncolour = "blue"')
    bundle = write_bundle(tmp_path / "bundle", broken, CODE, template)
    (bundle / "nodes/clean/code/uv.lock").unlink()
    checked = cli("bundle", "check", str(bundle), "--json")
    assert checked.code == 2, checked.stdout + checked.stderr
    problems = checked.json()["problems"]
    assert len(problems) == 2, problems
    assert problems[0].startswith(f"{bundle}/pipeline.toml:4: unknown key 'colour'"), problems
    assert problems[1] == "clean: nodes/clean/code/uv.lock is missing (lock it first)"
    refused = cli("bundle", "import", str(bundle))
    assert refused.code == 2
    said = words(refused.stderr)
    assert "2 problems:" in said and "uv.lock is missing" in said


def test_import_include_and_pull_print_their_answer_first_when_piped(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, cli: CliRunner
) -> None:
    """The bar counting environments synced shows on a terminal only: piped, nothing comes
    before the answer (it left a blank line there)."""
    bundle = write_bundle(tmp_path / "bundle", GOOD, CODE, template)
    lab.pipelines.new("host")
    wheel = wheel_of(bundle, tmp_path)
    for argv, first in (
        (("bundle", "import", str(bundle)), "imported pipeline good"),
        (("pipeline", "include", "host", str(bundle), "--as", "ns"), "host ("),
        (("package", "pull", str(wheel), "--alias", "pulled"), "imported pipeline pulled"),
        (("package", "pull", str(wheel), "--into", "host", "--alias", "ns2"), "host ("),
    ):
        said = cli(*argv)
        assert said.code == 0, (argv, said.stderr)
        assert said.stdout.startswith(first), (argv, said.stdout[:200])


@pytest.mark.parametrize("pipe", ["nodes/clean/code/uv.lock", "nodes/load/code/pyproject.toml"])
def test_a_pipe_in_a_bundle_is_refused_at_once_not_waited_on(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, pipe: str
) -> None:
    """A bundle folder another user prepared with a named pipe for a node's ``uv.lock`` or
    ``pyproject.toml``: check and import opened it and waited forever for a writer. Both
    name it (exit 2) at once, the workspace unchanged (the real CLI, in its own process)."""
    bundle = write_bundle(tmp_path / "bundle", GOOD, CODE, template)
    (bundle / pipe).unlink()
    os.mkfifo(bundle / pipe)
    before = snapshot(lab)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    for command in ("check", "import"):
        done = subprocess.run(
            [NODEPIPE, "bundle", command, str(bundle)],
            cwd=lab.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stdout + done.stderr
        said = " ".join((done.stdout + done.stderr).split())
        assert f"'{pipe}' is not a regular file (a pipe, a socket or a device); refused" in said
    assert snapshot(lab) == before


SPARSE = 256 * 1024 * 1024
"""The size of a sparse file: no disk, but as many bytes to whoever reads it whole."""


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("pipeline.toml", "'pipeline.toml' holds more than 4194304 bytes, the most nodepipe"),
        ("pipeline.lock", "'pipeline.lock' holds more than 67108864 bytes, the most nodepipe"),
        ("nodes/load/code/uv.lock", "'nodes/load/code/uv.lock' holds more than 67108864 bytes"),
        ("nodes/clean/code/model.bin", None),
    ],
)
def test_a_huge_file_is_never_read_whole(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, path: str, problem: str | None
) -> None:
    """A 256 MiB sparse file (no disk: a hostile bundle makes one in a moment; 8 GiB in an
    upload of 40 MB): check read each file whole, a pipeline.toml, a uv.lock, pipeline.lock
    (then refused what it had read), and every code file to hash it (a model of some GiB in a
    node's code/ took as much memory). Files read to be parsed are refused unread past their
    limit, code files are hashed a part at a time: memory stays small."""
    bundle = write_bundle(tmp_path / "bundle", GOOD, CODE, template)
    with (bundle / path).open("wb") as sparse:
        sparse.truncate(SPARSE)
    tracemalloc.start()
    try:
        problems = lab.bundles.check(bundle).problems
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < SPARSE // 8, peak
    if problem is None:
        assert problems == ()
    else:
        assert len(problems) == 1 and problem in problems[0], problems


DEEP = "\nnested = " + "[" * 3000 + "1" + "]" * 3000 + "\n"
"""6 KB of arrays inside one another: Python's TOML parser recurses once a level."""


@pytest.mark.parametrize(
    "path",
    ["pipeline.toml", "pipeline.lock", "nodes/load/code/uv.lock", "nodes/load/code/pyproject.toml"],
)
def test_toml_nested_too_deeply_is_a_problem_not_a_crash(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, cli: CliRunner, path: str
) -> None:
    """Any TOML file a bundle is read by, nested thousands deep: check and import crashed
    with Python's RecursionError (exit 1, a traceback; an upload, a 500). Each names the file
    (exit 2), the workspace unchanged: the bundle's own file, not the scratch copy a check
    reads (a node's pyproject.toml was named '/tmp/nodepipe-check-…/<id>/code/…')."""
    bundle = write_bundle(tmp_path / "bundle", GOOD, CODE, template)
    if not (bundle / path).exists():
        (bundle / path).write_text("format = 1\n")
    with (bundle / path).open("a") as file:
        file.write(DEEP)
    before = snapshot(lab)
    checked = cli("bundle", "check", str(bundle), "--json")
    assert checked.code == 2, checked.stdout + checked.stderr
    problems = checked.json()["problems"]
    assert len(problems) == 1 and "values nested too deeply" in problems[0], problems
    assert path in problems[0] and "nodepipe-check" not in problems[0], problems
    refused = cli("bundle", "import", str(bundle), "--name", "copy")
    assert refused.code == 2, refused.stdout + refused.stderr
    assert "values nested too deeply" in words(refused.stderr)
    assert path in words(refused.stderr) and "nodepipe-check" not in refused.stderr
    assert snapshot(lab) == before


@pytest.mark.parametrize(
    ("written", "said"),
    [(b"\n[project\n", "is not valid TOML"), (b"\n# \xff\xfe\n", "is not UTF-8 text")],
    ids=["not-toml", "not-utf8"],
)
def test_a_node_pyproject_that_is_not_toml_is_named_as_the_bundle_holds_it(
    lab: nodepipe.Workspace,
    tmp_path: Path,
    template: Path,
    cli: CliRunner,
    written: bytes,
    said: str,
) -> None:
    """A node's pyproject.toml that is not TOML was named by the scratch copy a check reads
    ('/tmp/nodepipe-check-…/<id>/code/pyproject.toml'); one that is not UTF-8 crashed check
    and import with UnicodeDecodeError (exit 1, a traceback). Both name the bundle's file,
    exit 2, the workspace unchanged."""
    bundle = write_bundle(tmp_path / "bundle", GOOD, CODE, template)
    with (bundle / "nodes/load/code/pyproject.toml").open("ab") as file:
        file.write(written)
    before = snapshot(lab)
    expected = f"load: nodes/load/code/pyproject.toml {said}"
    checked = cli("bundle", "check", str(bundle), "--json")
    assert checked.code == 2, checked.stdout + checked.stderr
    problems = checked.json()["problems"]
    assert len(problems) == 1 and problems[0].startswith(expected), problems
    refused = cli("bundle", "import", str(bundle), "--name", "copy")
    assert refused.code == 2, refused.stdout + refused.stderr
    assert f"bundle import: {expected}" in words(refused.stderr)
    assert snapshot(lab) == before


def test_thousands_of_problems_show_a_screenful_and_count_the_rest(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, cli: CliRunner
) -> None:
    """A bundle with 2,000 edges to nodes it lacks listed all 2,000 lines, in check and in
    import's refusal alike; they show 20 and "and 1980 more", and --json keeps them all."""
    ghosts = "".join(
        f'[[edges]]\nfrom = "load"\nto = "ghost{i}"\nslot = "01"\n' for i in range(2000)
    )
    bundle = write_bundle(tmp_path / "bundle", GOOD + ghosts, CODE, template)
    as_json = cli("bundle", "check", str(bundle), "--json")
    assert as_json.code == 2 and len(as_json.json()["problems"]) == 2000
    shown = cli("bundle", "check", str(bundle))
    assert shown.code == 2, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == f"{bundle}: 2000 problem(s)"
    assert words(shown.stdout).count(" - ") == 21 and "ghost19'" in shown.stdout
    assert words(shown.stdout).endswith("- and 1980 more (--json lists all)")
    refused = cli("bundle", "import", str(bundle))
    assert refused.code == 2 and "ghost20'" not in refused.stderr
    said = words(refused.stderr)
    assert "2000 problems:" in said
    assert "and 1980 more (`nodepipe bundle check DIR --json` lists all)" in said
