"""The reports' intermediate document: blocks (headings, paragraphs, bullets, tables, images) and
their Markdown and HTML renderings.

Both renderings come from the same blocks, so report.md and report.html say the same thing. The
HTML page is self-contained (inline CSS, the SVGs inline). Text is escaped for each format; this
module knows nothing of runs or metrics.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape as html_escape


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


def table_of(header: Sequence[str], rows: Iterable[Sequence[str]], numeric_from: int = 1) -> Table:
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
