"""Eval reports (`rag.eval.report`) and their SVG charts (`rag.eval.plots`) on hand-made run dirs.

Each run dir is written here by hand in the schema the runner writes: two systems, three question
types (one unanswerable), with or without answers. The tests read the reports back and check real
content: table values, "–" for null, escaping, counts of series and bars, determinism, deltas.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from rag.errors import InputError
from rag.eval import plots
from rag.eval.report import compare, write_reports

SHA = "abcdef0123456789" * 4
SVG_NS = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script> & which paper?'
LONG_ANSWER = "word " * 100


def _top(*ids: str) -> list[dict[str, Any]]:
    return [{"paper_id": i, "title": f"Title {i.upper()}", "score": 1.0 / (n + 1)} for n, i in enumerate(ids)]


def _metrics(r10: float | None) -> dict[str, float | None]:
    keys = ("recall@1", "recall@5", "recall@10", "recall@100", "mrr@10", "ndcg@10")
    return dict.fromkeys(keys, r10)


def _question(qid: str, qtype: str, text: str, gold: list[str], hybrid: tuple, bm25: tuple, answer: dict | None) -> dict:
    """One questions.jsonl record; `hybrid` and `bm25` are (top paper ids, recall@10)."""
    return {
        "id": qid, "question": text, "type": qtype, "gold": gold,
        "gold_titles": [f"Title {g.upper()}" for g in gold],
        "retrieval": {
            "hybrid": {"top": _top(*hybrid[0]), "metrics": _metrics(hybrid[1]), "ms": 12.5},
            "bm25": {"top": _top(*bm25[0]), "metrics": _metrics(bm25[1]), "ms": 3.0},
        },
        "answer": answer,
        "metrics": {"cited_paper_precision": (answer or {}).get("_cpp"),
                    "abstained": (answer or {}).get("abstained")},
        "latency_ms": {"retrieval:hybrid": 12.5, "retrieval:bm25": 3.0, **({"answer": 1500.0} if answer else {})},
    }


def _answer(text: str, abstained: bool, cpp: float | None) -> dict:
    return {"text": text, "abstained": abstained, "citations": [], "invalid_citations": [], "_cpp": cpp}


def _questions(answers: bool) -> list[dict]:
    a = (lambda *args: _answer(*args)) if answers else (lambda *args: None)
    return [
        _question("s001", "single", "Which paper proposes Griffin?", ["p1"], (["p1", "p2", "p3"], 1.0),
                  (["p1"], 1.0), a("Griffin [1].", False, 1.0)),
        _question("s002", "single", EVIL, ["p2"], (["p3", "p4", "p5"], 0.0), (["p2"], 1.0),
                  a("The corpus does not answer this.", True, None)),
        _question("m001", "multi", "Compare p3 and p4.", ["p3", "p4"], (["p3", "p9"], 0.5), (["p3", "p4"], 1.0),
                  a(LONG_ANSWER, False, 0.5)),
        _question("u001", "unanswerable", "What is the airspeed of a swallow?", [], ([], None), ([], None),
                  a("About 11 m/s [1].", False, 0.0)),
    ]


def _summary(answers: bool) -> dict:
    def rows(all_r10: float, single: float, multi: float) -> dict:
        return {"all": {**_metrics(all_r10), "mrr@10": 0.55},
                "by_type": {"single": _metrics(single), "multi": _metrics(multi), "unanswerable": _metrics(None)}}

    answer_all = {"cited_paper_precision": 0.833, "cited_paper_recall": 0.75, "citation_recall": 0.6,
                  "citation_precision": 0.7, "citation_f1": 0.646, "faithfulness": None, "must_mention": 0.9,
                  "invalid_citation_rate": 0.02, "invalid_shown": 0.0, "abstention_accuracy": 0.0,
                  "false_abstention_rate": 0.333, "abstained": 0.25}
    by_type = {t: {**answer_all, "must_mention": None if t == "unanswerable" else 0.8} for t in ("single", "multi")}
    by_type["unanswerable"] = dict.fromkeys(answer_all, None) | {"abstention_accuracy": 0.0}
    return {
        "schema": 1,
        "run": {"dataset": "/data/seeds.jsonl", "dataset_name": "seeds", "dataset_sha256": SHA, "kind": "qa",
                "backend": "extractive" if answers else None, "model": None, "retrieval_only": not answers,
                "limit": None, "judge": "toy-nli-judge", "systems": ["hybrid", "bm25"], "main_system": "hybrid",
                "embed_model": "all-MiniLM-L6-v2", "papers": 45, "started": "2026-01-01T10:00:00",
                "finished": "2026-01-01T10:05:00", "rag_version": "0.1.0", "settings": {"top_k": 8}},
        "n_questions": 4,
        "types": {"single": 2, "multi": 1, "unanswerable": 1},
        "retrieval": {"hybrid": rows(0.625, 0.5, 0.5), "bm25": rows(0.75, 1.0, 1.0)},
        "recall_curve": {"hybrid": {"1": 0.3, "2": 0.4, "3": 0.5, "5": 0.6, "10": 0.625, "20": 0.7, "50": 0.8,
                                    "100": 0.9},
                         "bm25": {"1": 0.5, "10": 0.75, "100": 1.0}},
        "answer": {"all": answer_all, "by_type": by_type} if answers else None,
        "latency_ms": {"retrieval:hybrid": {"n": 4, "p50": 12.34, "p95": 20.0, "mean": 13.0, "max": 21.0},
                       "answer": {"n": 4, "p50": 1234.4, "p95": 1800.0, "mean": 1300.0, "max": 1900.0}},
    }


def make_run(path: Path, *, answers: bool = True, summary: dict | None = None, questions: list | None = None
             ) -> Path:
    """Write a run dir in the runner's schema (the default one, or the given summary and questions)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "summary.json").write_text(json.dumps(summary or _summary(answers)), encoding="utf-8")
    lines = [json.dumps(q) for q in (questions if questions is not None else _questions(answers))]
    (path / "questions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return make_run(tmp_path / "run")


def _svg(path: Path) -> ET.Element:
    return ET.fromstring(path.read_text(encoding="utf-8"))


def _count(root: ET.Element, tag: str, cls: str) -> int:
    return sum(1 for e in root.iter(SVG_NS + tag) if e.get("class") == cls)


def _section(md: str, start: str, end: str) -> str:
    return md.split(start, 1)[1].split(end, 1)[0]


# --- write_reports ----------------------------------------------------------------------------


def test_write_reports_writes_every_file(run: Path) -> None:
    written = write_reports(run)
    names = [p.relative_to(run).as_posix() for p in written]
    assert names == ["plots/recall_at_k.svg", "plots/latency.svg", "plots/by_type.svg",
                     "plots/answer_by_type.svg", "report.md", "report.html"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)


def test_markdown_header_and_retrieval_tables(run: Path) -> None:
    write_reports(run)
    md = (run / "report.md").read_text(encoding="utf-8")
    assert "seeds (sha256 abcdef012345)" in md and "Answers: extractive" in md and "Judge: toy-nli-judge" in md
    assert "Questions: 4 (single 2, multi 1, unanswerable 1)" in md and "Papers in store: 45" in md
    overall = _section(md, "### All questions (n=4)", "###")
    assert "| hybrid (main) | 0.625 | 0.625 | 0.625 | 0.625 | 0.550 | 0.625 |" in overall
    assert "| bm25 | 0.750 |" in overall
    assert "| hybrid (main) | 0.500 |" in _section(md, "### single (n=2)", "###")
    assert "do not apply" in _section(md, "### unanswerable (n=1)", "##")
    assert "![recall@k](plots/recall_at_k.svg)" in md and "![latency](plots/latency.svg)" in md


def test_markdown_answer_and_latency_tables(run: Path) -> None:
    write_reports(run)
    md = (run / "report.md").read_text(encoding="utf-8")
    quality = _section(md, "### Attribution and citations", "###")
    assert "| all (4) | 0.833 | 0.750 | 0.600 | 0.700 | 0.646 | – | 0.900 |" in quality
    assert "| unanswerable (1) | – | – |" in quality
    abstention = _section(md, "### Abstention and invalid citations", "##")
    assert "| all (4) | 0.000 | 0.333 | 0.250 | 0.020 | 0.000 |" in abstention
    assert "| retrieval:hybrid | 4 | 12.3 | 20.0 | 13.0 | 21.0 |" in md
    assert "| answer | 4 | 1234 | 1800 | 1300 | 1900 |" in md
    assert "## How to read this" in md and "invalid shown" in md and "toy-nli-judge" in md


def test_per_question_lists_misses_and_wrong_answers(run: Path) -> None:
    write_reports(run)
    md = (run / "report.md").read_text(encoding="utf-8")
    misses = _section(md, "### Retrieval misses", "### Wrong answers")
    assert "| s002 |" in misses and "| m001 |" in misses and "s001" not in misses and "u001" not in misses
    assert "Title P3; Title P4; Title P5" in misses and "✓ Title P3; Title P9" in misses
    wrong = _section(md, "### Wrong answers (3)", "## How to read this")
    assert "| s002 | single | abstained on an answerable question |" in wrong
    assert "| u001 | unanswerable | answered an unanswerable question |" in wrong
    assert "| m001 | multi | cited non-gold papers (cited-paper precision 0.500) |" in wrong
    assert "s001" not in wrong
    assert ("word " * 60)[:300] + "…" in wrong and LONG_ANSWER.strip() not in wrong


def test_html_is_self_contained_and_escaped(run: Path) -> None:
    write_reports(run)
    html = (run / "report.html").read_text(encoding="utf-8")
    md = (run / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; which" in html
    assert "<script>" not in md
    assert html.count("<svg ") == 4 and "plots/" not in html and "<style>" in html
    assert "0.625" in html and "Wrong answers (3)" in html


def test_svgs_have_the_expected_series_and_bars(run: Path) -> None:
    write_reports(run)
    recall = _svg(run / "plots/recall_at_k.svg")
    assert _count(recall, "g", "series") == 2 and len(list(recall.iter(SVG_NS + "circle"))) == 8 + 3
    latency = _svg(run / "plots/latency.svg")
    assert [g.get("data-series") for g in latency.iter(SVG_NS + "g") if g.get("class") == "series"] == [
        "retrieval:hybrid", "answer", "retrieval:bm25"]
    by_type = _svg(run / "plots/by_type.svg")  # unanswerable skipped: 2 types x 2 systems
    assert _count(by_type, "rect", "bar") == 4 and _count(by_type, "text", "na") == 0
    answer = _svg(run / "plots/answer_by_type.svg")  # 3 types x 4 metrics, unanswerable all n/a
    assert _count(answer, "rect", "bar") == 8 and _count(answer, "text", "na") == 4


def test_reports_are_deterministic(run: Path) -> None:
    first = {p: p.read_bytes() for p in write_reports(run)}
    second = {p: p.read_bytes() for p in write_reports(run)}
    assert first == second


def test_retrieval_only_run(tmp_path: Path) -> None:
    run = make_run(tmp_path / "ro", answers=False)
    written = write_reports(run)
    assert not (run / "plots/answer_by_type.svg").exists() and len(written) == 5
    md = (run / "report.md").read_text(encoding="utf-8")
    assert "Answers: retrieval only" in md and "## Answers" not in md and "Wrong answers" not in md
    assert "nDCG@10: " in md and "cited-paper precision" not in md
    latency = _svg(run / "plots/latency.svg")
    assert _count(latency, "g", "series") == 2


def test_missing_questions_file_still_reports(tmp_path: Path) -> None:
    run = make_run(tmp_path / "r")
    (run / "questions.jsonl").unlink()
    write_reports(run)
    assert "questions.jsonl is missing or empty" in (run / "report.md").read_text(encoding="utf-8")


def test_missing_summary_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no summary.json.*rag eval DATASET --out") as err:
        write_reports(tmp_path)
    assert str(tmp_path) in str(err.value)
    make_run(tmp_path / "a")
    with pytest.raises(InputError, match="no summary.json"):
        compare(tmp_path / "a", tmp_path / "missing")


def test_broken_questions_line_names_the_line(tmp_path: Path) -> None:
    run = make_run(tmp_path / "r")
    with (run / "questions.jsonl").open("a", encoding="utf-8") as f:
        f.write("{not json\n")
    with pytest.raises(InputError, match=r"questions.jsonl:5: not valid JSON"):
        write_reports(run)


# --- compare ----------------------------------------------------------------------------------


def _changed_run(path: Path, **run_changes: Any) -> Path:
    summary = _summary(True)
    summary["retrieval"]["hybrid"]["all"]["recall@10"] = 0.7
    summary["latency_ms"]["answer"]["p50"] = 1200.0
    summary["run"].update(run_changes)
    questions = _questions(True)
    questions[1]["retrieval"]["hybrid"]["metrics"]["recall@10"] = 1.0  # s002: 0 -> 1
    questions[3]["answer"]["abstained"] = True  # u001 now abstains
    return make_run(path, summary=summary, questions=questions)


def test_compare_signed_deltas_and_changed_questions(tmp_path: Path) -> None:
    a, b = make_run(tmp_path / "a"), _changed_run(tmp_path / "b")
    md = compare(a, b)
    assert "Warning" not in md
    assert "| retrieval hybrid recall@10 | 0.625 | 0.700 | +0.075 |" in md
    assert "| retrieval bm25 recall@10 | 0.750 | 0.750 | +0.000 |" in md
    assert "| latency answer p50 ms | 1234 | 1200 | -34.4 |" in md
    assert "| answer faithfulness | – | – | – |" in md
    recall = _section(md, "## Main-system recall@10 changed (1)", "##")
    assert "| s002 | single | 0.000 | 1.000 | +1.000 |" in recall and "m001" not in recall
    answers = md.split("## Answers changed", 1)[1]
    assert "| u001 | unanswerable | no → yes |" in answers and "s001" not in answers


def test_compare_warns_on_different_datasets_and_ids(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a")
    b = _changed_run(tmp_path / "b", dataset_sha256="f" * 64)
    questions = [json.loads(line) for line in (b / "questions.jsonl").read_text().splitlines()]
    extra = copy.deepcopy(questions[0]) | {"id": "s999"}
    make_run(b, summary=json.loads((b / "summary.json").read_text()), questions=[*questions[1:], extra])
    md = compare(a, b)
    top = md.split("## Metrics", 1)[0]
    assert "different datasets: differences are not comparable" in top
    assert "1 only in A, 1 only in B" in top and "3 shared ids" in top
    assert "s001" not in md.split("## Metrics", 1)[1]


def test_compare_retrieval_only_runs_skip_answer_lists(tmp_path: Path) -> None:
    md = compare(make_run(tmp_path / "a", answers=False), make_run(tmp_path / "b", answers=False))
    assert "Answers changed" not in md and "answer cited_paper_precision" not in md
    assert "## Main-system recall@10 changed (0)" in md


# --- plots ------------------------------------------------------------------------------------


@pytest.mark.parametrize("values", [{}, {"a": []}, {"a": [], "b": []}, {"a": [7.0, 7.0, 7.0]}, {"a": [0.0]},
                                    {"a": [5.0], "b": [5.0]}, {"a": [float("nan"), 2.0]}])
def test_histogram_handles_degenerate_input(values: dict[str, list[float]]) -> None:
    for log_x in (False, True):
        root = ET.fromstring(plots.histogram(values, title="t", x_label="ms", log_x=log_x))
        bars = [r for r in root.iter(SVG_NS + "rect") if r.get("class") == "bar"]
        assert all(float(r.get("height")) >= 0 and float(r.get("width")) > 0 for r in bars)


def test_histogram_counts_every_value() -> None:
    svg = plots.histogram({"x": [1, 2, 2, 3, 10], "y": [4, 4]}, title="t", x_label="ms", bins=5)
    root = ET.fromstring(svg)
    tips = [t.text for t in root.iter(SVG_NS + "title") if t.text and t.text.startswith(("x:", "y:"))]
    assert sum(int(t.rsplit(": ", 1)[1]) for t in tips) == 7
    assert _count(root, "g", "legend") == 1


def test_line_chart_log_axis_and_escaping() -> None:
    svg = plots.line_chart({"a<b": [(1, 0.1), (10, 0.5), (100, 0.9)], "c": [(0, 0.3)]},
                           title="R & D", x_label="k", y_label="recall", log_x=True)
    root = ET.fromstring(svg)
    assert root.find(SVG_NS + "title").text == "R & D"
    assert [g.get("data-series") for g in root.iter(SVG_NS + "g") if g.get("class") == "series"] == ["a<b", "c"]
    assert len(list(root.iter(SVG_NS + "circle"))) == 3  # x = 0 cannot sit on a log axis
    labels = {t.text for t in root.iter(SVG_NS + "text")}
    assert {"1", "10", "100", "0.0", "1.0"} <= labels


def test_bar_chart_marks_missing_values_and_is_deterministic() -> None:
    groups = {"single": {"m1": 0.5, "m2": None}, "multi": {"m1": 0.25}}
    svg = plots.bar_chart(groups, title="t", y_label="score")
    assert svg == plots.bar_chart(copy.deepcopy(groups), title="t", y_label="score")
    root = ET.fromstring(svg)
    assert _count(root, "rect", "bar") == 2 and _count(root, "text", "na") == 2
    assert root.get("viewBox") == f"0 0 {plots.WIDTH} {plots.HEIGHT}"
    assert "no data" in plots.bar_chart({}, title="t", y_label="y")
