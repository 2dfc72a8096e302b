"""The public API documents itself: `help(cplib)` lists every export, and every entry point's numpydoc
"Parameters" section names exactly the parameters of its signature."""

from __future__ import annotations

import inspect
import pydoc
import re

import pytest

import cplib
from cplib.detector import Detector

SECTION_RULE = re.compile(r"^-+$")


def documented_parameters(docstring: str | None) -> list[str]:
    """The names in a numpydoc docstring's Parameters section ("a, b : type" lines at the section's indent)."""
    lines = inspect.cleandoc(docstring or "").splitlines()
    try:
        start = next(
            i for i, line in enumerate(lines[:-1]) if line == "Parameters" and SECTION_RULE.match(lines[i + 1])
        )
    except StopIteration:
        return []
    names = []
    for i, line in enumerate(lines[start + 2 :], start + 2):
        if i + 1 < len(lines) and SECTION_RULE.match(lines[i + 1]):
            break  # the next section's title
        if line and not line[0].isspace():
            names.extend(name.strip() for name in line.split(" : ")[0].split(","))
    return names


def signature_parameters(entry: object) -> list[str]:
    """The parameters a caller passes (self and cls excluded), *args and **kwargs with their stars."""
    stars = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
    parameters = inspect.signature(entry).parameters.values()
    return [stars.get(p.kind, "") + p.name for p in parameters if p.name not in ("self", "cls")]


def entry_points() -> dict[str, object]:
    """Every function and class cplib exports (its exceptions aside) and the Detector's public methods."""
    exported = {name: getattr(cplib, name) for name in cplib.__all__}
    entries = {
        name: value
        for name, value in exported.items()
        if callable(value) and not (inspect.isclass(value) and issubclass(value, Exception))
    }
    for name, member in vars(Detector).items():
        if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, classmethod)):
            entries[f"Detector.{name}"] = getattr(Detector, name)
    return entries


def test_the_parser_reads_a_numpydoc_section() -> None:
    def example(a: int, b: int = 0, *rest: int, **options: int) -> None:
        """Do a thing.

        Parameters
        ----------
        a, b : int
            Two numbers.
              Indented text is not a name.
        *rest : int
            More.
        **options : int
            Options.

        Returns
        -------
        nothing : None
            Not a parameter.
        """

    assert documented_parameters(example.__doc__) == ["a", "b", "*rest", "**options"] == signature_parameters(example)
    assert documented_parameters("One line, no sections.") == []


def test_the_entry_points_include_the_detector_methods_and_the_exports() -> None:
    entries = entry_points()
    assert {"Detector.fit", "Detector.score", "Detector.load", "cutpaste", "TrainConfig", "get_or_train"} <= set(
        entries
    )
    assert "ConfigError" not in entries and "Detector.protocol" not in entries


@pytest.mark.parametrize(("name", "entry"), entry_points().items(), ids=list(entry_points()))
def test_every_entry_point_documents_every_parameter(name: str, entry: object) -> None:
    assert documented_parameters(entry.__doc__) == signature_parameters(entry), f"{name}: Parameters section"


def test_help_lists_every_export() -> None:
    text = pydoc.render_doc(cplib, renderer=pydoc.plaintext)
    missing = [name for name in cplib.__all__ if not re.search(rf"\b{name}\b", text)]
    assert not missing, f"help(cplib) does not list {missing}"
