"""pipeline.lock: written the same way every time, read back exactly, mistakes named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodepipe.bundles.errors import BundleError
from nodepipe.bundles.lockfile import LockRecord, dump_lock, parse_lock

DIGEST = st.text("0123456789abcdef", min_size=64, max_size=64)
NAMES = st.from_regex(r"\A[a-z][a-z0-9_-]{0,8}(\.[a-z][a-z0-9_-]{0,8}){0,2}\Z")
RECORDS = st.builds(LockRecord, DIGEST, st.none() | DIGEST, st.none() | DIGEST)


@given(st.dictionaries(NAMES, RECORDS, max_size=6))
def test_a_lock_reads_back_exactly_and_is_written_in_one_order(
    records: dict[str, LockRecord],
) -> None:
    text = dump_lock(records)
    assert parse_lock(text, "pipeline.lock") == records
    assert dump_lock(dict(reversed(list(records.items())))) == text
    assert "\r" not in text


def test_the_written_lock_is_plain_and_sorted() -> None:
    text = dump_lock(
        {
            "prep": LockRecord("f1", "l1", "o1"),
            "features.clean": LockRecord("f2", "l2", None),
        }
    )
    assert text == (
        "# written by nodepipe: what each node's outputs were made from\n"
        "format = 1\n\n"
        '[nodes."features.clean"]\nfingerprint = "f2"\nlock = "l2"\n\n'
        '[nodes.prep]\nfingerprint = "f1"\nlock = "l1"\noutputs = "o1"\n'
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("format = 2\n", "pipeline.lock:1: lock format 2 is newer than this nodepipe reads"),
        ("[nodes.a]\n", "pipeline.lock: 'format = 1' is missing"),
        (
            'format = 1\n[nodes.a]\nfingerprint = "f"\nfingerprnt = "x"\n',
            "pipeline.lock:4: unknown key 'fingerprnt' in [nodes.a]",
        ),
        ('format = 1\n[nodes.a]\nlock = "l"\n', "[nodes.a] has no 'fingerprint'"),
        ('format = 1\n[nodes.a]\nfingerprint = "not a digest"\n', "pipeline.lock:3: 'fingerprint'"),
        ('format = 1\n[nodes."a/b"]\nfingerprint = "f"\n', "invalid node name 'a/b'"),
        ("format = 1\n[nodes\n", "pipeline.lock:2:7: malformed TOML"),
    ],
)
def test_a_bad_lock_is_named_with_its_line(text: str, message: str) -> None:
    with pytest.raises(BundleError) as caught:
        parse_lock(text, "pipeline.lock")
    assert message in str(caught.value)
