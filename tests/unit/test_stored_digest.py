"""``status`` tells a node's stored fingerprint matches its current one: from the opening of the
text nodepipe wrote (no parse), by parsing any other text, and never for another digest or
another format."""

from __future__ import annotations

import json

import pytest

from nodepipe.domain.staleness import FORMAT_VERSION, NodeFingerprint, ParentOutput
from nodepipe.domain.staleness import make_fingerprint as made
from nodepipe.services.runs import status

CURRENT: NodeFingerprint = made(
    {"main.py": "a" * 64}, {"lr": 0.1}, "c" * 64, {}, "main.py", {"01": ParentOutput("p", "d" * 64)}
)


def test_the_text_nodepipe_stores_is_matched_without_parsing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def parsed(node_id: str, text: str) -> str | None:
        raise AssertionError("parsed")

    monkeypatch.setattr(status, "_stored_digest", parsed)
    stored = json.dumps(CURRENT.to_dict())  # as the store holds it
    assert status._same_digest("n1", stored, CURRENT.digest)


def test_other_text_is_parsed_and_other_digests_or_formats_do_not_match() -> None:
    compact = json.dumps(CURRENT.to_dict(), separators=(",", ":"))
    assert status._same_digest("n2", compact, CURRENT.digest)
    other = made({"main.py": "b" * 64}, {"lr": 0.1}, "c" * 64, {}, "main.py", {})
    assert not status._same_digest("n3", json.dumps(other.to_dict()), CURRENT.digest)
    older = json.dumps({**CURRENT.to_dict(), "version": FORMAT_VERSION + 1})
    assert not status._same_digest("n4", older, CURRENT.digest)
    assert not status._same_digest("n5", "not json", CURRENT.digest)
