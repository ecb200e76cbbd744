"""An index's refusals become errors whose hint is the fix, worded by each surface: the CLI
as a command, the web app as a menu item (here the CLI's words)."""

from __future__ import annotations

import pytest

from nodepipe.cli.hints import with_hint
from nodepipe.domain.errors import Action, ConflictError, Hint, InvalidInputError
from nodepipe.packaging.names import package_names
from nodepipe.packaging.publishing import Target, refusal

SECRET = "pw-s3cret-value"
TARGET = Target("https://pkgs.example.test/", "bob", SECRET, "$TWINE_PASSWORD")


@pytest.mark.parametrize(
    ("status", "error", "action", "words"),
    [
        (
            401,
            InvalidInputError,
            Action.PACKAGE_CREDENTIALS,
            "set TWINE_USERNAME and TWINE_PASSWORD",
        ),
        (403, InvalidInputError, Action.PACKAGE_CREDENTIALS, "`nodepipe package publish`"),
        (400, ConflictError, Action.PACKAGE_VERSION, "--version V"),
        (409, ConflictError, Action.PACKAGE_VERSION, "--version V"),
        (413, InvalidInputError, Action.PACKAGE_SIZE, "without --with-data"),
    ],
)
def test_each_refusal_names_its_fix(
    status: int, error: type[Exception], action: Action, words: str
) -> None:
    detail = f"uv failed to publish:\n  cause: Server returned status code {status} Nope"
    found = refusal(detail, TARGET)
    assert isinstance(found, error)
    assert found.hint is not None and found.hint.action == action
    assert words in with_hint(str(found), found.hint)
    assert SECRET not in with_hint(str(found), found.hint), "the password is never shown"


def test_a_bad_name_hints_the_alias() -> None:
    named = Hint(Action.PACKAGE_NAME, {"pipeline": "demo"})
    with pytest.raises(InvalidInputError) as raised:
        package_names("1st", None, named)
    assert raised.value.hint is named
    hinted = with_hint(str(raised.value), raised.value.hint)
    assert "`nodepipe package build demo --alias NAME`" in hinted
    with pytest.raises(InvalidInputError, match="not a package version"):
        package_names("ok", "one")
    assert package_names("My.Model", "1.0").module == "my_model"
