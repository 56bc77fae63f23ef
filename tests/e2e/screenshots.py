"""Where and how a browser test saves its last page (the copies the README links to).

Each test saves its last page under var/screenshots; ELEPHANT_UPDATE_SCREENSHOTS=1 writes them
to docs/screenshots instead.
"""

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / (
    "docs/screenshots"
    if os.environ.get("ELEPHANT_UPDATE_SCREENSHOTS") == "1"
    else "var/screenshots"
)
MAX_SCREENSHOT_HEIGHT = 1800


def save_last_page(page: "Page", name: str) -> None:
    """Save ``page`` as ``name``.png: the whole page, as wide as its viewport, cut at
    MAX_SCREENSHOT_HEIGHT so long pages (the analysis) stay small."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("document.documentElement.scrollHeight")
    width = (page.viewport_size or {"width": 1200})["width"]
    page.screenshot(
        path=str(SCREENSHOTS / f"{name}.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": width, "height": min(height, MAX_SCREENSHOT_HEIGHT)},
    )
