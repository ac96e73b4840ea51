"""Reports of an eval run: Markdown and HTML with SVG plots, and a Markdown comparison of two runs.

`write_reports(run_dir)` reads the `summary.json` and `questions.jsonl` that `rag eval` wrote and
writes `report.md`, `report.html` (self-contained: inline CSS, the SVGs inline) and the plots under
`plots/`. `compare(run_a, run_b)` returns Markdown that sets two runs side by side, metric by
metric and question by question. Both build one list of blocks (headings, paragraphs, tables,
images) and render it, so the Markdown and the HTML say the same thing. Output is deterministic:
the same run dir gives byte-identical files.

This module holds the two front doors; the parts are `rag.eval.report_run` (reading the run dir),
`rag.eval.report_sections` and `rag.eval.report_plots` (the blocks), `rag.eval.report_doc` (blocks to
Markdown and HTML), `rag.eval.report_compare` (`compare`) and `rag.eval.formatting` (how a figure is
written, shared with the terminal summary). None computes a metric: every number comes from the
run's files as written. Nothing here runs anything, or writes outside the run dir.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rag.eval.report_compare import compare
from rag.eval.report_doc import Block, Heading, Image, to_html, to_markdown
from rag.eval.report_plots import plot_images
from rag.eval.report_run import Run, load_run
from rag.eval.report_sections import (
    answer_section,
    dataset_line,
    facts,
    how_to_read,
    latency_section,
    per_question,
    retrieval_section,
    settings_section,
)

__all__ = ["compare", "write_reports"]


def report_blocks(run: Run, images: Sequence[Image]) -> list[Block]:
    """The whole report as blocks, in reading order."""
    return [
        *facts(run),
        *retrieval_section(run),
        *answer_section(run),
        *latency_section(run),
        Heading(2, "Plots"),
        *images,
        *per_question(run),
        *how_to_read(run),
        *settings_section(run),
    ]


def write_reports(run_dir: Path) -> list[Path]:
    """Write the plots, report.md and report.html of a run dir; return the paths written."""
    run = load_run(run_dir)
    images = plot_images(run)
    (run.path / "plots").mkdir(parents=True, exist_ok=True)
    written = []
    for image in images:
        path = run.path / image.rel_path
        path.write_text(image.svg, encoding="utf-8")
        written.append(path)
    blocks = report_blocks(run, images)
    md, html = run.path / "report.md", run.path / "report.html"
    md.write_text(to_markdown(blocks), encoding="utf-8")
    html.write_text(to_html(blocks, f"Eval report: {dataset_line(run)}"), encoding="utf-8")
    return [*written, md, html]
