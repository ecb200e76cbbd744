"""Ids keep their format: what earlier versions made still reads as an id, and new ids are made
from the same alphabet, at the same length, always with a digit."""

from __future__ import annotations

from nodepipe.domain.ids import ID_ALPHABET, ID_LENGTH, looks_like_id, new_id

MADE_BEFORE = ["k7m2x9qa", "2b3c4d5e", "zz8yyxww", "9a9a9a9a"]
"""Ids of the shape the earlier generator made (workspaces hold such ids in folders and rows)."""


def test_the_format_is_the_one_ids_were_made_in() -> None:
    assert ID_ALPHABET == "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i look-alikes
    assert ID_LENGTH == 8
    assert all(looks_like_id(made) for made in MADE_BEFORE)


def test_new_ids_are_of_that_format_and_use_the_whole_alphabet() -> None:
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(looks_like_id(made) for made in ids)
    assert set("".join(ids)) == set(ID_ALPHABET)
    assert not looks_like_id("abcdefgh") and not looks_like_id("baseline")
