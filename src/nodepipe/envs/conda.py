"""A node's conda prefix, solved, locked and installed in-process with py-rattler.

py-rattler is the optional extra ``nodepipe[conda]``; it is imported only when a conda lock has
to be solved or installed, and its absence is a clear error naming the extra. Nodes without a
``conda.lock`` never import it.

- ``lock`` solves the node's conda specs against its channels (the packages locked before are
  preferred unless upgrading) and writes ``code/conda.lock`` in pixi's lock format.
- ``install`` builds the prefix from the lock under a temporary name (the files patched for
  the final path, ``code/.conda``) and swaps it in with renames; packages are hard-linked from
  the workspace's package cache, so ten nodes with the same package cost one. A marker written
  last names the lock the prefix was built from and stamps its packages' files (a stat each):
  a prefix without it, or whose files changed since, is never trusted. Before linking, the
  cached packages are checked against what they shipped (their stamp, else their sha256s): a
  file edited in place through a prefix's hard link edited the cache, and is extracted again.
  What a hostile or broken channel could do through py-rattler is refused around it
  (``conda_checks``): escaping paths and links, a local archive that is not the one locked (or
  not a file), a ``repodata.json`` past the size cap; and a package that would unpack past its
  caps is refused before it is unpacked (``conda_unpack``). A prefix marked by older checks is
  checked again in place, once, before it is used; a link in the prefix's place is never
  trusted (the prefix is a folder nodepipe builds), and only the link is ever removed.
- ``ensure_installed`` installs only when the lock changed, and removes a prefix whose lock is
  gone. Installs are journaled like uv syncs: what a killed one leaves is removed later.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
from collections.abc import Coroutine
from pathlib import Path
from types import ModuleType
from typing import Any, Final, TypeVar

from nodepipe.domain.environments import CONDA_LOCK, CONDA_PREFIX
from nodepipe.domain.errors import (
    Action,
    EnvironmentBuildError,
    Hint,
    IndexUnreachableError,
    InvalidInputError,
    RefusedPackageError,
    RequirementNotFoundError,
    UnresolvableRequirementsError,
)
from nodepipe.workspace import journal
from nodepipe.workspace.conda_project import conda_requirements
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import fsync_dir, write_atomic
from nodepipe.workspace.file_digests import sha256_file

INSTALL_MARKER = ".nodepipe-installed"
"""File in ``.conda``: the sha256 of the lock the prefix was installed from, the stamp of the
packages' files (``file_stamp``) as installed, the sha256 of the specs the node asked for
then (``request_identity``): specs edited by hand are checked against the lock again; and the
version of the checks its packages passed (``CHECKS``)."""
CHECKS = "checks-2"
"""The version of what ``conda_checks`` refuses in an installed prefix (2: paths and links
leading outside it). A prefix marked by older checks (or none: its marker has three lines) is
checked again in place before it is used, once."""
INSTALLED_FILES = ".nodepipe-files"
"""File in ``.conda``: the packages' files, one relative path a line, that the stamp covers."""
INSTALL_KIND = "conda-install"
"""Journal operations of installs: their half-built and replaced prefixes, removed later."""
EXTRA = "nodepipe[conda]"
TIMEOUT_VARIABLE = "NODEPIPE_CONDA_TIMEOUT"
"""Seconds one request to a conda channel may take (default ``DEFAULT_TIMEOUT``)."""
DEFAULT_TIMEOUT = 600
"""Long enough for one large package (a CUDA library) on a slow link; a channel that accepts
the connection and never answers fails after it instead of hanging the command for ever."""
CHANNEL_RELATIONS: Final = "disabled"
"""py-rattler follows a channel's CEP-42 ``channel_relations`` (its ``repodata.json`` naming
``../other`` channels) unless told not to: a channel could then make nodepipe read folders and
servers nobody named, past every check of a node's channels (bundle import, the web API).
Solves and queries pass it: only the channels named are read."""
_T = TypeVar("_T")


class CondaUnavailableError(EnvironmentBuildError):
    """Conda packages were asked for but py-rattler (the ``conda`` extra) is not installed."""


