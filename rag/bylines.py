"""A paper's byline, one way for every place that shows one: chunk headers, the sources the model
reads, source cards in the UI, references in the CLI.

    byline(["Ada Lovelace", "Alan Turing"], limit=1, year=2023, venue="NeurIPS")
    -> 'Ada Lovelace et al., 2023, NeurIPS'

Each caller picks its author cap, separator and the words for no authors; the names are shown as
given (cleaning them is `rag.records`' job, escaping or defanging them the caller's).
"""

from __future__ import annotations

from collections.abc import Sequence


def byline(authors: Sequence[str], *, limit: int | None = None, complete: bool = True, year: int | None = None,
           venue: str | None = None, sep: str = ", ", unknown: str = "") -> str:
    """The first `limit` authors (all when None) joined by ", ", with " et al." when some are left
    out (more than `limit`, or the record says its list is not `complete`); `unknown` when there
    are none; then the year and the venue, when known. The parts present are joined by `sep`."""
    who = unknown
    if authors:
        shown = list(authors if limit is None else authors[:limit])
        cut = not complete or (limit is not None and len(authors) > limit)
        who = ", ".join(shown) + (" et al." if cut else "")
    return sep.join(part for part in (who, str(year or ""), venue or "") if part)
