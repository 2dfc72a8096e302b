"""cplib: CutPaste (Li et al., CVPR 2021) as a small, tested package behind a notebook series."""

__version__ = "0.2.0"
