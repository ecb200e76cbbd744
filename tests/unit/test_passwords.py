"""Server passwords: salted scrypt hashes that verify, refuse, and never hold the password."""

from __future__ import annotations

import pytest

import nodepipe
from nodepipe.domain.errors import Action, Hint
from nodepipe.domain.passwords import check_hash, hash_password, verify_password


def test_a_hash_verifies_its_password_only_and_is_salted() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("scrypt$n=16384,r=8,p=1$") and first != second
    assert "correct horse" not in first
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct horsE", first)
    assert not verify_password("", first)


@pytest.mark.parametrize("password", ["short", "       ", " leading blank", "trailing blank "])
def test_weak_or_blank_passwords_are_refused(password: str) -> None:
    with pytest.raises(nodepipe.InvalidInputError):
        hash_password(password)


@pytest.mark.parametrize(
    "stored",
    [
        "plain text password",
        "scrypt$n=1048576,r=8,p=1$c2FsdA$" + "A" * 43,  # would take a GiB to check
        "scrypt$n=1000,r=8,p=1$c2FsdA$" + "A" * 43,  # not a power of two
        "scrypt$n=16384,r=8,p=1$c2FsdA$AAAA",  # key too short
    ],
)
def test_a_hash_not_written_by_nodepipe_is_refused_with_the_fix(stored: str) -> None:
    with pytest.raises(nodepipe.InvalidInputError) as refused:
        check_hash(stored)
    assert refused.value.hint == Hint(Action.SERVER_PASSWORD)
    with pytest.raises(nodepipe.InvalidInputError):
        verify_password("anything", stored)