def rattler() -> ModuleType:
    """The py-rattler module; CondaUnavailableError saying how to install it when missing."""
    try:
        return importlib.import_module("rattler")
    except ImportError:
        raise CondaUnavailableError(
            f"conda packages need py-rattler ({EXTRA}), which is not installed here",
            hint=Hint(Action.CONDA_INSTALL),
        ) from None


def request_timeout() -> int:
    """Seconds one channel request may take: ``NODEPIPE_CONDA_TIMEOUT`` or the default."""
    from nodepipe.envs.conda_settings import positive_setting

    return positive_setting(TIMEOUT_VARIABLE, DEFAULT_TIMEOUT, "seconds")


def lock_identity(code_dir: Path) -> str | None:
    """The sha256 of the node's conda lock, or None when it has none."""
    try:
        return hashlib.sha256((code_dir / CONDA_LOCK).read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


class CondaEnvironments:
    """Locks and installs node conda prefixes (``code/conda.lock``, ``code/.conda``).

    A plain class: nothing compares it, and a dataclass costs every command's start about
    0.6 ms to make (its generated methods are compiled when the module is imported)."""

    __slots__ = ("cache_dir", "journal_dir")

    def __init__(self, cache_dir: Path, journal_dir: Path) -> None:
        self.cache_dir: Final = cache_dir
        """The workspace's conda package cache (extracted packages, hard-linked into
        prefixes)."""
        self.journal_dir: Final = journal_dir

    @property
    def repodata_dir(self) -> Path:
        """The workspace's cache of channel indexes (``repodata.json``), beside the package
        cache: watched for the size cap while a solve fetches into it."""
        return self.cache_dir.parent / "conda-repodata"

    def lock(
        self, code_dir: Path, specs: list[str], channels: list[str], upgrade: bool = False
    ) -> None:
        """Solve ``specs`` from ``channels`` into ``code_dir/conda.lock`` (nothing else is
        touched); the lock's packages are kept where the specs allow, unless ``upgrade``."""
        from nodepipe.envs.conda_checks import capped, check_solved_places, pin_local_archives

        r = rattler()
        platform = r.Subdir.current()
        locked = [] if upgrade else self._locked_records(code_dir)
        gateway = r.Gateway(
            cache_dir=self.repodata_dir, client=r.Client.default_client(timeout=request_timeout())
        )
        sources = [r.Channel(c) for c in channels]
        platforms = [platform, r.Subdir("noarch")]
        if locked:
            locked = _still_offered(
                r, gateway, sources, platforms, locked, ", ".join(channels), self.repodata_dir
            )
        solving = r.solve(
            sources,
            [_spec(r, s) for s in specs],
            gateway=gateway,
            platforms=platforms,
            locked_packages=locked,
            virtual_packages=r.VirtualPackage.detect(),
            channel_relations=CHANNEL_RELATIONS,
        )
        records = run_to_completion(
            capped(_guarded(solving, ", ".join(channels)), self.repodata_dir, ", ".join(channels))
        )
        check_solved_places(records)
        pin_local_archives(records)
        from nodepipe.envs.conda_unpack import UNPACKING, pin_remote_archives

        pinning = self.cache_dir / f"{UNPACKING}{os.urandom(4).hex()}"  # what a kill leaves
        with journal.operation(self.journal_dir, INSTALL_KIND, leftovers=[str(pinning)]):
            run_to_completion(pin_remote_archives(r, records, pinning, ", ".join(channels)))
        lock_platform = r.LockPlatform(str(platform))
        lock = r.LockFile([lock_platform])
        lock.set_channels("default", [r.LockChannel(c) for c in _channel_urls(r, channels)])
        for record in sorted(records, key=lambda rec: rec.name.normalized):
            lock.add_conda_package("default", lock_platform, record)
        building = code_dir / f".{CONDA_LOCK}.{os.urandom(4).hex()}"
        try:
            lock.to_path(building)
            write_atomic(code_dir / CONDA_LOCK, building.read_bytes())
        finally:
            building.unlink(missing_ok=True)

    def install(self, code_dir: Path) -> None:
        """Make ``code_dir/.conda`` exactly what the lock pins, swapped in when complete."""
        from nodepipe.envs.conda_checks import check_local_archives, refuse_broken, refuse_hostile
        from nodepipe.envs.conda_unpack import UNPACKING, unpack_uncached

        r = rattler()
        records = self._locked_records(code_dir)
        _check_lock_holds_request(r, code_dir, records)
        check_local_archives(records)
        identity = lock_identity(code_dir)
        target = code_dir / CONDA_PREFIX
        token = os.urandom(4).hex()
        building = code_dir / f"{CONDA_PREFIX}.building-{token}"
        old = code_dir / f"{CONDA_PREFIX}.old-{token}"
        unpacking = self.cache_dir / f"{UNPACKING}{token}"
        leftovers = [str(building), str(old), str(unpacking)]
        with journal.operation(self.journal_dir, INSTALL_KIND, leftovers=leftovers):
            try:
                for attempt in range(2):
                    # py-rattler unpacks what the cache lacks uncapped: measured here first
                    unpacked = unpack_uncached(
                        r, records, self.cache_dir, unpacking, "the lock's channels"
                    )
                    run_to_completion(unpacked)
                    installing = r.install(
                        records,
                        building,
                        cache_dir=self.cache_dir,
                        show_progress=False,
                        client=r.Client.default_client(timeout=request_timeout()),
                        alternative_target_prefix=target,
                    )
                    try:
                        run_to_completion(_guarded(installing, "the lock's channels"))
                    except EnvironmentBuildError:
                        refuse_broken(records, self.cache_dir)  # in nodepipe's words, if so
                        raise
                    refuse_hostile(building, self.cache_dir)  # before anything uses it
                    if self._cache_intact(building) or attempt:
                        break
                    shutil.rmtree(building)  # linked from edited files: again, freshly extracted
                files = _package_files(building)
                write_atomic(building / INSTALLED_FILES, "".join(f"{f}\n" for f in files))
                stamp = file_stamp(building, files)
                request = request_identity(code_dir)
                write_atomic(
                    building / INSTALL_MARKER, f"{identity}\n{stamp}\n{request}\n{CHECKS}\n"
                )
                crash_point("conda.built")
                _swap_in(building, target, old)
            finally:
                shutil.rmtree(building, ignore_errors=True)

    def ensure_installed(self, code_dir: Path) -> bool:
        """Install when the prefix was not built from the lock as it is now; remove a prefix
        whose lock is gone. True when something changed."""
        identity = lock_identity(code_dir)
        prefix = code_dir / CONDA_PREFIX
        if identity is None:
            if not _present(prefix):
                return False
            remove_prefix(code_dir)
            return True
        marked = _marked(code_dir, identity)
        if marked is not None and marked[3:] == [CHECKS]:
            return False
        if marked is not None:  # as installed, but before the checks of today
            self._check_again(code_dir, marked)
            return False
        self.install(code_dir)
        return True

    def _check_again(self, code_dir: Path, marked: list[str]) -> None:
        """Check a prefix installed before today's checks as an install would; mark it checked,
        or remove it (its package from the cache too) and refuse it, naming the package."""
        from nodepipe.envs.conda_checks import (
            described,
            forget_package,
            hostile_package,
            package_hint,
        )

        prefix = code_dir / CONDA_PREFIX
        found = hostile_package(prefix)
        if found is None:
            text = "".join(f"{line}\n" for line in [*marked[:3], CHECKS])
            write_atomic(prefix / INSTALL_MARKER, text)
            return
        record, reason = found
        forget_package(record, self.cache_dir)
        remove_prefix(code_dir)
        raise RefusedPackageError(
            f"conda package {described(record)} is refused: {reason}; the node's conda prefix "
            "holding it was installed before nodepipe refused such packages, and is removed "
            "(the node does not run with it)",
            hint=package_hint(str(record.get("name") or record["fn"])),
        )

    def _cache_intact(self, prefix: Path) -> bool:
        """Whether the cached packages ``prefix`` links hold what they shipped; the edited ones
        are removed from the cache. A file edited in place through any prefix's hard link
        changed the cache's copy too. A stat of each file tells a package unchanged since it
        was last verified (its stamp beside it); one that changed is read against its
        ``info/paths.json``."""
        from nodepipe.envs.conda_checks import STAMP_SUFFIX

        cache = self.cache_dir.resolve()
        intact = True
        for meta in sorted((prefix / "conda-meta").glob("*.json")):
            try:
                source = Path(json.loads(meta.read_text(encoding="utf-8"))["extracted_package_dir"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if source.resolve().parent != cache:
                continue
            stamp_file = cache / f"{source.name}{STAMP_SUFFIX}"
            try:
                known = stamp_file.read_text(encoding="utf-8").strip()
            except OSError:
                known = None
            shipped = _shipped_files(source)
            if shipped is not None and known == file_stamp(source, shipped):
                continue
            if shipped is not None and _extracted_intact(source):
                write_atomic(stamp_file, f"{file_stamp(source, shipped)}\n")
                continue
            intact = False
            stamp_file.unlink(missing_ok=True)
            shutil.rmtree(source, ignore_errors=True)
        return intact

    @staticmethod
    def is_current(code_dir: Path) -> bool:
        """Whether the prefix matches the lock: both absent, or built from it."""
        identity = lock_identity(code_dir)
        if identity is None:
            return not _present(code_dir / CONDA_PREFIX)
        return CondaEnvironments.is_installed(code_dir, identity)

    @staticmethod
    def is_installed(code_dir: Path, identity: str | None = None) -> bool:
        """Whether the prefix was built from the lock (``identity``) and its packages' files
        are as installed: a file edited, replaced or deleted in the prefix makes it not."""
        marked = _marked(code_dir, identity or lock_identity(code_dir))
        return marked is not None and marked[3:] == [CHECKS]

    def _locked_records(self, code_dir: Path) -> list[Any]:
        """The records ``conda.lock`` pins for this platform (none without a lock)."""
        path = code_dir / CONDA_LOCK
        if not path.is_file():
            return []
        r = rattler()
        try:
            lock = r.LockFile.from_path(path)
        except Exception as exc:  # py-rattler raises its own exception types
            raise InvalidInputError(f"{path} is not a conda lock: {exc}") from exc
        environment = lock.default_environment()
        if environment is None:
            return []
        platform = str(r.Subdir.current())
        for candidate in environment.platforms():
            if candidate.name == platform:
                return list(environment.conda_repodata_records_for_platform(candidate) or [])
        raise UnresolvableRequirementsError(
            f"{path} locks no packages for this platform ({platform})",
            hint=Hint(Action.CONDA_LOCK),
        )


def _still_offered(
    r: ModuleType,
    gateway: Any,
    sources: list[Any],
    platforms: list[Any],
    locked: list[Any],
    channels: str,
    repodata_dir: Path,
) -> list[Any]:
    """The locked records the channels still offer (by URL and sha256): a package taken down
    or replaced, or a lock edited by hand to name one they never had, is solved afresh
    instead of kept."""
    from nodepipe.envs.conda_checks import capped

    names = sorted({rec.name.normalized for rec in locked})
    query = gateway.query(
        sources, platforms, names, recursive=False, channel_relations=CHANNEL_RELATIONS
    )
    offered = run_to_completion(capped(_guarded(query, channels), repodata_dir, channels))
    offers = {(str(rec.url), rec.sha256) for group in offered for rec in group}
    return [rec for rec in locked if (str(rec.url), rec.sha256) in offers]


def _marked(code_dir: Path, identity: str | None) -> list[str] | None:
    """The prefix's marker, when it says the prefix was built from the lock (``identity``)
    and the request as they are now, its packages' files as installed; else None."""
    prefix = code_dir / CONDA_PREFIX
    if prefix.is_symlink():  # nodepipe builds a folder: a link put in its place leads elsewhere
        return None
    try:
        marked = (prefix / INSTALL_MARKER).read_text(encoding="utf-8").split()
        files = (prefix / INSTALLED_FILES).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    built = [identity, file_stamp(prefix, files), request_identity(code_dir)]
    return marked if marked[:3] == built and len(marked) <= len(built) + 1 else None


def request_identity(code_dir: Path) -> str:
    """The sha256 of the conda specs the node's pyproject asks for (as written)."""
    try:
        wanted, _ = conda_requirements(code_dir / "pyproject.toml")
    except (OSError, ValueError):
        wanted = []
    return hashlib.sha256(json.dumps(wanted).encode()).hexdigest()


def _check_lock_holds_request(r: ModuleType, code_dir: Path, records: list[Any]) -> None:
    """Refuse a lock that holds nothing a spec of the pyproject accepts (the spec edited by
    hand after the lock was solved): the node would run without what it asks for."""
    try:
        wanted, _ = conda_requirements(code_dir / "pyproject.toml")
    except (OSError, ValueError):
        return
    for text in wanted:
        try:
            spec = r.MatchSpec(text)
            name = spec.name.normalized if spec.name is not None else None
            held = [rec for rec in records if name is None or rec.name.normalized == name]
            if any(spec.matches(rec) for rec in held):
                continue
        except Exception:  # py-rattler cannot judge this spec (a URL spec): leave it be
            continue
        locked = ", ".join(f"{rec.name.normalized} {rec.version}" for rec in held) or "nothing"
        raise UnresolvableRequirementsError(
            f"{CONDA_LOCK} holds no package that {text!r} (pyproject.toml) accepts "
            f"(locked: {locked}): solve it again",
            hint=Hint(Action.CONDA_LOCK),
        )


def file_stamp(prefix: Path, files: list[str]) -> str:
    """A sha256 over each file's path, size and modification time (a stat each, no reads):
    an edit in place, a replaced or a deleted file changes it."""
    digest = hashlib.sha256()
    root = f"{prefix}/"  # plain strings: 100,000 files take a third of the time of Paths
    for name in files:
        try:
            status = os.lstat(root + name)
        except OSError:
            digest.update(f"{name}\0missing\n".encode())
            continue
        digest.update(f"{name}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _package_files(prefix: Path) -> list[str]:
    """The files the prefix's packages installed, from their ``conda-meta`` records."""
    files: set[str] = set()
    for meta in (prefix / "conda-meta").glob("*.json"):
        record = json.loads(meta.read_text(encoding="utf-8"))
        files.update(str(f) for f in record.get("files", []))
    return sorted(files)


def _paths(source: Path) -> list[dict[str, Any]] | None:
    """The entries of an extracted package's ``info/paths.json`` (None when unreadable)."""
    try:
        paths = json.loads((source / "info" / "paths.json").read_text(encoding="utf-8"))["paths"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (
        [entry for entry in paths if isinstance(entry, dict)] if isinstance(paths, list) else None
    )


def _shipped_files(source: Path) -> list[str] | None:
    paths = _paths(source)
    return None if paths is None else sorted(str(entry.get("_path", "")) for entry in paths)


def _extracted_intact(source: Path) -> bool:
    """Whether an extracted package in the cache holds every file as its ``info/paths.json``
    says it shipped (sizes, then sha256)."""
    paths = _paths(source)
    if paths is None:
        return False
    for entry in paths:
        file = source / str(entry.get("_path", ""))
        if entry.get("path_type") == "softlink" or file.is_symlink():
            continue
        try:
            if "size_in_bytes" in entry and file.stat().st_size != entry["size_in_bytes"]:
                return False
            if "sha256" in entry and sha256_file(file) != entry["sha256"]:
                return False
        except OSError:
            return False
    return True


def remove_prefix(code_dir: Path) -> None:
    """Remove the node's conda prefix (renamed aside first, so it is gone or whole)."""
    prefix = code_dir / CONDA_PREFIX
    if _present(prefix):
        aside = code_dir / f"{CONDA_PREFIX}.old-{os.urandom(4).hex()}"
        prefix.rename(aside)
        _remove(aside)


def _present(prefix: Path) -> bool:
    """Whether something is at ``prefix``: a folder, or a link (also one leading nowhere)."""
    return prefix.exists() or prefix.is_symlink()


def _remove(path: Path) -> None:
    """Remove a prefix set aside; one that was a link to a folder elsewhere loses the link,
    never what it points to."""
    if path.is_symlink():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def recover_install(operation: journal.Operation) -> None:
    """Remove what an abandoned install left: its half-built and its replaced prefix, and
    what it was unpacking into the package cache."""
    for leftover in operation.intent.get("leftovers", []):
        _remove(Path(leftover))


def _swap_in(built: Path, target: Path, old: Path) -> None:
    if _present(target):  # a link (even a dangling one) is replaced too
        target.rename(old)
        crash_point("conda.swapping")
    built.rename(target)
    fsync_dir(target.parent)
    _remove(old)


def _spec(r: ModuleType, text: str) -> Any:
    try:
        return r.MatchSpec(text)
    except Exception as exc:  # py-rattler's InvalidMatchSpecError
        raise InvalidInputError(f"{text!r} is not a conda package spec: {exc}") from exc


def _channel_urls(r: ModuleType, channels: list[str]) -> list[str]:
    return [str(r.Channel(c).base_url).rstrip("/") for c in channels]


async def _guarded(step: Coroutine[Any, Any, _T], channels: str) -> _T:
    """Await a py-rattler step; its failures become nodepipe's errors, by cause."""
    try:
        return await step
    except Exception as exc:
        raise conda_failure(exc, channels) from exc


def conda_failure(exc: Exception, channels: str) -> EnvironmentBuildError:
    """The error for a py-rattler failure: no such package or channel, nothing that
    satisfies the specs together, a channel that cannot be reached, or anything else."""
    kind, detail = type(exc).__name__, str(exc).strip()
    if kind == "GatewayError" and "timed out" in detail:
        return IndexUnreachableError(
            f"the conda channel {channels} did not answer within {request_timeout()} s "
            f"(set {TIMEOUT_VARIABLE} for longer): {detail}"
        )
    if kind == "SolverError" and "No candidates were found" in detail:
        return RequirementNotFoundError(f"no such conda package in {channels}: {detail}")
    if kind == "SolverError":
        return UnresolvableRequirementsError(f"the conda specs cannot be met together: {detail}")
    if kind == "GatewayError" and ("No such file" in detail or "404" in detail):
        return RequirementNotFoundError(f"no such conda channel: {detail}")
    if kind == "GatewayError" and (
        "failed to parse repodata" in detail or "failed to extract repodata records" in detail
    ):
        return RefusedPackageError(
            f"the conda channel {channels} serves a repodata.json that is not valid: {detail}"
        )
    if kind in ("GatewayError", "FetchRepoDataError", "IoError"):
        return IndexUnreachableError(f"could not read the conda channel {channels}: {detail}")
    if kind == "InstallerError" and "failed to fetch" in detail:
        package = detail.split("failed to fetch", 1)[1].split("\n", 1)[0].strip()
        if "hash mismatch" in detail:
            return RefusedPackageError(
                f"conda package {package} from {channels} is not the one {CONDA_LOCK} pins "
                f"(its sha256 differs): its channel changed since the lock was solved; "
                f"nothing was installed: {detail}",
                hint=Hint(Action.CONDA_LOCK),
            )
        if not any(cause in detail for cause in ("No such file", "404", "Not Found")):
            return EnvironmentBuildError(
                f"conda package {package} from {channels} could not be unpacked (a broken or "
                f"truncated archive); nothing was installed: {detail}"
            )
        return RequirementNotFoundError(
            f"{CONDA_LOCK} names {package}, which {channels} do not hold "
            f"(a lock edited by hand, or a package gone from its channel): {detail}",
            hint=Hint(Action.CONDA_LOCK),
        )
    if kind == "InvalidMatchSpecError":
        return RequirementNotFoundError(f"not a conda package spec: {detail}")
    return EnvironmentBuildError(f"py-rattler failed ({kind}): {detail}")


def run_to_completion(step: Coroutine[Any, Any, _T]) -> _T:
    """Run ``step`` to completion, also from a thread that already runs an event loop."""
    import asyncio  # only when conda packages are solved or installed
    from concurrent.futures import ThreadPoolExecutor

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(step)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, step).result()
