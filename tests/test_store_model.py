"""The store remembers its embedding model (issue 16): recorded at the first write, shown by `rag stats`
and `rag doctor`, and a different model is refused for ingesting and querying, naming the fix. A store
written before models were recorded holds MiniLM's vectors. Real Chroma, the fake embeddings server."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fake_embeddings import fake_embeddings  # noqa: F401  (a fixture)

from rag.chunking import chunk_record, token_limit
from rag.cli import main
from rag.embeddings import DIM, MINILM, get_embedder
from rag.errors import EmbeddingError
from rag.ingest import ingest
from rag.records import Record
from rag.retrieval import Retriever
from rag.settings import Settings
from rag.stats import collect
from rag.store import ChunkStore

PAPERS = [{"id": f"p{i}", "title": f"Paper {i} on {topic}", "abstract": f"We study {topic} in depth. " * 3}
          for i, topic in enumerate(["sparse attention", "graph neural networks", "protein folding"])]


def quiet(*_):
    pass


@pytest.fixture
def papers(tmp_path):
    path = tmp_path / "papers.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in PAPERS))
    return path


def remote(fake, **kwargs) -> Settings:
    return Settings(embed_base_url=fake.base_url, embed_model="fake-embed", **kwargs)


def test_an_ingest_records_the_model_server_and_dimension(fake_embeddings, papers):
    settings = remote(fake_embeddings)
    report = ingest([papers], settings=settings, say=quiet)
    built = ChunkStore(settings).embedding_model()
    assert (built.name, built.server, built.dim) == ("fake-embed", fake_embeddings.base_url, 64)
    assert report.embedded == len(fake_embeddings.texts) - 1  # all but the dimension probe
    assert "fake-embed at http://127.0.0.1" in collect(settings)["embedding_model"]


def test_the_store_stays_a_cosine_space_after_the_record(fake_embeddings, papers):
    settings = remote(fake_embeddings)
    ingest([papers], settings=settings, say=quiet)
    store = ChunkStore(settings)
    stored = store.chunks(ids=sorted(store.chunk_hashes())[:1])
    assert store.nearest(stored.embeddings[0], 1)[0].cosine == pytest.approx(1.0, abs=1e-5)


def test_querying_with_another_model_is_refused_naming_the_fix(fake_embeddings, papers):
    ingest([papers], settings=remote(fake_embeddings), say=quiet)
    with pytest.raises(EmbeddingError, match=r"was built with fake-embed at http://127.0.0.1:\d+/v1, 64 dims, not "
                                             r"the bundled all-MiniLM-L6-v2-int8-onnx, 384 dims; point RAG_EMBED_MODEL"):
        Retriever(Settings())


def test_ingesting_with_another_model_is_refused_and_a_new_collection_works(fake_embeddings, papers):
    ingest([papers], settings=remote(fake_embeddings), say=quiet)
    with pytest.raises(EmbeddingError, match="ingest into a new collection: RAG_COLLECTION=NAME rag ingest PATH"):
        ingest([papers], settings=Settings(), say=quiet)
    assert ingest([papers], settings=Settings(collection="minilm"), say=quiet).papers == 3
    assert ChunkStore(Settings(collection="minilm")).embedding_model() == MINILM


def test_the_same_model_at_another_server_is_the_same_store(fake_embeddings, papers):
    from fake_embeddings import FakeEmbeddings

    ingest([papers], settings=remote(fake_embeddings), say=quiet)
    with FakeEmbeddings() as elsewhere:
        report = ingest([papers], settings=remote(elsewhere), say=quiet)
        assert report.papers == 3 and report.embedded == 0  # the cache is keyed by the model, not the server
        assert ChunkStore(remote(elsewhere)).embedding_model().server == fake_embeddings.base_url  # its vectors'


def test_a_model_that_changed_its_dimension_under_the_same_name_is_refused(papers):
    from fake_embeddings import FakeEmbeddings

    with FakeEmbeddings(dim=64) as fake:
        ingest([papers], settings=remote(fake), say=quiet)
    with FakeEmbeddings(dim=32) as fake:
        with pytest.raises(EmbeddingError, match="returned vectors of 32 dimensions, but fake-embed's are 64"):
            ingest([papers], settings=remote(fake), say=quiet)


def test_a_store_written_before_models_were_recorded_holds_minilm(fake_embeddings, papers):
    settings = Settings()
    store = ChunkStore(settings, check_model=False)
    chunks = chunk_record(Record.from_dict(PAPERS[0]))
    store.upsert(chunks, get_embedder().embed([c.embed_text for c in chunks]))  # as older versions wrote it
    assert not (store.collection.metadata or {}).get("rag_embed_model")
    assert ChunkStore(settings).embedding_model() == MINILM
    with pytest.raises(EmbeddingError, match="built with the bundled all-MiniLM-L6-v2-int8-onnx"):
        ChunkStore(remote(fake_embeddings))


def test_an_empty_store_takes_any_model(fake_embeddings):
    assert ChunkStore(remote(fake_embeddings)).embedding_model() is None
    assert ChunkStore(Settings()).embedding_model() is None


def test_doctor_and_stats_name_the_model_that_built_the_store(fake_embeddings, papers):
    from rag.doctor import _store

    ingest([papers], settings=remote(fake_embeddings), say=quiet)
    assert "built with fake-embed at" in _store(remote(fake_embeddings)).detail
    check = _store(Settings())
    assert check.status == "fail" and "but the settings ask for the bundled" in check.detail
    assert "RAG_COLLECTION=NAME" in check.fix
    assert "not the store's" in collect(Settings())["embedding_model_in_settings"]


def test_rag_ingest_against_a_dead_server_is_one_error_line(papers, monkeypatch):
    from netutil import free_port

    monkeypatch.setenv("RAG_EMBED_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("RAG_EMBED_MAX_RETRIES", "0")
    result = CliRunner().invoke(main, ["ingest", str(papers)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        line for line in result.output.strip().splitlines() if line.startswith("error: cannot reach the embedding")]


def test_chunks_fit_a_server_models_own_window():
    record = Record.from_dict({"id": "x", "title": "A title", "abstract": "Word after word, sentence. " * 80})
    limit = token_limit(48)
    chunks = chunk_record(record, chunk_tokens=160, overlap=8, limit=limit)
    assert len(chunks) > 5 and all(n <= 48 for n in limit.count([c.embed_text for c in chunks]))


def test_questions_are_answered_from_a_store_built_by_a_server(fake_embeddings, papers):
    from rag.api import Assistant

    settings = remote(fake_embeddings)
    ingest([papers], settings=settings, say=quiet)
    answer = Assistant(settings).ask("Which paper studies protein folding?")
    assert answer.citations and answer.citations[0].title == "Paper 2 on protein folding"
    stored = ChunkStore(settings).chunks(paper_ids=[answer.citations[0].paper_id])
    assert stored.embeddings.shape == (1, 64) != (1, DIM)
