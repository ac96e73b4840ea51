"""Paper retrieval: dense (Chroma) and BM25 rankings, metadata filters, fusion, one passage per paper.

    r = Retriever(settings)
    hits = r.search("What did John D. Co-Reyes publish in 2021?")
    hits.passages        # top_k papers, best first, each its best chunk; score = cosine to the question
    hits.filters_applied # {"authors": ["John D. Co-Reyes"], "year_from": 2021, "year_to": 2021,
                         #  "auto": ["authors", "year"], "matched_papers": 2}

Dense: the question's embedding against every chunk (`candidates` nearest chunks), exactly, over
the chunk vectors held in memory (`rag.vectors`; a filter is a mask over their rows), or, for a
store over `exact_limit` chunks, by Chroma's HNSW query (filters as a Chroma `where`), aggregated
per paper by its best chunk (or, with `dense_score`
best+mean, the mean of that and the paper's mean chunk cosine). BM25: the paper
index of `rag.bm25`, restricted to the papers the filters allow. Hybrid fuses the two paper
rankings by min-max score fusion: each retriever's scores are scaled to [0, 1] over its own
candidates, a paper missing from one list gets 0 there, and the two are averaged with equal
weights (0.5 / 0.5, not tuned). Measured by bench/retrieval.py against reciprocal rank fusion
(RRF, k = 60 and 20), weighted RRF and other weights: on SciFact train (809 claims) it gives
nDCG@10 0.733 vs 0.719 for RRF k=60 (paired bootstrap 95% CI of the gain +0.005..+0.023; 95
claims better, 61 worse), and on the seed questions 0.991 vs 0.969. RRF throws the score gap
away: "Which paper proposes Griffin?" has BM25 2.77 for the Griffin paper vs 1.97 for
RecurrentGemma, whose abstract mentions Griffin, but RRF ranked RecurrentGemma first because
dense ranked it two places higher (cosine 0.175 vs 0.144, both weak). Weights 0.4-0.6 all score within 0.005,
so the choice does not hinge on a tuned number. `fuse(method="rrf")` (using `rrf_k`) remains
available, and is used with RAG_FUSION=rrf.

A passage's score is always the cosine similarity of its chunk to the question (papers found
only by BM25 get theirs from the chunk embeddings stored in Chroma), so the answer chain can
abstain on `best_similarity` whatever the mode. Filters: authors resolve to collection names
case- and accent-insensitively ("co-reyes", "Co-Reyes", "John Co-Reyes" all find
"John D. Co-Reyes"; several matches = any of them); years are inclusive and an unknown year
never matches; venue is a case-insensitive substring of a known venue; categories match any
of. Filters that match nothing give empty results (the chain abstains), never an error. Without
the in-memory matrix, a filter that allows at most 500 papers (`IN_LIMIT`) is scored exactly:
those papers' chunks are fetched from Chroma by id and compared with the question, which is
faster than Chroma's filtered query on a large store and misses nothing.
`rag.questions.detect_filters` finds author, year, month, category and venue filters in the
question itself (a year or month filter only in collections that know dates).

One `Retriever` may serve many threads at once. It does not write answers (see the answer chain).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from rag.bm25 import BM25Index, build_bm25, state_digest, tokenize
from rag.citations import defang
from rag.errors import IndexEmpty
from rag.questions import AuthorIndex, detect_filters
from rag.records import Record
from rag.settings import Settings
from rag.types import Filters, Passage, SourceHit
from rag.vectors import ChunkMatrix

MODES = ("hybrid", "dense", "bm25")
FUSION = "minmax"  # the measured default; see the module docstring
FUSION_WEIGHT = 0.5  # dense share in min-max fusion
IN_LIMIT = 500  # filters allowing at most this many papers reach Chroma as a paper-id list


@dataclass
class Retrieval:
    """What one search found. Empty `passages` when nothing matched (filters included).

    `best_similarity`: the highest passage cosine (the answer chain combines it with lexical
    coverage, see `rag.evidence`, to decide whether to abstain).
    """

    passages: list[Passage] = field(default_factory=list)
    sources: list[SourceHit] = field(default_factory=list)
    filters_applied: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    best_similarity: float = 0.0
    mode: str = "hybrid"

    def to_dict(self) -> dict:
        return {"passages": [p.to_dict() for p in self.passages], "sources": [s.to_dict() for s in self.sources],
                "filters_applied": self.filters_applied, "timings": self.timings,
                "best_similarity": self.best_similarity, "mode": self.mode}


@dataclass
class Rankings:
    """One question's paper rankings before fusion (`Retriever.rankings`), best first. `chunks`: each
    dense-ranked paper's best chunk as (chunk id, text, cosine), the text None where it was not
    read yet (`search` reads it for the papers it shows); empty rankings when the filters allow no
    paper."""

    query_vector: np.ndarray
    dense: list[tuple[str, float]] = field(default_factory=list)  # (paper id, cosine of its best chunk)
    chunks: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    bm25: list[tuple[str, float]] = field(default_factory=list)  # (paper id, BM25 score)
    filters_applied: dict = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # ms: embed, dense, bm25


# ---------------------------------------------------------------- fusion

def rrf(rankings: list[list[str]], k: int, weights: list[float] | None = None) -> dict[str, float]:
    """Reciprocal rank fusion: sum of weight / (k + rank) over the rankings (rank from 1)."""
    out: dict[str, float] = defaultdict(float)
    for r, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[r]
        for rank, pid in enumerate(ranking, 1):
            out[pid] += w / (k + rank)
    return out


def minmax_fusion(dense: dict[str, float], sparse: dict[str, float], alpha: float) -> dict[str, float]:
    """alpha * min-max-normalised dense score + (1 - alpha) * normalised BM25 score (missing = 0)."""
    def norm(d: dict[str, float]) -> dict[str, float]:
        if not d:
            return {}
        lo, hi = min(d.values()), max(d.values())
        return {p: (s - lo) / (hi - lo) if hi > lo else 1.0 for p, s in d.items()}

    nd, ns = norm(dense), norm(sparse)
    return {p: alpha * nd.get(p, 0.0) + (1 - alpha) * ns.get(p, 0.0) for p in {**nd, **ns}}


def zscore_fusion(dense: dict[str, float], sparse: dict[str, float]) -> dict[str, float]:
    """Each retriever's scores standardised over its own candidates (mean 0, sd 1), then summed: a
    retriever whose best paper stands far above its others counts more. A paper missing from one
    list gets that list's lowest standardised score."""
    def z(d: dict[str, float]) -> dict[str, float]:
        if len(d) < 2:
            return {p: 1.0 for p in d}
        vals = np.fromiter(d.values(), dtype=np.float64)
        mu, sd = float(vals.mean()), float(vals.std()) or 1.0
        return {p: (s - mu) / sd for p, s in d.items()}

    zd, zs = z(dense), z(sparse)
    floor_d, floor_s = min(zd.values(), default=0.0), min(zs.values(), default=0.0)
    return {p: zd.get(p, floor_d) + zs.get(p, floor_s) for p in {**zd, **zs}}


