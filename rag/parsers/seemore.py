"""Parse `seemore` pages: a lab site's abstract-only list with "… (see more)" teaser cuts.

    We use cookies to analyze the browsing ...                  <- site chrome, skipped
    The recently proposed ... better or on… (see more)-par ...  <- a record starts (teaser line)
    We apply ACP to language model pretraining ...               <- continues the record above
    2024-07-08                                                   <- date of the record above
    Proceedings of the 41st ICML (published)                     <- venue of the record above

Each line holding a "(see more)" teaser starts a record; the teaser is removed and the word it cut
is joined ("failure m… (see more)ode" -> "failure mode"). A following line without a teaser
continues that abstract. Date and venue lines attach to the record above them and close it.
An abstract that stops without sentence-final punctuation marks its source `truncated`.
Repeated records are all returned (merging is `rag.dedupe`'s job).

What it does not do: invent titles or authors (the page has none: title None, authors [],
authors_complete False), or keep site chrome (cookie notices, banners, questions, short
headings), which is recognised by its shape and vocabulary, not by exact strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import InputError
from rag.parsers.base import ParseResult
from rag.parsers.common import parse_date, squash
from rag.parsers.names import parse_last_first_line
from rag.parsers.text import clean_abstract, ends_mid_text, has_teaser_cut
from rag.records import Record, Source

NAME = "seemore"
MIN_RECORD_CHARS = 80
SHORT_LINE_CHARS = 60
MAX_DATE_CHARS = 40
MAX_VENUE_CHARS = 250
MAX_QUESTION_CHARS = 300
MAX_CHROME_CHARS = 400
_STATUS_RE = re.compile(
    r"\s*\((?:published|accepted|in press|to appear|preprint|submitted|under review)\)\s*$", re.I)
_VENUE_WORDS_RE = re.compile(
    r"\b(?:Proceedings|Conference|Journal|Workshop|Transactions|Symposium|Letters|NeurIPS|ICML|ICLR|"
    r"AAAI|IJCAI|CVPR|ICCV|ECCV|ACL|EMNLP|NAACL|TMLR|JMLR|arXiv)\b")
_CHROME_WORDS_RE = re.compile(
    r"\b(?:cookies?|privacy|consent|newsletter|subscribe|sign (?:in|up)|log ?in|join us|follow us|"
    r"skip to|accept all|reject all|(?:still|always) active)\b", re.I)


@dataclass
class _Draft:
    line: int
    parts: list[str] = field(default_factory=list)
    date: str | None = None
    venue: str | None = None
    closed: bool = False


def is_chrome(line: str) -> bool:
    """Site chrome: short headings/buttons, questions, cookie/consent/banner notices."""
    s = line.strip()
    if len(s) < SHORT_LINE_CHARS and not s.endswith((".", "!")):
        return True
    if s.endswith("?") and len(s) <= MAX_QUESTION_CHARS:
        return True
    return len(s) <= MAX_CHROME_CHARS and bool(_CHROME_WORDS_RE.search(s))


def date_line(line: str) -> str | None:
    s = line.strip()
    return parse_date(s) if len(s) <= MAX_DATE_CHARS else None


def venue_line(line: str) -> str | None:
    """'Proceedings of ... (published)' -> 'Proceedings of ...'; None for anything else."""
    s = line.strip()
    if len(s) > MAX_VENUE_CHARS or s.endswith(".") or has_teaser_cut(s):
        return None
    if not (_STATUS_RE.search(s) or _VENUE_WORDS_RE.search(s)):
        return None
    return squash(_STATUS_RE.sub("", s)) or None


def _is_record_start(line: str) -> bool:
    return len(line) >= MIN_RECORD_CHARS and has_teaser_cut(line)


def _in_seemore_context(lines: list[str], i: int) -> bool:
    """A teaser line not laid out as another layout's abstract (after a blank or an author line)."""
    if i == 0:
        return True
    before = lines[i - 1].strip()
    return bool(before) and parse_last_first_line(before) is None


def sniff(path: Path, head: str) -> bool:
    """True when a long line of `head` carries a "(see more)" teaser cut, outside other layouts."""
    lines = head.splitlines()
    return any(_is_record_start(line.strip()) and _in_seemore_context(lines, i) for i, line in enumerate(lines))


def _attach_meta(draft: _Draft, s: str) -> bool:
    """Set the date or venue of `draft` from line `s`; False when `s` is neither (or already set)."""
    date = date_line(s)
    if date is not None:
        if draft.date is not None:
            return False
        draft.date = date
    else:
        venue = venue_line(s)
        if venue is None or draft.venue is not None:
            return False
        draft.venue = venue
    draft.closed = True
    return True


def _drafts(path: Path, lines: list[str], errors: list[InputError]) -> list[_Draft]:
    drafts: list[_Draft] = []
    for n, raw in enumerate(lines, start=1):
        s = raw.strip()
        current = drafts[-1] if drafts else None
        if not s:
            continue
        if _is_record_start(s):
            drafts.append(_Draft(line=n, parts=[s]))
        elif current and (date_line(s) or venue_line(s)):
            if not _attach_meta(current, s):
                errors.append(InputError(path, "second date or venue line for one record; skipped", line=n))
        elif is_chrome(s):
            continue
        elif current and not current.closed:
            current.parts.append(s)
        elif current and len(s) >= MIN_RECORD_CHARS:
            drafts.append(_Draft(line=n, parts=[s]))
        else:
            errors.append(InputError(path, "line is neither site chrome nor part of a record; skipped", line=n))
    return drafts


def _record(path: Path, draft: _Draft) -> Record:
    abstract, arxiv_id = clean_abstract(" ".join(draft.parts))
    source = Source(file=str(path), line=draft.line, layout=NAME, truncated=ends_mid_text(abstract))
    return Record(
        title=None,
        authors=[],
        authors_complete=False,
        date=draft.date,
        venue=draft.venue,
        arxiv_id=arxiv_id,
        abstract=abstract or None,
        sources=[source],
    )


def parse(path: Path, text: str) -> ParseResult:
    """Every record occurrence on the page, in page order (repeats included)."""
    result = ParseResult(layout=NAME)
    drafts = _drafts(path, text.splitlines(), result.errors)
    result.records = [_record(path, d) for d in drafts]
    return result
