"""Headless Chromium for the portal's browser tests: Debian's ``chromium`` (or
``AMLEMU_CHROMIUM``) driven by Playwright's sync API; skipped without them, failed under
``--require-browser``."""

from __future__ import annotations

import os
import shutil
from types import ModuleType

import pytest

CHROMIUM = os.environ.get("AMLEMU_CHROMIUM") or shutil.which("chromium")


def playwright_api(request: pytest.FixtureRequest) -> ModuleType:
    """playwright's sync API; skips without it or chromium, fails under ``--require-browser``."""
    problem = None
    try:
        import playwright.sync_api as api
    except ImportError:
        problem = "playwright is not installed: pip install playwright"
    if CHROMIUM is None:
        problem = "no chromium on PATH: apt-get install -y chromium (or set AMLEMU_CHROMIUM)"
    if problem is not None:
        if request.config.getoption("--require-browser"):
            pytest.fail(f"A browser is required but {problem}", pytrace=False)
        pytest.skip(problem)
    return api
