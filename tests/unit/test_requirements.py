"""Requirement strings and package names are checked before they reach uv."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.requirements import (
    requirement_name,
    validate_package_names,
    validate_requirement,
)
from nodepipe.domain.specs import NodeSpec, PipelineSpec

ACCEPTED = [
    "pandas==2.2.3",
    "scikit-learn>=1.5",
    "numpy[extra]>=1.26,<3",
    'tomli>=2; python_version < "3.11"',
    "tool @ git+https://host/org/tool@v1.2",
    "git+https://host/org/tool@v1.2",
    "git+ssh://git@host/org/tool.git",
    "https://host/files/tool-1.0-py3-none-any.whl",
    "file:///srv/wheels/tool-1.0-py3-none-any.whl",
]
REFUSED = [
    "-e",
    "--index-url=http://evil.example/simple",
    "--extra-index-url",
    " -e ./x",
    "-rrequirements.txt",
    "pandas==",
    "pandas\n--index-url=x",
    "./local/folder",
    "ftp://host/tool.whl",
    "",
]


@pytest.mark.parametrize("requirement", ACCEPTED)
def test_what_works_today_is_accepted(requirement: str) -> None:
    assert validate_requirement(requirement) == requirement


@pytest.mark.parametrize("requirement", REFUSED)
def test_options_and_malformed_strings_are_refused_naming_the_string(requirement: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid requirement") as refused:
        validate_requirement(requirement)
    assert repr(requirement) in str(refused.value)


def test_an_option_is_called_an_option() -> None:
    with pytest.raises(InvalidInputError, match=r"starts with '-'.*option"):
        validate_requirement("--index-url=http://evil.example/simple")


names = st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?\Z")
versions = st.from_regex(r"\A[0-9]{1,3}(\.[0-9]{1,3}){0,2}\Z")


@given(names, st.sampled_from(["==", ">=", "<=", "~=", "!=", ">", "<"]), versions)
def test_pinned_and_ranged_requirements_are_accepted(name: str, operator: str, v: str) -> None:
    if operator == "~=" and "." not in v:
        v += ".0"  # ~= needs two parts
    assert validate_requirement(f"{name}{operator}{v}") == f"{name}{operator}{v}"


@given(st.text(max_size=40))
def test_anything_starting_with_a_dash_is_refused(rest: str) -> None:
    with pytest.raises(InvalidInputError, match="starts with '-'"):
        validate_requirement("-" + rest)


def test_package_names_to_remove_are_names() -> None:
    assert validate_package_names(["scikit-learn", "numpy"]) == ["scikit-learn", "numpy"]
    for bad in ("--index-url=x", "-e", "numpy>=2", ""):
        with pytest.raises(InvalidInputError, match="invalid package name"):
            validate_package_names([bad])


def test_code_first_packages_are_checked_before_anything_is_made() -> None:
    node = NodeSpec("train", "print(1)\n", packages={"--index-url=http://evil.example": ""})
    with pytest.raises(InvalidInputError, match="invalid requirement '--index-url"):
        PipelineSpec("p", None, {}, (node,)).check()
    with pytest.raises(InvalidInputError, match="invalid requirement '-e'"):
        PipelineSpec("p", None, {"-e": "*"}, ()).check()


NAMED = [
    ("NumPy>=2", "numpy"),
    ("Scikit_Learn.Extra[cli,docs]>=1.5,<2", "scikit-learn-extra"),
    ('tomli>=2; python_version < "3.11"', "tomli"),
    ("tool @ https://host/files/tool-1.0.tar.gz", "tool"),
    ('Tool[cli]@git+https://host/org/tool@v1.2 ; sys_platform == "linux"', "tool"),
    ("https://host/files/My_Tool-1.0-py3-none-any.whl", "my-tool"),
    ("https://host/files/my_tool-1.0.tar.gz", "my-tool"),
    ("git+https://host/org/repo@v1.2#egg=My.Tool", "my-tool"),
    ("git+https://host/org/tool@v1.2", "git+https://host/org/tool@v1.2"),
]


@pytest.mark.parametrize(("requirement", "name"), NAMED)
def test_a_requirement_is_named_by_the_package_it_installs(requirement: str, name: str) -> None:
    """Extras, markers and URLs are not part of the name; a URL that names nothing is itself."""
    assert requirement_name(requirement) == name
