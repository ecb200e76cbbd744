"""Reading a requirements.txt line by line, as nodepipe checks it before uv (pure)."""

from __future__ import annotations

import pytest

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.requirements_file import read_requirements_file

TEXT = """\
# pinned for the paper
--index-url=https://example.org/simple
-i https://example.org/simple
numpy>=2  # comment after a requirement
pandas==2.2.3 \\
    --hash=sha256:0123
tool @ git+https://host/org/tool@v1 ; python_version >= "3.10"
-rmore.txt
-c constraints.txt
./local/pkg
"""


def test_lines_continuations_comments_hashes_options_and_includes() -> None:
    read = read_requirements_file(TEXT, "r.txt")
    assert read.requirements == [
        "numpy>=2",
        "pandas==2.2.3",
        'tool @ git+https://host/org/tool@v1 ; python_version >= "3.10"',
        "./local/pkg",
    ]
    assert read.includes == ["more.txt", "constraints.txt"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("numpy\nname: x\n", "r.txt, line 2: 'name: x' is YAML"),
        ("numpy\n\n--frob=1\n", "r.txt, line 3: '--frob' is neither"),
        ("-e\n", "r.txt, line 1: -e needs a value"),
        ("numpy \\\n  ===\n", "r.txt, line 1: invalid requirement"),
    ],
)
def test_the_first_bad_line_is_named(text: str, said: str) -> None:
    with pytest.raises(InvalidInputError, match=said):
        read_requirements_file(text, "r.txt")


@pytest.mark.parametrize("line", ["-r x.txt", "-e .", "/abs/pkg", "-f /srv", "x @ file:///x"])
def test_over_the_web_nothing_may_name_a_local_file(line: str) -> None:
    with pytest.raises(InvalidInputError, match="of the server"):
        read_requirements_file(line + "\n", "r.txt", local_files=False)
    read_requirements_file(line + "\n", "r.txt")  # from the command line it may
