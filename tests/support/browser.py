"""Debian's headless Chromium, driven by Playwright, for tests of what a person sees."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Where screenshots are copied for a person to look at, when set (CI leaves it unset).
SCREENSHOT_DIR = "SCREENSHOT_DIR"


@contextmanager
def chromium() -> Iterator:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        # The same pages are checked over HTTP; only the browser's view is not.
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page, tmp_path: Path, name: str) -> Path:
    """A full-page screenshot in `tmp_path`, and a copy in $SCREENSHOT_DIR when it is set."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    if os.environ.get(SCREENSHOT_DIR):
        shutil.copy(path, Path(os.environ[SCREENSHOT_DIR]) / path.name)
    return path