def fuse(dense: list[tuple[str, float]], sparse: list[tuple[str, float]], *, mode: str = "hybrid",
         rrf_k: int = 60, method: str = FUSION, weight: float = FUSION_WEIGHT) -> list[tuple[str, float]]:
    """Paper ranking for `mode` from the dense and BM25 rankings (best first): (paper id, score).

    method: "minmax" (dense share `weight`), "rrf" (plain, constant `rrf_k`), "wrrf" (RRF with the
    dense ranking weighted 2 * weight and BM25 2 * (1 - weight)), "zscore" (`zscore_fusion`; measured,
    not a setting: its scores are not on the 0-1 scale `source_min_share` reads, BENCHMARKS.md).
    """
    if mode == "dense":
        return list(dense)
    if mode == "bm25":
        return list(sparse)
    if method == "minmax":
        scores = minmax_fusion(dict(dense), dict(sparse), weight)
    elif method == "zscore":
        scores = zscore_fusion(dict(dense), dict(sparse))
    else:
        weights = [2 * weight, 2 * (1 - weight)] if method == "wrrf" else None
        scores = rrf([[p for p, _ in dense], [p for p, _ in sparse]], rrf_k, weights)
    order = {p: i for i, (p, _) in enumerate(dense)}  # ties: dense order, then BM25 order
    for i, (p, _) in enumerate(sparse):
        order.setdefault(p, len(dense) + i)
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))


# ---------------------------------------------------------------- the collection's metadata

