"""Saving, loading and caching trained models, keyed by their config, their training data and the cplib version."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch

from . import __version__
from .data import train_files_fingerprint
from .errors import DataError
from .model import CutPasteNet
from .paths import models_dir
from .profiles import resolve_device
from .staging import remove, remove_stale, temporary
from .synthetic import generator_stamp
from .train import History, TrainConfig, build_model, train


@dataclass
class Trained:
    """A trained model with the config that made it and its training history."""

    model: CutPasteNet
    config: TrainConfig
    history: History
    seconds: float = 0.0


# left out of the key at their default, so models cached before these fields existed keep their keys
KEYED_ONLY_IF_SET = ("holdout", "optimiser", "schedule", "warmup", "bn_momentum")


def data_fingerprint(config: TrainConfig) -> str:
    """What a config's training images are: the generator's stamp for the default dataset (or any folder it wrote),
    else the names, sizes and modification times of the category's train/good files."""
    stamp = generator_stamp(None if config.data_root is None else Path(config.data_root))
    if stamp is not None:
        return json.dumps(stamp, sort_keys=True)
    return train_files_fingerprint(config.data_root, config.category)


# the default dataset as generator version 1 writes it: left out of the key, so models cached before the data was keyed
# keep their keys; another generator version, seed or size, or any other folder, is keyed
UNKEYED_DATA = json.dumps(
    {"version": 1, "seed": 0, "counts": {"train": 150, "test_good": 30, "test_per_defect": 20}}, sort_keys=True
)


def cache_key(config: TrainConfig) -> str:
    """A short hash of the config, its training data (`data_fingerprint`) and the cplib version: a change to any of
    them trains a new model."""
    defaults = {field.name: field.default for field in fields(TrainConfig)}
    keyed = {
        name: value
        for name, value in asdict(config).items()
        if name not in KEYED_ONLY_IF_SET or value != defaults[name]
    }
    data = data_fingerprint(config)
    text = json.dumps(
        {"config": keyed, "cplib": __version__, **({} if data == UNKEYED_DATA else {"data": data})}, sort_keys=True
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
