"""What a node's ``uv.lock`` pins: package name -> locked version, as status and runs show it.

A node's fingerprint records these (``workspace.fingerprint``); the environments views list
them (``services.envs``). Conda's lock has its own reader (``workspace.conda_project``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any


def locked_packages(lock_text: bytes | str) -> dict[str, str]:
    """Package name -> locked version from ``uv.lock`` text; ``{}`` if it is not valid TOML.

    A package locked at several versions (forked resolution) shows them joined with `` | ``; a
    git source adds its short commit (``1.2.0 (git 1a2b3c4)``).
    """
    text = lock_text.decode("utf-8", "replace") if isinstance(lock_text, bytes) else lock_text
    try:
        packages = tomllib.loads(text).get("package", [])
    except tomllib.TOMLDecodeError:
        return {}
    versions: dict[str, set[str]] = {}
    for package in packages if isinstance(packages, list) else []:
        if isinstance(package, dict) and isinstance(package.get("name"), str):
            versions.setdefault(package["name"], set()).add(_version_of(package))
    return {name: " | ".join(sorted(found)) for name, found in sorted(versions.items())}


def _version_of(package: Mapping[str, Any]) -> str:
    version = str(package.get("version", "?"))
    source = package.get("source")
    git = source.get("git") if isinstance(source, dict) else None
    if isinstance(git, str) and "#" in git:
        version += f" (git {git.rsplit('#', 1)[1][:7]})"
    return version
