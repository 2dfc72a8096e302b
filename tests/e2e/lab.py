"""A JupyterLab server on a free loopback port with a random token, isolated settings, no network, and a clean
shutdown."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from .processes import end_marked, new_mark

HOST = "127.0.0.1"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0
OFFLINE = [  # nothing that reaches the network: no news, no update check, no PyPI extension manager, no terminals
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
    "--ServerApp.terminals_enabled=False",
]
DISABLED_PLUGINS = ["@jupyterlab/apputils-extension:announcements", "@jupyterlab/extensionmanager-extension"]
NOTEBOOK_SETTINGS = {"windowingMode": "none"}  # every cell stays in the DOM, so a cell is found by its index


@dataclass(frozen=True)
class Lab:
    """A running server: where it listens and the token that opens it."""

    port: int
    token: str

    def url(self, path: str) -> str:
        """An address on the server, token included."""
        return f"http://{HOST}:{self.port}/{path}?token={self.token}"


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def write_settings(home: Path) -> dict[str, str]:
    """Fresh Jupyter config, data, runtime, settings and workspace folders under `home`; the variables that select
    them."""
    folders = {name: home / name for name in ("config/labconfig", "data", "runtime", "settings", "workspaces")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    (folders["config/labconfig"] / "page_config.json").write_text(
        json.dumps({"disabledExtensions": dict.fromkeys(DISABLED_PLUGINS, True)})
    )
    tracker = folders["settings"] / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text(json.dumps(NOTEBOOK_SETTINGS))
    return {
        "JUPYTER_CONFIG_DIR": str(folders["config/labconfig"].parent),
        "JUPYTER_DATA_DIR": str(folders["data"]),
        "JUPYTER_RUNTIME_DIR": str(folders["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(folders["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(folders["workspaces"]),
    }


def lab_command(root: Path, lab: Lab) -> list[str]:
    """`python -m jupyter lab` from this environment on loopback, with the app exposed to page scripts (root allowed:
    CI)."""
    return [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        f"--ServerApp.ip={HOST}", f"--ServerApp.port={lab.port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={lab.token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True", *OFFLINE,
    ]  # fmt: skip


def wait_until_ready(lab: Lab, process: subprocess.Popen, log: Path) -> None:
    """Return once the server answers its status API; raise with the server's log if it exits or takes too long."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(lab.url("api/status"), timeout=2):
                return
        except OSError:  # URLError, refused, timed out
            time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not start (exit code {process.poll()}):\n{log.read_text()[-3000:]}")


def stop(lab: Lab, process: subprocess.Popen) -> None:
    """Ask the server to shut its kernels down and exit; kill its process group if it does not in time."""
    if process.poll() is None:
        with suppress(OSError):  # URLError, refused, timed out
            urllib.request.urlopen(urllib.request.Request(lab.url("api/shutdown"), method="POST"), timeout=5).close()
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT)


@contextmanager
def running_lab(root: Path, home: Path, env: dict[str, str]) -> Iterator[Lab]:
    """A JupyterLab server on `root` whose kernels see `env`; on exit it is stopped and no server or kernel process is
    left."""
    lab, mark, log = Lab(free_port(), secrets.token_hex(16)), new_mark(), home / "lab.log"
    environment = {**os.environ, **write_settings(home), **env, **mark}
    with log.open("w") as output:
        process = subprocess.Popen(
            lab_command(root, lab), env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until_ready(lab, process, log)
        yield lab
    finally:
        try:
            stop(lab, process)
        finally:
            end_marked(mark)
