"""explorers.ipynb is opened in a browser by tests/test_browser.py, not run by nbval: keep `pytest tests --nbval-lax`
off it."""

collect_ignore_glob = ["*.ipynb"]
