"""The values `[tool.nodepipe]` may hold: what TOML can spell but a node cannot mean is bad
input, named (the node fails to prepare with it), never a setting nodepipe half-understands.

Before: `timeout = nan` and `timeout = true` (one second) were taken, `timeout = inf` failed
the node with "timestamp out of range for platform time_t"; `cpus = nan`, `cpus = true`,
`memory = -5` and `memory = true` (one byte) were taken too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nodepipe.domain.errors import InvalidInputError
from nodepipe.workspace.node_config import MAX_TIMEOUT, read_node_config

RESOURCES = "[tool.nodepipe.resources]\n"
BASE = '[project]\nname = "n"\nversion = "0"\n[tool.nodepipe]\nentry = "main.py"\n'


def settings(tmp_path: Path, lines: str) -> Path:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(BASE + lines + "\n")
    return pyproject


@pytest.mark.parametrize(
    ("lines", "said"),
    [
        ("timeout = nan", "timeout must be a number of seconds above 0 and at most"),
        ("timeout = inf", "not inf; leave it out for no limit"),
        ("timeout = 1e400", "not inf; leave it out for no limit"),
        ("timeout = true", "not true; leave it out"),
        ("timeout = -1", "not -1"),
        (f"timeout = {MAX_TIMEOUT + 1}", f"at most {MAX_TIMEOUT} (a year)"),
        ('timeout = "10"', 'not "10"'),
        (RESOURCES + "cpus = nan", "cpus must be a number, 0 or more, not nan"),
        (RESOURCES + "cpus = true", "cpus must be a number, 0 or more, not true"),
        (RESOURCES + "gpus = -inf", "gpus must be a number, 0 or more, not -inf"),
        (RESOURCES + "memory = -5", "memory must be more than 0 bytes, got -5"),
        (RESOURCES + "memory = true", "memory must look like 512MB or 2GB, got true"),
        (RESOURCES + 'memory = "0GB"', "memory must be more than 0 bytes"),
    ],
)
def test_what_a_node_cannot_mean_is_refused_naming_it(
    tmp_path: Path, lines: str, said: str
) -> None:
    pyproject = settings(tmp_path, lines)
    with pytest.raises(InvalidInputError) as refused:
        read_node_config(pyproject)
    assert f"bad [tool.nodepipe] in {pyproject}: " in str(refused.value)
    assert said in str(refused.value)


def test_sensible_values_are_taken(tmp_path: Path) -> None:
    lines = "timeout = 90\n" + RESOURCES + 'cpus = 0.5\ngpus = 1\nmemory = "2GB"'
    config = read_node_config(settings(tmp_path, lines))
    assert config.timeout == 90.0
    assert (config.resources.cpus, config.resources.gpus) == (0.5, 1.0)
    assert config.resources.memory_bytes == 2 * 1024**3
    assert read_node_config(settings(tmp_path / "..", "timeout = 0.25")).timeout == 0.25
