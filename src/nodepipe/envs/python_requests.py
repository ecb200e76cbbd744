"""What a Python request asks for, in uv's request syntax, as ``.python-version`` holds it.

One grammar serves both sides: ``request_problem`` tells a bundle or package check whether the
text is a version request at all (a path or a program name found on PATH is not: importing it
would run a program of this machine), and ``parse_request`` turns every form it accepts into
what ``envs.interpreters.find_interpreter`` looks for, so a request the check lets through is
one the lookup can use. The forms: a version or range (``3``, ``3.12``, ``3.12.1``, ``312``,
``3.13t``, ``>=3.11,<3.13``, ``==3.12.*``), optionally behind an implementation
(``cpython@3.12``, ``cpython3.12``, ``cpython-3.12``, ``cp312``, ``pypy@3.10``, ``python3``),
a download key (``cpython-3.12.1-linux-x86_64-gnu``: the platform part must start with an
operating system; ``python3-config`` is a program, not a request), or an implementation alone
(``cpython``, ``any``). An interpreter found runs here, so a key naming another platform
(``cpython-3.12.1-macos-aarch64-none`` on Linux) is parsed, but ``foreign_platform`` says
that no interpreter of this machine can answer it.
"""

from __future__ import annotations

import platform
import re
import sys
from dataclasses import dataclass

_IMPLEMENTATION = r"(?:cpython|pypy|graalpy|python|cp|pp|gp)"
_NUMBERS = r"\d+(?:\.\d+){0,2}(?:(?:a|b|rc)\d+)?[t+]?"
_RANGE = rf"(?:[<>=!~]=?|===?)?\s*{_NUMBERS}(?:\.\*)?"
_REQUEST = re.compile(
    rf"^(?:{_IMPLEMENTATION}(?:[@-]|(?=\d)))?(?:{_RANGE}(?:\s*,\s*{_RANGE})*)"
    r"(?:-(?:linux|macos|darwin|windows|any)(?:-[a-z0-9_]+){0,2})?$"
    r"|^(?:cpython|pypy|graalpy|any|default)$",
    re.IGNORECASE,
)
_PREFIX = re.compile(rf"^({_IMPLEMENTATION})(?:[@-]|(?=\d))", re.IGNORECASE)
_NAMES = {"cpython": "cpython", "cp": "cpython", "pypy": "pypy", "pp": "pypy"}
_NAMES |= {"graalpy": "graalpy", "gp": "graalpy"}
_OPERATOR = re.compile(r"[<>=!~,*]")
_PRE_RELEASE = re.compile(r"(?:a|b|rc)\d+(?=$|[,.])")
_SYSTEMS = {"linux": "linux", "darwin": "macos", "macos": "macos", "win32": "windows"}
_SYSTEMS |= {"windows": "windows", "cygwin": "windows"}
_MACHINES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "i686": "x86", "i386": "x86"}


@dataclass(frozen=True, slots=True)
class PythonRequest:
    """What an interpreter must be to answer a request."""

    text: str
    implementation: str | None = None
    """``cpython``, ``pypy``, ``graalpy``; None: any (a bare version, ``python3``)."""
    versions: str = ""
    """Its version (release only, ``3.12.1``) must be in this PEP 440 specifier set (checked
    to parse); empty: any."""
    minor: tuple[int, int] | None = None
    """The one minor version the request names, when it names one (``3.12``, ``cp312``)."""
    freethreaded: bool = False
    """``3.13t``: a free-threaded build."""

    def matches(self, implementation: str, version: tuple[int, ...], gil_disabled: bool) -> bool:
        """Whether an interpreter of that implementation, version and build answers."""
        if self.implementation is not None and implementation != self.implementation:
            return False
        if self.freethreaded and not gil_disabled:
            return False
        from packaging.specifiers import SpecifierSet  # only when looking: not on every run

        return ".".join(map(str, version)) in SpecifierSet(self.versions)

    def python2_only(self) -> bool:
        """Whether only a Python 2 answers (``2.7``, ``python2``, ``<3``): no interpreter
        nodepipe can run a node with, its helper module being Python 3. (Asked only when no
        interpreter answered: it tries every release up to 3.39.29.)"""
        from packaging.specifiers import SpecifierSet

        wanted = SpecifierSet(self.versions)
        majors = {
            major
            for major in (2, 3)
            for minor in range(40)
            for patch in range(30)
            if f"{major}.{minor}.{patch}" in wanted
        }
        return majors == {2}


