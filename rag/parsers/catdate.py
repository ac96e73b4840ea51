"""Parse `catdate` pages: category glued to a date, title glued to authors, then the abstract.

    LGSep 25, 2023
    Small-scale proxies for ... instabilitiesMitchell Wortsman, Peter J. Liu et al. · anthropic, deepmind
    Teams that have trained large Transformer-based models have reported ...

The first line gives the arXiv category ("LG" -> cs.LG) and the date. The second is split where
a lowercase letter, digit or closing bracket runs straight into a capital AND the rest reads as a
comma-separated list of person names (the leftmost such place); "et al." marks the list
incomplete, and text after " · " is the affiliations. Venue is "arXiv".

What it does not do: guess a split when no place leaves a clean name list (the whole line is kept
as the title, with an `InputError` for the line), or map category codes it does not know.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from pathlib import Path

from rag.errors import InputError
from rag.parsers.base import ParseResult
from rag.parsers.common import parse_date, squash
from rag.parsers.names import is_person_name
from rag.parsers.text import category_from_code, clean_abstract, clean_text
from rag.records import Record, Source

NAME = "catdate"
MAX_BYLINE_CHARS = 2000
MAX_NAME_CHARS = 80
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_CATDATE_RE = re.compile(rf"^(?P<cat>(?:[a-z\-]+\.)?[A-Z]{{2,4}})?\s?(?P<date>{_MONTH}\s+\d{{1,2}},?\s+\d{{4}})$")
_AFFILIATION_SEP_RE = re.compile(r"\s+[·•|]\s+")
_ET_AL_RE = re.compile(r"[\s,]*\bet\.?\s+al\b\.?\s*$", re.I)
_CLOSERS = ")]}\"'’”"


def parse_catdate(line: str) -> tuple[str | None, str | None] | None:
    """'LGSep 25, 2023' -> ('cs.LG', '2023-09-25'); None when the line is not a category/date line."""
    m = _CATDATE_RE.match(line.strip())
    if not m:
        return None
    date = parse_date(m.group("date"))
    if date is None:
        return None
    return category_from_code(m.group("cat")), date


def _split_candidates(s: str):
    """Offsets where a title may end and names begin: 'instabilitiesMitchell', then 'RLJohn'."""
    for p in range(1, len(s)):
        if s[p].isupper() and (s[p - 1].islower() or s[p - 1].isdigit() or s[p - 1] in _CLOSERS):
            yield p
    for p in range(1, len(s) - 1):
        if s[p].isupper() and s[p - 1].isupper() and s[p + 1].islower():
            yield p


def _valid_tails(s: str, commas: list[int]) -> list[bool]:
    """tails[k]: everything after commas[k] is a comma-separated list of person names."""
    tails, ok = [False] * len(commas), True
    for k in range(len(commas) - 1, -1, -1):
        end = commas[k + 1] if k + 1 < len(commas) else len(s)
        ok = ok and is_person_name(squash(s[commas[k] + 1: end]))
        tails[k] = ok
    return tails


def split_title_authors(s: str) -> tuple[str, list[str]] | None:
    """'Some TitleJohn Smith, Jane Doe' -> ('Some Title', ['John Smith', 'Jane Doe']), else None.

    Linear in the line length: the name lists after each comma are checked once, right to left.
    """
    if len(s) > MAX_BYLINE_CHARS:
        return None
    commas = [i for i, c in enumerate(s) if c == ","]
    tails = _valid_tails(s, commas)
    for p in _split_candidates(s):
        k = bisect_left(commas, p)
        end = commas[k] if k < len(commas) else len(s)
        if end - p > MAX_NAME_CHARS or not is_person_name(squash(s[p:end])):
            continue
        if (k < len(commas) and not tails[k]) or not s[:p].strip():
            continue
        return s[:p].strip(), [squash(x) for x in s[p:].split(",")]
    return None


def parse_byline(line: str) -> tuple[str, list[str], bool, list[str], bool]:
    """(title, authors, authors_complete, affiliations, split_found) from a glued title/author line."""
    parts = _AFFILIATION_SEP_RE.split(line.strip(), maxsplit=1)
    main = parts[0]
    affiliations = [a for a in (squash(x) for x in parts[1].split(",")) if a] if len(parts) > 1 else []
    complete = not _ET_AL_RE.search(main)
    main = _ET_AL_RE.sub("", main)
    split = split_title_authors(main)
    if split is None:
        return main, [], False, affiliations, False
    return split[0], split[1], complete, affiliations, True


def _groups(lines: list[str]):
    """Yield (index of category/date line, [following non-blank line indices, up to 2])."""
    marks = [i for i, line in enumerate(lines) if parse_catdate(line)]
    for n, i in enumerate(marks):
        end = marks[n + 1] if n + 1 < len(marks) else len(lines)
        yield i, [j for j in range(i + 1, end) if lines[j].strip()]


def sniff(path: Path, head: str) -> bool:
    """True when a category/date line is followed by a title line that splits off a name list."""
    lines = head.splitlines()
    for i, following in _groups(lines):
        if following and parse_byline(lines[following[0]])[4]:
            return True
    return False


def _record(path: Path, lines: list[str], i: int, following: list[int]) -> tuple[Record, bool]:
    category, date = parse_catdate(lines[i])
    title, authors, complete, affiliations, split = (
        parse_byline(lines[following[0]]) if following else (None, [], False, [], True))
    abstract, arxiv_id = clean_abstract(lines[following[1]] if len(following) > 1 else None)
    record = Record(
        title=clean_text(title) or None,
        authors=authors,
        authors_complete=complete,
        date=date,
        venue="arXiv",
        categories=[category] if category else [],
        affiliations=affiliations,
        arxiv_id=arxiv_id,
        abstract=abstract or None,
        sources=[Source(file=str(path), line=i + 1, layout=NAME)],
    )
    return record, split


def parse(path: Path, text: str) -> ParseResult:
    """One record per category/date line; extra lines in a group become per-line errors."""
    lines = text.splitlines()
    result = ParseResult(layout=NAME)
    for i, following in _groups(lines):
        record, split = _record(path, lines, i, following)
        result.records.append(record)
        if not split:
            result.errors.append(InputError(
                path, "could not separate the title from the author names; kept the whole line as the title",
                line=following[0] + 1))
        for j in following[2:]:
            result.errors.append(InputError(path, "unexpected extra line after the abstract; skipped", line=j + 1))
    return result
