"""Every form of uv's Python request syntax that the bundle check accepts parses into what the
interpreter lookup looks for (ext14g: ``cpython@3.12`` passed the check, then failed at lock)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from nodepipe.domain.errors import NodepipeError, RequirementNotFoundError
from nodepipe.envs.interpreters import find_interpreter
from nodepipe.envs.python_requests import first_request, parse_request, request_problem


@pytest.mark.parametrize(
    ("text", "implementation", "minor", "inside", "outside"),
    [
        ("3", None, None, (3, 9, 1), (2, 7, 18)),
        ("3.12", None, (3, 12), (3, 12, 4), (3, 11, 9)),
        ("3.12.1", None, (3, 12), (3, 12, 1), (3, 12, 2)),
        ("312", None, (3, 12), (3, 12, 0), (3, 1, 2)),
        ("cp312", "cpython", (3, 12), (3, 12, 0), (3, 13, 0)),
        ("cpython@3.12", "cpython", (3, 12), (3, 12, 7), (3, 11, 0)),
        ("cpython3.12", "cpython", (3, 12), (3, 12, 7), (3, 11, 0)),
        ("cpython-3.12", "cpython", (3, 12), (3, 12, 7), (3, 11, 0)),
        ("cpython-3.12.1-linux-x86_64-gnu", "cpython", (3, 12), (3, 12, 1), (3, 12, 3)),
        ("cpython-3.12-macos-aarch64-none", "cpython", (3, 12), (3, 12, 1), (3, 11, 3)),
        ("pypy@3.10", "pypy", (3, 10), (3, 10, 14), (3, 9, 0)),
        ("python3", None, None, (3, 13, 0), (2, 7, 0)),
        (">=3.11,<3.13", None, None, (3, 12, 0), (3, 13, 0)),
        ("==3.12.*", None, None, (3, 12, 9), (3, 11, 9)),
        ("~=3.10", None, None, (3, 13, 0), (3, 9, 0)),
        ("3.14rc1", None, (3, 14), (3, 14, 0), (3, 13, 0)),
    ],
)
def test_each_accepted_form_names_what_an_interpreter_must_be(
    text: str,
    implementation: str | None,
    minor: tuple[int, int] | None,
    inside: tuple[int, int, int],
    outside: tuple[int, int, int],
) -> None:
    assert request_problem(text) is None
    request = parse_request(text)
    assert request is not None
    assert (request.implementation, request.minor) == (implementation, minor)
    assert request.matches(implementation or "cpython", inside, False)
    assert not request.matches(implementation or "cpython", outside, False)


def test_implementation_and_free_threading_are_part_of_the_answer() -> None:
    cpython = parse_request("cpython@3.12")
    assert cpython is not None and not cpython.matches("pypy", (3, 12, 0), False)
    threaded = parse_request("3.13t")
    assert threaded is not None and threaded.freethreaded
    assert threaded.matches("cpython", (3, 13, 0), True)
    assert not threaded.matches("cpython", (3, 13, 0), False)
    anything = parse_request("any")
    assert anything is not None and anything.matches("pypy", (3, 9, 0), False)


def test_what_the_check_refuses_is_not_a_request() -> None:
    for text in ("/usr/bin/python3", "~/py", "./py", "py", "3.12; rm -rf /", "python3-config"):
        assert request_problem(text) is not None
        assert parse_request(text) is None


def test_the_lookup_never_runs_a_program_from_a_relative_path_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Audit4 F8: PATH may hold "." or "bin"; what lies there depends on the working folder,
    and the lookup runs a candidate to ask its version."""
    marker = tmp_path / "ran"
    here = tmp_path / "here"
    here.mkdir()
    fake = here / "python3"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.chdir(here)
    monkeypatch.setenv("PATH", os.pathsep.join([".", os.environ["PATH"]]))
    with contextlib.suppress(NodepipeError):
        find_interpreter("3")
    assert not marker.exists()


def test_a_file_asks_with_its_first_line_that_is_no_comment() -> None:
    assert first_request("# pinned by the team\n\ncpython@3.12\n3.11\n") == "cpython@3.12"


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("3.99", "pyenv install 3.99"),
        ("pypy@3.99", "pyenv install pypy3.99"),  # was `pyenv install 3.99`: a CPython
        ("3.99t", "pyenv install 3.99t"),  # was `pyenv install 3.99`: not free-threaded
    ],
)
def test_a_missing_python_names_what_to_install_for_it(text: str, hint: str) -> None:
    """README, Python versions: nodepipe never downloads one; the error says how to install
    the one asked for, of its implementation and build."""
    with pytest.raises(RequirementNotFoundError) as caught:
        find_interpreter(text)
    assert f"no Python {text} is installed here" in str(caught.value)
    assert f"`{hint}`" in str(caught.value)
