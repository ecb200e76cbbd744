"""Uploading wheels and sdists to an index with ``uv publish``; credentials never in a file.

Where the URL and the credentials come from, first found wins:
- the URL: ``--repository-url``, or the ``repository`` of a ``~/.pypirc`` section
  (``--repository NAME``; uv ignores that file, so nodepipe reads it);
- the username and password: ``UV_PUBLISH_USERNAME``/``UV_PUBLISH_PASSWORD``, then
  ``TWINE_USERNAME``/``TWINE_PASSWORD``, then the ``~/.pypirc`` section (the named one, or the
  one whose ``repository`` is the URL), then the keyring (``keyring`` on PATH, asked by uv:
  ``envs.uv``).
They reach uv in its environment only: never on a command line (others can read those) and
never written anywhere. Files the index already holds with the same bytes are skipped (uv's
``--check-url``: the index's ``simple/`` page, unless given); an index's refusals become errors
that name the fix. A missing file, or one that is not a wheel or an sdist, is refused before
the index is asked anything.
"""

from __future__ import annotations

import configparser
import os
import re
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from nodepipe.domain.errors import Action, EnvironmentBuildError, Hint, IndexUnreachableError
from nodepipe.envs.uv import HTTP_RETRIES_VAR, UV_DEFAULT_HTTP_RETRIES, UvRunner
from nodepipe.packaging.errors import PackageError, PackageExistsError

