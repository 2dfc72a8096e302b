"""Result rows on disk: instances of one dataclass as CSV text and back, for committing, diffing and reading in the notebooks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any


def to_csv(rows: Sequence[Any]) -> str:
    """Result rows (instances of one dataclass, e.g. Measurement) as CSV text, one per line, for plotting, diffing and committing."""
    names = [field.name for field in fields(rows[0])]
    cells = [[str(getattr(row, name)) for name in names] for row in rows]
    if any("," in cell or "\n" in cell for line in cells for cell in line):
        raise ValueError("a result value holds a comma or a line break, which this CSV cannot carry")
    return "\n".join([",".join(names), *(",".join(line) for line in cells)]) + "\n"


def from_csv(text: str, kind: type) -> list[Any]:
    """Rows of `kind` back from to_csv's text: a committed result file, for the notebooks and the README."""
    header, *lines = text.strip().splitlines()
    kinds = {field.name: field.type for field in fields(kind)}
    if header.split(",") != list(kinds):
        raise ValueError(f"not a {kind.__name__} CSV: header {header!r}, expected {','.join(kinds)}")
    convert = {"int": int, "float": float, "str": str}
    return [kind(**{name: convert[kinds[name]](value) for name, value in zip(kinds, line.split(","))}) for line in lines]
