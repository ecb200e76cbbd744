"""What both API fuzzers (``test_fuzz``, schemathesis; ``test_refusal_fuzz``, hypothesis) know
of the ``chain`` workspace they fuzz: the names that exist there, by path parameter, and the
body fields that name a folder (sent as paths inside and outside the workspace)."""

from __future__ import annotations

SEEDED = {
    "pipeline": ["baseline"],
    "node": ["load", "clean", "plot"],
    "parent": ["load", "clean"],
    "child": ["clean", "plot"],
    "project": ["climate", "default"],
}
"""Names that exist in the seeded workspace, by path parameter."""
FOLDER_FIELDS = ("path", "snapshot", "shared")
