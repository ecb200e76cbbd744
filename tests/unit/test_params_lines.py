"""Line edits of params.yaml (``domain.params_lines``): where the lines hold, and where the
caller must write the values anew (None)."""

from __future__ import annotations

from typing import Any

import pytest

from nodepipe.domain.params import parse_params
from nodepipe.domain.params_lines import edited_params


def edit(text: str, changes: dict[str, Any], unset: tuple[str, ...] = ()) -> str | None:
    intended = {k: v for k, v in parse_params(text).items() if k not in unset} | changes
    return edited_params(text, changes, unset, intended)


@pytest.mark.parametrize(
    ("text", "changes", "unset", "edited"),
    [
        ("a:\nb: 1\n", {"a": 3}, (), "a: 3\nb: 1\n"),  # a null right after its colon
        ("a:  # none yet\n", {"a": "x y"}, (), "a: x y  # none yet\n"),
        ("a: 1\nb: 2", {"c": True}, (), "a: 1\nb: 2\nc: true\n"),  # no final newline
        ("a: 1  # one\nb: 2\n", {"a": 3}, ("a",), "b: 2\na: 3\n"),  # unset and set: moved last
        ("'a': 1  # quoted\n", {"a": "1"}, (), "'a': '1'  # quoted\n"),  # a string stays one
        ("# head\n{}  # empty\n# foot\n", {"a": 1}, (), "# head\n# empty\na: 1\n# foot\n"),
        ("a: 1\n", {}, ("a",), ""),
        ("a: 1\n# of b\n#  more\nb: 2\nc: 3\n", {}, ("b",), "a: 1\n# of b\n#  more\nc: 3\n"),
        ("a: 1\n\n# of b\nb: 2\n", {}, ("b",), "a: 1\n\n# of b\n"),  # comments above stay
        ("# header\nb: 2\nc: 3\n", {}, ("b",), "# header\nc: 3\n"),  # the file's header stays
        (
            "s: 1\n\n# -- training --\nlr: 0.1\nn: 3\n",
            {},
            ("lr",),
            "s: 1\n\n# -- training --\nn: 3\n",
        ),
        ('h: 1\nd: "one\n#two"\nlr: 0.1\n', {}, ("lr",), 'h: 1\nd: "one\n#two"\n'),
    ],
)
def test_lines_are_edited_in_place(
    text: str, changes: dict[str, Any], unset: tuple[str, ...], edited: str
) -> None:
    assert edit(text, changes, unset) == edited


@pytest.mark.parametrize(
    ("text", "changes", "unset"),
    [
        ("{a: 1}\n", {"b": 2}, ()),
        ("a: 1\na: 2\n", {}, ("a",)),
        ("doc: >\n  folded\n", {"doc": "x"}, ()),
        ("x: [1,\n  2]\n", {"x": [3]}, ()),
        ("base: &b 1\nother: *b\n", {"other": 2}, ()),
        ("  a: 1\n  b: 2\n", {"a": 2}, ()),  # the whole mapping indented
    ],
)
def test_a_layout_lines_cannot_hold_gives_none(
    text: str, changes: dict[str, Any], unset: tuple[str, ...]
) -> None:
    assert edit(text, changes, unset) is None


def test_the_result_must_hold_the_intended_values_with_their_types() -> None:
    assert edited_params("a: 1\n", {"a": 2}, (), {"a": 2}) == "a: 2\n"
    assert edited_params("a: 1\n", {"a": 2}, (), {"a": 2.0}) is None  # 2 is not 2.0
    assert edited_params("a: 1\nb: 2\n", {"a": 3}, (), {"b": 2, "a": 3}) is None  # order
