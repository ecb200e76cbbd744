"""Node fingerprints as plain values, and the human reasons why a node is stale (DESIGN.md §4.2).

A ``NodeFingerprint`` is what a node's outputs depend on: its code files, its parameters, its
``uv.lock`` (and ``conda.lock``, when it has conda packages), its entry point and its parents'
outputs by slot. ``nodepipe.workspace.fingerprint`` computes one from a node folder; a completed
node run stores it (``to_dict``); ``explain`` compares the stored one with the current one and
says why they differ, in words a user acts on.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

FORMAT_VERSION = 1
"""Bumped when what a fingerprint covers changes; older stored fingerprints then never match."""

NEVER_RAN = "never ran"
MARKED_STALE = "marked stale by hand"
"""The reason of a node marked stale by hand: a stale state its fingerprint cannot show."""
MARKED_COMPLETED = "marked completed by hand"
"""The reason of a node whose outputs were accepted by hand (its fingerprint recorded then)."""
RECOVERED_REASON = (
    "recovered from its folder: the outputs were kept, but not the record of the run that "
    "made them; run it again, or mark it completed to accept them"
)
"""The reason of a node ``doctor --rebuild`` recovered: its outputs await the user's word."""
HELD_STALE_REASONS = frozenset({MARKED_STALE, RECOVERED_REASON})
"""Stale reasons kept as stored while the fingerprint shows no change: every other stale
state is explained by the fingerprint, and ends when what changed is put back."""
MAX_NAMES = 5
MAX_VALUE_CHARS = 40


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: equal values always give equal text.

    Text stays as it is (``ensure_ascii=False``) but for lone surrogates, which are written as
    ``\\udcXX`` escapes: a file name that is not UTF-8 reaches Python as one (``café`` in
    Latin-1 is ``caf\\udce9``), and the JSON stays valid UTF-8 that reads back to the same
    name."""
    text = json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text if text.isascii() else _LONE_SURROGATE.sub(_escaped, text)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _escaped(found: re.Match[str]) -> str:
    return f"\\u{ord(found.group()):04x}"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def jsonable(value: Any) -> Any:
    """``value`` made JSON-compatible: mapping keys as strings, sets sorted, dates as ISO text."""
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(item) for item in value), key=canonical_json)
    if isinstance(value, bytes):
        return value.hex()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True, slots=True)
class ParentOutput:
    """The input on one slot: which parent, and the fingerprint of that parent's outputs."""

    node_id: str
    outputs: str


