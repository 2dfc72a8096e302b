"""Saving, loading and caching trained models, keyed by their config, their training data and the cplib version."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from . import __version__
from .data import files_fingerprint
from .errors import DataError
from .model import CutPasteNet
from .paths import models_dir
from .profiles import resolve_device
from .staging import remove, remove_stale, temporary
from .train import History, TrainConfig, build_model, train


@dataclass
class Trained:
    """A trained model with the config that made it and its training history."""

    model: CutPasteNet
    config: TrainConfig
    history: History
    seconds: float = 0.0


def data_fingerprint(config: TrainConfig) -> str:
    """What a config's training images hold (`cplib.data.files_fingerprint` of its category's train split)."""
    return files_fingerprint(config.resolved_root(), config.category, ("train",))


def config_fields(config: TrainConfig) -> dict[str, object]:
    """The fields of a config that make a model, as a dict: all but data_root, which the data's own fingerprint
    replaces (a folder's path is not what it holds, and differs between machines)."""
    return {name: value for name, value in asdict(config).items() if name != "data_root"}


def cache_key(config: TrainConfig) -> str:
    """A short hash of the config (`config_fields`), its training data (`data_fingerprint`) and the cplib version: a
    change to any of them trains a new model."""
    text = json.dumps(
        {"config": config_fields(config), "data": data_fingerprint(config), "cplib": __version__}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_path(config: TrainConfig) -> Path:
    """Where get_or_train keeps the model of a config."""
    return models_dir() / f"{config.category}-{config.variant}-{cache_key(config)}.pt"


def save(trained: Trained, path: str | Path) -> Path:
    """Write a checkpoint atomically (temporary file, then rename), clearing what dead runs left beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "cplib": __version__,
        "config": asdict(trained.config),
        "state_dict": trained.model.state_dict(),
        "history": trained.history.as_dict(),
        "seconds": trained.seconds,
    }
    remove_stale(path)
    staging = temporary(path)
    try:
        with open(staging, "wb") as file:  # through a Python file, a full disk is an OSError, not torch's RuntimeError
            torch.save(payload, file)
        os.replace(staging, path)
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(path)) from None
    finally:
        remove(staging)
    return path


def load(path: str | Path, device: str = "cpu") -> Trained:
    """Read a checkpoint written by save: the model (eval mode), its config and history."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"model file not found: {path}. Train one with `python -m cplib train` or cplib.get_or_train()."
        )
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
        config = TrainConfig(**payload["config"])
    except Exception as error:  # a truncated or foreign file: any failure means the same to the user
        raise DataError(
            f"cannot read model file {path}: {error.__class__.__name__}. Delete it and train again."
        ) from None
    model = build_model(config.with_(weights="none")).to(device)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError:
        raise DataError(
            f"the weights in {path} do not match its saved config ({config.variant}): delete it and train again."
        ) from None
    return Trained(model.eval(), config, History(**payload["history"]), payload.get("seconds", 0.0))


def get_or_train(config: TrainConfig, device: str | None = None, progress: bool = True) -> Trained:
    """Load the cached model of this config and its current training data if present, else train it and cache it, on
    `device` (None: resolve_device's rule, CPLIB_DEVICE else CUDA where present). The device is not part of the cache
    key: a model trained on a GPU is loaded onto the CPU and back.

    Parameters
    ----------
    config : TrainConfig
        The run: with its training data and the cplib version, it keys the cache.
    device : str or None, default None
        The torch device to train or load on; None: CPLIB_DEVICE, else CUDA where present, else the CPU.
    progress : bool, default True
        Show a progress bar while training.

    Returns
    -------
    Trained
        The model (eval mode), its config, its training history and the seconds training took.
    """
    device = resolve_device(device)
    path = cache_path(config)
    remove_stale(path)
    if path.is_file():
        return load(path, device)
    started = time.perf_counter()
    model, history = train(config, device, progress)
    trained = Trained(model, config, history, time.perf_counter() - started)
    save(trained, path)
    return trained
