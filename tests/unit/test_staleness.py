"""Fingerprint values and the reasons ``explain`` gives, on plain data (no folders)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from nodepipe.domain.staleness import (
    NodeFingerprint,
    ParentOutput,
    canonical_json,
    explain,
    make_fingerprint,
)

TAGS = {"p1": "clean", "p2": "load", "p3": "load-v2"}


def fingerprint(**changes: Any) -> NodeFingerprint:
    """A fingerprint built from a baseline, with ``changes`` to any of its parts."""
    parts: dict[str, Any] = {
        "code": {"main.py": "a" * 64, "lib/util.py": "b" * 64},
        "params": {"lr": 0.1, "epochs": 10},
        "lock_digest": "c" * 64,
        "packages": {"numpy": "1.26.4", "pandas": "2.2.0"},
        "entry": "main.py",
        "parents": {"01": ParentOutput("p1", "d" * 64)},
    }
    parts.update(changes)
    return make_fingerprint(**parts)


BASE = fingerprint()


def test_never_ran_without_a_stored_fingerprint() -> None:
    assert explain(None, BASE) == ["never ran"]


def test_identical_fingerprints_give_no_reason() -> None:
    assert fingerprint().digest == BASE.digest
    assert explain(BASE, fingerprint()) == []


def test_digest_ignores_insertion_order() -> None:
    reordered = fingerprint(
        code={"lib/util.py": "b" * 64, "main.py": "a" * 64}, params={"epochs": 10, "lr": 0.1}
    )
    assert reordered.digest == BASE.digest


def test_conda_lock_changes_name_the_packages() -> None:
    with_conda = fingerprint(conda_digest="e" * 64, conda_packages={"ffmpeg": "6.1"})
    assert explain(BASE, with_conda) == ["conda lock created: ffmpeg 6.1"]
    moved = fingerprint(conda_digest="f" * 64, conda_packages={"ffmpeg": "7.0", "x264": "1"})
    assert explain(with_conda, moved) == [
        "conda lock changed: ffmpeg 6.1 → 7.0",
        "conda lock added: x264 1",
    ]
    # the last conda package gone: which tools went, as a node's first ones are named
    assert explain(moved, BASE) == ["conda lock removed: ffmpeg 7.0, x264 1"]
    assert NodeFingerprint.from_dict(json.loads(json.dumps(moved.to_dict()))) == moved


def test_a_fingerprint_without_conda_keeps_the_digest_it_had() -> None:
    """Nodes that never had conda packages are not made stale by conda support."""
    assert "conda" not in BASE.to_dict()
    assert BASE.digest == "001deca042b0134eea0c904b6b4eaf8468805792e1513956f8376c3a40a7ddd7"


def test_code_changes_name_the_files() -> None:
    current = fingerprint(code={"main.py": "e" * 64, "new.py": "f" * 64})
    assert explain(BASE, current) == [
        "code changed: main.py",
        "code added: new.py",
        "code removed: lib/util.py",
    ]


def test_many_changed_files_are_summarised() -> None:
    before = fingerprint(code={f"m{i}.py": "a" * 64 for i in range(8)})
    after = fingerprint(code={f"m{i}.py": "b" * 64 for i in range(8)})
    assert explain(before, after) == ["code changed: m0.py, m1.py, m2.py, m3.py, m4.py and 3 more"]


def test_parameter_changes_name_the_parameter_and_values() -> None:
    current = fingerprint(params={"lr": 0.01, "batch": 32})
    assert explain(BASE, current) == [
        "parameter lr changed: 0.1 → 0.01",
        "parameter batch added",
        "parameter epochs removed",
    ]


def test_long_parameter_values_are_not_printed() -> None:
    before = fingerprint(params={"layers": list(range(50))})
    after = fingerprint(params={"layers": list(range(51))})
    assert explain(before, after) == ["parameter layers changed"]


def test_lock_changes_name_packages_and_versions() -> None:
    current = fingerprint(lock_digest="9" * 64, packages={"numpy": "2.1.0", "polars": "1.0.0"})
    assert explain(BASE, current) == [
        "lock changed: numpy 1.26.4 → 2.1.0",
        "lock added: polars 1.0.0",
        "lock removed: pandas 2.2.0",
    ]


def test_lock_change_without_version_change_is_still_explained() -> None:
    current = fingerprint(lock_digest="9" * 64)
    assert explain(BASE, current) == ["lock changed: uv.lock (same package versions)"]


def test_lock_created_and_removed() -> None:
    without = fingerprint(lock_digest=None, packages={})
    assert explain(without, BASE) == ["lock created: uv.lock"]
    assert explain(BASE, without) == ["lock removed: uv.lock"]


def test_entry_point_change() -> None:
    assert explain(BASE, fingerprint(entry="run.py")) == ["entry point changed: main.py → run.py"]


def test_parent_reasons_by_slot_with_tags() -> None:
    new_outputs = fingerprint(parents={"01": ParentOutput("p1", "e" * 64)})
    assert explain(BASE, new_outputs, TAGS) == ["parent 01 (clean) has new outputs"]
    added = fingerprint(parents={**BASE.parents, "02": ParentOutput("p2", "f" * 64)})
    assert explain(BASE, added, TAGS) == ["input 02 added (from load)"]
    assert explain(added, BASE, TAGS) == ["input 02 removed (was load)"]
    swapped = fingerprint(parents={"01": ParentOutput("p3", "9" * 64)})
    assert explain(BASE, swapped, TAGS) == ["input 01 now from load-v2 (was clean)"]


def test_a_parent_swapped_for_one_with_identical_outputs_changes_nothing() -> None:
    """A copy made with its data feeds exactly the same inputs: not a reason to re-run."""
    same_outputs = BASE.parents["01"].outputs
    swapped = fingerprint(parents={"01": ParentOutput("p3", same_outputs)})
    assert swapped.digest == BASE.digest
    assert explain(BASE, swapped, TAGS) == []


def test_digests_stay_those_earlier_versions_stored() -> None:
    """Every stored fingerprint is compared with a new one: a digest computed differently
    would make every node of every workspace stale after an upgrade."""
    stored = make_fingerprint(
        {"main.py": "a" * 64, "lib/util.py": "b" * 64},
        {"lr": 0.1, "epochs": 10, "name": "é"},
        "c" * 64,
        {"numpy": "1.26.4"},
        "main.py",
        {"01": ParentOutput("p1", "d" * 64)},
    )
    assert stored.digest == "bf8cc9e7c5471fe62372f7e22612e040a699a2159076b0d8dbf74a0e518d2b5c"
    assert stored.params_digest == (
        "2ba262fc11cb835e28a2ad7af0e417d4a21c15691ec0b02308712fecd5f2816e"
    )


def test_with_parents_is_the_fingerprint_of_the_same_node_reading_other_inputs() -> None:
    """What a run records: the planned code, lock and parameters with the outputs now there."""
    inputs = {"02": ParentOutput("p2", "f" * 64), "01": ParentOutput("p1", "e" * 64)}
    assert BASE.with_parents(inputs) == fingerprint(parents=inputs)
    assert BASE.with_parents(BASE.parents) == BASE
    assert explain(BASE, BASE.with_parents(inputs), TAGS) == [
        "parent 01 (clean) has new outputs",
        "input 02 added (from load)",
    ]


def test_parents_without_a_known_tag_are_named_by_id() -> None:
    new_outputs = fingerprint(parents={"01": ParentOutput("p1", "e" * 64)})
    assert explain(BASE, new_outputs) == ["parent 01 (p1) has new outputs"]


def test_several_kinds_of_change_are_all_reported_in_a_stable_order() -> None:
    current = fingerprint(
        entry="run.py", code={"main.py": "e" * 64, "lib/util.py": "b" * 64}, params={"lr": 1}
    )
    assert explain(BASE, current) == [
        "entry point changed: main.py → run.py",
        "code changed: main.py",
        "parameter lr changed: 0.1 → 1",
        "parameter epochs removed",
    ]


def test_round_trip_through_json() -> None:
    stored = json.loads(json.dumps(BASE.to_dict()))
    assert NodeFingerprint.from_dict(stored) == BASE
    assert explain(stored, BASE) == []
    assert explain(stored, fingerprint(params={"lr": 0.2, "epochs": 10})) == [
        "parameter lr changed: 0.1 → 0.2"
    ]


def test_a_stored_fingerprint_of_another_format_is_reported_not_crashed_on() -> None:
    stored = {**BASE.to_dict(), "version": 0}
    assert explain(stored, BASE) == ["the stored fingerprint is from another nodepipe version"]
    broken = BASE.to_dict()
    del broken["lock"]
    assert explain(broken, BASE) == ["the stored fingerprint is from another nodepipe version"]


def test_yaml_values_that_are_not_json_are_normalised() -> None:
    value = fingerprint(params={"start": dt.date(2024, 1, 2), "tags": {"b", "a"}, 3: "x"})
    assert value.params == {"start": "2024-01-02", "tags": ["a", "b"], "3": "x"}
    json.dumps(value.to_dict())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@given(st.dictionaries(st.text(min_size=1, max_size=5), json_values, max_size=5))
def test_params_digest_depends_on_content_only(params: dict[str, Any]) -> None:
    reversed_params = dict(reversed(list(params.items())))
    assert fingerprint(params=params).digest == fingerprint(params=reversed_params).digest
    assert canonical_json(params) == canonical_json(json.loads(canonical_json(params)))


@given(
    st.dictionaries(st.sampled_from(["a.py", "b.py", "c.py"]), st.sampled_from(["1", "2"])),
    st.dictionaries(st.sampled_from(["a.py", "b.py", "c.py"]), st.sampled_from(["1", "2"])),
)
def test_reasons_are_empty_exactly_when_digests_match(
    before: dict[str, str], after: dict[str, str]
) -> None:
    old, new = fingerprint(code=before), fingerprint(code=after)
    assert (explain(old, new) == []) == (old.digest == new.digest) == (before == after)


def test_a_snapshot_that_moved_is_named_by_its_commits_not_its_files() -> None:
    code = {"main.py": "a" * 64, "snapshots/mytool/mytool/io.py": "1" * 64}
    before = fingerprint(code=code, revisions={"mytool": "1954bab" + "0" * 33})
    moved = {**code, "snapshots/mytool/mytool/io.py": "2" * 64, "main.py": "e" * 64}
    after = fingerprint(code=moved, revisions={"mytool": "15939cc" + "0" * 33})
    assert explain(before, after) == ["snapshot mytool 1954bab → 15939cc", "code changed: main.py"]
    stored = json.loads(json.dumps(before.to_dict()))
    assert explain(stored, after)[0] == "snapshot mytool 1954bab → 15939cc"  # read back
    edited = fingerprint(code=moved, revisions=before.revisions)  # same commit, local edit
    assert "code changed: main.py, snapshots/mytool/mytool/io.py" in explain(before, edited)
