"""Reports of an eval run: Markdown and HTML with SVG plots, and a Markdown comparison of two runs.

`write_reports(run_dir)` reads the `summary.json` and `questions.jsonl` that `rag eval` wrote and
writes `report.md`, `report.html` (self-contained: inline CSS, the SVGs inline) and the plots under
`plots/`. `compare(run_a, run_b)` returns Markdown that sets two runs side by side, metric by
metric and question by question. Both build one list of blocks (headings, paragraphs, tables,
images) and render it, so the Markdown and the HTML say the same thing. Output is deterministic:
the same run dir gives byte-identical files.

This module computes no metric: every number comes from the run's files as written. It does not
run anything, and never writes outside the run dir.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape as html_escape
from pathlib import Path
from typing import Any

from rag.errors import InputError
from rag.eval import plots
from rag.eval.formatting import (
    ABSTENTION_METRICS,
    NA,
    QUALITY_METRICS,
    RETRIEVAL_METRICS,
    delta,
    fmt,
    fmt_ms,
    is_num,
    truncate,
)

__all__ = ["compare", "write_reports"]

ANSWER_PLOT_METRICS = ("cited_paper_precision", "cited_paper_recall", "citation_recall", "must_mention")
UNANSWERABLE = "unanswerable"


# --- the run on disk --------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One run dir as read: its summary and its per-question records (in file order)."""

    path: Path
    summary: dict[str, Any]
    questions: list[dict[str, Any]]

    @property
    def info(self) -> dict[str, Any]:
        return self.summary.get("run") or {}

    @property
    def systems(self) -> list[str]:
        return list(self.info.get("systems") or self.summary.get("retrieval") or [])

    @property
    def main_system(self) -> str | None:
        return self.info.get("main_system") or (self.systems[0] if self.systems else None)

    @property
    def types(self) -> dict[str, int]:
        return dict(self.summary.get("types") or {})

    @property
    def answer(self) -> dict[str, Any] | None:
        return self.summary.get("answer")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"cannot read the run summary ({exc}); run `rag eval` again") from exc
    if not isinstance(data, dict):
        raise InputError(str(path), "the run summary is not a JSON object; run `rag eval` again")
    return data


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read the per-question results ({exc}); run `rag eval` again") from exc
    rows = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(str(path), f"not valid JSON ({exc.msg}); run `rag eval` again", line=n) from exc
        if not isinstance(row, dict):
            raise InputError(str(path), "not a JSON object; run `rag eval` again", line=n)
        rows.append(row)
    return rows


def load_run(run_dir: Path) -> Run:
    """Read a run dir; InputError (naming the dir and the fix) when it has no summary.json."""
    run_dir = Path(run_dir)
    summary = run_dir / "summary.json"
    if not summary.is_file():
        raise InputError(
            str(run_dir), f"no summary.json in this directory; run `rag eval DATASET --out {run_dir}` first"
        )
    return Run(run_dir, _read_json(summary), _read_jsonl(run_dir / "questions.jsonl"))


def _metric(row: Mapping[str, Any] | None, key: str) -> Any:
    return (row or {}).get(key)


# --- the intermediate document ----------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    text: str
    warning: bool = False


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]
    numeric: list[bool] = field(default_factory=list)  # per column: right-align


@dataclass(frozen=True)
class Image:
    alt: str
    rel_path: str
    svg: str


Block = Heading | Para | Bullets | Table | Image


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric_from: int = 1) -> Table:
    """A table whose columns from `numeric_from` on hold numbers."""
    return Table(list(header), [list(r) for r in rows], [i >= numeric_from for i in range(len(header))])


_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def _md_text(text: str) -> str:
    """Text that a Markdown renderer will not take for HTML (`<script>` becomes `&lt;script>`)."""
    return _TAG_START.sub("&lt;", text)


def _md_cell(text: str) -> str:
    return _md_text(" ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|"))


