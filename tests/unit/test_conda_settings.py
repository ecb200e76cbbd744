"""The conda settings a user sets in the environment: a whole number above zero, else refused
naming the variable and what it holds (a typo must not silently become the default)."""

from __future__ import annotations

import pytest

from nodepipe.domain.errors import InvalidInputError
from nodepipe.envs.conda import TIMEOUT_VARIABLE, request_timeout
from nodepipe.envs.conda_checks import MAX_REPODATA_VARIABLE, max_repodata_bytes


def test_unset_gives_the_default_and_a_number_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TIMEOUT_VARIABLE, raising=False)
    default = request_timeout()
    assert default > 0
    monkeypatch.setenv(TIMEOUT_VARIABLE, " 7 ")
    assert request_timeout() == 7
    monkeypatch.setenv(MAX_REPODATA_VARIABLE, "3")
    assert max_repodata_bytes() == 3 << 20


@pytest.mark.parametrize("text", ["abc", "0", "-5", "1.5"])
def test_anything_else_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv(TIMEOUT_VARIABLE, text)
    with pytest.raises(InvalidInputError, match=f"{TIMEOUT_VARIABLE}='{text}' is not a number"):
        request_timeout()
    monkeypatch.setenv(MAX_REPODATA_VARIABLE, text)
    with pytest.raises(InvalidInputError, match=f"{MAX_REPODATA_VARIABLE}='{text}'"):
        max_repodata_bytes()