def request_problem(text: str) -> str | None:
    """Why the ``.python-version`` text ``text`` cannot travel in a bundle or package (None
    when it can): only a version request (``3.12``, ``cpython@3.12``) means "an interpreter of
    that version" wherever it is imported; a path, a ``~`` or an executable name found on
    PATH names a program of the machine it was written on, and locking would run it."""
    for line in text.splitlines():
        request = line.strip()
        if not request or request.startswith("#"):
            continue
        if not _REQUEST.match(request):
            return f"{request[:200]!r} is not a Python version request (like 3.12)"
    return None


def first_request(text: str) -> str:
    """The request a ``.python-version`` file makes: its first line that is not a comment."""
    for line in text.splitlines():
        if line.strip() and not line.strip().startswith("#"):
            return line.strip()
    return ""


def foreign_platform(text: str) -> str | None:
    """Why no interpreter of this machine answers the request ``text``, a download key naming
    another platform (``cpython-3.12.1-macos-aarch64-none`` on Linux): the message names both
    platforms and what to ask for instead. None for every other request (a version, a range,
    a key of this machine's platform or of ``any``)."""
    if not _REQUEST.match(text) or _OPERATOR.search(text):
        return None
    prefix = _PREFIX.match(text.lower())
    rest = text.lower()[prefix.end() :] if prefix else text.lower()
    key = rest.partition("-")[2]
    if not key:
        return None
    system, machine, libc = [*key.split("-"), "", ""][:3]
    here_system, here_machine, here_libc = this_platform()
    wanted = (_SYSTEMS.get(system, system), _MACHINES.get(machine, machine), libc)
    if (
        wanted[0] in ("any", here_system)
        and wanted[1] in ("", "any", here_machine)
        and (wanted[2] in ("", "any") or wanted[2].startswith(here_libc))
    ):
        return None
    here = "-".join(part for part in (here_system, here_machine, here_libc) if part)
    named = text[: len(text) - len(key) - 1]
    return (
        f"{text} asks for an interpreter of another platform ({key}), and this machine is "
        f"{here}: ask for the version alone ({named}) or name this machine's platform "
        f"({named}-{here})"
    )


def this_platform() -> tuple[str, str, str]:
    """This machine's platform as a uv download key names it: (``linux``, ``x86_64``,
    ``gnu``); the C library is ``none`` off Linux."""
    system = _SYSTEMS.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    libc = "gnu" if platform.libc_ver()[0] == "glibc" else "musl"
    if system != "linux":
        libc = "none"
    return system, _MACHINES.get(machine, machine), libc


def parse_request(text: str) -> PythonRequest | None:
    """What the version request ``text`` asks for; None when it is not one (a path)."""
    if not _REQUEST.match(text):
        return None
    lowered = text.lower()
    if lowered in ("any", "default"):
        return PythonRequest(text)
    if lowered in _NAMES:
        return PythonRequest(text, _NAMES[lowered])
    prefix = _PREFIX.match(lowered)
    implementation = _NAMES.get(prefix.group(1)) if prefix else None
    rest = lowered[prefix.end() :] if prefix else lowered
    if not _OPERATOR.search(rest):
        rest = rest.split("-", 1)[0]  # a download key's platform: this machine's
    freethreaded = rest.endswith("t")
    rest = _PRE_RELEASE.sub("", rest.rstrip("t+").replace(" ", ""))  # 3.14a1: a 3.14
    if rest.isdigit() and len(rest) > (1 if prefix else 2):
        rest = f"{rest[0]}.{rest[1:]}"  # cp312, 312: 3.12
    return _versions(text, implementation, rest, freethreaded)


def requires_python(text: str, found: str) -> str:
    """The ``requires-python`` of a node whose ``.python-version`` asks for ``text``, answered
    by an interpreter of version ``found`` (``3.12.1``): a range as asked (``>=3.11,<3.13``,
    so the lock holds for every Python the user allows); a version, a key or a path from the
    minor version found on (``>=3.12``)."""
    request = parse_request(text) if _OPERATOR.search(text) else None
    if request is not None and request.versions:
        return request.versions
    return ">=" + ".".join(found.split(".")[:2])


def _versions(
    text: str, implementation: str | None, rest: str, freethreaded: bool
) -> PythonRequest | None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    if _OPERATOR.search(rest):
        try:
            SpecifierSet(rest)  # checked; kept as written (``>=3.11,<3.13``, not sorted)
            return PythonRequest(text, implementation, rest, None, freethreaded)
        except InvalidSpecifier:
            return None
    parts = rest.split(".")
    minor = (int(parts[0]), int(parts[1])) if len(parts) >= 2 else None
    specifier = f"=={rest}" if len(parts) == 3 else f"=={rest}.*"
    return PythonRequest(text, implementation, specifier, minor, freethreaded)