def _md_table(t: Table) -> list[str]:
    align = ["---:" if t.numeric and t.numeric[i] else "---" for i in range(len(t.header))]
    lines = ["| " + " | ".join(_md_cell(h) for h in t.header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in t.rows]
    return lines


def to_markdown(blocks: Iterable[Block]) -> str:
    """Render blocks as GitHub-flavoured Markdown (images as links to their SVG files)."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append("#" * b.level + " " + _md_text(b.text))
        elif isinstance(b, Para):
            out.append(("> **Warning:** " if b.warning else "") + _md_text(b.text))
        elif isinstance(b, Bullets):
            out.append("\n".join("- " + _md_text(i) for i in b.items))
        elif isinstance(b, Table):
            out.append("\n".join(_md_table(b)))
        elif isinstance(b, Image):
            out.append(f"![{b.alt}]({b.rel_path})")
    return "\n\n".join(out) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
table{border-collapse:collapse;margin:.5em 0 1.2em;font-size:.92em;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #ccc;padding:.25em .6em;vertical-align:top;text-align:left}
th{background:#f2f2f2}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#fafafa}
.warning{background:#fff4e5;border-left:4px solid #e69f00;padding:.5em .8em}
figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{color:#555;font-size:.9em}
""".strip()


def _html_table(t: Table) -> str:
    def cls(i: int) -> str:
        return ' class="num"' if t.numeric and t.numeric[i] else ""

    head = "".join(f"<th{cls(i)}>{html_escape(h)}</th>" for i, h in enumerate(t.header))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{html_escape(c)}</td>" for i, c in enumerate(row)) + "</tr>\n"
        for row in t.rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


def _html_block(b: Block) -> str:
    if isinstance(b, Heading):
        return f"<h{b.level}>{html_escape(b.text)}</h{b.level}>"
    if isinstance(b, Para):
        return f'<p class="warning"><strong>Warning:</strong> {html_escape(b.text)}</p>' if b.warning else (
            f"<p>{html_escape(b.text)}</p>"
        )
    if isinstance(b, Bullets):
        return "<ul>\n" + "\n".join(f"<li>{html_escape(i)}</li>" for i in b.items) + "\n</ul>"
    if isinstance(b, Table):
        return _html_table(b)
    return f"<figure>\n{b.svg.strip()}\n<figcaption>{html_escape(b.alt)}</figcaption>\n</figure>"


def to_html(blocks: Sequence[Block], title: str) -> str:
    """Render blocks as one self-contained HTML page (inline CSS, SVGs inline)."""
    body = "\n".join(_html_block(b) for b in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html_escape(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


# --- report sections --------------------------------------------------------------------------


def _dataset_line(run: Run) -> str:
    info = run.info
    name = info.get("dataset_name") or Path(str(info.get("dataset") or "?")).stem
    sha = str(info.get("dataset_sha256") or "")
    return f"{name} (sha256 {sha[:12]})" if sha else str(name)


def _answerer(run: Run) -> str:
    info = run.info
    if info.get("retrieval_only") or run.answer is None or not info.get("backend"):
        return "retrieval only"
    model = info.get("model")
    return f"{info['backend']} / {model}" if model else str(info["backend"])


def _types_line(run: Run) -> str:
    per_type = ", ".join(f"{t} {n}" for t, n in run.types.items())
    total = run.summary.get("n_questions", len(run.questions))
    return f"{total} ({per_type})" if per_type else str(total)


def _facts(run: Run) -> list[Block]:
    info = run.info
    systems = ", ".join(f"{s} (main)" if s == run.main_system else s for s in run.systems)
    items = [
        f"Dataset: {_dataset_line(run)}" + (f" — {info['dataset']}" if info.get("dataset") else ""),
        f"Kind: {info.get('kind') or NA}",
        f"Answers: {_answerer(run)}",
        f"Judge: {info.get('judge') or NA}",
        f"Systems: {systems or NA}",
        f"Embedding model: {info.get('embed_model') or NA}",
        f"Papers in store: {info.get('papers', NA)}",
        f"Questions: {_types_line(run)}" + (f" (limit {info['limit']})" if info.get("limit") else ""),
        f"Started: {info.get('started') or NA}; finished: {info.get('finished') or NA}",
        f"rag version: {info.get('rag_version') or NA}",
    ]
    return [Heading(1, f"Eval report: {_dataset_line(run)}"), Bullets(items)]


def _metric_keys(rows: Iterable[Mapping[str, Any] | None], known: Sequence[str]) -> list[str]:
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
        any_value |= any(is_num(_metric(row, k)) for k in keys)
        rows.append([f"{s} (main)" if s == run.main_system else s, *(fmt(_metric(row, k)) for k in keys)])
    return _table(["system", *keys], rows) if any_value else None


def _retrieval_section(run: Run) -> list[Block]:
    retrieval = run.summary.get("retrieval") or {}
    rows = [r.get("all") for r in retrieval.values()]
    rows += [row for r in retrieval.values() for row in (r.get("by_type") or {}).values()]
    keys = _metric_keys(rows, RETRIEVAL_METRICS)
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
    rows = [[f"all ({n})", *(fmt(_metric(answer.get("all"), k)) for k in keys)]]
    by_type = answer.get("by_type") or {}
    for t in [*run.types, *(t for t in by_type if t not in run.types)]:
        rows.append([f"{t} ({run.types.get(t, '?')})", *(fmt(_metric(by_type.get(t), k)) for k in keys)])
    return rows


def _answer_section(run: Run) -> list[Block]:
    if run.answer is None:
        return []
    answer = run.answer
    rows = [answer.get("all"), *(answer.get("by_type") or {}).values()]
    extra = [k for k in _metric_keys(rows, (*QUALITY_METRICS, *ABSTENTION_METRICS)) if k not in ABSTENTION_METRICS]
    out: list[Block] = [Heading(2, f"Answers ({_answerer(run)})")]
    shown = _metric(answer.get("all"), "invalid_shown")
    if is_num(shown) and shown > 0:
        out.append(Para(f"invalid citations reached the user (invalid shown = {fmt(shown)}); this must be 0.", True))
    out += [Heading(3, "Attribution and citations"), _table(["questions", *extra], _answer_rows(run, extra))]
    out += [Heading(3, "Abstention and invalid citations")]
    out.append(_table(["questions", *ABSTENTION_METRICS], _answer_rows(run, ABSTENTION_METRICS)))
    reasons = [("all", answer.get("all") or {}), *(answer.get("by_type") or {}).items()]
    kinds = sorted({k for _, r in reasons for k in (r.get("abstain_reasons") or {})})
    if kinds:
        out += [Heading(3, "Why it abstained (counts)"),
                _table(["questions", *kinds], [[name, *(str((r.get("abstain_reasons") or {}).get(k, 0)) for k in kinds)]
                                               for name, r in reasons])]
    return out


def _latency_section(run: Run) -> list[Block]:
    latency = run.summary.get("latency_ms") or {}
    rows = [
        [stage, str(s.get("n", NA)), *(fmt_ms(s.get(k)) for k in ("p50", "p95", "mean", "max"))]
        for stage, s in latency.items()
    ]
    table = _table(["stage", "n", "p50 ms", "p95 ms", "mean ms", "max ms"], rows)
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


def _how_to_read(run: Run) -> list[Block]:
    judge = run.info.get("judge") or "the NLI judge of the run"
    answer = [line.format(judge=judge) for line in HOW_TO_READ_ANSWER] if run.answer is not None else []
    return [Heading(2, "How to read this"), Bullets([*HOW_TO_READ_RETRIEVAL, *answer, HOW_TO_READ_FOOTER])]


# --- per-question sections --------------------------------------------------------------------


def _main_retrieval(q: Mapping[str, Any], system: str | None) -> Mapping[str, Any]:
    return (q.get("retrieval") or {}).get(system) or {}


def _main_recall(q: Mapping[str, Any], system: str | None) -> Any:
    return (_main_retrieval(q, system).get("metrics") or {}).get("recall@10")


def _top_titles(q: Mapping[str, Any], system: str | None, n: int = 3) -> str:
    gold = set(q.get("gold") or [])
    hits = _main_retrieval(q, system).get("top") or []
    names = [("✓ " if h.get("paper_id") in gold else "") + str(h.get("title") or h.get("paper_id")) for h in hits]
    return "; ".join(names[:n]) or NA


def _misses(run: Run) -> list[Block]:
    main = run.main_system
    rows = [
        [str(q.get("id")), str(q.get("type")), fmt(_main_recall(q, main)), str(q.get("question", "")),
         "; ".join(map(str, q.get("gold_titles") or q.get("gold") or [])) or NA, _top_titles(q, main)]
        for q in run.questions
        if is_num(_main_recall(q, main)) and _main_recall(q, main) < 1
    ]
    out: list[Block] = [Heading(3, f"Retrieval misses: {main} recall@10 < 1 ({len(rows)})")]
    if not rows:
        return [*out, Para("None.")]
    header = ["id", "type", "recall@10", "question", "gold titles", "top 3 retrieved (✓ = gold)"]
    return [*out, Table(header, rows, [False, False, True, False, False, False])]


def _is_unanswerable(q: Mapping[str, Any]) -> bool:
    return q.get("type") == UNANSWERABLE or not q.get("gold")


def _abstained(q: Mapping[str, Any]) -> bool | None:
    answer = q.get("answer") or {}
    flag = answer.get("abstained", (q.get("metrics") or {}).get("abstained"))
    return None if flag is None else bool(flag)


def wrong_answer_reason(q: Mapping[str, Any]) -> str | None:
    """Why a question's answer counts as wrong, or None: abstained, answered, or off-gold citations."""
    if not q.get("answer"):
        return None
    abstained = _abstained(q)
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


def _per_question(run: Run) -> list[Block]:
    out: list[Block] = [Heading(2, "Per question")]
    if not run.questions:
        return [*out, Para("questions.jsonl is missing or empty: no per-question results.")]
    out += _misses(run)
    if run.answer is not None or any(q.get("answer") for q in run.questions):
        out += _wrong_answers(run)
    return out


# --- plots ------------------------------------------------------------------------------------


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
        t: {s: _metric(((retrieval.get(s) or {}).get("by_type") or {}).get(t), "recall@10") for s in run.systems}
        for t in run.types
    }
    groups = {t: row for t, row in groups.items() if any(is_num(v) for v in row.values())}
    return plots.bar_chart(groups, title="Recall@10 by question type", y_label="recall@10")


def _answer_plot(run: Run) -> str:
    by_type = (run.answer or {}).get("by_type") or {}
    groups = {
        t: {m: _metric(by_type.get(t), m) for m in ANSWER_PLOT_METRICS}
        for t in [*run.types, *(t for t in by_type if t not in run.types)]
    }
    return plots.bar_chart(groups, title="Answer quality by question type", y_label="score")


def _plots(run: Run) -> list[Image]:
    images = [
        Image("recall@k", "plots/recall_at_k.svg", _recall_plot(run)),
        Image("latency", "plots/latency.svg", _latency_plot(run)),
        Image("recall@10 by type", "plots/by_type.svg", _by_type_plot(run)),
    ]
    if run.answer is not None:
        images.append(Image("answer quality by type", "plots/answer_by_type.svg", _answer_plot(run)))
    return images


# --- front doors ------------------------------------------------------------------------------


def _settings(run: Run) -> list[Block]:
    settings = run.info.get("settings") or {}
    if not settings:
        return []
    rows = [[str(k), json.dumps(v, ensure_ascii=False, sort_keys=True)] for k, v in sorted(settings.items())]
    return [Heading(2, "Settings"), _table(["setting", "value"], rows, numeric_from=2)]


def report_blocks(run: Run, images: Sequence[Image]) -> list[Block]:
    """The whole report as blocks, in reading order."""
    return [
        *_facts(run),
        *_retrieval_section(run),
        *_answer_section(run),
        *_latency_section(run),
        Heading(2, "Plots"),
        *images,
        *_per_question(run),
        *_how_to_read(run),
        *_settings(run),
    ]


def write_reports(run_dir: Path) -> list[Path]:
    """Write the plots, report.md and report.html of a run dir; return the paths written."""
    run = load_run(run_dir)
    images = _plots(run)
    (run.path / "plots").mkdir(parents=True, exist_ok=True)
    written = []
    for image in images:
        path = run.path / image.rel_path
        path.write_text(image.svg, encoding="utf-8")
        written.append(path)
    blocks = report_blocks(run, images)
    md, html = run.path / "report.md", run.path / "report.html"
    md.write_text(to_markdown(blocks), encoding="utf-8")
    html.write_text(to_html(blocks, f"Eval report: {_dataset_line(run)}"), encoding="utf-8")
    return [*written, md, html]


# --- comparison -------------------------------------------------------------------------------


def _compare_header(a: Run, b: Run) -> list[Block]:
    def line(tag: str, run: Run) -> str:
        return (
            f"{tag}: {run.path} — dataset {_dataset_line(run)}, {_answerer(run)}, "
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
        for k in _metric_keys([all_a, all_b], RETRIEVAL_METRICS):
            va, vb = _metric(all_a, k), _metric(all_b, k)
            rows.append([f"retrieval {s} {k}", fmt(va), fmt(vb), delta(va, vb)])
    if a.answer is not None or b.answer is not None:
        ans_a, ans_b = (a.answer or {}).get("all"), (b.answer or {}).get("all")
        for k in _metric_keys([ans_a, ans_b], (*QUALITY_METRICS, *ABSTENTION_METRICS)):
            va, vb = _metric(ans_a, k), _metric(ans_b, k)
            rows.append([f"answer {k}", fmt(va), fmt(vb), delta(va, vb)])
    lat_a, lat_b = a.summary.get("latency_ms") or {}, b.summary.get("latency_ms") or {}
    for stage in [*lat_a, *(s for s in lat_b if s not in lat_a)]:
        for p in ("p50", "p95"):
            va, vb = _metric(lat_a.get(stage), p), _metric(lat_b.get(stage), p)
            rows.append([f"latency {stage} {p} ms", fmt_ms(va), fmt_ms(vb), delta(va, vb, ms=True)])
    return rows


def _settings_diff(a: Run, b: Run) -> list[Block]:
    sa, sb = a.info.get("settings") or {}, b.info.get("settings") or {}
    keys = sorted(k for k in {*sa, *sb} if sa.get(k, NA) != sb.get(k, NA))
    if not keys:
        return []
    rows = [[k, json.dumps(sa.get(k)), json.dumps(sb.get(k))] for k in keys]
    return [Heading(2, "Settings that differ"), _table(["setting", "A", "B"], rows, numeric_from=3)]


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
        va, vb = _main_recall(qa, a.main_system), _main_recall(qb, b.main_system)
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
        ab_a, ab_b = _abstained(qa), _abstained(qb)
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
    blocks += [Heading(2, "Metrics (Δ = B − A)"), _table(["metric", "A", "B", "Δ"], _metric_rows(a, b))]
    blocks += _settings_diff(a, b)
    blocks += _recall_changes(a, b)
    has_answers = (a.answer is not None or any(q.get("answer") for q in a.questions)) and (
        b.answer is not None or any(q.get("answer") for q in b.questions)
    )
    if has_answers:
        blocks += _answer_changes(a, b)
    return to_markdown(blocks)
