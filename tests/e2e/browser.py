"""Debian's Chromium, headless, driven by Playwright for Python: no browser download, no network beyond loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, sync_playwright

from .processes import end_marked, new_mark
from .skips import CHROMIUM

FLAGS = [  # Playwright gives each launch a new empty --user-data-dir of its own
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def headless_chromium() -> Iterator[Browser]:
    """Chromium from /usr/bin/chromium; closed on exit, with no browser process left."""
    mark = new_mark()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=FLAGS, env={**os.environ, **mark}, timeout=60_000
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        end_marked(mark)
