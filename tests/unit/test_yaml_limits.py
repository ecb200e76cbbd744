"""YAML read with limits: bombs, deep nesting and oversized texts are refused, quickly."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.params import parse_assignment, parse_params
from nodepipe.domain.yaml_limits import (
    MAX_YAML_ALIASES,
    MAX_YAML_CHARS,
    MAX_YAML_DEPTH,
    load_yaml,
)
from support.hostile_yaml import BOMB, DEEP, billion_laughs, nested


def test_a_billion_laughs_is_refused_naming_the_aliases() -> None:
    assert len(BOMB) < 1000
    with pytest.raises(InvalidInputError, match=r"^parameters: too many YAML aliases .*; limit"):
        parse_params(BOMB)


def test_a_bomb_of_few_aliases_is_refused_by_what_they_expand_to() -> None:
    # 6 levels of 16 aliases: under the alias count, but 16**6 = 16 million values
    bomb = billion_laughs(levels=7, width=16)
    assert bomb.count("*") <= MAX_YAML_ALIASES
    with pytest.raises(InvalidInputError, match="expand to more than"):
        load_yaml(bomb, "parameters")


def test_many_aliases_are_refused_even_when_each_is_small() -> None:
    text = "base: &b 1\nitems: [" + ", ".join(["*b"] * (MAX_YAML_ALIASES + 1)) + "]\n"
    with pytest.raises(InvalidInputError, match=f"more than {MAX_YAML_ALIASES}"):
        load_yaml(text, "parameters")


def test_a_normal_file_with_a_few_anchors_loads() -> None:
    text = (
        "defaults: &defaults {lr: 0.1, layers: [8, 4]}\n"
        "small: *defaults\n"
        "large: {<<: *defaults, layers: [64, 32]}\n"
        "seeds: &seeds [1, 2, 3]\n"
        "again: *seeds\n"
    )
    assert parse_params(text) == {
        "defaults": {"lr": 0.1, "layers": [8, 4]},
        "small": {"lr": 0.1, "layers": [8, 4]},
        "large": {"lr": 0.1, "layers": [64, 32]},
        "seeds": [1, 2, 3],
        "again": [1, 2, 3],
    }


def test_ten_thousand_levels_deep_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(InvalidInputError, match=f"nested more than {MAX_YAML_DEPTH} levels"):
        parse_params(DEEP)
    with pytest.raises(InvalidInputError, match="nested more than"):
        parse_assignment("lr=" + nested(10_000))


def test_nesting_up_to_the_limit_loads() -> None:
    value = parse_params(f"a: {nested(MAX_YAML_DEPTH - 1)}")["a"]
    for _ in range(MAX_YAML_DEPTH - 2):
        (value,) = value
    assert value == []


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="refers to a value that contains it"):
        parse_params("loop: &loop [1, *loop]\n")


def test_an_oversized_text_is_refused_before_it_is_parsed() -> None:
    text = "a: " + "x" * MAX_YAML_CHARS
    with pytest.raises(InvalidInputError, match="YAML text too long"):
        parse_params(text)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(min_size=1, max_size=6), children, max_size=4)
        ),
        max_leaves=30,
    )
)
def test_anything_safe_dump_writes_within_the_limits_reads_back(value: object) -> None:
    assert load_yaml(yaml.safe_dump(value), "parameters") == value