@dataclass(frozen=True, slots=True)
class NodeFingerprint:
    """Everything a node's outputs depend on, plus ``digest``: one hash over all of it.

    ``code`` maps paths relative to ``code/`` (``/``-separated) to sha256 digests, without
    ``uv.lock`` and ``params.yaml``, which are their own parts. ``params`` keeps the mapping so a
    reason can name the parameter that changed; ``packages`` (name -> locked version, read from
    the lock) lets a reason name the package that moved. Neither enters ``digest`` directly:
    ``params_digest`` and ``lock_digest`` do. ``revisions`` (snapshot name -> the commit its
    clone has checked out) only names what moved: the snapshot's files are in ``code``.
    ``conda_digest`` and ``conda_packages`` are the same as the lock's for a node's
    ``conda.lock``; a node without one has ``None`` and its digest is what it was before conda
    locks were covered.
    """

    code: dict[str, str]
    params: dict[str, Any]
    params_digest: str
    lock_digest: str | None
    packages: dict[str, str]
    entry: str
    parents: dict[str, ParentOutput]
    digest: str = field(default="")
    revisions: dict[str, str] = field(default_factory=dict)
    conda_digest: str | None = None
    conda_packages: dict[str, str] = field(default_factory=dict)

    def with_parents(self, parents: Mapping[str, ParentOutput]) -> NodeFingerprint:
        """The same code, lock, parameters and entry point, with these inputs."""
        digest = _digest(
            self.code, self.params_digest, self.lock_digest, self.entry, parents, self.conda_digest
        )
        return replace(self, parents=dict(sorted(parents.items())), digest=digest)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict; ``from_dict`` reads it back."""
        data = {
            "version": FORMAT_VERSION,
            "digest": self.digest,
            "entry": self.entry,
            "code": dict(sorted(self.code.items())),
            "params": jsonable(self.params),
            "params_digest": self.params_digest,
            "lock": {"digest": self.lock_digest, "packages": dict(sorted(self.packages.items()))},
            "parents": {
                slot: {"node": parent.node_id, "outputs": parent.outputs}
                for slot, parent in sorted(self.parents.items())
            },
            "revisions": dict(sorted(self.revisions.items())),
        }
        if self.conda_digest is not None:
            packages = dict(sorted(self.conda_packages.items()))
            data["conda"] = {"digest": self.conda_digest, "packages": packages}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NodeFingerprint:
        """Read a stored fingerprint; ValueError when it is not one of this format version."""
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"fingerprint format {data.get('version')!r} is not {FORMAT_VERSION}")
        try:
            return cls(
                code={str(k): str(v) for k, v in data["code"].items()},
                params=dict(data["params"]),
                params_digest=str(data["params_digest"]),
                lock_digest=data["lock"]["digest"],
                packages={str(k): str(v) for k, v in data["lock"]["packages"].items()},
                entry=str(data["entry"]),
                parents={
                    str(slot): ParentOutput(str(p["node"]), str(p["outputs"]))
                    for slot, p in data["parents"].items()
                },
                digest=str(data["digest"]),
                revisions={str(k): str(v) for k, v in data.get("revisions", {}).items()},
                conda_digest=data["conda"]["digest"] if "conda" in data else None,
                conda_packages={
                    str(k): str(v) for k, v in data.get("conda", {}).get("packages", {}).items()
                },
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed stored fingerprint: missing or bad {exc}") from exc


def make_fingerprint(
    code: Mapping[str, str],
    params: Mapping[str, Any],
    lock_digest: str | None,
    packages: Mapping[str, str],
    entry: str,
    parents: Mapping[str, ParentOutput],
    revisions: Mapping[str, str] | None = None,
    conda_digest: str | None = None,
    conda_packages: Mapping[str, str] | None = None,
) -> NodeFingerprint:
    """Assemble a fingerprint and compute its parameter digest and overall digest."""
    clean_params = jsonable(params)
    params_digest = sha256_text(canonical_json(clean_params))
    return NodeFingerprint(
        code=dict(sorted(code.items())),
        params=clean_params,
        params_digest=params_digest,
        lock_digest=lock_digest,
        packages=dict(sorted(packages.items())),
        entry=entry,
        parents=dict(sorted(parents.items())),
        digest=_digest(code, params_digest, lock_digest, entry, parents, conda_digest),
        revisions=dict(sorted((revisions or {}).items())),
        conda_digest=conda_digest,
        conda_packages=dict(sorted((conda_packages or {}).items())),
    )


def _digest(
    code: Mapping[str, str],
    params_digest: str,
    lock_digest: str | None,
    entry: str,
    parents: Mapping[str, ParentOutput],
    conda_digest: str | None = None,
) -> str:
    covered = {
        "version": FORMAT_VERSION,
        "code": dict(code),
        "params": params_digest,
        "lock": lock_digest,
        "entry": entry,
        # Inputs are their contents: a parent swapped for one with identical outputs (a copy
        # made with its data, say) changes nothing the node reads.
        "parents": {slot: p.outputs for slot, p in parents.items()},
    }
    if conda_digest is not None:  # absent otherwise: older fingerprints keep their digest
        covered["conda"] = conda_digest
    # Plain strings all the way down: JSON as canonical_json writes it, without its walk.
    text = json.dumps(covered, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256_text(text)


def explain(
    previous: NodeFingerprint | Mapping[str, Any] | None,
    current: NodeFingerprint,
    tags: Mapping[str, str] | None = None,
    origin: str | None = None,
) -> list[str]:
    """Why a node whose last run had fingerprint ``previous`` is stale now; ``[]`` if it is not.

    ``previous`` may be the stored dict form. ``tags`` maps node ids to tags, to name parents.
    ``origin``: where the node's own code comes from, when not from the pipeline itself (an
    include: "include features, from /lib/features"); a reason about its files names it
    ("code changed: main.py (include features, from /lib/features)").
    """
    if previous is None:
        return [NEVER_RAN]
    if not isinstance(previous, NodeFingerprint):
        try:
            previous = NodeFingerprint.from_dict(previous)
        except ValueError:
            return ["the stored fingerprint is from another nodepipe version"]
    if previous.digest == current.digest:
        return []
    names = dict(tags or {})
    moved = _moved_snapshots(previous.revisions, current.revisions)
    reasons = [
        *_entry_reasons(previous.entry, current.entry),
        *(f"snapshot {name} {before[:7]} → {after[:7]}" for name, (before, after) in moved.items()),
        *_code_reasons(_without(previous.code, moved), _without(current.code, moved), origin),
        *_param_reasons(previous, current),
        *_lock_reasons(previous, current),
        *_conda_reasons(previous, current),
        *_parent_reasons(previous.parents, current.parents, names),
    ]
    return reasons or ["fingerprint changed"]


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_NAMES])
    more = len(names) - MAX_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def _diff_keys(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[list[str], list[str], list[str]]:
    """(changed, added, removed) keys, each sorted."""
    changed = sorted(k for k in old.keys() & new.keys() if old[k] != new[k])
    return changed, sorted(new.keys() - old.keys()), sorted(old.keys() - new.keys())


def _entry_reasons(old: str, new: str) -> list[str]:
    return [] if old == new else [f"entry point changed: {old} → {new}"]


SHARED_CODE_SEPARATOR = "::"
"""In a code entry, between the name of shared code a node links and a file of it
(``lib::features.py``): reasons name them apart from the node's own files."""


SNAPSHOTS_DIR = "snapshots"
"""The folder of ``code/`` holding a node's snapshots (``workspace.snapshots``)."""


