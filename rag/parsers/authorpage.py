"""Parse `authorpage` pages: one author's publication list, blocks separated by blank lines.

    Plotting                                  <- site chrome, skipped
     Pascanu, Razvan                          <- page owner, 'Last, First'

    RecurrentGemma: Moving Past Transformers  <- title
    arXiv.org Artificial Intelligence         <- venue + arXiv subject
    We introduce RecurrentGemma, ...          <- abstract

The page owner is the only author the page shows, so each record gets `authors=[owner]` and
`authors_complete=False`. "arXiv.org <Subject>" gives venue "arXiv" and the subject's category
(cs.AI, cs.LG, ...); another short venue line above a long abstract is kept verbatim as the venue.

What it does not do: find dates (the layout has none) or co-authors; pages without a
'Last, First' owner line near the top are not claimed.
"""

from __future__ import annotations

import re
from pathlib import Path

from rag.errors import InputError
from rag.parsers.base import ParseResult
from rag.parsers.common import squash
from rag.parsers.names import parse_last_first_line
from rag.parsers.text import clean_abstract, clean_text, subject_categories
from rag.records import Record, Source

NAME = "authorpage"
OWNER_WITHIN = 8  # paragraphs from the top where the owner line may appear
MAX_TITLE_CHARS = 400
MAX_VENUE_CHARS = 120
MIN_ABSTRACT_CHARS = 200
_ARXIV_VENUE_RE = re.compile(r"^arXiv(?:\.org)?(?:\s+(?P<subject>\S.*))?$", re.I)
_BULLETS = " \t\u00a0\u2022\u00b7*-–—"


def _paragraphs(text: str) -> list[tuple[int, str]]:
    """(1-based first line, squashed text) of each run of non-blank lines."""
    paras: list[tuple[int, str]] = []
    start, buf = 0, []
    for n, line in enumerate(text.splitlines() + [""], start=1):
        if line.strip():
            start = start or n
            buf.append(line)
        elif buf:
            paras.append((start, squash(" ".join(buf))))
            start, buf = 0, []
    return paras


def _owner(paras: list[tuple[int, str]]) -> tuple[int, str] | None:
    """(paragraph index, 'First Last') of the page owner's 'Last, First' line near the top."""
    for k, (_, para) in enumerate(paras[:OWNER_WITHIN]):
        names = parse_last_first_line(para.strip(_BULLETS))
        if names is not None and len(names) == 1:
            return k, names[0]
    return None


def _venue(para: str, following: str | None) -> tuple[str, list[str]] | None:
    """(venue, categories) when `para` is a venue line, else None."""
    m = _ARXIV_VENUE_RE.match(para)
    if m:
        return "arXiv", subject_categories(m.group("subject"))
    if len(para) <= MAX_VENUE_CHARS and not para.endswith(".") and len(following or "") >= MIN_ABSTRACT_CHARS:
        return para, []
    return None


def _is_title(para: str) -> bool:
    return len(para) <= MAX_TITLE_CHARS and not _ARXIV_VENUE_RE.match(para)


def _text(paras: list[tuple[int, str]], j: int) -> str | None:
    return paras[j][1] if j < len(paras) else None


def _block_at(paras: list[tuple[int, str]], k: int) -> tuple[int, dict] | None:
    """(paragraphs used, record fields) for a title [/ venue] [/ abstract] block at k, else None.

    After title and venue, the next paragraph is the abstract unless it is the next block's
    title (short, and followed by a venue line).
    """
    title, second = _text(paras, k), _text(paras, k + 1)
    if not _is_title(title) or second is None:
        return None
    venue = _venue(second, _text(paras, k + 2))
    if venue is None:
        if len(second) < MIN_ABSTRACT_CHARS:
            return None
        return 2, {"title": title, "venue": None, "categories": [], "abstract": second}
    fields = {"title": title, "venue": venue[0], "categories": venue[1], "abstract": None}
    abstract = _text(paras, k + 2)
    if abstract is None:
        return 2, fields
    next_is_venue = _venue(_text(paras, k + 3) or "", _text(paras, k + 4)) is not None
    if next_is_venue and _is_title(abstract):
        return 2, fields
    return 3, fields | {"abstract": abstract}


def sniff(path: Path, head: str) -> bool:
    """True when an owner 'Last, First' line is followed by at least one title/venue/abstract block."""
    paras = _paragraphs(head)
    owner = _owner(paras)
    if owner is None or owner[0] + 1 >= len(paras):
        return False
    block = _block_at(paras, owner[0] + 1)
    return block is not None and block[1]["venue"] is not None and block[1]["abstract"] is not None


def _record(path: Path, line: int, owner: str, fields: dict) -> Record:
    abstract, arxiv_id = clean_abstract(fields["abstract"])
    return Record(
        title=clean_text(fields["title"]) or None,
        authors=[owner],
        authors_complete=False,
        venue=fields["venue"],
        categories=fields["categories"],
        abstract=abstract or None,
        arxiv_id=arxiv_id,
        sources=[Source(file=str(path), line=line, layout=NAME)],
    )


def parse(path: Path, text: str) -> ParseResult:
    """Every title block after the owner line, in page order."""
    result = ParseResult(layout=NAME)
    paras = _paragraphs(text)
    owner = _owner(paras)
    if owner is None:
        result.errors.append(InputError(path, "no page-owner line ('Last, First') near the top of this author page"))
        return result
    k = owner[0] + 1
    while k < len(paras):
        block = _block_at(paras, k)
        if block is None:
            result.errors.append(InputError(path, "paragraph is not a title / venue / abstract block; skipped",
                                            line=paras[k][0]))
            k += 1
            continue
        result.records.append(_record(path, paras[k][0], owner[1], block[1]))
        k += block[0]
    return result
