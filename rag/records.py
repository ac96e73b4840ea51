"""The paper record: the one value every parser produces and every later stage reads.

A `Record` is what the collection knows about one paper. Parsers build them from pages and
files; `rag.dedupe` merges records that describe the same paper; `rag.chunking` turns them into
chunks. This module defines the type and its identity rules only: it does not parse or store.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

ARXIV_ID_RE = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v\d+)?(?![\d])")
OLD_ARXIV_ID_RE = re.compile(r"\b([a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?\b")


@dataclass(slots=True)
class Source:
    """Where a record came from: a file, the 1-based line it starts on, and the parser used.

    `truncated` is True when this source's abstract stops mid-text (a cut page), so a reader
    knows the abstract may be incomplete.
    """

    file: str
    line: int | None = None
    layout: str = ""
    truncated: bool = False


@dataclass(slots=True)
class Record:
    """One paper. Fields a page does not show stay empty: nothing is invented."""

    title: str | None = None
    authors: list[str] = field(default_factory=list)
    authors_complete: bool = True
    date: str | None = None  # ISO YYYY-MM-DD, or YYYY when that is all the page gives
    venue: str | None = None
    categories: list[str] = field(default_factory=list)
    affiliations: list[str] = field(default_factory=list)
    arxiv_id: str | None = None
    abstract: str | None = None
    sources: list[Source] = field(default_factory=list)
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = record_id(self.arxiv_id, self.title, self.abstract)

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date and self.date[:4].isdigit() else None

    @property
    def truncated(self) -> bool:
        """True when every source that gave the abstract cut it short."""
        return bool(self.sources) and all(s.truncated for s in self.sources)

    def to_dict(self) -> dict:
        """The record as plain JSON-ready data, with exactly the public fields (new lists: the
        record is not shared; built by hand, as `dataclasses.asdict` deep-copies and is slow)."""
        return {
            "id": self.id,
            "title": self.title,
            "authors": list(self.authors),
            "authors_complete": self.authors_complete,
            "date": self.date,
            "venue": self.venue,
            "categories": list(self.categories),
            "affiliations": list(self.affiliations),
            "arxiv_id": self.arxiv_id,
            "abstract": self.abstract,
            "sources": [{"file": s.file, "line": s.line, "layout": s.layout, "truncated": s.truncated}
                        for s in self.sources],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Record:
        sources = [Source(**s) for s in d.get("sources", [])]
        fields = {k: d.get(k) for k in RECORD_FIELDS if k not in ("sources",)}
        fields["authors"] = fields["authors"] or []
        fields["categories"] = fields["categories"] or []
        fields["affiliations"] = fields["affiliations"] or []
        if fields["authors_complete"] is None:
            fields["authors_complete"] = True
        return cls(sources=sources, **fields)


RECORD_FIELDS = (
    "id",
    "title",
    "authors",
    "authors_complete",
    "date",
    "venue",
    "categories",
    "affiliations",
    "arxiv_id",
    "abstract",
    "sources",
)


#: Characters that show nothing and are not whitespace: control characters (NUL and the other C0/C1
#: controls; tab, newline and the rest of the whitespace controls excepted), the soft hyphen, and the
#: zero-width and direction marks (U+180E, U+200B-U+200F, U+202A-U+202E, U+2060-U+206F, U+FEFF).
#: Copy-paste and PDF extraction leave them inside words ("Atten\u00adtion"), where they would keep
#: a title from matching its clean twin.
INVISIBLE_CHARS = ("\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e"
                   "\u2060-\u206f\ufeff")
_INVISIBLE_RE = re.compile(f"[{INVISIBLE_CHARS}]")


def drop_invisible(text: str) -> str:
    """`text` without the invisible characters of `INVISIBLE_CHARS` ('Wid\\u200bth' -> 'Width')."""
    if text.isascii() and text.isprintable():
        return text
    return _INVISIBLE_RE.sub("", text)


def normalise_text(text: str) -> str:
    """Lowercase, accents folded, punctuation and invisible characters dropped, whitespace collapsed:
    for matching only."""
    text = unicodedata.normalize("NFKD", drop_invisible(text))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^\w\s]", " ", text.lower())
    return " ".join(text.split())


def record_id(arxiv_id: str | None, title: str | None, abstract: str | None) -> str:
    """arXiv id where known, else a hash of the normalised title, else of the abstract."""
    if arxiv_id:
        return arxiv_id
    basis = normalise_text(title or "") or normalise_text(abstract or "")
    if not basis:
        return ""
    prefix = "t" if title and normalise_text(title) else "a"
    return prefix + hashlib.sha256(basis.encode()).hexdigest()[:15]


def find_arxiv_id(text: str) -> str | None:
    """The first arXiv id (new or old style) in `text`, without its version suffix."""
    m = ARXIV_ID_RE.search(text)
    if m:
        return m.group(1)
    m = OLD_ARXIV_ID_RE.search(text)
    return m.group(1) if m else None