class Catalog:
    """The papers of one store, their filterable metadata and their BM25 index (read-only)."""

    def __init__(self, papers: list[Record], bm25: BM25Index, digest: str,
                 chunk_ids: dict[str, list[str]] | None = None) -> None:
        self.papers = {p.id: p for p in papers}
        self.chunk_ids = chunk_ids or {}  # paper id -> its chunk ids in Chroma (fetched by id, not by a scan)
        self.bm25 = bm25
        self.digest = digest
        self.by_author: dict[str, set[str]] = defaultdict(set)
        self.by_venue: dict[str, set[str]] = defaultdict(set)
        self.by_category: dict[str, set[str]] = defaultdict(set)
        self.by_year: dict[int, set[str]] = defaultdict(set)
        self.by_month: dict[str, set[str]] = defaultdict(set)  # "YYYY-MM"
        for p in papers:
            if p.year:
                self.by_year[p.year].add(p.id)
            if p.date and len(p.date) >= 7:
                self.by_month[p.date[:7]].add(p.id)
            for a in p.authors:
                if a and a.strip():
                    self.by_author[a].add(p.id)
            if p.venue:
                self.by_venue[p.venue].add(p.id)
            for c in p.categories:
                if c:
                    self.by_category[c].add(p.id)
        self.authors = AuthorIndex(self.by_author)
        last_papers: dict[str, set[str]] = defaultdict(set)
        for last, names in self.authors.by_last.items():
            for n in names:
                last_papers[last] |= self.by_author[n]
        self.last_name_papers = {k: len(v) for k, v in last_papers.items()}
        self.has_years = any(p.year for p in papers)

    def is_common(self, last_name: str) -> bool:
        """True when the collection's text uses this last name as a word in >= 2 papers it did not write."""
        tokens = tokenize(last_name)
        if not tokens:
            return True  # a stopword
        df = self.bm25.document_frequency(tokens[-1])
        return df - self.last_name_papers.get(last_name, 0) >= 2

    def resolve(self, f: Filters, *, detected_authors: bool = False) -> tuple[Filters, set[str] | None, dict | None]:
        """Filters as collection values, the paper ids they allow (None = all), and a Chroma `where`.

        A value that matches nothing stays as given, and the allowed set is then empty. Authors a
        question named (`detected_authors`) are already every collection name the question's words
        name, so they are taken as they are (resolving 300 "J. Liu"s again took 0.6 s at 74k papers).
        """
        allowed: set[str] | None = None
        clauses: list[dict] = []
        out = Filters()

        def narrow(ids: set[str]) -> None:
            nonlocal allowed
            allowed = set(ids) if allowed is None else allowed & ids

        if f.authors:
            names = list(dict.fromkeys(n for a in f.authors for n in (
                [a] if detected_authors and a in self.by_author else self.authors.resolve(a))))
            out.authors = names or list(f.authors)
            narrow(set().union(*(self.by_author[n] for n in names)) if names else set())
            clauses.append(_any_of("authors", names))
        if f.year_from or f.year_to:
            lo, hi = f.year_from or 1, f.year_to or 9999
            out.year_from, out.year_to = f.year_from, f.year_to
            narrow(set().union(*(ids for year, ids in self.by_year.items() if lo <= year <= hi)))
            clauses += [{"year": {"$gte": max(lo, 1)}}, {"year": {"$lte": hi}}]
        if f.venue:
            v = f.venue.casefold().strip()
            venues = [k for k in self.by_venue if v in k.casefold()]
            out.venue = f.venue
            narrow(set().union(*(self.by_venue[k] for k in venues)) if venues else set())
            clauses.append({"venue": {"$in": venues or [f.venue]}})
        if f.months:
            out.months = list(f.months)
            narrow(set().union(*(self.by_month.get(m, set()) for m in f.months)))
            clauses.append({"year": {"$in": sorted({int(m[:4]) for m in f.months if m[:4].isdigit()}) or [0]}})
        if f.categories:
            wanted = {c.casefold().strip() for c in f.categories}
            cats = [k for k in self.by_category
                    if k.casefold() in wanted or k.casefold().rsplit(".", 1)[-1] in wanted]
            out.categories = cats or list(f.categories)
            narrow(set().union(*(self.by_category[k] for k in cats)) if cats else set())
            clauses.append(_any_of("categories", cats))
        if allowed is None:
            return out, None, None
        if len(allowed) <= IN_LIMIT:
            where = {"paper_id": {"$in": sorted(allowed)}} if allowed else None
        else:
            where = clauses[0] if len(clauses) == 1 else {"$and": clauses}
        return out, allowed, where


