"""Small normalisers shared by all parsers: dates and whitespace.

Pure functions on strings. Names ("Last, First" turned round) live in `rag.parsers.names`, LaTeX
in `rag.parsers.latex`, layout-specific cleaning ("(see more)" cuts, PDF artefacts) in
`rag.parsers.text`.
"""

from __future__ import annotations

import re
from datetime import date as _date

from rag.records import drop_invisible

MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_MONTH_WORD = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_ISO_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$")
_MDY_RE = re.compile(rf"^{_MONTH_WORD}\s+(\d{{1,2}}),?\s+(\d{{4}})$", re.I)
_DMY_RE = re.compile(rf"^(\d{{1,2}})\s+{_MONTH_WORD},?\s+(\d{{4}})$", re.I)
_MY_RE = re.compile(rf"^{_MONTH_WORD}\s+(\d{{4}})$", re.I)
_YEAR_RE = re.compile(r"^(\d{4})$")


def squash(text: str) -> str:
    """Collapse all runs of whitespace to one space, strip the ends, drop invisible characters.

    Every parser's text goes through here (titles, abstracts, names, venues), so zero-width
    characters, soft hyphens and NUL bytes (`rag.records.INVISIBLE_CHARS`) never reach a record.
    """
    return " ".join(drop_invisible(text).split())


def iso_date(y: int, m: int, d: int) -> str | None:
    """'YYYY-MM-DD' for a real calendar date, else None."""
    try:
        return _date(y, m, d).isoformat()
    except ValueError:
        return None


def parse_date(text: str | None) -> str | None:
    """ISO `YYYY-MM-DD` from common date spellings, `YYYY-MM` never, `YYYY` when only a year is given.

    >>> parse_date("Sep 25, 2023"), parse_date("2024-07-08"), parse_date("2021")
    ('2023-09-25', '2024-07-08', '2021')
    """
    if not text:
        return None
    s = squash(str(text))
    if m := _ISO_RE.match(s):
        return iso_date(int(m[1]), int(m[2]), int(m[3]))
    if m := _MDY_RE.match(s):
        return iso_date(int(m[3]), MONTHS[m[1][:3].lower()], int(m[2]))
    if m := _DMY_RE.match(s):
        return iso_date(int(m[3]), MONTHS[m[2][:3].lower()], int(m[1]))
    if m := _MY_RE.match(s):
        return m[2] if 1000 <= int(m[2]) <= 2999 else None
    if m := _YEAR_RE.match(s):
        return m[1] if 1000 <= int(m[1]) <= 2999 else None
    return None

