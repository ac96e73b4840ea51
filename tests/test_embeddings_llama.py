"""The real protocol path (issue 16): llama.cpp's own server (xllamacpp) serving `/v1/embeddings` from
the bundled GGUF in embedding mode, on 127.0.0.1. One server start for the module, small inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from llama_embed_server import MODEL_NAME, LlamaEmbedServer

from rag.ingest import ingest
from rag.remote_embeddings import OpenAIEmbedder
from rag.settings import Settings
from rag.store import ChunkStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(local_model_file):
    with LlamaEmbedServer(local_model_file, threads=2, parallel=2) as running:
        yield running


def test_llama_cpp_embeddings_come_back_ordered_normalised_and_repeatable(server):
    model = OpenAIEmbedder(server.base_url, MODEL_NAME, batch_size=2, concurrency=2)
    texts = ["Griffin mixes gated linear recurrences with local attention.", "hello", "protein folding"]
    vecs = model.embed(texts)
    assert vecs.shape == (3, model.dim) and model.dim > 384
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert np.allclose(model.embed_query(texts[1]), vecs[1], atol=1e-3)


def test_a_store_ingested_through_llama_cpp_records_it_and_finds_its_own_chunks(server, tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({"title": t, "abstract": a}) + "\n" for t, a in [
        ("Griffin", "Gated linear recurrences mixed with local attention."),
        ("AlphaFold", "Protein structure prediction from sequences.")]))
    settings = Settings(embed_base_url=server.base_url, embed_model=MODEL_NAME, embed_batch_size=2)
    assert ingest([path], settings=settings, say=lambda *_: None).papers == 2
    store = ChunkStore(settings)
    built = store.embedding_model()
    assert (built.name, built.server) == (MODEL_NAME, server.base_url) and built.dim > 384
    stored = store.chunks(ids=sorted(store.chunk_hashes()))
    assert [store.nearest(v, 1)[0].chunk_id for v in stored.embeddings] == stored.ids