def _any_of(key: str, values: list[str]) -> dict:
    parts = [{key: {"$contains": v}} for v in values] or [{key: {"$contains": "\x00"}}]
    return parts[0] if len(parts) == 1 else {"$or": parts}


def committed_chunks(state) -> dict[str, list[str]]:
    """paper id -> the ids of its chunks that are in the store (committed in the state)."""
    return {pid: [cid for cid, _, committed in rows if committed] for pid, rows in state.chunk_rows().items()}


def load_catalog(settings: Settings) -> Catalog:
    """The state's papers and a BM25 index in step with them (rebuilt, and saved if possible, if not)."""
    from rag.state import State

    state = State(settings.state_path)
    try:
        state.db.execute("BEGIN")  # one snapshot for the digest and the papers
        digest = state_digest(state)
        papers = state.papers()
        chunk_ids = committed_chunks(state)
        state.db.execute("COMMIT")
    finally:
        state.close()
    index = BM25Index.load(settings)
    if index is None or index.digest != digest:
        try:
            build_bm25(settings, papers, digest=digest)
            index = BM25Index.load(settings)
        except OSError:
            index = None
        if index is None or index.digest != digest:  # unwritable data dir, or a racing build
            index = BM25Index.build(papers, digest)
    return Catalog(papers, index, digest, chunk_ids)


# ---------------------------------------------------------------- the retriever

