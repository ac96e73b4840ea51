"""The plots of a run's report, as SVG images: recall@k, latency per stage, recall@10 and answer
quality by question type.

The charts are drawn by `rag.eval.plots`; this module picks the numbers from the run
(`rag.eval.report_run`) and computes none.
"""

from __future__ import annotations

from rag.eval import plots
from rag.eval.formatting import is_num
from rag.eval.report_doc import Image
from rag.eval.report_run import Run, metric

ANSWER_PLOT_METRICS = ("cited_paper_precision", "cited_paper_recall", "citation_recall", "must_mention")


def _recall_plot(run: Run) -> str:
    curves = run.summary.get("recall_curve") or {}
    names = [s for s in run.systems if s in curves] + [s for s in curves if s not in run.systems]
    series = {
        s: sorted((float(k), v) for k, v in (curves[s] or {}).items() if is_num(v)) for s in names
    }
    return plots.line_chart(series, title="Recall@k (papers)", x_label="k (log scale)", y_label="recall", log_x=True)


def _latency_values(run: Run) -> dict[str, list[float]]:
    stages = dict.fromkeys(run.summary.get("latency_ms") or {})
    for q in run.questions:
        stages.update(dict.fromkeys(q.get("latency_ms") or {}))
    values = {
        stage: [v for q in run.questions if is_num(v := (q.get("latency_ms") or {}).get(stage))]
        for stage in stages
    }
    return {stage: vs for stage, vs in values.items() if vs}


def _latency_plot(run: Run) -> str:
    values = _latency_values(run)
    everything = [v for vs in values.values() for v in vs]
    log_x = bool(everything) and min(everything) > 0 and max(everything) / min(everything) > 50
    x_label = "ms (log scale)" if log_x else "ms"
    return plots.histogram(values, title="Latency per stage", x_label=x_label, log_x=log_x)


def _by_type_plot(run: Run) -> str:
    retrieval = run.summary.get("retrieval") or {}
    groups = {
        t: {s: metric(((retrieval.get(s) or {}).get("by_type") or {}).get(t), "recall@10") for s in run.systems}
        for t in run.types
    }
    groups = {t: row for t, row in groups.items() if any(is_num(v) for v in row.values())}
    return plots.bar_chart(groups, title="Recall@10 by question type", y_label="recall@10")


def _answer_plot(run: Run) -> str:
    by_type = (run.answer or {}).get("by_type") or {}
    groups = {
        t: {m: metric(by_type.get(t), m) for m in ANSWER_PLOT_METRICS}
        for t in [*run.types, *(t for t in by_type if t not in run.types)]
    }
    return plots.bar_chart(groups, title="Answer quality by question type", y_label="score")


def plot_images(run: Run) -> list[Image]:
    images = [
        Image("recall@k", "plots/recall_at_k.svg", _recall_plot(run)),
        Image("latency", "plots/latency.svg", _latency_plot(run)),
        Image("recall@10 by type", "plots/by_type.svg", _by_type_plot(run)),
    ]
    if run.answer is not None:
        images.append(Image("answer quality by type", "plots/answer_by_type.svg", _answer_plot(run)))
    return images
