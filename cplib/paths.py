"""Where cplib reads and writes: its data folder (the default dataset and the model cache) and the checkout's own files.

The data folder is ``CPLIB_DATA_DIR`` when set; else ``<repo>/data`` in a source checkout, so the notebooks and CI keep
their layout; else, in an installed copy, the user's cache folder (``platformdirs.user_cache_path("cplib")``:
``$XDG_CACHE_HOME/cplib`` or ``~/.cache/cplib`` on Linux), never the install itself. The committed results and the
notebooks exist only in a checkout; `require_checkout` says so in one line where one is missing.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import platformdirs

from .errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent  # the checkout when cplib runs from one (see in_checkout)
COMMITTED_RESULTS = REPO_ROOT / "bench" / "results"
NOTEBOOKS = REPO_ROOT / "notebooks"
DATA_DIR_ENV = "CPLIB_DATA_DIR"


def in_checkout() -> bool:
    """Whether cplib runs from its source checkout (a pyproject.toml naming cplib beside the package), not installed."""
    try:
        project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return project.get("name") == "cplib"


def data_dir() -> Path:
    """The folder of the default dataset and the model cache: CPLIB_DATA_DIR, else ``<repo>/data`` in a checkout, else
    the user's cache folder for cplib."""
    folder = os.environ.get(DATA_DIR_ENV)
    if folder:
        path = Path(folder)
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{DATA_DIR_ENV}={path} is a file: point it at a folder (created if missing) or unset it")
        return path
    return REPO_ROOT / "data" if in_checkout() else platformdirs.user_cache_path("cplib")


def default_data_root() -> Path:
    """Where the embedded default dataset is written."""
    return data_dir() / "default"


def models_dir() -> Path:
    """Where trained models are cached."""
    return data_dir() / "models"


def require_checkout(path: Path, what: str) -> Path:
    """`path` if it exists, else a ConfigError in one line: `what` (the option naming it) lives only in a checkout."""
    if Path(path).exists():
        return Path(path)
    raise ConfigError(
        f"{what}: {path} exists only in a source checkout of cplib; run from a clone, or pass another folder"
    )
