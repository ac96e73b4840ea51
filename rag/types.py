"""The values that flow from retrieval to the user: `Record -> Chunk -> Passage -> Answer`.

Where each type of the flow lives, in reading order:

    Record    rag/records.py    one paper as the parsers give it (title, authors, date, venue, abstract)
    Chunk     rag/chunking.py   a token-bounded piece of a record's text, embedded and stored in Chroma
    Passage   here              one retrieved paper as the answer chain reads it (its best chunk, or its
                                whole abstract), with its scores; `SourceHit` is its ranking entry
    Answer    here              the checked answer: text, `Citation`s, why it abstained, timings

Plain dataclasses with `to_dict()` for JSON output, and TypedDicts for the dict fields of `Answer`
(`FiltersApplied`, `Timings`, `Usage`: each key is optional, present when the step that writes it
ran). No behaviour beyond small conveniences: retrieval (`rag.retrieval`) makes passages, the
answer chain (`rag.answer`) makes answers and stream events, `rag.api.Assistant.facets` makes facets,
`rag.search` makes paper hits; `Answer.references` and `PaperHits.export` hand formatting to
`rag.references` and `rag.search`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal, TypedDict

from rag.records import Record

# The one sentinel for "the collection does not answer this": prompts, parser, UI and eval share it.
NO_ANSWER = "The collection does not answer this."

# Why an answer abstained (`Answer.abstain_reason`), each in the plain words the UI and CLI show.
ABSTAIN_REASONS: dict[str, str] = {
    "no_sources": "no paper in the collection matches the filters",
    "weak_evidence": "no paper in the collection is close enough to the question",
    "model_declined": "the papers found do not state this",
    "unsupported": "an answer was drafted but could not be checked against its sources, so it is withheld",
    "no_quantity": "an answer was drafted but it does not give the figure the question asks for, so it is withheld",
}


def abstain_words(reason: str | None) -> str:
    """Why an answer abstained, as one sentence for people ("The papers found do not state this.")."""
    why = ABSTAIN_REASONS.get(reason or "", "no passage in the indexed papers supports an answer")
    return why[0].upper() + why[1:] + "."


@dataclass(slots=True)
class Filters:
    """Metadata filters. Empty fields filter nothing; years are inclusive."""

    authors: list[str] = field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None
    venue: str | None = None
    categories: list[str] = field(default_factory=list)
    months: list[str] = field(default_factory=list)  # "YYYY-MM", any of them

    def is_empty(self) -> bool:
        return not (self.authors or self.year_from or self.year_to or self.venue or self.categories or self.months)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], "")}

    @classmethod
    def from_dict(cls, d: dict | Filters | None) -> Filters:
        if d is None:
            return cls()
        if isinstance(d, Filters):
            return d
        unknown = set(d) - {"authors", "author", "year_from", "year_to", "year", "venue", "categories", "category",
                            "months", "month"}
        if unknown:
            from rag.errors import ConfigError

            raise ConfigError(f"unknown filter {sorted(unknown)}; use authors, year_from, year_to, venue, categories, "
                              "months")
        authors = d.get("authors") or ([d["author"]] if d.get("author") else [])
        cats = d.get("categories") or ([d["category"]] if d.get("category") else [])
        months = d.get("months") or ([d["month"]] if d.get("month") else [])
        year = d.get("year")
        return cls(authors=[authors] if isinstance(authors, str) else list(authors),
                   year_from=d.get("year_from") or year, year_to=d.get("year_to") or year,
                   venue=d.get("venue"), categories=[cats] if isinstance(cats, str) else list(cats),
                   months=[months] if isinstance(months, str) else list(months))


@dataclass(slots=True)
class Passage:
    """A retrieved piece of a paper, as shown to the model under a citation key."""

    paper_id: str
    chunk_id: str
    text: str
    title: str | None
    authors: list[str]
    year: int | None
    venue: str | None
    score: float
    authors_complete: bool = True
    date: str | None = None  # ISO, as the record gives it (the support check knows its month)
    categories: list[str] = field(default_factory=list)  # arXiv codes (the support check knows their names)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class SourceHit:
    """One retrieved paper with its fused score and the scores of each retriever."""

    paper_id: str
    title: str | None
    authors: list[str]
    year: int | None
    venue: str | None
    score: float
    dense_score: float | None = None
    bm25_score: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class Citation:
    """A citation key the model used, mapped by code to the paper and passage it was given."""

    key: int
    paper_id: str
    title: str | None
    authors: list[str]
    year: int | None
    venue: str | None
    passage: str
    supported_sentences: list[str] = field(default_factory=list)
    # the passage's sentences that back them, as the support check found them (the UI marks these)
    backing_sentences: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class FiltersApplied(TypedDict, total=False):
    """The filters a retrieval used: those given, resolved to collection names, plus those found in the question."""

    authors: list[str]
    year_from: int
    year_to: int
    venue: str
    categories: list[str]
    months: list[str]
    auto: list[str]  # kinds of filter detected in the question ("authors", "year", ...)
    matched_papers: int  # papers the filters allow (absent when nothing filtered)


class Timings(TypedDict, total=False):
    """Milliseconds per step of an answer, and the retrieval's evidence score."""

    retrieval_ms: float
    evidence: float
    first_token_ms: float
    decline_p: float  # how sure a model decline was (a local model's logprobs), when known
    refocus_ms: float  # the second model call, when the first draft skipped the best-ranked source
    total_ms: float


