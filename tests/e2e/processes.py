"""Find and end the processes a test started, by a random mark in their environment that every descendant inherits."""

from __future__ import annotations

import os
import secrets
import signal
import time
from pathlib import Path

MARK = "CPLIB_E2E_MARK"


def new_mark() -> dict[str, str]:
    """An environment entry to give the processes of one server or browser."""
    return {MARK: secrets.token_hex(8)}


def marked(mark: dict[str, str]) -> list[int]:
    """Live processes whose environment carries `mark` (orphans included: the mark survives re-parenting)."""
    needle = f"{MARK}={mark[MARK]}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def end_marked(mark: dict[str, str], timeout: float = 10.0) -> None:
    """SIGKILL every process carrying `mark`; raise if one is still alive after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (left := marked(mark)) and time.monotonic() < deadline:
        for pid in left:
            _kill(pid)
        time.sleep(0.2)
    if left:
        raise RuntimeError(f"processes left behind: {left}")


def _kill(pid: int) -> None:
    """SIGKILL one process, which may already be gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
