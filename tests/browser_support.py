"""Headless Chromium for the browser tests (Debian's ``chromium`` driven by Playwright).

No browser download: Playwright launches the system binary (``$RADSEG_CHROMIUM``, else
``chromium`` / ``chromium-browser`` on PATH, else ``/usr/bin/chromium``). Tests call
:func:`skip_reason` and skip with it when the browser or Playwright is missing;
``.ci/run`` installs the browser so that CI runs them.
"""
from __future__ import annotations

import os
import shutil
from typing import List, Optional

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               "--disable-dev-shm-usage"]


def chromium_path() -> Optional[str]:
    for cand in (os.environ.get("RADSEG_CHROMIUM"), shutil.which("chromium"),
                 shutil.which("chromium-browser"), "/usr/bin/chromium"):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


def skip_reason() -> Optional[str]:
    """Why the browser tests cannot run here (``None``: they can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    if chromium_path() is None:
        return "no Chromium binary (apt-get install chromium, or set RADSEG_CHROMIUM)"
    return None


def launch(playwright):
    """A headless Chromium browser from a ``sync_playwright()`` context."""
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                      args=LAUNCH_ARGS)


class PageWatch:
    """Collects console errors, page errors, failed requests and any request that would
    leave the machine (everything but ``file:`` and ``data:`` is blocked and recorded)."""

    def __init__(self, page):
        self.console_errors: List[str] = []
        self.page_errors: List[str] = []
        self.failed: List[str] = []
        self.external: List[str] = []
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url[:80]}: {r.failure}"))
        page.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if url.startswith(("file:", "data:", "about:")):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def problems(self) -> List[str]:
        return ([f"console: {m}" for m in self.console_errors] + [f"page: {m}" for m in self.page_errors]
                + [f"failed: {m}" for m in self.failed] + [f"external: {m}" for m in self.external])
