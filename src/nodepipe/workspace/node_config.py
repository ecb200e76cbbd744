"""A node's run settings, from ``[tool.nodepipe]`` in its ``code/pyproject.toml``.

```toml
[tool.nodepipe]
entry = "main.py"            # a Python file, or a notebook (.ipynb) run with the node's interpreter
# command = ["octave", "--no-gui", "run.m"]   # or any command, run in code/ (replaces entry)
# shared-env = "tools"       # use the workspace's shared environment "tools", not its own
# interpreter = "/usr/bin/python3"  # or run with an existing interpreter: not isolated
timeout = 3600               # seconds; the run is killed and fails after that
pass-env = ["WANDB_API_KEY"] # variables passed on to the node (besides the usual ones)
[tool.nodepipe.resources]    # what the Ray executor reserves for this node
cpus = 1
gpus = 0
memory = "2GB"
```
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodepipe.domain.errors import InvalidInputError, not_utf8
from nodepipe.domain.toml_limits import load_toml
from nodepipe.workspace.file_state import FileState, file_state, latest_per_key
from nodepipe.workspace.node_folder import ENTRY_POINT
from nodepipe.workspace.regular_files import read_regular_text

_PARSED_FACT = "parsed"
"""The kind of ``kept_facts`` entry a parsed ``pyproject.toml`` is kept as, by its path."""
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\*?$")
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
MAX_TIMEOUT = 366 * 24 * 3600
"""The longest ``timeout`` (seconds): a year; a longer one overflowed the clock's range."""
_INFINITY = float("inf")


@dataclass(frozen=True, slots=True)
class Resources:
    """What one process of the node needs: CPUs, GPUs, memory (the Ray executor reserves them)."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """The ``[tool.nodepipe]`` table of a node's ``pyproject.toml``: how it runs."""

    entry: str = ENTRY_POINT
    command: tuple[str, ...] | None = None
    timeout: float | None = None
    resources: Resources = field(default_factory=Resources)
    shared_env: str | None = None
    """Name of a workspace shared environment the node uses instead of its own."""
    interpreter: str | None = None
    """An existing interpreter (absolute path) the node runs with: no environment, not
    isolated."""
    pass_env: tuple[str, ...] = ()
    """Variables of nodepipe's environment the node's process also gets (``AWS_*``: a prefix)."""

    @property
    def isolation(self) -> str:
        """``own`` environment, ``shared`` environment, or an existing ``interpreter``."""
        if self.interpreter is not None:
            return "interpreter"
        return "shared" if self.shared_env is not None else "own"

    @property
    def is_notebook(self) -> bool:
        return self.command is None and self.entry.endswith(".ipynb")


def read_pyproject(pyproject: Path, *, shared: bool = False) -> dict[str, Any]:
    """The parsed pyproject.toml, remembered while the file's stat stays the same.

    Checking a large pipeline reads every node's pyproject several times; this parses each once.
    A caller that only reads asks for the ``shared`` value (no copy; it must not change it),
    others get their own copy.
    """
    parsed = _parsed(_state(pyproject))
    return parsed if shared else copy.deepcopy(parsed)


def script_dependencies(pyproject: Path) -> list[str]:
    """The inline (PEP 723) dependencies last merged into the project's dependencies."""
    data = read_pyproject(pyproject, shared=True)
    found = data.get("tool", {}).get("nodepipe", {}).get("script-dependencies", [])
    return [str(item) for item in found] if isinstance(found, list) else []


def read_node_config(pyproject: Path) -> NodeConfig:
    """The ``[tool.nodepipe]`` settings; InvalidInputError naming the file when malformed."""
    return _config(_state(pyproject))


def _state(pyproject: Path) -> FileState:
    try:
        return file_state(pyproject)
    except OSError as exc:
        raise InvalidInputError(f"cannot read {pyproject}: {exc}") from exc


