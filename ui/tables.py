"""The Table view's events: build a literature table row by row, and export it.

    for table, note, html, table_file, bib_file in build(backend, "sparse training", "task, method", 3, "md",
                                                         [], "any", "any", "any"):
        ...                                   # after retrieval, then once per row ("2 of 3 papers")

`build` is a generator over `Assistant.table_stream`: the page shows each row as soon as it is
done, with a progress note, and keeps the `Table` in its state for `export`. Its columns, row
limit and filters go to the Assistant as given: a bad value comes back as the Assistant's one-line
`RagError`, shown in the view, and is not checked here. The table's HTML and its exports are
`rag.table_format`'s (the same formatter as `rag table`), the rows' references
`rag.format_references`', the files `exports.py`'s.
"""

from __future__ import annotations

from rag import Table, format_references, table_format

from . import render
from .exports import download, write_export
from .handlers import Backend, failed, make_filters

FORMATS = table_format.FORMATS
DEFAULT_COLUMNS = "task, method, main result"
DEFAULT_LIMIT = 10


def _limit(value) -> int:
    """The Rows box's value as a whole number (empty: the default); its range is the Assistant's to check."""
    return DEFAULT_LIMIT if value in (None, "") else int(value)


def view(table: Table) -> str:
    """The table so far as the page shows it: `rag.table_format`'s HTML ("not stated" cells greyed by CSS)."""
    return render.table_html(table_format.render(table, "html"))


def export(table: Table | None, fmt: str):
    """The DownloadButton for the table as `fmt` (md, csv, html or jsonl)."""
    if table is None or not table.rows:
        return download(None, "Nothing to export")
    path = write_export(table_format.render(table, fmt), f"table {table.question}", fmt)
    return download(path, f"Download {path.suffix}")


def references(table: Table | None):
    """The DownloadButton for the BibTeX of the table's papers."""
    records = [row.record for row in (table.rows if table else []) if row.record is not None]
    if not records:
        return download(None, "No references")
    path = write_export(format_references(records, "bibtex"), f"table {table.question}", "bibtex")
    return download(path, "BibTeX of the rows")


def build(backend: Backend, question, columns, limit, fmt, authors, year_from, year_to, category):
    """Yields (table, progress note, table HTML, table download, references download): after
    retrieval, after each row, and once more when the table is done."""
    none, no_refs = download(None, "Nothing to export"), download(None, "No references")
    yield None, render.progress_html("retrieving papers…"), "", none, no_refs
    try:
        stream = backend.get().table_stream((question or "").strip(), columns or "", limit=_limit(limit),
                                            filters=make_filters(authors, year_from, year_to, category))
        for table in stream:
            if table.reason:
                break
            note = render.progress_html(f"{len(table.rows)} of {len(table.papers)} papers")
            yield table, note, view(table), none, no_refs
    except Exception as exc:  # bad columns or limits, an empty store: a message in the view; the app stays up
        yield None, "", failed(exc, f"building a table for {question!r}", "Could not build the table"), none, no_refs
        return
    if table.reason:
        yield table, "", render.table_empty_html(table.reason), none, no_refs
        return
    seconds = table.timings.get("total_ms", 0) / 1000
    note = f"{len(table.rows)} of {len(table.papers)} papers · done in {seconds:.1f} s"
    yield table, render.progress_html(note), view(table), export(table, fmt), references(table)
