"""Saving, loading and caching trained models, keyed by their config and the cplib version."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from . import __version__
from .errors import DataError
from .model import CutPasteNet
from .paths import models_dir
from .profiles import TrainConfig
from .train import History, build_model, train


@dataclass
class Trained:
    """A trained model with the config that made it and its training history."""

    model: CutPasteNet
    config: TrainConfig
    history: History
    seconds: float = 0.0


def cache_key(config: TrainConfig) -> str:
    """A short hash of the config and the cplib version: a change to either trains a new model."""
    text = json.dumps({"config": asdict(config), "cplib": __version__}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_path(config: TrainConfig) -> Path:
    """Where get_or_train keeps the model of a config."""
    return models_dir() / f"{config.category}-{config.variant}-{cache_key(config)}.pt"


def save(trained: Trained, path: str | Path) -> Path:
    """Write a checkpoint atomically (temp file, then rename), so an interrupted save leaves nothing to trust."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "cplib": __version__,
        "config": asdict(trained.config),
        "state_dict": trained.model.state_dict(),
        "history": trained.history.as_dict(),
        "seconds": trained.seconds,
    }
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        torch.save(payload, temporary)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return path


def load(path: str | Path, device: str = "cpu") -> Trained:
    """Read a checkpoint written by save: the model (eval mode), its config and history."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"model file not found: {path}. Train one with `python -m cplib train` or cplib.get_or_train().")
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
        config = TrainConfig(**payload["config"])
    except Exception as error:  # a truncated or foreign file: any failure means the same to the user
        raise DataError(f"cannot read model file {path}: {error.__class__.__name__}. Delete it and train again.") from None
    model = build_model(config.with_(weights="none")).to(device)
    model.load_state_dict(payload["state_dict"])
    return Trained(model.eval(), config, History(**payload["history"]), payload.get("seconds", 0.0))


def get_or_train(config: TrainConfig, device: str = "cpu", progress: bool = True) -> Trained:
    """Load the cached model of this config if present, else train it and cache it."""
    path = cache_path(config)
    if path.is_file():
        return load(path, device)
    started = time.perf_counter()
    model, history = train(config, device, progress)
    trained = Trained(model, config, history, time.perf_counter() - started)
    save(trained, path)
    return trained