@latest_per_key(lambda state: state[0])
def _parsed(state: FileState) -> dict[str, Any]:
    """The parsed file in that state, shared: callers must not change it. A node's
    ``pyproject.toml`` parsed by an earlier process is taken from the facts it kept
    (``kept_facts``: by the file's state, as JSON), not parsed again."""
    from nodepipe.workspace.kept_facts import facts_for, now_ns, settled  # a cycle otherwise

    facts = facts_for(state[0].rpartition("/")[0].rpartition("/")[0])
    states = [[*state]]
    if facts is not None:
        kept = facts.get(_PARSED_FACT, state[0], states)
        if isinstance(kept, str):
            with contextlib.suppress(ValueError):
                found = json.loads(kept)
                if isinstance(found, dict):
                    return found
    began = now_ns()
    pyproject = Path(state[0])
    try:
        parsed = load_toml(read_regular_text(pyproject))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInputError(f"cannot read {pyproject}: {exc}") from exc
    except UnicodeDecodeError as exc:  # TOML is UTF-8
        raise InvalidInputError(f"cannot read {pyproject}: {not_utf8(exc)}") from exc
    if facts is not None and settled((state[1], state[4]), began):
        with contextlib.suppress(TypeError, ValueError):  # a date, NaN: not kept as JSON
            text = json.dumps(parsed, allow_nan=False)
            if json.loads(text) == parsed:
                facts.put(_PARSED_FACT, state[0], states, text)
    return parsed


@latest_per_key(lambda state: state[0])
def _config(state: FileState) -> NodeConfig:
    section = _parsed(state).get("tool", {}).get("nodepipe", {})
    try:
        return _parse(section)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"bad [tool.nodepipe] in {state[0]}: {exc}") from exc


def _parse(section: dict[str, Any]) -> NodeConfig:
    entry = section.get("entry", ENTRY_POINT)
    if (
        not isinstance(entry, str)
        or not entry
        or Path(entry).is_absolute()
        or ".." in Path(entry).parts
    ):
        raise ValueError(f"entry must be a file inside code/, got {entry!r}")
    command = section.get("command")
    if command is not None and (
        not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command)
    ):
        raise ValueError("command must be a non-empty list of strings")
    timeout = section.get("timeout")
    if timeout is not None and not (_is_number(timeout) and 0 < timeout <= MAX_TIMEOUT):
        raise ValueError(
            f"timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT} (a "
            f"year), not {_as_toml(timeout)}; leave it out for no limit"
        )
    shared_env = section.get("shared-env")
    if shared_env is not None and (not isinstance(shared_env, str) or not shared_env):
        raise ValueError("shared-env must be the name of a shared environment")
    interpreter = section.get("interpreter")
    if interpreter is not None and (
        not isinstance(interpreter, str) or not Path(interpreter).is_absolute()
    ):
        raise ValueError("interpreter must be the absolute path of a Python interpreter")
    if interpreter is not None and shared_env is not None:
        raise ValueError("set shared-env or interpreter, not both")
    return NodeConfig(
        shared_env=shared_env,
        interpreter=interpreter,
        pass_env=_pass_env(section.get("pass-env", [])),
        entry=entry,
        command=tuple(command) if command else None,
        timeout=float(timeout) if timeout is not None else None,
        resources=_resources(section.get("resources", {})),
    )


def _pass_env(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
        isinstance(name, str) and _VARIABLE.match(name) for name in value
    ):
        raise ValueError('pass-env must be a list of variable names, each may end in * ("AWS_*")')
    return tuple(value)


def _resources(section: dict[str, Any]) -> Resources:
    cpus, gpus = section.get("cpus", 1), section.get("gpus", 0)
    for name, value in (("cpus", cpus), ("gpus", gpus)):
        if not (_is_number(value) and 0 <= value < _INFINITY):
            raise ValueError(f"{name} must be a number, 0 or more, not {_as_toml(value)}")
    memory = section.get("memory")
    return Resources(float(cpus), float(gpus), None if memory is None else parse_memory(memory))


def _is_number(value: object) -> bool:
    """An int or a float as TOML gives them (``true`` is no number of seconds or CPUs)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_toml(value: object) -> str:
    """``value`` as the TOML file spells it (``true``, ``nan``, ``"2"``)."""
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, str) else repr(value)


def parse_memory(value: int | str) -> int:
    """Bytes (more than 0) from ``2147483648``, ``"2GB"``, ``"512MiB"``..."""
    if isinstance(value, int) and not isinstance(value, bool):
        found = value
    else:
        match = _MEMORY.match(str(value)) if isinstance(value, str) else None
        if not match:
            raise ValueError(f"memory must look like 512MB or 2GB, got {_as_toml(value)}")
        found = int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if found <= 0:
        raise ValueError(f"memory must be more than 0 bytes, got {value!r}")
    return found
