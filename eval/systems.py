"""The retrieval systems an eval run compares, over the same store and the same embedding model.

* `hybrid`: the project's retriever as the answer chain uses it (dense + BM25, min-max fusion,
  author/year filters detected in the question).
* `dense`: the same Chroma ranking alone; `bm25`: the same BM25 paper index alone (both with the
  same detected filters).
* `llamaindex`: llama-index's default `VectorStoreIndex` retriever, built in memory from the store's
  papers (one `Document` per paper: abstract as text, title / authors / year as metadata, llama-index's
  default sentence splitter and metadata handling) with the same all-MiniLM-L6-v2 embeddings. No filters.
  A metadata value over 200 tokens (a title thousands of characters long) is cut, so it fits the
  splitter's 1024-token chunks; no real title or byline comes near that.

Rankings are `DEPTH` (100) papers deep so recall@100 means what it says: for the project's three,
each retriever returns `max(RAG_CANDIDATES, 100)` candidates. Each system's latency is its own
share of the work: dense = question embedding + Chroma query + fusion, bm25 = BM25 search,
hybrid = all of it. This module ranks; it does not score (`rag.eval.metrics`) or answer.
"""

from __future__ import annotations

import time

from rag.chunking import use_bundled_tiktoken

SYSTEMS = ("hybrid", "bm25", "dense", "llamaindex")
DEPTH = 100


class _CachedForLlamaIndex:
    """The MiniLM model behind the store's embedding cache, shaped as `llama_index_embedding` wants."""

    def __init__(self, model, cached) -> None:
        self.model, self.cached, self.batch_size = model, cached, model.batch_size

    def embed(self, texts, progress=None):
        return self.cached.embed(list(texts), progress=progress)

    def embed_query(self, text):
        return self.model.embed_query(text)


METADATA_VALUE_TOKENS = 200  # of the splitter's 1024-token chunks; real titles and bylines stay under 100


