"""The worked solutions of notebook 09 (reading the evidence) give the answers their exercises teach, on made-up
gaps."""

from __future__ import annotations

import pytest

from cplib import solutions

GAPS = {
    ("clear", "a"): [0.20, 0.22, 0.18],  # mean 0.20, sd 0.02: an effect, and larger than a 0.1 machine spread
    ("small", "a"): [0.05, 0.06, 0.04],  # an effect by the rule, smaller than the machine spread
    ("noisy", "a"): [0.10, -0.05, 0.16],  # mean 0.07, sd 0.11: inside the noise
    ("loose", "a"): [0.02, 0.12, 0.07],  # mean 0.07, sd 0.05: noise by two sds, an effect by two standard errors
}


def test_trusted_gaps_need_the_rule_and_the_machine_spread() -> None:
    assert solutions.trusted_gaps(GAPS, cross_machine=0.1) == [("clear", "a")]
    assert solutions.trusted_gaps(GAPS, cross_machine=0.0) == [("clear", "a"), ("small", "a")]


def test_standard_errors_are_looser_than_sds_by_the_root_of_the_seeds() -> None:
    found = solutions.verdicts_by_rule(GAPS)
    assert found["loose", "a"] == (False, True)
    assert found["clear", "a"] == (True, True) and found["noisy", "a"] == (False, False)


@pytest.mark.parametrize("sign", [1, -1])
def test_accuracy_gap_correlation_is_the_rank_correlation(sign: int) -> None:
    gaps = {("v", str(i)): [sign * i, sign * i + 0.1] for i in range(5)}
    accuracy = {("v", str(i)): 0.5 + i / 10 for i in range(5)}
    assert solutions.accuracy_gap_correlation(accuracy, gaps, ["v"]) == pytest.approx(sign)
    assert solutions.accuracy_gap_correlation(accuracy, {**gaps, ("w", "0"): [9.0, 9.0]}, ["v"]) == pytest.approx(sign)
