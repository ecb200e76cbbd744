"""The README's five-minute tutorial, typed as written into a fresh folder, does what it says.

The shell blocks of the "Five-minute tutorial" section are read from README.md and run line by
line through ``bash`` with the real ``nodepipe`` executable (real uv, real subprocesses), from
the folder the previous lines left (``cd`` carries over, as in a terminal). Conventions the
README follows so that it can be run:

- a line whose comment says ``refused`` must exit non-zero (it shows a refusal); every other
  line must exit 0;
- a double-quoted phrase in a line's comment is an outcome: it must appear in what the line
  printed (``# clean: stale, "code changed: main.py"``);
- lines that need a person or a service the tutorial cannot bring are not run: an editor
  (the README shows a non-interactive edit on the next line), and ``--ray-address`` (a Ray
  cluster of your own);
- ``-f`` (follow) lines run with a timeout: a finished node's log ends at once;
- what the Environments lines presume you have is made here, offline: the packages they name
  (tiny wheels of those names and versions, found by uv with ``UV_FIND_LINKS``, ``UV_OFFLINE``),
  a project at ``../libs/mytool``, a ``requirements.txt``, and for the placeholders
  ``STAND_INS`` names, a stand-in (a local git repository for the git URL, the running Python's
  version for "an installed interpreter");
- ``JUPYTER_DATA_DIR`` points into the test's folder (``env kernel`` writes a kernel spec there).

Other outcomes the comments state are checked after the run (a merge's renamed copies, a node
removed from one pipeline keeping its folder for another that shows it). The tutorial's Python
blocks ("The same from Python") run as one script in a fresh folder, with the same packages.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from support.wheels import build_wheel, local_project

README = Path(__file__).resolve().parents[2] / "README.md"
BIN = Path(sys.executable).parent
INTERACTIVE = ("vim ", "code ")
NEEDS_A_CLUSTER = "--ray-address"
PACKAGES = {"pandas": "2.2.3", "scikit-learn": "1.5.2", "numpy": "2.1.3", "polars": "1.0.0"}
INSTALLED_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class Step:
    line: str
    comment: str


def tutorial_steps() -> list[Step]:
    """Every command line of the tutorial's bash blocks, with its comment (continuations joined)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Five-minute tutorial", 1)[1].split("\n## ", 1)[0]
    steps: list[Step] = []
    for block in re.findall(r"```bash\n(.*?)```", section, re.S):
        for raw in block.splitlines():
            command, _, comment = raw.partition("  #")
            if raw.lstrip().startswith("#"):  # a comment line continues the one above
                if steps:
                    last = steps[-1]
                    steps[-1] = Step(last.line, last.comment + " " + raw.strip().lstrip("# "))
                continue
            if command.strip():
                steps.append(Step(command.strip(), comment.strip()))
    return steps


def stand_ins(tmp_path: Path) -> dict[str, str]:
    """README placeholder → what this machine has, offline."""
    repo = tmp_path / "tool"
    local_project(repo, "tool", "1.2", "VERSION = '1.2'\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "v1.2"], ["tag", "v1.2"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    return {
        "git+https://host/org/tool@v1.2": f"git+file://{repo}@v1.2",
        "env python clean 3.12": f"env python clean {INSTALLED_PYTHON}",
    }


