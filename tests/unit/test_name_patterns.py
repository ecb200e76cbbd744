"""The names' regular expressions accept exactly what the validation accepts.

The API's OpenAPI document states each name rule as a ``pattern`` (so a client, or a fuzzer,
knows in advance what will be refused); these properties hold it to the rule itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.names import SLOT_PATTERN, name_pattern, validate_name, validate_slot

TRICKY = st.sampled_from(
    ["-", ".", "..", "/", "\\", " ", "\t", "\n", "\u00a0", "\u200b", "\u2028", "\U000e0001", "a"]
)
"""Characters each rule treats specially, mixed into arbitrary text."""
TEXTS = st.lists(st.text(max_size=3) | TRICKY, max_size=40).map("".join)


def _accepts(check: Callable[[str], object], value: str) -> bool:
    try:
        check(value)
    except InvalidInputError:
        return False
    return True


@settings(max_examples=400)
@given(TEXTS | st.from_regex(name_pattern(), fullmatch=True) | st.text(min_size=95, max_size=105))
def test_the_name_pattern_is_the_name_rule(value: str) -> None:
    matched = re.fullmatch(name_pattern(), value) is not None
    assert matched == _accepts(lambda v: validate_name(v, "name"), value)


@settings(max_examples=400)
@given(TEXTS | st.from_regex(SLOT_PATTERN, fullmatch=True))
def test_the_slot_pattern_is_the_slot_rule(value: str) -> None:
    matched = re.fullmatch(SLOT_PATTERN, value) is not None
    assert matched == _accepts(validate_slot, value)


@pytest.mark.parametrize("slot", ["01\n", "a..b", ".x", "-x", "x" * 33])
def test_slots_that_are_refused(slot: str) -> None:
    """A trailing newline once slipped through (``$`` matches before it in Python)."""
    with pytest.raises(InvalidInputError):
        validate_slot(slot)


@pytest.mark.parametrize("name", ["a b", "#x", "été-1", "x_y.z", "(v2)"])
def test_a_slash_refusal_says_the_rule_that_accepts_what_it_accepts(name: str) -> None:
    """The words a refusal gives are the rule itself: names it allows ("a b", "#x") are
    accepted, so it never says "use letters, digits, '-', '_' or '.'", stricter than the rule;
    the API documents the same words."""
    from nodepipe.api.schemas.fields import Name

    assert validate_name(name, "tag") == name
    with pytest.raises(InvalidInputError) as refused:
        validate_name(name + "/2", "tag")
    told = str(refused.value).split(": it contains a slash; ", 1)[1]
    assert "letters, digits" not in told
    assert told.startswith("a name has no '/', '\\', '..', control characters")
    (field,) = [meta for meta in Name.__metadata__ if getattr(meta, "description", None)]
    assert field.description == f"A name: {told.removeprefix('a name has ')}."
