"""Where ``package publish`` takes the URL and credentials from, first found wins:
UV_PUBLISH_*, TWINE_*, ~/.pypirc (named, or matched by URL), else the keyring."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodepipe.packaging.errors import PackageError
from nodepipe.packaging.publishing import Target, resolve_target

PYPIRC = """\
[distutils]
index-servers = team

[team]
repository = https://pkgs.example.test/team/
username = bob
password = from-pypirc
"""


@pytest.fixture
def pypirc(tmp_path: Path) -> Path:
    path = tmp_path / ".pypirc"
    path.write_text(PYPIRC)
    return path


def test_a_named_repository_comes_from_pypirc(pypirc: Path) -> None:
    target = resolve_target(None, "team", {}, pypirc)
    assert target == Target("https://pkgs.example.test/team/", "bob", "from-pypirc", "~/.pypirc")


def test_environment_variables_win_over_pypirc(pypirc: Path) -> None:
    env = {"TWINE_USERNAME": "carol", "TWINE_PASSWORD": "t"}
    assert resolve_target(None, "team", env, pypirc).username == "carol"
    env |= {"UV_PUBLISH_USERNAME": "dave", "UV_PUBLISH_PASSWORD": "u"}
    assert resolve_target(None, "team", env, pypirc).source == "$UV_PUBLISH_PASSWORD"


def test_a_url_finds_its_pypirc_section_and_else_the_keyring(pypirc: Path) -> None:
    found = resolve_target("https://pkgs.example.test/team", None, {}, pypirc)
    assert (found.username, found.password) == ("bob", "from-pypirc")
    other = resolve_target("https://elsewhere.test/", None, {}, pypirc)
    assert (other.password, other.source) == (None, "keyring")


def test_an_unknown_repository_names_the_ones_pypirc_has(pypirc: Path) -> None:
    with pytest.raises(PackageError, match=r"no repository 'prod' in ~/.pypirc \(it has: team\)"):
        resolve_target(None, "prod", {}, pypirc)