PYPIRC = Path("~/.pypirc")
_STATUS = re.compile(r"status code (\d{3})")
_MISSING = "Missing credentials"
"""What uv says when it has no credentials to send (it asks nothing of the index then)."""
_SKIPPED = re.compile(r"^File (\S+) already exists, skipping", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Target:
    """Where to publish, and with which credentials (``source`` names where they came from)."""

    url: str
    username: str | None
    password: str | None
    source: str


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What a publish did: the files uploaded and those the index already had."""

    url: str
    uploaded: tuple[str, ...]
    skipped: tuple[str, ...]
    credentials: str


def read_pypirc(path: Path | None = None) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    file = (path or PYPIRC).expanduser()
    try:
        parser.read(file, encoding="utf-8")
    except configparser.Error as exc:
        raise PackageError(f"{file} is malformed: {exc}") from None
    return parser


def resolve_target(
    url: str | None,
    repository: str | None,
    environ: Mapping[str, str] | None = None,
    pypirc: Path | None = None,
) -> Target:
    """The URL and credentials to publish with (see the module's docstring)."""
    env = os.environ if environ is None else environ
    config = read_pypirc(pypirc)
    section: Mapping[str, str] = {}
    if repository is not None:
        if not config.has_section(repository):
            known = ", ".join(s for s in config.sections() if s != "distutils") or "none"
            raise PackageError(
                f"no repository {repository!r} in ~/.pypirc (it has: {known}); add a "
                f"[{repository}] section with its repository URL, or give the upload URL itself"
            )
        section = config[repository]
        url = section.get("repository")
        if not url:
            raise PackageError(f"~/.pypirc: [{repository}] has no repository = URL")
    elif url is not None:
        section = next(
            (config[s] for s in config.sections() if _same(config[s].get("repository"), url)), {}
        )
    if not url or "://" not in url:
        raise PackageError(
            "give the index's upload URL, or the name of a ~/.pypirc section holding it"
        )
    for user_key, password_key in (
        ("UV_PUBLISH_USERNAME", "UV_PUBLISH_PASSWORD"),
        ("TWINE_USERNAME", "TWINE_PASSWORD"),
    ):
        if env.get(password_key):
            return Target(url, env.get(user_key), env[password_key], f"${password_key}")
    if section.get("password"):
        return Target(url, section.get("username"), section["password"], "~/.pypirc")
    return Target(url, section.get("username") or env.get("TWINE_USERNAME"), None, "keyring")


def _same(left: str | None, right: str) -> bool:
    return left is not None and left.rstrip("/") == right.rstrip("/")


def publish(
    files: Sequence[Path], target: Target, uv: UvRunner, check_url: str | None = None
) -> PublishResult:
    """Upload ``files`` to ``target``; identical files the index holds are skipped."""
    check_files(files)
    args = ["publish", "--publish-url", target.url]
    args += ["--check-url", check_url or f"{target.url.rstrip('/')}/simple/"]
    env = {"UV_PUBLISH_USERNAME": target.username} if target.username else {}
    # uv's own retries (unless the user set theirs): an index refusing the credentials may
    # answer while the upload is still being sent and close the connection, and only uv's
    # next try reads that answer; without it a wrong password read as "cannot be reached"
    env[HTTP_RETRIES_VAR] = os.environ.get(HTTP_RETRIES_VAR, UV_DEFAULT_HTTP_RETRIES)
    if target.password is not None:
        env["UV_PUBLISH_PASSWORD"] = target.password
    try:
        done = uv.completed(
            [*args, *(str(f) for f in files)],
            cwd=Path.cwd(),
            action=f"publish to {target.url}",
            extra_env=env,
        )
    except EnvironmentBuildError as exc:
        unanswered = isinstance(exc, IndexUnreachableError) and _MISSING not in str(exc)
        if unanswered:
            raise
        raise refusal(str(exc), target) from None
    skipped = tuple(_SKIPPED.findall(done.stderr))
    uploaded = tuple(f.name for f in files if f.name not in skipped)
    return PublishResult(target.url, uploaded, skipped, target.source)


def check_files(files: Sequence[Path]) -> None:
    """Refuse, before the index is asked anything, a file that is missing or is not a wheel or
    an sdist (by its name and its bytes): that mistake is the caller's, never the index's."""
    from nodepipe.workspace.regular_files import NotRegularFileError, check_regular_file

    missing = []
    for file in files:
        try:  # looked at without waiting on a named pipe
            check_regular_file(file)
        except NotRegularFileError as exc:
            raise PackageError(f"{file}: {exc}; give the files a package build wrote") from None
        except OSError:
            missing.append(str(file))
    if missing:
        raise PackageError(f"no such file: {', '.join(missing)}")
    for file in files:
        if not _is_distribution(file):
            raise PackageError(
                f"{file} is not a wheel (NAME-VERSION-…-any.whl) or an sdist "
                "(NAME-VERSION.tar.gz); give the files a package build wrote"
            )


def _is_distribution(file: Path) -> bool:
    try:
        if file.name.endswith(".whl"):
            parse_wheel_filename(file.name)
            return zipfile.is_zipfile(file)
        if file.name.endswith(".tar.gz"):
            parse_sdist_filename(file.name)
            return tarfile.is_tarfile(file)
    except (InvalidWheelFilename, InvalidSdistFilename, OSError):
        return False
    return False


def refusal(detail: str, target: Target) -> PackageError | PackageExistsError:
    """The error for an index refusing an upload, by its HTTP status; its hint is the fix."""
    found = _STATUS.search(detail)
    status = int(found.group(1)) if found else 0
    first = detail.splitlines()[1] if len(detail.splitlines()) > 1 else detail
    if _MISSING in detail:
        return PackageError(
            f"{target.url} needs a username and password and none was given",
            hint=Hint(Action.PACKAGE_CREDENTIALS, {"url": target.url}),
        )
    if status in (401, 403):
        return PackageError(
            f"{target.url} refused the credentials (HTTP {status}; they came from {target.source})",
            hint=Hint(Action.PACKAGE_CREDENTIALS, {"url": target.url}),
        )
    if status in (400, 409) or "do not match" in detail:
        return PackageExistsError(
            f"{target.url} already holds a different file of this name and version "
            f"(HTTP {status or 'check'})",
            hint=Hint(Action.PACKAGE_VERSION, {"url": target.url}),
        )
    if status == 413:
        return PackageError(
            f"{target.url} refused the file as too large (HTTP 413)",
            hint=Hint(Action.PACKAGE_SIZE, {"url": target.url}),
        )
    return PackageError(f"{target.url} refused the upload: {first.strip()}")
