"""`compare(run_a, run_b)`: Markdown that sets run B against run A, metric by metric (with B − A)
and question by question.

It warns when the datasets or the question ids differ. Numbers come from the two runs' files as
written; this module computes no metric and writes no file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rag.eval.formatting import ABSTENTION_METRICS, NA, QUALITY_METRICS, RETRIEVAL_METRICS, delta, fmt, fmt_ms, is_num
from rag.eval.report_doc import Block, Bullets, Heading, Para, Table, table_of, to_markdown
from rag.eval.report_run import Run, load_run, metric
from rag.eval.report_sections import answerer, dataset_line, has_abstained, main_recall, metric_keys


def _compare_header(a: Run, b: Run) -> list[Block]:
    def line(tag: str, run: Run) -> str:
        return (
            f"{tag}: {run.path} — dataset {dataset_line(run)}, {answerer(run)}, "
            f"started {run.info.get('started') or NA}"
        )

    return [Heading(1, "Eval comparison: A → B"), Bullets([line("A", a), line("B", b)])]


def _ids(run: Run) -> list[str]:
    return [str(q.get("id")) for q in run.questions]


def _compare_warnings(a: Run, b: Run) -> list[Block]:
    out: list[Block] = []
    if a.info.get("dataset_sha256") != b.info.get("dataset_sha256"):
        out.append(Para("different datasets: differences are not comparable.", True))
    ids_a, ids_b = set(_ids(a)), set(_ids(b))
    if ids_a != ids_b:
        shared = len(ids_a & ids_b)
        out.append(Para(
            f"question ids differ: {len(ids_a - ids_b)} only in A, {len(ids_b - ids_a)} only in B; "
            f"per-question lists use the {shared} shared ids.", True))
    return out


def _metric_rows(a: Run, b: Run) -> list[list[str]]:
    rows = []
    ret_a, ret_b = a.summary.get("retrieval") or {}, b.summary.get("retrieval") or {}
    for s in [*a.systems, *(s for s in b.systems if s not in a.systems)]:
        all_a, all_b = (ret_a.get(s) or {}).get("all"), (ret_b.get(s) or {}).get("all")
        for k in metric_keys([all_a, all_b], RETRIEVAL_METRICS):
            va, vb = metric(all_a, k), metric(all_b, k)
            rows.append([f"retrieval {s} {k}", fmt(va), fmt(vb), delta(va, vb)])
    if a.answer is not None or b.answer is not None:
        ans_a, ans_b = (a.answer or {}).get("all"), (b.answer or {}).get("all")
        for k in metric_keys([ans_a, ans_b], (*QUALITY_METRICS, *ABSTENTION_METRICS)):
            va, vb = metric(ans_a, k), metric(ans_b, k)
            rows.append([f"answer {k}", fmt(va), fmt(vb), delta(va, vb)])
    lat_a, lat_b = a.summary.get("latency_ms") or {}, b.summary.get("latency_ms") or {}
    for stage in [*lat_a, *(s for s in lat_b if s not in lat_a)]:
        for p in ("p50", "p95"):
            va, vb = metric(lat_a.get(stage), p), metric(lat_b.get(stage), p)
            rows.append([f"latency {stage} {p} ms", fmt_ms(va), fmt_ms(vb), delta(va, vb, ms=True)])
    return rows


def _settings_diff(a: Run, b: Run) -> list[Block]:
    sa, sb = a.info.get("settings") or {}, b.info.get("settings") or {}
    keys = sorted(k for k in {*sa, *sb} if sa.get(k, NA) != sb.get(k, NA))
    if not keys:
        return []
    rows = [[k, json.dumps(sa.get(k)), json.dumps(sb.get(k))] for k in keys]
    return [Heading(2, "Settings that differ"), table_of(["setting", "A", "B"], rows, numeric_from=3)]


def _changed(va: Any, vb: Any) -> bool:
    if is_num(va) and is_num(vb):
        return abs(va - vb) > 1e-9
    return va != vb


def _shared_pairs(a: Run, b: Run) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    by_id = {str(q.get("id")): q for q in b.questions}
    return [(q, by_id[str(q.get("id"))]) for q in a.questions if str(q.get("id")) in by_id]


def _recall_changes(a: Run, b: Run) -> list[Block]:
    rows = []
    for qa, qb in _shared_pairs(a, b):
        va, vb = main_recall(qa, a.main_system), main_recall(qb, b.main_system)
        if _changed(va, vb):
            rows.append([str(qa.get("id")), str(qa.get("type")), fmt(va), fmt(vb), delta(va, vb),
                         str(qa.get("question", ""))])
    out: list[Block] = [Heading(2, f"Main-system recall@10 changed ({len(rows)})")]
    if not rows:
        return [*out, Para("None.")]
    return [*out, Table(["id", "type", "A", "B", "Δ", "question"], rows, [False, False, True, True, True, False])]


def _answer_changes(a: Run, b: Run) -> list[Block]:
    rows = []
    for qa, qb in _shared_pairs(a, b):
        ab_a, ab_b = has_abstained(qa), has_abstained(qb)
        pa = (qa.get("metrics") or {}).get("cited_paper_precision")
        pb = (qb.get("metrics") or {}).get("cited_paper_precision")
        if ab_a != ab_b or _changed(pa, pb):
            rows.append([str(qa.get("id")), str(qa.get("type")), f"{fmt(ab_a)} → {fmt(ab_b)}",
                         f"{fmt(pa)} → {fmt(pb)}", delta(pa, pb), str(qa.get("question", ""))])
    out: list[Block] = [Heading(2, f"Answers changed: abstained or cited-paper precision ({len(rows)})")]
    if not rows:
        return [*out, Para("None.")]
    header = ["id", "type", "abstained A → B", "cited-paper precision A → B", "Δ", "question"]
    return [*out, Table(header, rows, [False, False, False, True, True, False])]


def compare(run_a: Path, run_b: Path) -> str:
    """Markdown setting run B against run A: every summary metric with B − A, and what changed per question."""
    a, b = load_run(run_a), load_run(run_b)
    blocks: list[Block] = [*_compare_header(a, b), *_compare_warnings(a, b)]
    blocks += [Heading(2, "Metrics (Δ = B − A)"), table_of(["metric", "A", "B", "Δ"], _metric_rows(a, b))]
    blocks += _settings_diff(a, b)
    blocks += _recall_changes(a, b)
    has_answers = (a.answer is not None or any(q.get("answer") for q in a.questions)) and (
        b.answer is not None or any(q.get("answer") for q in b.questions)
    )
    if has_answers:
        blocks += _answer_changes(a, b)
    return to_markdown(blocks)
