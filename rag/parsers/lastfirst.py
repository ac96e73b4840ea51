"""Parse `lastfirst` pages: repeating title / author / abstract lines, authors as 'Last, First' pairs.

    Understanding and Minimising Outlier Features in Neural Network Training
    He, Bobby, Noci, Lorenzo, Paliotta, Daniele
    Outlier Features (OF) are neurons whose activation magnitudes ...

A record is recognised by structure: a line followed by a 'Last, First, Last, First' author line
and then a prose line. Lines before the first record (page chrome such as a junk header) are
skipped; stray lines between records become per-line `InputError`s.

What it does not do: read dates, venues or categories (this layout has none), or guess authors
from lines that do not pair up as 'Last, First'.
"""

from __future__ import annotations

from pathlib import Path

from rag.errors import InputError
from rag.parsers.base import ParseResult
from rag.parsers.names import parse_last_first_line
from rag.parsers.text import clean_abstract, clean_text
from rag.records import Record, Source

NAME = "lastfirst"
MAX_TITLE_CHARS = 400
MIN_ABSTRACT_CHARS = 40
SNIFF_MIN_ABSTRACT_CHARS = 100


def _is_prose(line: str, min_chars: int) -> bool:
    return len(line) >= min_chars and " " in line and parse_last_first_line(line) is None


def _triple_at(lines: list[str], i: int, min_abstract: int = MIN_ABSTRACT_CHARS) -> list[str] | None:
    """The authors when lines i, i+1, i+2 are title / author pairs / abstract, else None."""
    if i + 2 >= len(lines):
        return None
    title, byline, abstract = (line.strip() for line in lines[i: i + 3])
    if not title or len(title) > MAX_TITLE_CHARS or not _is_prose(abstract, min_abstract):
        return None
    return parse_last_first_line(byline)


def _scan(lines: list[str], min_abstract: int = MIN_ABSTRACT_CHARS):
    """Yield ('record', i, authors) for each triple and ('stray', i, None) for other non-blank lines."""
    i = 0
    while i < len(lines):
        authors = _triple_at(lines, i, min_abstract)
        if authors is not None:
            yield "record", i, authors
            i += 3
            continue
        if lines[i].strip():
            yield "stray", i, None
        i += 1


def sniff(path: Path, head: str) -> bool:
    """True when most non-blank lines of `head` form title / 'Last, First' / abstract triples."""
    lines = head.splitlines()
    found = list(_scan(lines, SNIFF_MIN_ABSTRACT_CHARS))
    records = sum(kind == "record" for kind, _, _ in found)
    strays = len(found) - records
    return records >= 1 and 2 * records >= strays


def _record(path: Path, lines: list[str], i: int, authors: list[str]) -> Record:
    abstract, arxiv_id = clean_abstract(lines[i + 2])
    return Record(
        title=clean_text(lines[i]) or None,
        authors=authors,
        authors_complete=True,
        abstract=abstract or None,
        arxiv_id=arxiv_id,
        sources=[Source(file=str(path), line=i + 1, layout=NAME)],
    )


def parse(path: Path, text: str) -> ParseResult:
    """Every title / author / abstract triple of the page, in page order."""
    lines = text.splitlines()
    result = ParseResult(layout=NAME)
    for kind, i, authors in _scan(lines):
        if kind == "record":
            result.records.append(_record(path, lines, i, authors))
        elif result.records:
            result.errors.append(InputError(
                path, "line is not part of a title / 'Last, First' authors / abstract group; skipped",
                line=i + 1))
    return result
