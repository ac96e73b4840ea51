"""Paper search: the papers that match a query, best first, each with its best-matching sentence. No LLM.

    hits = search_papers("state space models", chain, filters=Filters(year_from=2023), limit=10)
    hits[0].title, hits[0].sentence, hits[0].score     # `PaperHit`s in a `PaperHits` list
    format_hits(hits, "bibtex")                        # or table, jsonl, csv, ris, csl-json

Retrieval is the answer chain's (`Retriever.search`: dense and BM25, fused, filters named in the
query applied as in `rag ask`), and so is the evidence gate: a query whose evidence is under
`min_evidence` finds nothing, with the reason, where `rag ask` would abstain. A paper's sentence
is the abstract sentence `rag.context.sentence_scores` ranks first for the query; all sentences
of the listed papers are embedded in one batch through the chain's embedding cache.
This module finds and formats hits; the records come from the retriever's catalog and the
reference formats from `rag.references`.
"""

from __future__ import annotations

import csv
import io
import json
import time

from rag.chunking import author_line
from rag.citations import split_sentences
from rag.context import sentence_scores
from rag.errors import ConfigError
from rag.references import FORMATS, choose_format, format_references
from rag.types import Filters, PaperHit, PaperHits

HIT_FORMATS = ("table", "jsonl", "csv", *FORMATS)
REASONS = {
    "no_sources": "no paper in the collection matches the filters",
    "weak_evidence": "no paper in the collection is close enough to the query",
}
CSV_COLUMNS = ("rank", "id", "title", "authors", "year", "date", "venue", "categories", "arxiv_id", "score",
               "dense_score", "bm25_score", "sentence")


def search_papers(query: str, chain, *, filters: Filters | dict | None = None, limit: int = 10) -> PaperHits:
    """The `limit` papers that match `query` best, from the chain's retriever (see the module docstring)."""
    if not isinstance(query, str) or not query.strip():
        raise ConfigError('the search query is empty; give words to look for, e.g. rag search "state space models"')
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"limit must be a whole number of at least 1, not {limit!r}")
    started = time.perf_counter()
    found = chain.retriever.search(query, filters=Filters.from_dict(filters), top_k=limit)
    hits = PaperHits(query=query, filters_applied=found.filters_applied,
                     timings={"retrieval_ms": found.timings.get("total", 0.0)})
    if not found.passages:
        hits.reason = REASONS["no_sources"]
    elif chain.evidence(query, found) < chain.settings.min_evidence:
        hits.reason = REASONS["weak_evidence"]
    else:
        hits.extend(_hits(query, found, chain.retriever.catalog.papers, chain.embed))
    hits.timings["total_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return hits


def _hits(query: str, found, papers: dict, embed) -> list[PaperHit]:
    scores = {s.paper_id: s for s in found.sources}
    records = [papers[p.paper_id] for p in found.passages if p.paper_id in papers]
    sentences = {r.id: split_sentences(r.abstract or "") for r in records}
    texts = list(dict.fromkeys([query] + [s for units in sentences.values() for s in units]))
    vectors = dict(zip(texts, embed(texts))) if len(texts) > 1 else {}
    out = []
    for rank, record in enumerate(records, 1):
        hit = scores[record.id]
        out.append(PaperHit(record=record, rank=rank, score=hit.score, dense_score=hit.dense_score,
                            bm25_score=hit.bm25_score))
        units = sentences[record.id]
        if units:
            ranked = sentence_scores(query, units, vectors)
            best = max(range(len(units)), key=ranked.__getitem__)
            out[-1].sentence, out[-1].sentence_score = units[best], round(ranked[best], 4)
    return out


def format_hits(hits: list[PaperHit], fmt: str = "table") -> str:
    """Hits as text: a readable "table", "jsonl" (`PaperHit.to_dict` per line), "csv" (`CSV_COLUMNS`),
    or the papers as "bibtex", "ris" or "csl-json" references."""
    fmt = choose_format(fmt, HIT_FORMATS, what="format")
    if fmt in FORMATS:
        return format_references([h.record for h in hits], fmt)
    if fmt == "jsonl":
        return "".join(json.dumps(h.to_dict(), ensure_ascii=False) + "\n" for h in hits)
    if fmt == "csv":
        return _csv(hits)
    return "".join(_table_row(h) for h in hits)


def _table_row(h: PaperHit) -> str:
    """'1. Title\\n   2024; A, B, C et al.; arXiv  [id]\\n   > the sentence\\n'"""
    byline = "; ".join(x for x in (str(h.year or ""), author_line(h.authors, h.record.authors_complete),
                                   h.venue or "") if x)
    lines = [f"{h.rank}. {h.title or '(untitled)'}", f"   {byline + '  ' if byline else ''}[{h.paper_id}]"]
    if h.sentence:
        lines.append(f"   > {h.sentence}")
    return "\n".join(lines) + "\n"


def _csv(hits: list[PaperHit]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for h in hits:
        d = h.to_dict()
        writer.writerow({**{k: d[k] for k in CSV_COLUMNS}, "authors": "; ".join(h.authors),
                         "categories": " ".join(h.record.categories)})
    return out.getvalue()