def _moved_snapshots(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Snapshots whose clone moved to another commit: name -> (before, after)."""
    return {
        name: (old[name], new[name])
        for name in sorted(old.keys() & new.keys())
        if old[name] != new[name]
    }


def _without(code: Mapping[str, str], moved: Mapping[str, Any]) -> dict[str, str]:
    """``code`` without the files of the ``moved`` snapshots (their reason names the commits)."""
    prefixes = tuple(f"{SNAPSHOTS_DIR}/{name}/" for name in moved)
    return {
        path: digest
        for path, digest in code.items()
        if not prefixes or not path.startswith(prefixes)
    }


def _code_reasons(
    old: Mapping[str, str], new: Mapping[str, str], origin: str | None = None
) -> list[str]:
    changed, added, removed = _diff_keys(old, new)
    parts = (("changed", changed), ("added", added), ("removed", removed))
    reasons = []
    whose = f" ({origin})" if origin else ""
    for verb, paths in parts:
        own = [path for path in paths if SHARED_CODE_SEPARATOR not in path]
        if own:
            reasons.append(f"code {verb}: {_listing(own)}{whose}")
        shared: dict[str, list[str]] = {}
        for path in paths:
            if SHARED_CODE_SEPARATOR in path:
                name, file = path.split(SHARED_CODE_SEPARATOR, 1)
                shared.setdefault(name, []).append(file)
        reasons += [
            f"shared code {verb}: {name} ({_listing(files)})" for name, files in shared.items()
        ]
    return reasons


def _short(value: Any) -> str | None:
    text = canonical_json(value)
    return text if len(text) <= MAX_VALUE_CHARS else None


def _param_reasons(old: NodeFingerprint, new: NodeFingerprint) -> list[str]:
    if old.params_digest == new.params_digest:
        return []
    changed, added, removed = _diff_keys(old.params, new.params)
    reasons = []
    for name in changed:
        before, after = _short(old.params[name]), _short(new.params[name])
        values = f": {before} → {after}" if before is not None and after is not None else ""
        reasons.append(f"parameter {name} changed{values}")
    reasons += [f"parameter {name} added" for name in added]
    reasons += [f"parameter {name} removed" for name in removed]
    return reasons or ["parameters changed"]


def _lock_reasons(old: NodeFingerprint, new: NodeFingerprint) -> list[str]:
    if old.lock_digest == new.lock_digest:
        return []
    if old.lock_digest is None:
        return ["lock created: uv.lock"]
    if new.lock_digest is None:
        return ["lock removed: uv.lock"]
    return _moved_packages("lock", "uv.lock", old.packages, new.packages)


def _conda_reasons(old: NodeFingerprint, new: NodeFingerprint) -> list[str]:
    """Why the conda lock differs: "conda lock changed: ffmpeg 6.1 → 7.0"."""
    if old.conda_digest == new.conda_digest:
        return []
    if old.conda_digest is None:
        return ["conda lock created: " + (_listing(_pinned(new.conda_packages)) or "conda.lock")]
    if new.conda_digest is None:
        return ["conda lock removed: " + (_listing(_pinned(old.conda_packages)) or "conda.lock")]
    return _moved_packages("conda lock", "conda.lock", old.conda_packages, new.conda_packages)


def _moved_packages(
    what: str, file: str, before: Mapping[str, str], after: Mapping[str, str]
) -> list[str]:
    """A lock's changed, added and removed packages with their versions ("lock changed:
    numpy 1.26.4 → 2.1.0"); ``what`` names the lock, ``file`` it when no version moved."""
    changed, added, removed = _diff_keys(before, after)
    parts = (
        ("changed", [f"{n} {before[n]} → {after[n]}" for n in changed]),
        ("added", [f"{n} {after[n]}" for n in added]),
        ("removed", [f"{n} {before[n]}" for n in removed]),
    )
    reasons = [f"{what} {verb}: {_listing(items)}" for verb, items in parts if items]
    return reasons or [f"{what} changed: {file} (same package versions)"]


def _pinned(packages: Mapping[str, str]) -> list[str]:
    return [f"{name} {version}" for name, version in sorted(packages.items())]


def _parent_reasons(
    old: Mapping[str, ParentOutput], new: Mapping[str, ParentOutput], tags: Mapping[str, str]
) -> list[str]:
    def name(node_id: str) -> str:
        return tags.get(node_id, node_id)

    reasons = []
    for slot in sorted(old.keys() | new.keys()):
        before, after = old.get(slot), new.get(slot)
        if before == after:
            continue
        if before is None:
            assert after is not None
            reasons.append(f"input {slot} added (from {name(after.node_id)})")
        elif after is None:
            reasons.append(f"input {slot} removed (was {name(before.node_id)})")
        elif before.node_id != after.node_id:
            was = name(before.node_id)
            reasons.append(f"input {slot} now from {name(after.node_id)} (was {was})")
        else:
            reasons.append(f"parent {slot} ({name(after.node_id)}) has new outputs")
    return reasons
