"""`Retriever.rankings`: the named pieces `search` fuses, on the ingested sample corpus."""

from __future__ import annotations

import os

import pytest

from rag.retrieval import Rankings, Retriever
from rag.settings import Settings
from rag.types import Filters


@pytest.fixture(scope="module")
def retriever(tmp_path_factory, sample_store) -> Retriever:
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("RAG_")]:
            mp.delenv(key)
        settings = Settings(data_dir=sample_store(tmp_path_factory.mktemp("rankings-store")))
    return Retriever(settings)


def test_rankings_name_what_search_fuses(retriever):
    ranks = retriever.rankings("Which paper proposes Griffin?")
    assert isinstance(ranks, Rankings) and ranks.query_vector.shape == (retriever.embedder.dim,)
    assert ranks.dense and ranks.bm25 and set(ranks.timings) == {"embed", "dense", "bm25"}
    assert [c for _, c in ranks.dense] == sorted((c for _, c in ranks.dense), reverse=True)
    assert all(ranks.chunks[pid][2] == cos for pid, cos in ranks.dense)  # each paper's best chunk, same cosine
    hits = retriever.search("Which paper proposes Griffin?", mode="dense", top_k=3)
    assert [(s.paper_id, s.dense_score) for s in hits.sources] == [(p, round(c, 6)) for p, c in ranks.dense]
    bm25 = retriever.search("Which paper proposes Griffin?", mode="bm25")
    assert [(s.paper_id, s.bm25_score) for s in bm25.sources] == [(p, round(s, 6)) for p, s in ranks.bm25]


def test_rankings_for_filters_that_allow_nothing_are_empty(retriever):
    ranks = retriever.rankings("attention", {"authors": ["Nobody Atall"]}, auto_filters=False)
    assert ranks.dense == ranks.bm25 == [] and ranks.chunks == {}
    assert ranks.filters_applied["matched_papers"] == 0 and ranks.timings["dense"] == ranks.timings["bm25"] == 0.0


def test_a_small_filter_is_scored_exactly_from_the_stored_chunks(retriever):
    ranks = retriever.rankings("reinforcement learning", {"authors": ["John D. Co-Reyes"]}, auto_filters=False)
    _, allowed, _ = retriever.catalog.resolve(Filters(authors=["John D. Co-Reyes"]))
    assert len(allowed) >= 2 and {pid for pid, _ in ranks.dense} == allowed >= {pid for pid, _ in ranks.bm25}
    stored = retriever.store.chunks(paper_ids=sorted(allowed))
    best = max(float(v @ ranks.query_vector) for v in stored.embeddings)
    assert ranks.dense[0][1] == pytest.approx(best, abs=1e-6)


def test_zscore_fusion_lets_a_retriever_whose_best_stands_out_decide():
    """Each list's scores standardised over its own candidates, then summed: BM25's "b", far above
    its other candidates, outweighs dense's narrow preference for "a"; a paper missing from a list
    gets that list's lowest standardised score; one list alone keeps its order."""
    from rag.retrieval import fuse, zscore_fusion

    dense = [("a", 0.50), ("b", 0.49), ("c", 0.30), ("d", 0.29)]
    sparse = [("b", 9.0), ("a", 2.0), ("c", 1.9), ("d", 1.8)]
    assert [p for p, _ in fuse(dense, sparse, method="zscore")] == ["b", "a", "c", "d"]
    scores = zscore_fusion(dict(dense), {"b": 9.0, "c": 2.0})  # a and d have no BM25 score
    dense_only = zscore_fusion(dict(dense), {})
    # BM25 standardised: b +1, c -1; a and d each get the floor, -1
    assert scores["b"] - dense_only["b"] == pytest.approx(1.0)
    assert scores["a"] - dense_only["a"] == pytest.approx(-1.0) == scores["d"] - dense_only["d"]
    assert [p for p, _ in fuse(dense, [], method="zscore")] == ["a", "b", "c", "d"]
