"""Which precision runs where, one rule for training and scoring alike (`auto_precision`): bfloat16 where the device
that runs computes it natively (AVX512-BF16 or AMX CPUs, CUDA GPUs from Ampere on), float32 elsewhere and for inputs
under `BF16_MIN_INPUT` px; CPLIB_PRECISION ("fp32" or "bf16") overrides the automatic choice.
"""

from __future__ import annotations

import os

import torch

from .errors import ConfigError
from .train import PRECISIONS


def native_precision() -> str:
    """The CPU's native precision: "bf16" where it computes bfloat16 natively (AVX512-BF16, AMX), else "fp32"
    (emulated bfloat16 is slower)."""
    try:
        return (
            "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
        )  # torch's own check; no public one yet
    except (AttributeError, RuntimeError):
        return "fp32"


def forced_precision() -> str | None:
    """The precision in CPLIB_PRECISION ("fp32" or "bf16"), which overrides a profile's "auto"; None when unset."""
    forced = os.environ.get("CPLIB_PRECISION")
    if forced is not None and forced not in PRECISIONS:
        raise ConfigError(
            f"CPLIB_PRECISION={forced!r}: use one of {', '.join(PRECISIONS)}, "
            "or unset it for this CPU's native precision"
        )
    return forced


IMAGE_PRECISION = "fp32"  # bf16 image features moved capsule's image AUROC by 0.011 (bench/precision_table.py): opt in
BF16_MIN_INPUT = 32  # bf16 autocast diverges on 16-px crops (batch-norm over 1 x 1 maps: a NaN loss); fp32 trains them


def device_precision(device: torch.device | str) -> str:
    """The native precision of `device`: on CUDA "bf16" where the GPU computes bfloat16 natively (not emulated), on
    any other device the CPU's (`native_precision`)."""
    if torch.device(device).type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp32"
    return native_precision()


def auto_precision(side: int, device: torch.device | str) -> str:
    """The automatic precision for `side`-px inputs on the `device` that runs them, training or scoring: fp32 under
    BF16_MIN_INPUT, else CPLIB_PRECISION if set, else `device`'s native precision (`device_precision`)."""
    return "fp32" if side < BF16_MIN_INPUT else forced_precision() or device_precision(device)


def inference_precision(side: int, requested: str | None = None, device: torch.device | str = "cpu") -> str:
    """The precision to encode `side`-px inputs at on `device`: `requested` if given, else `auto_precision`, the rule
    training follows too (CPLIB_PRECISION, else bf16 where `device` computes it natively, fp32 under BF16_MIN_INPUT
    px)."""
    if requested is not None:
        if requested not in PRECISIONS:
            raise ConfigError(
                f"precision={requested!r}: use one of {', '.join(PRECISIONS)}, or None for this machine's"
            )
        return requested
    return auto_precision(side, device)


def precision_note(side: int, requested: str | None = None, device: torch.device | str = "cpu") -> str:
    """Which precision scores `side`-px inputs here, and why, in a few words (for the notebooks and the CLI)."""
    precision = inference_precision(side, requested, device)
    if requested is not None or forced_precision() is not None:
        return f"{precision} (asked for)"
    if precision == "bf16":
        return "bf16 on this machine (native bfloat16)"
    if side < BF16_MIN_INPUT:
        return f"fp32: inputs under {BF16_MIN_INPUT} px score in fp32, as they train"
    return "fp32: this machine has no native bfloat16"
