"""What the store holds, for `rag stats`: counts from the ingest state, checked against Chroma, and
the embedding model that built it (beside the one the settings ask for, when they differ).

Reads only; never writes or repairs (run `rag ingest` for that), and embeds nothing.
"""

from __future__ import annotations

from collections import Counter

from rag.settings import Settings


def collect(settings: Settings) -> dict:
    """papers, chunks, files, years and top categories, plus where the store lives."""
    from rag.embeddings import expected_model
    from rag.state import State
    from rag.store import ChunkStore

    if not settings.state_path.exists():
        return {"papers": 0, "chunks": 0, "files": 0, "store": _where(settings), "data_dir": str(settings.data_dir)}
    state = State(settings.state_path)
    try:
        papers = state.papers()
        chunks = state.chunk_count()
        files = state.file_count()
    finally:
        state.close()
    store = ChunkStore(settings, check_model=False)
    in_chroma, built, wanted = store.count(), store.embedding_model(), expected_model(settings)
    years = Counter(p.year for p in papers if p.year)
    cats = Counter(c for p in papers for c in p.categories)
    return {
        "papers": len(papers),
        "chunks": chunks,
        "chunks_in_chroma": in_chroma,
        "files": files,
        "with_title": sum(1 for p in papers if p.title),
        "with_date": sum(1 for p in papers if p.date),
        "years": f"{min(years)}-{max(years)}" if years else "-",
        "top_categories": dict(cats.most_common(5)),
        "embedding_model": built.describe() if built else "none yet (the first ingest records it)",
        **({} if built is None or built.same_space(wanted) else
           {"embedding_model_in_settings": f"{wanted.describe()}: not the store's, queries are refused"}),
        "store": _where(settings),
        "data_dir": str(settings.data_dir),
    }


def _where(settings: Settings) -> str:
    if settings.chroma_host:
        return f"chroma server {settings.chroma_host}:{settings.chroma_port}, collection {settings.collection}"
    return f"{settings.chroma_dir}, collection {settings.collection}"
