"""End-to-end helpers: a JupyterLab server, headless Chromium and the notebook flows that tests/test_browser.py runs."""