def offline_packages(tmp_path: Path, env: dict[str, str]) -> None:
    """Tiny wheels of the packages the tutorial names, the only ones uv can find."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name, version in PACKAGES.items():
        module = name.replace("-", "_")
        build_wheel(wheels, module, version, f"VERSION = {version!r}\n")
    env.update(UV_FIND_LINKS=str(wheels), UV_OFFLINE="1", UV_NO_CONFIG="1")


def presumed_inputs(tmp_path: Path, env: dict[str, str]) -> None:
    """The packages, the library project and the requirements file the tutorial names."""
    offline_packages(tmp_path, env)
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "jupyter")
    local_project(tmp_path / "libs" / "mytool", "mytool", "0.1", "VERSION = '0.1'\n")


def run_step(step: Step, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    timeout = 60 if " -f" in step.line else 300
    try:
        return subprocess.run(
            ["bash", "-c", step.line],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as stuck:  # pragma: no cover - reported as a failure
        raise AssertionError(f"{step.line!r} did not end within {timeout} s") from stuck


def test_the_tutorial_runs_as_written(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NODEPIPE_WORKSPACE"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    presumed_inputs(tmp_path, env)
    placeholders = stand_ins(tmp_path)
    cwd = tmp_path
    ran: list[str] = []
    for step in tutorial_steps():
        if step.line.startswith(INTERACTIVE) or NEEDS_A_CLUSTER in step.line:
            continue
        if step.line.startswith("nodepipe env import"):
            (cwd / "requirements.txt").write_text("pandas==2.2.3\n", encoding="utf-8")
        line = step.line
        for placeholder, stand_in in placeholders.items():
            line = line.replace(placeholder, stand_in)
        result = run_step(Step(line, step.comment), cwd, env)
        said = result.stdout + result.stderr
        where = f"README tutorial line {step.line!r} printed:\n{said}"
        if "refused" in step.comment:
            assert result.returncode != 0, where
        else:
            assert result.returncode == 0, where
        for outcome in re.findall(r'"([^"]+)"', step.comment):
            assert outcome in said, f"{where}\nwhich lacks the stated outcome {outcome!r}"
        if step.line.startswith("cd "):
            cwd = (cwd / step.line.split()[1]).resolve()
        ran.append(step.line)

    lab = tmp_path / "lab"
    assert cwd == lab
    assert any(line.startswith("nodepipe shared-env") for line in ran), "every block ran"
    assert_stated_outcomes(lab, env)


def test_the_tutorial_python_runs_as_written(tmp_path: Path) -> None:
    section = README.read_text(encoding="utf-8").split("## Five-minute tutorial", 1)[1]
    script = "\n".join(re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S))
    assert "ws.materialize(" in script
    env = {k: v for k, v in os.environ.items() if k != "NODEPIPE_WORKSPACE"}
    offline_packages(tmp_path, env)
    (tmp_path / "tutorial.py").write_text(script, encoding="utf-8")  # define() reads its source
    result = subprocess.run(
        [sys.executable, "tutorial.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    lab = tmp_path / "lab"
    assert {"fit", "report"} == set(tags(lab, env, "train"))  # materialized from code
    assert set(tags(lab, env, "scratch")) == {"load", "clean", "plot"}  # plot and its parents


def nodepipe_json(lab: Path, env: dict[str, str], *args: str) -> object:
    result = subprocess.run(
        ["nodepipe", *args, "--json"], cwd=lab, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def tags(lab: Path, env: dict[str, str], pipeline: str) -> dict[str, str]:
    graph = nodepipe_json(lab, env, "pipeline", "show", pipeline)
    assert isinstance(graph, dict)
    return {node["tag"]: node["id"] for node in graph["nodes"]}


def assert_stated_outcomes(lab: Path, env: dict[str, str]) -> None:
    """What the tutorial's comments promise, checked in the workspace it leaves."""
    # "variant's clean, plot become clean-copy, plot-copy"
    assert {"load", "clean", "clean-copy", "plot", "plot-copy"} <= set(tags(lab, env, "both"))
    # "load shared, clean and plot copied"
    baseline, variant = tags(lab, env, "baseline"), tags(lab, env, "variant")
    assert variant["load"] == baseline["load"]
    assert variant["clean"] != baseline["clean"]
    # "scratch still shows plot: its folder stays"; clean is there shared, clean-v2 a copy
    scratch = tags(lab, env, "scratch")
    assert "plot" not in baseline
    assert (lab / "nodes" / scratch["plot"]).is_dir()
    assert scratch["clean"] == baseline["clean"]
    assert scratch["clean-v2"] != baseline["clean"]
