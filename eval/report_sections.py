"""The sections of a run's report, as blocks: facts, retrieval, answers, latency, per question,
how to read it, settings.

Every number comes from the run's files as written (`rag.eval.report_run`) and is written with
`rag.eval.formatting`; this module computes no metric and renders nothing (see
`rag.eval.report_doc`). The plots are `rag.eval.report_plots`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rag.eval.datasets import UNANSWERABLE
from rag.eval.formatting import ABSTENTION_METRICS, NA, QUALITY_METRICS, RETRIEVAL_METRICS, fmt, fmt_ms, is_num, truncate
from rag.eval.report_doc import Block, Bullets, Heading, Para, Table, table_of
from rag.eval.report_run import Run, metric


def dataset_line(run: Run) -> str:
    info = run.info
    name = info.get("dataset_name") or Path(str(info.get("dataset") or "?")).stem
    sha = str(info.get("dataset_sha256") or "")
    return f"{name} (sha256 {sha[:12]})" if sha else str(name)


def answerer(run: Run) -> str:
    info = run.info
    if info.get("retrieval_only") or run.answer is None or not info.get("backend"):
        return "retrieval only"
    model = info.get("model")
    return f"{info['backend']} / {model}" if model else str(info["backend"])


def _types_line(run: Run) -> str:
    per_type = ", ".join(f"{t} {n}" for t, n in run.types.items())
    total = run.summary.get("n_questions", len(run.questions))
    return f"{total} ({per_type})" if per_type else str(total)


def facts(run: Run) -> list[Block]:
    info = run.info
    systems = ", ".join(f"{s} (main)" if s == run.main_system else s for s in run.systems)
    items = [
        f"Dataset: {dataset_line(run)}" + (f" — {info['dataset']}" if info.get("dataset") else ""),
        f"Kind: {info.get('kind') or NA}",
        f"Answers: {answerer(run)}",
        f"Judge: {info.get('judge') or NA}",
        f"Systems: {systems or NA}",
        f"Embedding model: {info.get('embed_model') or NA}",
        f"Papers in store: {info.get('papers', NA)}",
        f"Questions: {_types_line(run)}" + (f" (limit {info['limit']})" if info.get("limit") else ""),
        f"Started: {info.get('started') or NA}; finished: {info.get('finished') or NA}",
        f"rag version: {info.get('rag_version') or NA}",
    ]
    return [Heading(1, f"Eval report: {dataset_line(run)}"), Bullets(items)]


def metric_keys(rows: Iterable[Mapping[str, Any] | None], known: Sequence[str]) -> list[str]:
    """The known metric keys, then any others the run wrote (in first-seen order)."""
    extra: dict[str, None] = {}
    for row in rows:
        extra.update(dict.fromkeys(k for k, v in (row or {}).items() if k not in known and not isinstance(v, dict)))
    return [*known, *extra]


def _retrieval_table(run: Run, pick: str, keys: Sequence[str]) -> Table | None:
    """Rows = systems, columns = metrics, for "all" or one question type; None when all null."""
    retrieval = run.summary.get("retrieval") or {}
    rows, any_value = [], False
    for s in run.systems:
        per = retrieval.get(s) or {}
        row = per.get("all") if pick == "all" else (per.get("by_type") or {}).get(pick)
        any_value |= any(is_num(metric(row, k)) for k in keys)
        rows.append([f"{s} (main)" if s == run.main_system else s, *(fmt(metric(row, k)) for k in keys)])
    return table_of(["system", *keys], rows) if any_value else None


def retrieval_section(run: Run) -> list[Block]:
    retrieval = run.summary.get("retrieval") or {}
    rows = [r.get("all") for r in retrieval.values()]
    rows += [row for r in retrieval.values() for row in (r.get("by_type") or {}).values()]
    keys = metric_keys(rows, RETRIEVAL_METRICS)
    out: list[Block] = [Heading(2, "Retrieval")]
    n = run.summary.get("n_questions", len(run.questions))
    for pick, label in [("all", f"All questions (n={n})"), *((t, f"{t} (n={c})") for t, c in run.types.items())]:
        out.append(Heading(3, label))
        table = _retrieval_table(run, pick, keys)
        out.append(table or Para("No gold papers for these questions: retrieval metrics do not apply."))
    return out


def _answer_rows(run: Run, keys: Sequence[str]) -> list[list[str]]:
    answer = run.answer or {}
    n = run.summary.get("n_questions", len(run.questions))
    rows = [[f"all ({n})", *(fmt(metric(answer.get("all"), k)) for k in keys)]]
    by_type = answer.get("by_type") or {}
    for t in [*run.types, *(t for t in by_type if t not in run.types)]:
        rows.append([f"{t} ({run.types.get(t, '?')})", *(fmt(metric(by_type.get(t), k)) for k in keys)])
    return rows


def answer_section(run: Run) -> list[Block]:
    if run.answer is None:
        return []
    answer = run.answer
    rows = [answer.get("all"), *(answer.get("by_type") or {}).values()]
    extra = [k for k in metric_keys(rows, (*QUALITY_METRICS, *ABSTENTION_METRICS)) if k not in ABSTENTION_METRICS]
    out: list[Block] = [Heading(2, f"Answers ({answerer(run)})")]
    shown = metric(answer.get("all"), "invalid_shown")
    if is_num(shown) and shown > 0:
        out.append(Para(f"invalid citations reached the user (invalid shown = {fmt(shown)}); this must be 0.", True))
    out += [Heading(3, "Attribution and citations"), table_of(["questions", *extra], _answer_rows(run, extra))]
    out += [Heading(3, "Abstention and invalid citations")]
    out.append(table_of(["questions", *ABSTENTION_METRICS], _answer_rows(run, ABSTENTION_METRICS)))
    reasons = [("all", answer.get("all") or {}), *(answer.get("by_type") or {}).items()]
    kinds = sorted({k for _, r in reasons for k in (r.get("abstain_reasons") or {})})
    if kinds:
        out += [Heading(3, "Why it abstained (counts)"),
                table_of(["questions", *kinds], [[name, *(str((r.get("abstain_reasons") or {}).get(k, 0)) for k in kinds)]
                                               for name, r in reasons])]
    return out


def latency_section(run: Run) -> list[Block]:
    latency = run.summary.get("latency_ms") or {}
    rows = [
        [stage, str(s.get("n", NA)), *(fmt_ms(s.get(k)) for k in ("p50", "p95", "mean", "max"))]
        for stage, s in latency.items()
    ]
    table = table_of(["stage", "n", "p50 ms", "p95 ms", "mean ms", "max ms"], rows)
    return [Heading(2, "Latency"), table if rows else Para("No latency was recorded.")]


HOW_TO_READ_RETRIEVAL = [
    "recall@k: share of a question's gold papers found in the top k retrieved papers (papers are counted, "
    "not chunks: several chunks of one paper take one rank).",
    "MRR@10: 1 / rank of the first gold paper in the top 10, else 0.",
    "nDCG@10: normalised discounted cumulative gain over papers with binary gains, as BEIR computes it.",
]
HOW_TO_READ_ANSWER = [
    "cited-paper precision: cited papers that are gold / cited papers; cited-paper recall: gold papers cited "
    "/ gold papers.",
    "invalid-citation rate: citation keys the model wrote that were not among its sources; they are removed "
    "before the user sees the answer.",
    "invalid shown: such keys that reached the user anyway; must be 0.",
    "citation recall / precision / F1 (ALCE): whether each sentence is entailed by the passages it cites, "
    "and whether each citation is needed, judged by {judge}; not directly comparable with published ALCE numbers.",
    "faithfulness: answer sentences supported by the cited passages / answer sentences.",
    "abstention accuracy: unanswerable questions answered with the no-answer sentinel and no citations / "
    "unanswerable questions.",
    "false-abstention rate: answerable questions answered with the sentinel / answerable questions.",
    "abstained: share of questions answered with the sentinel.",
    "must-mention: share of the required key phrases present in the answer (case-insensitive).",
]
HOW_TO_READ_FOOTER = "Every metric is a mean over the questions it applies to; \"–\" means it applies to none."


def how_to_read(run: Run) -> list[Block]:
    judge = run.info.get("judge") or "the NLI judge of the run"
    answer = [line.format(judge=judge) for line in HOW_TO_READ_ANSWER] if run.answer is not None else []
    return [Heading(2, "How to read this"), Bullets([*HOW_TO_READ_RETRIEVAL, *answer, HOW_TO_READ_FOOTER])]


def settings_section(run: Run) -> list[Block]:
    settings = run.info.get("settings") or {}
    if not settings:
        return []
    rows = [[str(k), json.dumps(v, ensure_ascii=False, sort_keys=True)] for k, v in sorted(settings.items())]
    return [Heading(2, "Settings"), table_of(["setting", "value"], rows, numeric_from=2)]


# --- per-question sections --------------------------------------------------------------------


def _main_retrieval(q: Mapping[str, Any], system: str | None) -> Mapping[str, Any]:
    return (q.get("retrieval") or {}).get(system) or {}


def main_recall(q: Mapping[str, Any], system: str | None) -> Any:
    return (_main_retrieval(q, system).get("metrics") or {}).get("recall@10")


def _top_titles(q: Mapping[str, Any], system: str | None, n: int = 3) -> str:
    gold = set(q.get("gold") or [])
    hits = _main_retrieval(q, system).get("top") or []
    names = [("✓ " if h.get("paper_id") in gold else "") + str(h.get("title") or h.get("paper_id")) for h in hits]
    return "; ".join(names[:n]) or NA


def _misses(run: Run) -> list[Block]:
    main = run.main_system
    rows = [
        [str(q.get("id")), str(q.get("type")), fmt(main_recall(q, main)), str(q.get("question", "")),
         "; ".join(map(str, q.get("gold_titles") or q.get("gold") or [])) or NA, _top_titles(q, main)]
        for q in run.questions
        if is_num(main_recall(q, main)) and main_recall(q, main) < 1
    ]
    out: list[Block] = [Heading(3, f"Retrieval misses: {main} recall@10 < 1 ({len(rows)})")]
    if not rows:
        return [*out, Para("None.")]
    header = ["id", "type", "recall@10", "question", "gold titles", "top 3 retrieved (✓ = gold)"]
    return [*out, Table(header, rows, [False, False, True, False, False, False])]


def _is_unanswerable(q: Mapping[str, Any]) -> bool:
    return q.get("type") == UNANSWERABLE or not q.get("gold")


def has_abstained(q: Mapping[str, Any]) -> bool | None:
    answer = q.get("answer") or {}
    flag = answer.get("abstained", (q.get("metrics") or {}).get("abstained"))
    return None if flag is None else bool(flag)


def wrong_answer_reason(q: Mapping[str, Any]) -> str | None:
    """Why a question's answer counts as wrong, or None: abstained, answered, or off-gold citations."""
    if not q.get("answer"):
        return None
    abstained = has_abstained(q)
    if abstained and not _is_unanswerable(q):
        return "abstained on an answerable question"
    if abstained is False and _is_unanswerable(q):
        return "answered an unanswerable question"
    precision = (q.get("metrics") or {}).get("cited_paper_precision")
    if is_num(precision) and precision < 1:
        return f"cited non-gold papers (cited-paper precision {fmt(precision)})"
    return None


def _wrong_answers(run: Run) -> list[Block]:
    rows = [
        [str(q.get("id")), str(q.get("type")), reason, str(q.get("question", "")),
         truncate(str((q.get("answer") or {}).get("text", "")))]
        for q in run.questions
        if (reason := wrong_answer_reason(q))
    ]
    out: list[Block] = [Heading(3, f"Wrong answers ({len(rows)})")]
    if not rows:
        return [*out, Para("None.")]
    return [*out, Table(["id", "type", "why", "question", "answer"], rows, [False] * 5)]


def per_question(run: Run) -> list[Block]:
    out: list[Block] = [Heading(2, "Per question")]
    if not run.questions:
        return [*out, Para("questions.jsonl is missing or empty: no per-question results.")]
    out += _misses(run)
    if run.answer is not None or any(q.get("answer") for q in run.questions):
        out += _wrong_answers(run)
    return out
