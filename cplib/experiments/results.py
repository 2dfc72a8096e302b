"""Result rows on disk: instances of one dataclass as CSV text and back, a study's CSV and Markdown side by side, and
the committed rows of a study that the notebooks read instead of measuring again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..paths import default_data_root
from ..staging import write_text


def to_csv(rows: Sequence[Any]) -> str:
    """Result rows (instances of one dataclass, e.g. Measurement) as CSV text, one per line, for plotting, diffing and
    committing."""
    names = [field.name for field in fields(rows[0])]
    cells = [[str(getattr(row, name)) for name in names] for row in rows]
    if any("," in cell or "\n" in cell for line in cells for cell in line):
        raise ValueError("a result value holds a comma or a line break, which this CSV cannot carry")
    return "\n".join([",".join(names), *(",".join(line) for line in cells)]) + "\n"


def from_csv(text: str, kind: type) -> list[Any]:
    """Rows of `kind` back from to_csv's text: a committed result file, for the notebooks and the results page."""
    header, *lines = text.strip().splitlines()
    kinds = {field.name: field.type for field in fields(kind)}
    if header.split(",") != list(kinds):
        raise ValueError(f"not a {kind.__name__} CSV: header {header!r}, expected {','.join(kinds)}")
    convert = {"int": int, "float": float, "str": str}
    return [
        kind(**{name: convert[kinds[name]](value) for name, value in zip(kinds, line.split(","))}) for line in lines
    ]


def write_results(prefix: str | Path, rows: Sequence[Any], markdown: str) -> None:
    """A study's outputs side by side, each written atomically: prefix.csv (the rows) and prefix.md (its table)."""
    out = Path(prefix)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out.with_suffix(".csv"), to_csv(rows))
    write_text(out.with_suffix(".md"), markdown + "\n")


def committed_rows(path: Path, root: str, categories: Sequence[str], kind: type) -> list[Any] | None:
    """A committed result file's rows (of `kind`) if it exists and describes these categories of the default data, else
    None."""
    if not path.is_file() or Path(root).resolve() != default_data_root().resolve():
        return None
    rows = from_csv(path.read_text(), kind)
    return rows if {row.category for row in rows} == set(categories) else None