class Retriever:
    """Searches one store. Thread-safe: `search` only reads; `refresh` swaps in a new catalog."""

    def __init__(self, settings: Settings, *, store=None, embedder=None) -> None:
        from rag.embeddings import embedder_for
        from rag.store import ChunkStore

        self.settings = settings
        self.store = store or ChunkStore(settings)
        self.embedder = embedder or embedder_for(settings)
        self._lock = threading.Lock()
        self.catalog = load_catalog(settings)
        self._matrix: tuple[str, ChunkMatrix | None] | None = None  # (catalog digest, its chunk vectors)
        tokenize("warm up")  # loads the stemmer now rather than in the first search

    def matrix(self, catalog: Catalog | None = None) -> ChunkMatrix | None:
        """Every chunk vector of the catalog's store, in memory (`rag.vectors`), read on first use;
        None when the store is over `exact_limit` chunks (dense search then asks Chroma)."""
        cat = catalog or self.catalog
        held = self._matrix
        if held is None or held[0] != cat.digest:
            with self._lock:
                held = self._matrix
                if held is None or held[0] != cat.digest:
                    held = self._matrix = (cat.digest, ChunkMatrix.load(self.settings, self.store, cat.chunk_ids,
                                                                        cat.digest))
        return held[1]

    def refresh(self) -> bool:
        """Reload papers and BM25 when the store changed since (an ingest ran). True when reloaded."""
        from rag.state import State

        with self._lock:
            state = State(self.settings.state_path)
            try:
                digest = state_digest(state)
            finally:
                state.close()
            if digest == self.catalog.digest:
                return False
            self.catalog = load_catalog(self.settings)
            return True

    def rankings(self, question: str, filters: Filters | dict | None = None, *, auto_filters: bool = True,
                 catalog: Catalog | None = None) -> Rankings:
        """The dense and BM25 paper rankings `search` fuses (see `Rankings`)."""
        cat = catalog or self.catalog
        f = dataclasses.replace(Filters.from_dict(filters))
        f.authors, f.categories, f.months = list(f.authors), list(f.categories), list(f.months)
        auto = _apply_detected(question, f, cat) if auto_filters else []
        resolved, allowed, where = cat.resolve(f, detected_authors="authors" in auto)
        applied = {**resolved.to_dict(), "auto": auto}
        if allowed is not None:
            applied["matched_papers"] = len(allowed)

        t = time.perf_counter()
        out = Rankings(self.embedder.embed_query(question), filters_applied=applied)
        out.timings["embed"] = _ms(t)
        if allowed is not None and not allowed:
            out.timings["dense"] = out.timings["bm25"] = 0.0
            return out
        t = time.perf_counter()
        matrix = self.matrix(cat)
        if matrix is None and allowed is not None and len(allowed) <= IN_LIMIT and all(
                pid in cat.chunk_ids for pid in allowed):
            # a filter that allows few papers: score their chunks exactly, fetched by id (Chroma's
            # filtered HNSW query scans metadata, 200+ ms on a 160k-chunk store)
            best = self._best_chunks(out.query_vector, sorted(allowed), cat)
            out.chunks = dict(sorted(best.items(), key=lambda kv: -kv[1][2])[: self.settings.candidates])
            out.dense = [(pid, c[2]) for pid, c in out.chunks.items()]
        else:
            # nearest chunks, best first: exact in memory (a filter masks rows; texts are read later,
            # for the papers `search` shows), else Chroma's query (its `where` may allow more)
            hits = ([(cid, pid, None, cos) for cid, pid, cos in matrix.nearest(
                out.query_vector, self.settings.candidates, allowed)] if matrix is not None
                    else self.store.nearest(out.query_vector, self.settings.candidates, where))
            for cid, pid, text, cos in hits:
                if pid not in out.chunks and (allowed is None or pid in allowed):
                    out.chunks[pid] = (cid, text, cos)
                    out.dense.append((pid, cos))
        if self.settings.dense_score == "best+mean":
            out.dense = self._best_plus_mean(out.query_vector, out.dense, cat)
        out.timings["dense"] = _ms(t)
        t = time.perf_counter()
        out.bm25 = cat.bm25.search(question, self.settings.candidates, allowed)
        out.timings["bm25"] = _ms(t)
        return out

    def search(self, question: str, *, filters: Filters | dict | None = None, top_k: int | None = None,
               mode: str | None = None, auto_filters: bool = True) -> Retrieval:
        """The top papers for `question`, one best passage each (see the module docstring)."""
        started = time.perf_counter()
        mode = mode or self.settings.retrieval_mode
        if mode not in MODES:
            from rag.errors import ConfigError

            raise ConfigError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
        top_k = top_k or self.settings.top_k
        if not self.catalog.papers:
            self.refresh()
            if not self.catalog.papers:
                raise IndexEmpty(f"nothing is indexed in {self.settings.data_dir} yet; run: rag ingest")
        cat = self.catalog
        ranks = self.rankings(question, filters, auto_filters=auto_filters, catalog=cat)
        dense, sparse, chunks, timings = ranks.dense, ranks.bm25, ranks.chunks, ranks.timings
        t = time.perf_counter()
        fused = fuse(dense if mode != "bm25" else [], sparse if mode != "dense" else [], mode=mode,
                     rrf_k=self.settings.rrf_k, method=self.settings.fusion)
        timings["fuse"] = _ms(t)
        t = time.perf_counter()
        top = [pid for pid, _ in fused[:top_k] if pid in cat.papers]
        missing = [pid for pid in top if pid not in chunks]
        if missing:
            chunks.update(self._best_chunks(ranks.query_vector, missing, cat))
        unread = {pid: c for pid in top if (c := chunks.get(pid)) and c[1] is None}
        if unread:  # one key lookup for the texts of the passages shown
            texts = self.store.texts([cid for cid, _, _ in unread.values()])
            chunks.update({pid: (cid, texts.get(cid, ""), cos) for pid, (cid, _, cos) in unread.items()})
        passages = [_passage(cat.papers[pid], *chunks[pid]) for pid in top if pid in chunks]
        timings["passages"] = _ms(t)
        dense_s, bm25_s = dict(dense), dict(sparse)
        sources = []
        for pid, score in fused:
            p = cat.papers.get(pid)
            if p is None:
                continue
            cos = dense_s.get(pid, chunks[pid][2] if pid in chunks else None)
            sources.append(SourceHit(paper_id=pid, title=defang(p.title), authors=_authors(p),
                                     year=p.year, venue=defang(p.venue), score=round(float(score), 6),
                                     dense_score=None if cos is None else round(cos, 6),
                                     bm25_score=round(bm25_s[pid], 6) if pid in bm25_s else None))
        best = max((p.score for p in passages), default=0.0)
        timings["total"] = _ms(started)
        return Retrieval(passages=passages, sources=sources, filters_applied=ranks.filters_applied, timings=timings,
                         best_similarity=best, mode=mode)

    def whole_papers(self, passages: dict[int, Passage]) -> dict[int, Passage]:
        """The same sources, each with its paper's whole abstract as text (retrieval scored it by one
        chunk; the sentence that answers may sit in another). A paper without an abstract keeps its chunk."""
        papers = self.catalog.papers
        out = {}
        for key, p in passages.items():
            record = papers.get(p.paper_id)
            text = record.abstract if record is not None and record.abstract else None
            out[key] = dataclasses.replace(p, text=defang(" ".join(text.split()))) if text else p
        return out

    def _chunk_sims(self, qv: np.ndarray, paper_ids: list[str],
                    catalog: Catalog | None = None) -> tuple[list[str], list[str], np.ndarray]:
        """The stored chunks of these papers, each one's paper and cosine with the question: from
        the in-memory matrix, else read from Chroma (by chunk id when the catalog knows them all: a
        key lookup, not a metadata scan)."""
        cat = catalog or self.catalog
        known = cat.chunk_ids
        listed = all(pid in known for pid in paper_ids)
        matrix = self.matrix(cat)
        if matrix is not None and listed:
            return matrix.paper_sims(qv, paper_ids)
        if listed:
            got = self.store.chunks(ids=[cid for pid in paper_ids for cid in known[pid]])
        else:
            got = self.store.chunks(paper_ids=paper_ids)
        sims = got.embeddings @ np.asarray(qv, dtype=np.float32) if got.ids else np.zeros(0, np.float32)
        return got.ids, got.paper_ids, sims

    def _best_plus_mean(self, qv: np.ndarray, dense: list[tuple[str, float]],
                        catalog: Catalog) -> list[tuple[str, float]]:
        """The dense ranking re-scored per paper: (best chunk cosine + mean chunk cosine) / 2, so a
        paper whose whole abstract is on the question outranks one with a single matching chunk. The
        chunks are fetched by id (a paper the catalog does not know keeps its best chunk's score)."""
        known = [pid for pid, _ in dense if catalog.chunk_ids.get(pid)]
        if not known:
            return dense
        _, pids, sims = self._chunk_sims(qv, known, catalog)
        per: dict[str, list[float]] = {}
        for pid, sim in zip(pids, sims):
            per.setdefault(pid, []).append(float(sim))
        scored = [(pid, (best + sum(per[pid]) / len(per[pid])) / 2 if per.get(pid) else best) for pid, best in dense]
        return sorted(scored, key=lambda kv: -kv[1])

    def _best_chunks(self, qv: np.ndarray, paper_ids: list[str],
                     catalog: Catalog | None = None) -> dict[str, tuple[str, str, float]]:
        """Each paper's chunk most similar to the question, from the stored embeddings, as (chunk
        id, None, cosine): `search` reads the texts of those it shows."""
        ids, pids, sims = self._chunk_sims(qv, paper_ids, catalog)
        best: dict[str, tuple[str, None, float]] = {}
        for cid, pid, sim in zip(ids, pids, sims):
            if pid not in best or sim > best[pid][2]:
                best[pid] = (cid, None, float(sim))
        return best


