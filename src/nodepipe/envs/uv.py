"""Running the uv binary that ships with the ``uv`` Python package, with the workspace's cache.

A failed uv command becomes the error that says whose it is: the request's (no such package or
version, requirements that cannot be met together, a locked file the index answers is not
there), the network's (the index cannot be reached), or uv's own (anything else).

Credentials for an index come the ways uv takes them; for the keyring, uv must be told to ask
it: with a ``keyring`` command on PATH (and no ``UV_KEYRING_PROVIDER`` of the user's), uv runs
with ``UV_KEYRING_PROVIDER=subprocess``, so an index URL naming its user
(``https://alice@host/simple/``) gets the password from the keyring, for a pull, a node's sync
and a publish alike. uv asks it only for a URL with a user and no password.

An index (or a server a lock names) that accepts the connection and then sends nothing is
given up on after ``UV_HTTP_TIMEOUT`` seconds of silence (uv's, default 30), once: every uv
command runs with ``UV_HTTP_RETRIES=0`` unless the user set that variable (uv's three retries
made a sync after ``package pull`` wait over two minutes on such an index before it said "the
package index cannot be reached"); the error names the server by host and port and the two
variables (``silent_server``). A flaky network: set ``UV_HTTP_RETRIES`` (uv retries then).
``uv publish`` keeps uv's own retries: an index refusing credentials may close the connection
while the upload is sent, and only a retry reads its answer.

uv takes an exclusive ``flock`` on a file named after the project's folder in its temporary
folder (``$TMPDIR/uv-<digest>.lock``, made mode 0666) before it syncs; in ``/tmp`` any local
user may open it and hold that lock, and every sync of the node (and each run that syncs it)
then waits for them. uv runs with ``TMPDIR`` set to a private folder beside the workspace's uv
cache (``.nodepipe/uv-tmp``, mode 0700), where only the workspace's owner reaches its locks.
The environment's own lock (``code/.venv/.lock``, also 0666, in a node folder others may enter
under a usual umask) is never waited on: each sync builds a new environment, and ``uv add
--no-sync`` / ``uv remove --no-sync`` (which took that lock, though they change only
``pyproject.toml`` and ``uv.lock``) are given an environment that does not exist in the
private folder. The cache's lock is in ``.nodepipe`` (0700). ``tests/integration/
test_uv_locks.py`` holds each as another OS user.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from nodepipe.domain.errors import (
    Action,
    EnvironmentBuildError,
    Hint,
    IndexUnreachableError,
    RequirementNotFoundError,
    UnresolvableRequirementsError,
)

# What uv says, most specific first: a network failure can end a resolution too.
_CAUSES: tuple[tuple[type[EnvironmentBuildError], tuple[str, ...]], ...] = (
    (
        IndexUnreachableError,
        (
            "Failed to fetch",
            "error sending request",
            "tcp connect error",
            "dns error",
            "failed to lookup address",
            "operation timed out",
        ),
    ),
    (
        RequirementNotFoundError,
        (
            "was not found in the package registry",
            "was not found in the cache",
            "was not found in the provided package locations",
            "there is no version of",
            "there are no versions of",
        ),
    ),
    (UnresolvableRequirementsError, ("No solution found when resolving dependencies",)),
)

# An index answering that a file is not there (a locked wheel removed from it since), and the
# package uv was downloading. Checked before the causes: uv words it "Failed to fetch" too.
# The reason phrase is the server's own ("404 Not Found", http.server's "404 File not found").
_GONE = re.compile(r"\(((?:404|410) [^()]*)\) for url \((\S+?)\)")
_DOWNLOADING = re.compile(r"Failed to download `([^`]+)`")

# An index refusing the credentials (none, or wrong ones): a file download or a page it guards.
_REFUSED = re.compile(r"\((401 Unauthorized|403 Forbidden)\)(?: for url \((\S+?)\))?")
_UNAUTHENTICATED = re.compile(
    r"URL \((\S+?)\) could not be queried due to a lack of valid authentication credentials"
)

HTTP_TIMEOUT_VAR = "UV_HTTP_TIMEOUT"
"""uv's seconds of silence in a read before it gives up on a request."""
DEFAULT_HTTP_TIMEOUT_S = 30
"""uv's own ``UV_HTTP_TIMEOUT`` when the user sets none."""
HTTP_RETRIES_VAR = "UV_HTTP_RETRIES"
"""How many times uv tries a failed request again: 0 unless the user sets it (``uv publish``
keeps uv's own default, ``UV_DEFAULT_HTTP_RETRIES``: see ``packaging.publishing``)."""
UV_DEFAULT_HTTP_RETRIES = "3"
"""uv's own ``UV_HTTP_RETRIES`` when the user sets none."""

_TIMED_OUT = "operation timed out"
_FETCHING = re.compile(r"Failed to fetch: `?([^\s`]+)")

PRIVATE_TMP = "uv-tmp"
"""uv's private temporary folder, beside the uv cache (``.nodepipe/uv-tmp``)."""
NO_ENVIRONMENT = "no-environment"
"""In ``PRIVATE_TMP``: the project environment of the uv commands that need none (never made)."""

