"""The Papers view's events: search the collection, sort the list, export it.

    hits, html, button = search(backend, "Griffin", 10, "score", "bibtex", [], "any", "any", "any")
    html, button = resort(hits, "year", "bibtex")          # newest first; the papers stay the same

`search` calls `Assistant.search` with the side panel's filters and keeps the `PaperHits` it
returns (in rank order) in the page's state; `resort` and `export` work from that state without
searching again. Sorting only reorders the list (a paper keeps its rank); the export follows the
order shown. Finding papers is `rag.search`'s, the formats `PaperHits.export`'s, the HTML
`render.hits_html`'s and the files `exports.py`'s.
"""

from __future__ import annotations

from rag import PaperHits

from . import render
from .exports import download, write_export
from .handlers import Backend, failed, make_filters

SORTS = ("score", "year")
FORMATS = ("bibtex", "ris", "csl-json", "csv", "jsonl")
DEFAULT_LIMIT = 10


def sort_hits(hits: PaperHits, by: str) -> PaperHits:
    """The hits best first ("score"), or newest first ("year"; papers of unknown year last, then by rank)."""
    if by == "year":
        ordered = sorted(hits, key=lambda h: (h.year is None, -(h.year or 0), h.rank))
    else:
        ordered = sorted(hits, key=lambda h: h.rank)
    return PaperHits(ordered, query=hits.query, reason=hits.reason, filters_applied=hits.filters_applied,
                     timings=hits.timings)


def export(hits: PaperHits | None, by: str, fmt: str):
    """The DownloadButton for the list as `fmt`, in the order shown; greyed out when there is no list."""
    if not hits:
        return download(None, "Nothing to export")
    path = write_export(sort_hits(hits, by).export(fmt), f"papers {hits.query}", fmt)
    return download(path, f"Download {path.suffix}")


def search(backend: Backend, query, limit, by, fmt, authors, year_from, year_to, category):
    """Search: the hits (kept as the page's state), their table, and the export button."""
    try:
        hits = backend.get().search((query or "").strip(), limit=int(limit or DEFAULT_LIMIT),
                                    filters=make_filters(authors, year_from, year_to, category))
    except Exception as exc:  # a bad query or an empty store is a message in the view; the app stays up
        return None, failed(exc, f"searching {query!r}", "Could not search"), download(None, "Nothing to export")
    return (hits, *resort(hits, by, fmt))


def resort(hits: PaperHits | None, by: str, fmt: str):
    """The list in another order (and its export in that order)."""
    if hits is None:
        return "", download(None, "Nothing to export")
    return render.hits_html(sort_hits(hits, by), by), export(hits, by, fmt)
