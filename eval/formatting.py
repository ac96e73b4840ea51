"""Metric names and how a figure is written, shared by the terminal summary and the reports.

`rag.eval.runner` prints its summary with these and `rag.eval.report` writes report.md, report.html
and the comparison with them, so a figure reads the same everywhere: a metric with 3 decimals, "–"
where it does not apply, milliseconds with 1 decimal below 100 ms. This module computes no metric
(see `rag.eval.metrics`) and renders no document (see `rag.eval.report`).
"""

from __future__ import annotations

import math

NA = "–"
RETRIEVAL_METRICS = ("recall@1", "recall@5", "recall@10", "recall@100", "mrr@10", "ndcg@10")
QUALITY_METRICS = (
    "cited_paper_precision",
    "cited_paper_recall",
    "citation_recall",
    "citation_precision",
    "citation_f1",
    "faithfulness",
    "must_mention",
    "answer_bearing_context",
)
ABSTENTION_METRICS = (
    "abstention_accuracy",
    "false_abstention_rate",
    "abstained",
    "invalid_citation_rate",
    "invalid_shown",
)
ANSWER_TRUNCATE = 300


def is_num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def fmt(v: object) -> str:
    """A metric: 3 decimals; null (or anything not a number) as "–"; a bool as yes/no."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{v:.3f}" if is_num(v) else NA


def fmt_ms(v: object) -> str:
    """Milliseconds: 1 decimal below 100 ms, none above."""
    if not is_num(v):
        return NA
    return f"{v:.1f}" if abs(v) < 100 else f"{v:.0f}"


def delta(a: object, b: object, *, ms: bool = False) -> str:
    """B − A, signed ("+0.012", "-34.4"); "–" when either side is missing."""
    if not (is_num(a) and is_num(b)):
        return NA
    d = b - a
    text = fmt_ms(abs(d)) if ms else f"{abs(d):.3f}"
    return ("-" if d < 0 and float(text) != 0 else "+") + text


def truncate(text: str, n: int = ANSWER_TRUNCATE) -> str:
    return text if len(text) <= n else text[:n] + "…"