# Variables from the caller's shell that would point uv at the wrong environment or config.
_SCRUBBED = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "UV_PYTHON", "CONDA_PREFIX", "PYTHONHOME")


@cache
def uv_binary() -> str:
    """Path of the uv executable installed with nodepipe (never whatever is on PATH)."""
    from uv import find_uv_bin

    return find_uv_bin()


class UvRunner:
    """Runs uv commands against one workspace cache, never downloading interpreters.

    A plain class: nothing compares it, and a dataclass costs every command's start about
    0.6 ms to make (its generated methods are compiled when the module is imported)."""

    __slots__ = ("cache_dir",)

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir: Final = cache_dir

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in _SCRUBBED}
        env.update(
            UV_CACHE_DIR=str(self.cache_dir),
            UV_LINK_MODE="hardlink",
            UV_PYTHON_DOWNLOADS="never",
            UV_NO_PROGRESS="1",
        )
        if "UV_KEYRING_PROVIDER" not in env and shutil.which("keyring", path=env.get("PATH")):
            env["UV_KEYRING_PROVIDER"] = "subprocess"
        env.setdefault(HTTP_RETRIES_VAR, "0")  # a silent index: one wait, not four
        env["TMPDIR"] = str(self.private_tmp())  # uv's project locks: out of others' reach
        return env

    def private_tmp(self) -> Path:
        """uv's temporary folder (its project locks, its builds): ``uv-tmp`` beside the cache,
        mode 0700, made when missing (module docstring)."""
        folder = self.cache_dir.parent / PRIVATE_TMP
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if folder.stat().st_mode & 0o077:  # made by hand, or by an older nodepipe's umask
            folder.chmod(0o700)
        return folder

    def run(
        self, args: Sequence[str], cwd: Path, action: str, extra_env: dict[str, str] | None = None
    ) -> str:
        """Run ``uv args`` in ``cwd``; raise EnvironmentBuildError naming ``action`` on failure."""
        return self.completed(args, cwd, action, extra_env).stdout

    def completed(
        self, args: Sequence[str], cwd: Path, action: str, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Like ``run``, with what uv wrote to stderr too (``uv publish`` reports there)."""
        try:
            completed = subprocess.run(
                [uv_binary(), *args],
                cwd=cwd,
                env={**_away_from_environment(self.environment(), args), **(extra_env or {})},
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError as exc:
            raise EnvironmentBuildError(f"could not start uv to {action}: {exc}") from exc
        said = (completed.stderr or completed.stdout).strip()
        if completed.returncode < 0:
            raise UvStoppedError(action, -completed.returncode, said)
        if completed.returncode != 0:
            raise uv_failure(action, said)
        return completed


def _away_from_environment(env: dict[str, str], args: Sequence[str]) -> dict[str, str]:
    """``env``, for ``uv add --no-sync`` and ``uv remove --no-sync`` (they change
    ``pyproject.toml`` and ``uv.lock``, never an environment) naming as the project's
    environment one that does not exist in uv's private folder, so uv does not wait on the
    lock of the node's ``.venv`` (module docstring); the interpreter is the ``--python``
    nodepipe passes."""
    if args[:1] in (["add"], ["remove"]) and "--no-sync" in args:
        env["UV_PROJECT_ENVIRONMENT"] = str(Path(env["TMPDIR"]) / NO_ENVIRONMENT)
    return env


class UvStoppedError(EnvironmentBuildError):
    """uv was ended by a signal before it finished (a kill from outside, the kernel's
    out-of-memory killer, a Ctrl-C that reached it while nodepipe ignores it): said as a node
    killed by a signal is said. An environment edit it was part of is undone, and then says
    so (``undone``, see ``edits.all_or_nothing``)."""

    def __init__(self, action: str, signal_number: int, detail: str = "", undone: bool = False):
        from nodepipe.domain.runs import describe_exit  # rare: only once uv was killed

        message = f"uv was {describe_exit(-signal_number)} before it could {action}"
        super().__init__(message + ("; nothing was changed" if undone else ""), detail=detail)
        self.action = action
        self.signal_number = signal_number
        self.undone = undone

    def when_undone(self) -> UvStoppedError:
        """This error, once what uv was part of was undone."""
        return UvStoppedError(self.action, self.signal_number, self.detail, undone=True)


_WORDS: dict[type[EnvironmentBuildError], str] = {
    IndexUnreachableError: "the package index cannot be reached",
    RequirementNotFoundError: "a package or version asked for does not exist",
    UnresolvableRequirementsError: "no versions of the requirements fit together",
}


def uv_failure(action: str, detail: str) -> EnvironmentBuildError:
    """The error for uv failing to ``action`` with ``detail`` (its output), by cause: said in
    nodepipe's words, with uv's explanation but not its hints (they name uv's options, such as
    ``--frozen``, that a nodepipe user does not pass); the full output is the error's
    ``detail``."""
    told = explanation(detail)
    flat = " ".join(detail.split())  # uv wraps its explanation to the terminal's width
    refused = _credentials_refused(action, flat, detail)
    if refused is not None:
        return refused
    gone = _file_gone(action, flat, told, detail)
    if gone is not None:
        return gone
    silent = silent_server(flat, os.environ)
    if silent is not None:
        server, waited = silent
        return IndexUnreachableError(
            f"{server} accepted the connection but sent nothing for {waited} (could not "
            f"{action}); a slow index: set {HTTP_TIMEOUT_VAR} to more seconds, a flaky network: "
            f"set {HTTP_RETRIES_VAR} to retry",
            detail=detail,
        )
    for error_type, phrases in _CAUSES:
        if any(phrase in flat for phrase in phrases):
            words = _WORDS[error_type]
            return error_type(f"{words} (could not {action}):\n{told}", detail=detail)
    return EnvironmentBuildError(f"uv failed to {action}:\n{told}", detail=detail)


def silent_server(flat: str, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """For uv's output ``flat`` (unwrapped) saying a request timed out: the server, in words
    ("the package index HOST:PORT", never with the credentials its URL may carry), and how
    long uv waited ("30 s", "2 s, 3 times" with retries); None for any other failure."""
    if _TIMED_OUT not in flat:
        return None
    fetching = _FETCHING.search(flat)
    parts = urlsplit(fetching.group(1)) if fetching else None
    server = "the package index"
    if parts is not None and parts.hostname:
        port = f":{parts.port}" if parts.port is not None else ""
        server = f"the package index {parts.hostname}{port}"
    waited = f"{environ.get(HTTP_TIMEOUT_VAR) or DEFAULT_HTTP_TIMEOUT_S} s"
    retries = environ.get(HTTP_RETRIES_VAR, "0").strip()
    if retries.isdigit() and int(retries) > 0:
        waited += f", {int(retries) + 1} times"
    return server, waited


def _credentials_refused(action: str, flat: str, detail: str) -> EnvironmentBuildError | None:
    """The error for an index refusing the credentials, with the hint to give them; or None."""
    refused = _REFUSED.search(flat)
    unauthenticated = _UNAUTHENTICATED.search(flat)
    if refused is None and unauthenticated is None:
        return None
    status = refused.group(1) if refused else "401 Unauthorized"
    url = refused.group(2) if refused is not None and refused.group(2) else ""
    if not url and unauthenticated is not None:
        url = unauthenticated.group(1)
    host = urlsplit(url).netloc.rsplit("@", 1)[-1] if "://" in url else "the index"
    return EnvironmentBuildError(
        f"the package index {host} refused the credentials (HTTP {status}; could not {action})",
        hint=Hint(Action.INDEX_CREDENTIALS, {"host": host}),
        detail=detail,
    )


def _file_gone(action: str, flat: str, told: str, detail: str) -> EnvironmentBuildError | None:
    """The error for an index answering that a file is not there, with the hint to relock
    from what it holds now; or None. Not the network's: the index answered, retrying is no
    use."""
    gone = _GONE.search(flat)
    if gone is None:
        return None
    downloading = _DOWNLOADING.search(flat)
    what = f"the file of {downloading.group(1)}" if downloading else "a file"
    return RequirementNotFoundError(
        f"the package index answered that {what} is not there (HTTP {gone.group(1)}: "
        f"{_without_password(gone.group(2))}); the lock names a file the index no longer has "
        f"(could not {action}):\n{told}",
        hint=Hint(Action.ENV_LOCK),
        detail=detail,
    )


def _without_password(url: str) -> str:
    """``url`` without a password in it (uv masks it already; never shown if it did not)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":****@")).geturl()