def _apply_detected(question: str, f: Filters, cat: Catalog) -> list[str]:
    """Fill the filters the caller left empty with those the question states; the kinds filled."""
    found, kinds = detect_filters(question, cat.authors, cat.is_common, categories=cat.by_category,
                                  venues=cat.by_venue)
    auto = []
    if "authors" in kinds and not f.authors:
        f.authors = found.authors
        auto.append("authors")
    if "year" in kinds and not (f.year_from or f.year_to) and cat.has_years:
        f.year_from, f.year_to = found.year_from, found.year_to
        auto.append("year")
    if "months" in kinds and not f.months and cat.by_month:
        f.months = found.months
        auto.append("months")
    if "categories" in kinds and not f.categories:
        f.categories = found.categories
        auto.append("categories")
    if "venue" in kinds and not f.venue:
        f.venue = found.venue
        auto.append("venue")
    return auto


def _passage(p: Record, chunk_id: str, text: str, score: float) -> Passage:
    """What a retrieved paper shows downstream. Paper text is data: `defang` takes from every field
    anything that would read as a citation key, for every backend, prompt and card alike."""
    return Passage(paper_id=p.id, chunk_id=chunk_id, text=defang(text), title=defang(p.title),
                   authors=_authors(p), year=p.year, venue=defang(p.venue),
                   score=round(float(score), 6), authors_complete=p.authors_complete, date=p.date,
                   categories=list(p.categories))


def _authors(p: Record) -> list[str]:
    return [defang(a) for a in p.authors if a]


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
