"""Print the API's OpenAPI document: ``python -m nodepipe.api.openapi > web/src/api/openapi.json``.

The web client's types are generated from this file (``npm run gen:api``); a test checks the
committed copy matches the app, so the client never drifts from the server.
"""

from __future__ import annotations

import json
from typing import Any

from nodepipe.api.app import create_app


def openapi_document() -> dict[str, Any]:
    """The document without starting the app (no workspace needed)."""
    return create_app(workspace=None).openapi()


def main() -> None:
    print(json.dumps(openapi_document(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
