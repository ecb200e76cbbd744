"""Requirement strings and package names checked before they reach uv.

nodepipe passes requirements to ``uv add`` as arguments: a string starting with ``-`` would be
read as an option (``-e``, ``--index-url=…``), so only these are accepted:

- a PEP 508 requirement, as ``packaging`` parses it: ``pandas==2.2.3``, ``scikit-learn>=1.5``,
  ``numpy[extra]>=2; python_version >= "3.11"``, ``tool @ git+https://host/org/tool@v1.2``;
- a bare URL of a scheme uv installs from: ``git+https://host/org/tool@v1.2``,
  ``https://host/tool-1.0-py3-none-any.whl``.

Package names (what ``uv remove`` takes) must be valid project names. A requirement's name
(:func:`requirement_name`) is what ``packaging`` reads, so ``tool[cli] @ https://…`` is ``tool``.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidName,
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.names import listed

URL_SCHEMES = frozenset({"git+https", "git+http", "git+ssh", "git+file", "https", "http", "file"})
"""The schemes of the bare URLs accepted as requirements (uv installs from these)."""

_FORMS = (
    "write it as name, name==version, name>=version, name @ URL, or a git+https:// URL; "
    "a local folder is added as a local project, not as a requirement"
)


def validate_requirements(requirements: Iterable[str]) -> list[str]:
    """The requirements, each checked with ``validate_requirement``."""
    return [validate_requirement(item) for item in listed(requirements, "the requirements")]


def validate_requirement(text: str) -> str:
    """``text`` if it is a PEP 508 requirement or a supported bare URL; InvalidInputError
    naming the string otherwise."""
    if not isinstance(text, str):
        raise InvalidInputError(f"invalid requirement {text!r}: it is not text; {_FORMS}")
    if text.lstrip().startswith("-"):
        raise InvalidInputError(
            f"invalid requirement {text!r}: it starts with '-', which uv would read as an "
            f"option; {_FORMS}"
        )
    try:
        Requirement(text)
    except InvalidRequirement as exc:
        if _is_bare_url(text):
            return text
        reason = str(exc).splitlines()[0]
        raise InvalidInputError(f"invalid requirement {text!r}: {reason}; {_FORMS}") from exc
    return text


def requirement_name(requirement: str) -> str:
    """The normalised name of the package a requirement installs.

    ``NumPy>=2`` and ``numpy[extra]; python_version < "3.13"`` are ``numpy``; ``tool @ URL`` is
    ``tool``. A bare URL is named by its wheel or sdist file name or its ``#egg=`` fragment;
    one that says no name (``git+https://host/org/tool@v1``) stands for itself.
    """
    text = requirement.strip()
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return _url_name(text) or text


def validate_package_names(names: Iterable[str]) -> list[str]:
    """The names, each a valid project name (``scikit-learn``); InvalidInputError otherwise."""
    checked = []
    for name in listed(names, "the package names"):
        try:
            if not isinstance(name, str):
                raise InvalidName(name)
            canonicalize_name(name, validate=True)
        except InvalidName as exc:
            raise InvalidInputError(
                f"invalid package name {name!r:.80}: use the name of an installed package, such "
                "as scikit-learn"
            ) from exc
        checked.append(name)
    return checked


def _is_bare_url(text: str) -> bool:
    if any(ch.isspace() for ch in text) or not text.isprintable():
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    if parts.scheme not in URL_SCHEMES:
        return False
    return bool(parts.netloc or (parts.scheme.endswith("file") and parts.path))


def _url_name(url: str) -> str | None:
    """The package name a bare URL says: its ``#egg=`` fragment, or its file's name."""
    parts = urlsplit(url)
    for field in parts.fragment.split("&"):
        key, _, value = field.partition("=")
        if key == "egg" and value:
            return canonicalize_name(value)
    filename = parts.path.rsplit("/", 1)[-1]
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[0]
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None
