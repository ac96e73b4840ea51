"""Exact dense search over every chunk vector in memory (`rag.vectors`), on the ingested sample
corpus and its real Chroma store: it finds what Chroma finds, honours filters, and is read from
Chroma once, then from its cache file until the store changes."""

from __future__ import annotations

import os

import numpy as np
import pytest

from rag.retrieval import Retriever, load_catalog
from rag.settings import Settings
from rag.store import ChunkStore
from rag.vectors import ChunkMatrix

QUESTIONS = ["Which paper proposes Griffin?", "pruning neurons that saturate during training",
             "How do agents keep plasticity in continual reinforcement learning?"]


@pytest.fixture(scope="module")
def settings(tmp_path_factory, sample_store) -> Settings:
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("RAG_")]:
            mp.delenv(key)
        return Settings(data_dir=sample_store(tmp_path_factory.mktemp("vectors-store")))


class CountingStore:
    """The real store, counting the chunk-vector reads that go to Chroma."""

    def __init__(self, store: ChunkStore) -> None:
        self.store, self.reads = store, 0

    def vectors(self, ids):
        self.reads += 1
        return self.store.vectors(ids)


def test_exact_search_finds_what_chroma_finds(settings):
    exact = Retriever(settings)
    chroma = Retriever(settings.model_copy(update={"exact_limit": 0}))
    assert exact.matrix() is not None and chroma.matrix() is None
    assert len(exact.matrix()) == chroma.store.count()
    for q in QUESTIONS:
        a, b = exact.rankings(q), chroma.rankings(q)
        assert [p for p, _ in a.dense] == [p for p, _ in b.dense]
        assert np.allclose([c for _, c in a.dense], [c for _, c in b.dense], atol=1e-4)
        assert {p: c[0] for p, c in a.chunks.items()} == {p: c[0] for p, c in b.chunks.items()}  # same best chunk
        x, y = exact.search(q), chroma.search(q)
        assert [s.paper_id for s in x.sources] == [s.paper_id for s in y.sources]
        assert [(p.chunk_id, p.text) for p in x.passages] == [(p.chunk_id, p.text) for p in y.passages]
        assert all(p.text for p in x.passages)


def test_a_filter_leaves_only_its_papers(settings):
    r = Retriever(settings)
    catalog = r.catalog
    allowed = set(sorted(catalog.papers)[::3])
    qv = r.embedder.embed_query(QUESTIONS[1])
    hits = r.matrix().nearest(qv, 50, allowed)
    assert hits and {pid for _, pid, _ in hits} <= allowed
    assert [c for _, _, c in hits] == sorted((c for _, _, c in hits), reverse=True)
    every = r.matrix().nearest(qv, 10_000)
    assert len(every) == len(r.matrix())  # all chunks, when asked for more than there are
    assert r.matrix().nearest(qv, 5, set()) == []
    ids, pids, sims = r.matrix().paper_sims(qv, sorted(allowed))
    assert set(pids) == allowed and len(ids) == sum(len(catalog.chunk_ids[p]) for p in allowed)
    stored = r.store.chunks(ids=ids)  # Chroma answers in an order of its own
    expected = dict(zip(stored.ids, stored.embeddings @ qv))
    assert np.allclose(sims, [expected[cid] for cid in ids], atol=1e-5)


def test_the_matrix_is_read_once_then_from_its_cache_file(settings, tmp_path):
    local = settings.model_copy(update={"data_dir": tmp_path / "copy"})
    import shutil

    shutil.copytree(settings.data_dir, local.data_dir)
    for old in (local.cache_dir / "vectors").glob("*.npz"):
        old.unlink()
    store = CountingStore(ChunkStore(local))
    catalog = load_catalog(local)
    first = ChunkMatrix.load(local, store, catalog.chunk_ids, catalog.digest)
    assert store.reads >= 1 and list((local.cache_dir / "vectors").glob("*.npz"))
    reads = store.reads
    again = ChunkMatrix.load(local, store, catalog.chunk_ids, catalog.digest)
    assert store.reads == reads  # from the file, not from Chroma
    assert list(again.ids) == list(first.ids) and np.array_equal(again.vectors, first.vectors)
    ChunkMatrix.load(local, store, catalog.chunk_ids, "changed")  # the store changed: read again, the stale file goes
    files = [f.name for f in (local.cache_dir / "vectors").glob("*.npz")]
    assert store.reads > reads and files == [f"{local.collection}@changed.npz"]


def test_a_store_over_the_limit_uses_chroma(settings):
    catalog = load_catalog(settings)
    small = settings.model_copy(update={"exact_limit": sum(map(len, catalog.chunk_ids.values())) - 1})
    r = Retriever(small)
    assert r.matrix() is None
    assert r.search(QUESTIONS[0]).sources  # and still searches


def test_ingest_leaves_the_vector_file_so_no_question_reads_chroma_for_it(sample_store, tmp_path):
    folder = sample_store(tmp_path / "fresh")  # as `rag ingest` left it
    local = Settings(data_dir=folder)
    catalog = load_catalog(local)
    assert [f.name for f in (local.cache_dir / "vectors").glob("*.npz")] == [f"{local.collection}@{catalog.digest}.npz"]
    store = CountingStore(ChunkStore(local))
    matrix = ChunkMatrix.load(local, store, catalog.chunk_ids, catalog.digest)
    assert len(matrix) == sum(map(len, catalog.chunk_ids.values()))
    assert store.reads == 0