def _cut_to_tokens(text: str, budget: int, tokenizer) -> str:
    """`text`, or its start with "…" when it is over `budget` tokens of llama-index's tokenizer."""
    n = len(tokenizer(text))
    if n <= budget:
        return text
    while n > budget:
        text = text[: max(1, len(text) * budget // n - 1)].rstrip()
        n = len(tokenizer(text + "…"))
    return text + "…"


def baseline_metadata(paper, tokenizer=None) -> dict[str, str]:
    """A paper's llama-index metadata: title, byline, year, each cut to `METADATA_VALUE_TOKENS`.

    Uncut, a very long title outgrows the splitter's chunk ("Metadata length (2609) is longer than
    chunk size (1024)"); the cut leaves every normal paper's metadata exactly as it was.
    """
    from rag.chunking import author_line

    if tokenizer is None:
        from llama_index.core.utils import get_tokenizer

        use_bundled_tiktoken()
        tokenizer = get_tokenizer()
    meta = {"title": paper.title or "", "authors": author_line(paper.authors, paper.authors_complete),
            "year": str(paper.year or "")}
    return {k: _cut_to_tokens(v, METADATA_VALUE_TOKENS, tokenizer) for k, v in meta.items()}


class LlamaIndexBaseline:
    """llama-index's default `VectorStoreIndex` retriever over the papers (see the module docstring)."""

    def __init__(self, papers: list, model, cached, *, progress: bool = False) -> None:
        use_bundled_tiktoken()  # before llama-index loads its tokenizer
        from llama_index.core import Document, VectorStoreIndex
        from llama_index.core.utils import get_tokenizer

        from rag.embeddings import llama_index_embedding

        tokenizer = get_tokenizer()
        docs = [Document(text=p.abstract or "", doc_id=p.id, metadata=baseline_metadata(p, tokenizer))
                for p in papers if (p.abstract or p.title)]
        embed_model = llama_index_embedding(_CachedForLlamaIndex(model, cached))
        self.index = VectorStoreIndex.from_documents(docs, embed_model=embed_model, show_progress=progress)
        self.retriever = self.index.as_retriever(similarity_top_k=DEPTH)

    def rank(self, question: str) -> list[tuple[str, float]]:
        seen: dict[str, float] = {}
        for hit in self.retriever.retrieve(question):
            pid = hit.node.ref_doc_id
            if pid and pid not in seen:
                seen[pid] = float(hit.score or 0.0)
        return list(seen.items())


class Systems:
    """Ranks a question with each named system: {name: ([(paper id, score)] best first, ms)}."""

    def __init__(self, settings, names=SYSTEMS, *, model=None, cached=None, progress: bool = False) -> None:
        from rag.embeddings import CachedEmbedder, EmbeddingCache, embedder_for
        from rag.errors import ConfigError
        from rag.retrieval import Retriever

        unknown = [n for n in names if n not in SYSTEMS]
        if unknown:
            raise ConfigError(f"unknown retrieval system {', '.join(unknown)}; use any of {', '.join(SYSTEMS)}")
        self.names = list(names)
        deep = settings.model_copy(update={"candidates": max(settings.candidates, DEPTH)})
        self.model = model or embedder_for(settings)
        self.cached = cached or CachedEmbedder(self.model, EmbeddingCache(settings.cache_dir / "embeddings.sqlite"))
        self.retriever = Retriever(deep, embedder=self.model)
        self.papers = self.retriever.catalog.papers
        self.llamaindex = None
        if "llamaindex" in self.names:
            self.llamaindex = LlamaIndexBaseline(list(self.papers.values()), self.model, self.cached,
                                                 progress=progress)

    def rank(self, question: str) -> dict[str, tuple[list[tuple[str, float]], float]]:
        from rag.retrieval import fuse

        out: dict[str, tuple[list[tuple[str, float]], float]] = {}
        project = [n for n in self.names if n != "llamaindex"]
        if project:
            ranks = self.retriever.rankings(question)
            timings = ranks.timings
            cost = {"hybrid": timings["embed"] + timings["dense"] + timings["bm25"],
                    "dense": timings["embed"] + timings["dense"], "bm25": timings["bm25"]}
            for name in project:
                t = time.perf_counter()
                ranked = fuse(ranks.dense, ranks.bm25, mode=name, rrf_k=self.retriever.settings.rrf_k,
                              method=self.retriever.settings.fusion)
                out[name] = (ranked[:DEPTH], round(cost[name] + (time.perf_counter() - t) * 1000, 2))
        if self.llamaindex is not None:
            t = time.perf_counter()
            ranked = self.llamaindex.rank(question)
            out["llamaindex"] = (ranked, round((time.perf_counter() - t) * 1000, 2))
        return {n: out[n] for n in self.names}


def index_beir(dataset, settings, *, progress: bool = True, say=print):
    """Index a BEIR corpus into its own store (a folder and collection per corpus, reused by later
    runs) and return (settings for it, {paper id: {corpus ids}}). Documents sharing a title are
    merged into one paper by ingest; that paper stands for all their corpus ids."""
    import json

    from rag.ingest import ingest
    from rag.state import State

    name = f"beir-{''.join(c if c.isalnum() else '-' for c in dataset.name)[:40]}-{dataset.sha256[:12]}"
    folder = settings.data_dir / "eval" / name
    folder.mkdir(parents=True, exist_ok=True)
    beir_settings = settings.model_copy(update={"data_dir": folder, "collection": name})
    records = folder / "corpus-records.jsonl"
    ids: list[str] = []
    tmp = records.with_suffix(".tmp")
    with dataset.corpus.open(encoding="utf-8") as src, tmp.open("w", encoding="utf-8") as out:
        for raw in src:
            if not raw.strip():
                continue
            row = json.loads(raw)
            ids.append(str(row["_id"]))
            out.write(json.dumps({"title": row.get("title") or "", "abstract": row.get("text") or ""}) + "\n")
    if records.exists() and records.read_bytes() == tmp.read_bytes():
        tmp.unlink()
    else:
        tmp.replace(records)
    say(f"indexing {len(ids):,} BEIR documents into {folder} (once; later runs reuse it)")
    report = ingest([records], settings=beir_settings, say=lambda *a: None, progress=progress)
    if report.files_skipped:
        from rag.errors import InputError

        raise InputError(dataset.corpus, f"could not be indexed: {report.files_skipped[0]}")
    state = State(beir_settings.state_path)
    try:
        papers = state.papers()
    finally:
        state.close()
    doc_ids = {p.id: {ids[s.line - 1] for s in p.sources if s.line and s.line <= len(ids)} for p in papers}
    return beir_settings, doc_ids
