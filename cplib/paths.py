"""Where cplib keeps data and cached models: one folder, overridable with CPLIB_DATA_DIR."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The folder for the default dataset and cached models (``<repo>/data`` unless CPLIB_DATA_DIR is set)."""
    folder = Path(os.environ.get("CPLIB_DATA_DIR", REPO_ROOT / "data"))
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"CPLIB_DATA_DIR={folder} is a file: point it at a folder (created if missing) or unset it")
    return folder


def default_data_root() -> Path:
    """Where the embedded default dataset is written."""
    return data_dir() / "default"


def models_dir() -> Path:
    """Where trained models are cached."""
    return data_dir() / "models"
