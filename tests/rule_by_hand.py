"""The course's rule for paired gaps over seeds (`cplib.experiments.margins.Margin`), written out by hand for the study
tests to check cplib's verdicts and table cells against."""

from __future__ import annotations

import numpy as np


def verdict(gaps: np.ndarray) -> str:
    """The verdict on one category's per-seed gaps."""
    if len(gaps) < 2:
        return "one seed: no spread"
    if abs(gaps.mean()) <= 2 * gaps.std(ddof=1):
        return "inside the noise"
    return "above" if gaps.mean() > 0 else "below"


def gap_cell(gaps: np.ndarray) -> str:
    """A table's cell of per-seed gaps (AUROC fractions): mean ± sd in points, ▲/▼ where the verdict says so."""
    sd = gaps.std(ddof=1) if len(gaps) > 1 else 0.0
    mark = {"above": " ▲", "below": " ▼"}.get(verdict(gaps), "")
    return f"{100 * gaps.mean():+.1f} ± {100 * sd:.1f}{mark}"
