"""A snapshot's recorded source leaves out a URL's credentials, and only them (finding F21)."""

from __future__ import annotations

import pytest

from nodepipe.domain.url_credentials import without_credentials


@pytest.mark.parametrize(
    ("given", "recorded"),
    [
        ("https://u:ghp_T@example.com/o/r.git", "https://example.com/o/r.git"),
        ("https://ghp_T@example.com:8443/o/r.git", "https://example.com:8443/o/r.git"),
        ("http://u:p@10.0.0.1/r.git?x=1", "http://10.0.0.1/r.git?x=1"),
        ("ssh://git:secret@example.com/o/r.git", "ssh://git@example.com/o/r.git"),
        ("ssh://git@example.com/o/r.git", "ssh://git@example.com/o/r.git"),
        ("git@example.com:o/r.git", "git@example.com:o/r.git"),
        ("https://example.com/o/r.git", "https://example.com/o/r.git"),
        ("/home/me/src/my@tool", "/home/me/src/my@tool"),
        ("file:///srv/r.git", "file:///srv/r.git"),
    ],
)
def test_only_the_credentials_are_left_out(given: str, recorded: str) -> None:
    assert without_credentials(given) == recorded
