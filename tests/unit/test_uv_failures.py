"""A failed uv command becomes the error that says whose fault it is (issue 10, finding 11).

The API answers these with 422 (the request's), 503 (the network's) or 502 (uv's own); the CLI
exits 2 or 7. Real uv produces the first two in ``tests/api/test_conformance.py``; here each
cause is checked on uv's own wording, including a resolution that fails for lack of network.
"""

from __future__ import annotations

import pytest

from nodepipe.domain.errors import (
    Action,
    EnvironmentBuildError,
    Hint,
    IndexUnreachableError,
    RequirementNotFoundError,
    UnresolvableRequirementsError,
)
from nodepipe.envs.uv import explanation, uv_failure

NO_SOLUTION = "error: No solution found when resolving dependencies:\n  ╰─▶ Because "


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        (
            NO_SOLUTION + "nopkg was not found in the package registry and you require nopkg",
            RequirementNotFoundError,
        ),
        (  # uv wraps its explanation to the terminal's width, inside a phrase too
            "error: Failed to add dependencies\n  cause: Because nopkg was not found in the package"
            "\n         registry and your project depends on nopkg, we can conclude",
            RequirementNotFoundError,
        ),
        (
            NO_SOLUTION + "there is no version of toypkg==9.9 and you require toypkg==9.9",
            RequirementNotFoundError,
        ),
        (
            NO_SOLUTION + "toypkg was not found in the cache and your project depends on it",
            RequirementNotFoundError,
        ),
        (
            NO_SOLUTION + "a==1 depends on b<2 and you require b>=2, we can conclude that",
            UnresolvableRequirementsError,
        ),
        (
            "error: Failed to fetch: https://pypi.org/simple/numpy/\n  Caused by: dns error",
            IndexUnreachableError,
        ),
        (
            "error: Request failed after 3 retries\n  Caused by: tcp connect error",
            IndexUnreachableError,
        ),
        (
            "error: Failed to build `x @ file:///src`\n  Caused by: exit status 1",
            EnvironmentBuildError,
        ),
    ],
)
def test_each_cause_has_its_error(detail: str, expected: type[EnvironmentBuildError]) -> None:
    error = uv_failure("lock the environment", detail)
    assert type(error) is expected
    assert explanation(detail) in str(error) and "lock the environment" in str(error)
    assert error.detail == detail  # uv's full text, for a log or --verbose


def test_uv_hints_do_not_leak_but_its_explanation_stays() -> None:
    """Issue 14, finding 7: uv's advice about its own options ("use --frozen") is not
    nodepipe's; the error says what happened in nodepipe's words, uv's full text is kept."""
    detail = (
        NO_SOLUTION + "toypkg was not found in the cache and your project depends on it\n"
        "hint: Packages were unavailable because the network was disabled. When the network is "
        "disabled, registry packages may only be read from the cache.\n"
        "hint: Pass `--frozen` to use the existing lock file"
    )
    error = uv_failure("lock the environment", detail)
    message = str(error)
    assert message.startswith("a package or version asked for does not exist")
    assert "toypkg was not found in the cache" in message
    assert "hint:" not in message and "--frozen" not in message
    assert error.detail == detail and explanation(detail) in message


WARNING = (
    "warning: Indexes specified via `--index-url` will not be persisted to the "
    "`pyproject.toml` file; use `--default-index` instead.\n"
)
UNREACHABLE = (
    WARNING
    + """\
error: Request failed after 3 retries in 8.0s
  cause: Failed to fetch: http://127.0.0.1:9/simple/attrs/
  cause: error sending request for url (http://127.0.0.1:9/simple/attrs/)
  cause: client error (Connect)
  cause: tcp connect error
  cause: Connection refused (os error 111)
"""
)


def test_uv_warnings_about_its_own_options_do_not_leak() -> None:
    """Audit 2, F18: a user with UV_INDEX_URL set (a mirror) typed no --index-url; uv's advice
    about it is not nodepipe's message, and the cause is one short paragraph: uv's error, the
    first cause (the address) and the root cause. uv's whole text stays the detail."""
    error = uv_failure("add attrs", UNREACHABLE)
    assert type(error) is IndexUnreachableError
    assert str(error) == (
        "the package index cannot be reached (could not add attrs):\n"
        "error: Request failed after 3 retries in 8.0s\n"
        "  cause: Failed to fetch: http://127.0.0.1:9/simple/attrs/\n"
        "  cause: Connection refused (os error 111)"
    )
    assert error.detail == UNREACHABLE


def test_a_wrapped_warning_and_explanation_are_told_unwrapped() -> None:
    detail = (
        "warning: Indexes specified via `--index-url` will not be persisted to the\n"
        "  `pyproject.toml` file; use `--default-index` instead.\n"
        + NO_SOLUTION
        + "nopkg was not found in the package\n      registry and you require nopkg"
    )
    told = explanation(detail)
    assert "--index-url" not in told and "--default-index" not in told
    assert told == (
        "error: No solution found when resolving dependencies:\n"
        "  ╰─▶ Because nopkg was not found in the package registry and you require nopkg"
    )


GONE = """\
Using CPython 3.11.7 interpreter at: /usr/bin/python3.11
Creating virtual environment at: .venv
error: Failed to download `gonepkg==1.0`
  cause: Failed to fetch: http://127.0.0.1:8080/packages/gonepkg-1.0-py3-none-any.whl
  cause: HTTP status client error (404 Not Found) for url (http://127.0.0.1:8080/packages/gonepkg-1.0-py3-none-any.whl)

hint: `gonepkg` (v1.0) was included because `nodepipe-node` (v0.0.0) depends on `gonepkg`
"""


def test_a_locked_file_the_index_answers_404_for_is_not_a_dead_index() -> None:
    """A user walkthrough: the wheel a lock names was removed from the index. The index
    answered; saying it cannot be reached (retry later) sent the user the wrong way."""
    error = uv_failure("sync the environment in /w/code", GONE)
    assert type(error) is RequirementNotFoundError
    assert error.hint == Hint(Action.ENV_LOCK)
    assert str(error) == (
        "the package index answered that the file of gonepkg==1.0 is not there (HTTP 404 Not "
        "Found: http://127.0.0.1:8080/packages/gonepkg-1.0-py3-none-any.whl); the lock names a "
        "file the index no longer has (could not sync the environment in /w/code):\n"
        "error: Failed to download `gonepkg==1.0`\n"
        "  cause: Failed to fetch: http://127.0.0.1:8080/packages/gonepkg-1.0-py3-none-any.whl\n"
        "  cause: HTTP status client error (404 Not Found) for url "
        "(http://127.0.0.1:8080/packages/gonepkg-1.0-py3-none-any.whl)"
    )
    assert error.detail == GONE
