"""The README's screenshots under docs/screenshots: written by the browser tests that stage them,
only when ``NODEPIPE_SCREENSHOTS=1`` (a plain test run never changes files in the checkout)."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def save_screenshot(page: Page, name: str) -> None:
    """Write ``docs/screenshots/NAME`` from the page as it is, when screenshots are asked for."""
    if os.environ.get("NODEPIPE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / name)
