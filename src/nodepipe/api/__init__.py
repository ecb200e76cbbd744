"""The web API (DESIGN.md section 5): FastAPI over the services, serving the graph editor.

``create_app`` builds the app for a workspace; ``serve`` runs it (``nodepipe serve``).
"""

from __future__ import annotations

from nodepipe.api.app import create_app
from nodepipe.api.server import serve

__all__ = ["create_app", "serve"]