class Usage(TypedDict, total=False):
    """Tokens the model server counted (empty for answers no model wrote)."""

    prompt_tokens: int
    completion_tokens: int


@dataclass(slots=True)
class Answer:
    """A checked answer. `citations` only ever holds keys that were given to the model."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    sources: list[SourceHit] = field(default_factory=list)
    abstained: bool = False
    unsupported_sentences: list[str] = field(default_factory=list)
    invalid_citations: list[str] = field(default_factory=list)
    filters_applied: FiltersApplied = field(default_factory=dict)
    timings: Timings = field(default_factory=dict)
    usage: Usage = field(default_factory=dict)
    model: str = ""
    abstain_reason: str | None = None  # a key of ABSTAIN_REASONS when abstained, else None
    withheld: str = ""  # the draft an "unsupported" abstention kept back: for inspection, never shown as an answer
    added_citations: list[int] = field(default_factory=list)  # keys code gave sentences the model left uncited
    quoted: bool = False  # the text quotes its sources verbatim: the model declined, code quoted the closest papers
    replaced_draft: str = ""  # a first draft that cited only lower-ranked sources; the model then read the best one alone
    context: dict[int, str] = field(default_factory=dict)  # key -> the source exactly as the answer's writer read it
    papers: list[Record] = field(default_factory=list)  # the cited papers' records, in key order (the chain adds them)

    def to_dict(self) -> dict:
        return asdict(self)

    def references(self, fmt: str = "bibtex") -> str:
        """The cited papers as "bibtex", "ris" or "csl-json" text (`rag.references`): from `papers`, or,
        for an answer made without them, from what the citations say; empty when nothing is cited."""
        from rag.references import format_references, record_from_citation

        return format_references(self.papers or [record_from_citation(c) for c in self.citations], fmt)


StreamKind = Literal["token", "reset", "answer"]


@dataclass
class StreamEvent:
    """`kind` is "token" (with `text`, already citation-filtered), "reset" (forget the tokens so far:
    the model declined and quotes from the sources follow) or "answer" (with the final `answer`)."""

    kind: StreamKind
    text: str = ""
    answer: Answer | None = None


@dataclass(slots=True)
class Facets:
    """What a collection can be filtered by, as the chat window's side panel offers it."""

    papers: int = 0
    authors: list[str] = field(default_factory=list)  # by last name, then first
    years: list[int] = field(default_factory=list)  # ascending
    categories: list[str] = field(default_factory=list)  # sorted

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class PaperHit:
    """One paper a search found: its record, its scores, and its sentence that matches the query best."""

    record: Record
    rank: int  # 1 = best
    score: float  # the fused retrieval score the list is ranked by
    dense_score: float | None = None  # cosine of its best chunk to the query
    bm25_score: float | None = None  # None when BM25 did not find it
    sentence: str = ""  # the abstract sentence closest to the query ("" for a paper without an abstract)
    sentence_score: float | None = None

    @property
    def paper_id(self) -> str:
        return self.record.id

    @property
    def title(self) -> str | None:
        return self.record.title

    @property
    def authors(self) -> list[str]:
        return self.record.authors

    @property
    def year(self) -> int | None:
        return self.record.year

    @property
    def venue(self) -> str | None:
        return self.record.venue

    def to_dict(self) -> dict:
        """The rank, the record's fields (without its sources) and year, the scores and the sentence."""
        record = {k: v for k, v in self.record.to_dict().items() if k != "sources"}
        return {"rank": self.rank, **record, "year": self.year, "score": self.score, "dense_score": self.dense_score,
                "bm25_score": self.bm25_score, "sentence": self.sentence, "sentence_score": self.sentence_score}


class PaperHits(list):
    """The `PaperHit`s of one search, best first, and how it went: `reason` says why the list is
    empty ("" when it is not), `filters_applied` and `timings` (ms) are as in `Answer`."""

    def __init__(self, hits=(), *, query: str = "", reason: str = "", filters_applied: dict | None = None,
                 timings: dict | None = None) -> None:
        super().__init__(hits)
        self.query, self.reason = query, reason
        self.filters_applied = filters_applied if filters_applied is not None else {}
        self.timings = timings if timings is not None else {}

    def export(self, fmt: str = "table") -> str:
        """The list as "table", "jsonl", "csv", "bibtex", "ris" or "csl-json" text (`rag.search.format_hits`)."""
        from rag.search import format_hits

        return format_hits(self, fmt)

    def to_dict(self) -> dict:
        return {"query": self.query, "reason": self.reason, "filters_applied": self.filters_applied,
                "timings": self.timings, "hits": [h.to_dict() for h in self]}