def explanation(detail: str) -> str:
    """uv's explanation in one short paragraph: its error line, the first and the last of the
    causes under it (the root), each unwrapped; never the progress it told before its error
    line ("Using CPython …"), nor its ``warning:`` or ``hint:`` paragraphs (advice about uv's
    own options, such as ``--index-url`` or ``--frozen``, that a nodepipe user does not pass).
    The whole output stays the error's ``detail``."""
    items: list[str] = []
    skipping = False
    for line in detail.splitlines():
        text = line.strip()
        if not text:
            skipping = False
            continue
        if text.startswith(("warning:", "hint:")):
            skipping = True
        elif skipping and line[:1].isspace():
            continue  # the advice paragraph goes on
        elif items and line[:1].isspace() and not text.startswith(_CAUSE_MARKS):
            items[-1] += " " + text  # uv wraps to the terminal's width
            skipping = False
        else:
            items.append(text)
            skipping = False
    errors = [index for index, item in enumerate(items) if item.startswith("error:")]
    items = items[errors[0] :] if errors else items  # not the progress told before it
    if len(items) > 3:
        items = [items[0], items[1], items[-1]]
    return "\n".join(items[:1] + ["  " + item for item in items[1:]])


_CAUSE_MARKS = ("cause:", "Caused by:", "╰─▶", "├─▶", "×")
