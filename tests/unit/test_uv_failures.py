"""A failed uv command becomes the error that says whose fault it is (issue 10, finding 11).

The API answers these with 422 (the request's), 503 (the network's) or 502 (uv's own); the CLI
exits 2 or 7. Real uv produces the first two in ``tests/api/test_conformance.py``; here each
cause is checked on uv's own wording, including a resolution that fails for lack of network.
"""

from __future__ import annotations

import pytest

from nodepipe.domain.errors import (
    EnvironmentBuildError,
    IndexUnreachableError,
    RequirementNotFoundError,
    UnresolvableRequirementsError,
)
from nodepipe.envs.uv import uv_failure, without_hints

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
    assert detail in str(error) and "lock the environment" in str(error)
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
    assert error.detail == detail and without_hints(detail) in message
