"""A literature table as text: Markdown, CSV, HTML or JSON lines, whole or a row at a time.

    print(render(table, "md"))
    head(table, "csv"); row_text(row, table, "csv"); foot(table, "csv")   # streamed, as `render` joins them

Each row names its paper: title, year and authors, its id, and links (`links`: the arXiv page when
the record has an arXiv id; a caller adds others, e.g. reference exports, by passing its own
`links(row) -> {label: url}`). "not stated" cells are marked as such (italic in Markdown, a
`not-stated` class in HTML). An empty table says why in Markdown and HTML; CSV and JSON lines carry
rows only (the CLI prints the reason on stderr). This module only formats (`rag.table` builds).
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Callable

from rag.errors import ConfigError
from rag.table import NOT_STATED, Table, TableRow

FORMATS = ("md", "csv", "html", "jsonl")
Links = Callable[[TableRow], dict[str, str]]


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown table format {fmt!r}; use one of {', '.join(FORMATS)} (--format md)")
    return fmt


def arxiv_links(row: TableRow) -> dict[str, str]:
    return {"arXiv": f"https://arxiv.org/abs/{row.arxiv_id}"} if row.arxiv_id else {}


def _byline(row: TableRow) -> str:
    return ", ".join(row.authors[:2]) + (" et al." if len(row.authors) > 2 else "")


def head(table: Table, fmt: str) -> str:
    """What comes before the rows ("" when nothing does)."""
    if check_format(fmt) == "md":
        return "\n".join(["| paper | year | " + " | ".join(_md(c) for c in table.columns) + " |",
                          "|---|---:|" + "---|" * len(table.columns)])
    if fmt == "csv":
        return _csv(["paper_id", "title", "year", "authors", *table.columns])
    if fmt == "html":
        cols = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
        return f'<table class="rag-table">\n<thead><tr><th>paper</th><th>year</th>{cols}</tr></thead>\n<tbody>'
    return ""


def row_text(row: TableRow, table: Table, fmt: str, *, links: Links = arxiv_links) -> str:
    """One row, as `render` writes it."""
    found = links(row)
    if check_format(fmt) == "jsonl":
        return json.dumps({**row.to_dict(), "links": found}, ensure_ascii=False)
    if fmt == "csv":
        return _csv([row.paper_id, row.title or "", row.year or "", "; ".join(row.authors),
                     *(c.text for c in row.cells)])
    if fmt == "md":
        extra = "".join(f" [{_md(k)}]({v})" for k, v in found.items())
        paper = f"{_md(row.title or '(untitled)')}{extra} ({_md(_byline(row)) or 'unknown authors'}; `{row.paper_id}`)"
        cells = [f"*{NOT_STATED}*" if not c.stated else _md(c.text) for c in row.cells]
        return f"| {paper} | {row.year or ''} | " + " | ".join(cells) + " |"
    extra = "".join(f' <a href="{html.escape(v)}">{html.escape(k)}</a>' for k, v in found.items())
    paper = (f'<td data-paper-id="{html.escape(row.paper_id)}">{html.escape(row.title or "(untitled)")}{extra}'
             f'<br><small>{html.escape(_byline(row))}</small></td>')
    cells = "".join(f"<td>{html.escape(c.text)}</td>" if c.stated else f'<td class="not-stated">{NOT_STATED}</td>'
                    for c in row.cells)
    return f"<tr>{paper}<td>{row.year or ''}</td>{cells}</tr>"


def foot(table: Table, fmt: str) -> str:
    """What comes after the rows: the reason when the table is empty (Markdown, HTML)."""
    if check_format(fmt) == "md":
        return f"\nNo rows: {table.reason}." if table.reason else ""
    if fmt == "html":
        why = f'\n<p class="rag-table-empty">No rows: {html.escape(table.reason)}.</p>' if table.reason else ""
        return "</tbody>\n</table>" + why
    return ""


def render(table: Table, fmt: str = "md", *, links: Links = arxiv_links) -> str:
    """The whole table in `fmt` (one of FORMATS)."""
    parts = [head(table, fmt), *(row_text(r, table, fmt, links=links) for r in table.rows), foot(table, fmt)]
    return "\n".join(p for p in parts if p)


def _md(text: str) -> str:
    return " ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|")


def _csv(values: list) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(values)
    return out.getvalue()
