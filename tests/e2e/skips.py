"""What the tests will skip on this machine and the command that enables each; `make test` prints it before starting.

Run as a script (python tests/e2e/skips.py) it prints one line per skip; the skipping tests read their reasons here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = "apt-get install chromium"
PLAYWRIGHT_MISSING = "Playwright for Python is missing: pip install -e '.[dev]'"
CHROMIUM_MISSING = f"needs Debian's Chromium at {CHROMIUM}: {INSTALL_HINT}"


def skips() -> list[str]:
    """One line per test module that will skip here: which module, why, and the command that enables it."""
    if importlib.util.find_spec("playwright") is None:
        return [f"tests/test_browser.py (widgets in a real browser): {PLAYWRIGHT_MISSING}"]
    if not CHROMIUM.exists():
        return [f"tests/test_browser.py (widgets in a real browser): {CHROMIUM_MISSING}"]
    return []


if __name__ == "__main__":
    print("\n".join(f"will skip {line}" for line in skips()) or "nothing will be skipped")
