"""rag.eval.formatting: one way to name and write a figure, for the terminal summary and the reports."""

from __future__ import annotations

import math

import pytest

from rag.eval import formatting, report_sections, runner
from rag.eval.formatting import NA, RETRIEVAL_METRICS, delta, fmt, fmt_ms, is_num, truncate


@pytest.mark.parametrize("value, expected", [
    (0.12345, "0.123"), (1, "1.000"), (0, "0.000"), (None, NA), (math.nan, NA), (math.inf, NA),
    ("0.5", NA), (True, "yes"), (False, "no"),
])
def test_fmt(value, expected):
    assert fmt(value) == expected


@pytest.mark.parametrize("value, expected", [(12.345, "12.3"), (99.94, "99.9"), (100.4, "100"), (-5.0, "-5.0"), (None, NA)])
def test_fmt_ms(value, expected):
    assert fmt_ms(value) == expected


def test_delta_is_b_minus_a_signed_and_never_minus_zero():
    assert delta(0.5, 0.512) == "+0.012"
    assert delta(0.5, 0.4) == "-0.100"
    assert delta(0.5, 0.5 - 1e-6) == "+0.000"
    assert delta(50.0, 15.6, ms=True) == "-34.4"
    assert delta(None, 0.5) == NA


def test_is_num_and_truncate():
    assert [is_num(v) for v in (1, 0.5, True, None, math.nan, "1")] == [True, True, False, False, False, False]
    assert truncate("abc", 3) == "abc" and truncate("abcd", 3) == "abc…"


def test_runner_and_report_share_the_names_and_the_formatting():
    assert runner.RETRIEVAL_METRICS is report_sections.RETRIEVAL_METRICS is formatting.RETRIEVAL_METRICS
    assert RETRIEVAL_METRICS == ("recall@1", "recall@5", "recall@10", "recall@100", "mrr@10", "ndcg@10")
    assert runner.fmt is report_sections.fmt is fmt
