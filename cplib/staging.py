"""Temporaries beside their target, named after it and the process id, so the next run can tell and clear dead runs'
leftovers.

A file or folder is written at ``temporary(target)`` and then renamed over ``target``; a folder that already
exists is first moved aside (``temporary(target, "old")``), so one complete version is in place at every instant.
Files and folders are created with plain ``open``/``mkdir`` and so keep the umask (``tempfile`` forces 0600/0700).
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

KINDS = ("tmp", "old")


def temporary(target: Path, kind: str = "tmp") -> Path:
    """Where this process stages target (kind "tmp") or moves the version it replaces (kind "old")."""
    return target.with_name(f".{target.name}.{kind}-{os.getpid()}")


def remove_stale(target: Path) -> None:
    """Delete target's temporaries left by dead processes (or by this one's id, reused); restore a moved-aside version
    if target is gone."""
    for kind in KINDS:
        for path in target.parent.glob(f".{glob.escape(target.name)}.{kind}-*"):
            pid = path.name.rpartition("-")[2]
            if not pid.isdigit() or (int(pid) != os.getpid() and _alive(int(pid))):
                continue
            if kind == "old" and not target.exists():
                os.replace(path, target)
            else:
                remove(path)


def replace(staging: Path, target: Path) -> None:
    """Rename staging onto target; an existing folder is moved aside first, then deleted once the new one is in
    place."""
    if not target.is_dir():
        os.replace(staging, target)
        return
    aside = temporary(target, "old")
    os.replace(target, aside)
    os.replace(staging, target)
    remove(aside)


def remove(path: Path) -> None:
    """Delete a file or a folder tree if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Whether a process with this id runs (one we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically: a temporary beside it, then a rename; an OSError names path, not the temporary."""
    staging = temporary(path)
    try:
        staging.write_text(text)
        os.replace(staging, path)
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(path)) from None
    finally:
        remove(staging)
