"""A database error names no password, and masks nothing but the password: with password
``p``, "port 9 failed" stays as it was."""

from __future__ import annotations

import pytest

from nodepipe.domain.url_credentials import text_without_password

REFUSED = 'connection to server at "127.0.0.1", port 9 failed: Connection refused'


@pytest.mark.parametrize("password", ["p", "o", "9", "127", "Connection", "."])
def test_ordinary_words_are_never_masked(password: str) -> None:
    assert text_without_password(REFUSED, password) == REFUSED


@pytest.mark.parametrize(
    ("text", "password", "shown"),
    [
        ("at postgresql://pg:p@db:5432/x", "p", "at postgresql://pg:***@db:5432/x"),
        ("at postgresql://pg:p%40ss@db/x", "p@ss", "at postgresql://pg:***@db/x"),
        ("at postgresql://pg:p@ss@db/x", "p@ss", "at postgresql://pg:***@db/x"),
        ("at postgresql://pg:a%2Fb@db/x", "a/b", "at postgresql://pg:***@db/x"),
        ("at postgresql://pg:a/b@db/x", "a/b", "at postgresql://pg:***@db/x"),
        ("at postgresql://pg:other@db/x", "p", "at postgresql://pg:***@db/x"),
        ("host=db password=.* dbname=x", ".*", "host=db password=*** dbname=x"),
        ("host=db password = 'a\\'b c' x", "a'b c", "host=db password = *** x"),
        ('PGPASSWORD="s p" pg_dump', "s p", "PGPASSWORD=*** pg_dump"),
        ('missing "=" after "(a|b)+" in string', "(a|b)+", 'missing "=" after "***" in string'),
        ("invalid value: 'p@ss'", "p@ss", "invalid value: '***'"),
    ],
)
def test_the_password_is_masked_where_it_is_the_password(
    text: str, password: str, shown: str
) -> None:
    masked = text_without_password(text, password)
    assert masked == shown
    assert f":{password}@" not in masked and f"={password}" not in masked


def test_without_a_password_urls_and_settings_are_still_masked() -> None:
    text = "postgresql://pg:hunter2@db/x password=hunter2"
    assert text_without_password(text, None) == "postgresql://pg:***@db/x password=***"
