"""rag.store reads on a real Chroma in a temp dir: nearest chunks by cosine, chunks by id or by paper."""

from __future__ import annotations

import numpy as np
import pytest

from rag.chunking import Chunk
from rag.settings import Settings
from rag.store import ChunkStore, paper_id_of

VECTORS = {"p1#0": [1.0, 0.0, 0.0], "p1#1": [0.6, 0.8, 0.0], "p2#0": [0.0, 1.0, 0.0], "2106.03517v2#3": [0.0, 0.0, 1.0]}


@pytest.fixture
def store(tmp_path) -> ChunkStore:
    store = ChunkStore(Settings(data_dir=tmp_path))
    chunks = [Chunk(id=cid, paper_id=paper_id_of(cid), index=int(cid.rsplit("#")[1]), text=f"text of {cid}",
                    header="", metadata={"paper_id": paper_id_of(cid)} if cid != "p2#0" else {"year": 2020})
              for cid in VECTORS]
    store.upsert(chunks, np.asarray(list(VECTORS.values()), dtype=np.float32))
    return store


@pytest.mark.parametrize("chunk_id, paper", [("p1#0", "p1"), ("2106.03517v2#3", "2106.03517v2"),
                                             ("doi:10.1/x#y#12", "doi:10.1/x#y"), ("no-index", "no-index")])
def test_paper_id_of_cuts_at_the_last_hash(chunk_id, paper):
    assert paper_id_of(chunk_id) == paper


def test_nearest_ranks_chunks_by_cosine_with_their_paper(store):
    hits = store.nearest(np.asarray([0.8, 0.6, 0.0]), 3)
    assert [h.chunk_id for h in hits] == ["p1#1", "p1#0", "p2#0"]
    assert [h.paper_id for h in hits] == ["p1", "p1", "p2"]  # p2#0 has no paper_id metadata: from its id
    assert hits[0].text == "text of p1#1"
    assert hits[0].cosine == pytest.approx(0.96, abs=1e-5) and hits[1].cosine == pytest.approx(0.8, abs=1e-5)


def test_nearest_honours_a_where_filter(store):
    hits = store.nearest(np.asarray([1.0, 0.0, 0.0]), 4, {"paper_id": {"$in": ["2106.03517v2"]}})
    assert [(h.chunk_id, h.paper_id) for h in hits] == [("2106.03517v2#3", "2106.03517v2")]
    assert hits[0].cosine == pytest.approx(0.0, abs=1e-5)


def test_chunks_by_id_and_by_paper(store):
    got = store.chunks(ids=["p2#0", "p1#1"])
    assert sorted(zip(got.ids, got.paper_ids, got.texts)) == [("p1#1", "p1", "text of p1#1"),
                                                             ("p2#0", "p2", "text of p2#0")]
    assert got.embeddings.dtype == np.float32 and got.embeddings.shape == (2, 3)
    assert got.embeddings[got.ids.index("p1#1")] == pytest.approx([0.6, 0.8, 0.0])
    by_paper = store.chunks(paper_ids=["p1"])
    assert sorted(by_paper.ids) == ["p1#0", "p1#1"] and set(by_paper.paper_ids) == {"p1"}


def test_chunks_that_are_not_there_give_empty_lists(store):
    got = store.chunks(ids=["nope#0"])
    assert got.ids == got.paper_ids == got.texts == [] and len(got.embeddings) == 0
