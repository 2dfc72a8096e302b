"""cplib: CutPaste (Li et al., CVPR 2021) as a small, tested package behind a notebook series.

The public entry points import from here (``from cplib import Detector, TrainConfig, get_or_train, cutpaste``), each
loaded from its module on first use, so ``import cplib`` alone stays cheap (no torch); ``cplib.__all__`` lists them
and ``help(cplib)`` shows each one's parameters. Training is ``cplib.get_or_train`` (cached) or ``cplib.train.train``:
``train`` is the module's name, which an exported function would hide. Data: ``ensure_dataset()`` is the folder a run
reads (``--data``, else CPLIB_DATASET, else the default dataset, written if missing).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.3.0"

_EXPORTS = {
    "augment": ("cutout", "scar", "cutpaste", "cutpaste_scar", "pre_augment", "make_views"),
    "checkpoint": ("get_or_train",),
    "data": ("load_split", "list_categories"),
    "density": ("GaussianDensity",),
    "detector": ("Detector",),
    "download": ("download_mvtec",),
    "errors": ("ConfigError", "DataError"),
    "localize": ("PatchLocalizer",),
    "metrics": ("image_auroc", "pixel_auroc", "aupro"),
    "model": ("CutPasteNet",),
    "natural_fakes": ("seamless_paste", "perlin_paste"),
    "profiles": ("get_profile", "ensure_dataset"),
    "synthetic": ("ensure_default_data",),
    "train": ("TrainConfig",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    """A public entry point, imported from its module on first use."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'cplib' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
