"""Per-notebook wall time of an nbval run, from its JUnit XML: the README's runtime column.

PYTEST_ADDOPTS=--junitxml=build/junit.xml make test
.venv/bin/python bench/notebook_times.py build/junit.xml
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path


def notebook_seconds(junit: Path) -> dict[str, float]:
    """Seconds per notebook: the sum of its cells' test times, in the order the run met them."""
    seconds: dict[str, float] = defaultdict(float)
    for case in ElementTree.parse(junit).iter("testcase"):
        name = case.get("classname", "")  # "notebooks.01_cutout.ipynb" for the cells of notebooks/01_cutout.ipynb
        if name.endswith(".ipynb"):
            seconds[name.removeprefix("notebooks.")] += float(case.get("time", 0))
    return dict(seconds)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_file():
        print("usage: notebook_times.py JUNIT_XML (written by pytest --junitxml)", file=sys.stderr)
        return 2
    times = notebook_seconds(Path(args[0]))
    for notebook, seconds in times.items():
        print(f"| `{notebook}` | {seconds / 60:.1f} min |" if seconds >= 60 else f"| `{notebook}` | {seconds:.0f} s |")
    print(f"| all notebooks | {sum(times.values()) / 60:.1f} min |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
