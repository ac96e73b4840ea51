"""Embeddings from an OpenAI-compatible server (issue 16), through the real `openai` client against a
fake server with behaviour on 127.0.0.1: order, batching, requests in flight, retries on 429/5xx and
dropped connections, and one `EmbeddingError` line naming the fix for everything else."""

from __future__ import annotations

import numpy as np
import pytest
from fake_embeddings import FakeEmbeddings, bag_of_words, fake_embeddings  # noqa: F401  (a fixture)
from netutil import free_port

from rag.embeddings import MODEL_ID, CachedEmbedder, EmbeddingCache, embedder_for, text_key
from rag.errors import EmbeddingError
from rag.remote_embeddings import OpenAIEmbedder
from rag.settings import Settings

TEXTS = [f"paper {i} about sparse attention and {'long ' * (i % 5)}contexts" for i in range(37)]


def embedder(url: str, **kwargs) -> OpenAIEmbedder:
    kwargs = {"batch_size": 8, "concurrency": 4, "timeout": 10.0, "max_retries": 3, "backoff_base": 0.01, **kwargs}
    return OpenAIEmbedder(url, "fake-embed", **kwargs)


def test_vectors_come_back_in_input_order_unit_length_in_batches(fake_embeddings):
    vecs = embedder(fake_embeddings.base_url).embed(TEXTS)
    expected = np.array([bag_of_words(t, 64) for t in TEXTS], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(vecs, expected, atol=1e-6)
    # requests in flight at once reach the server in any order: the batches, not their order, are fixed
    assert sorted(len(r["input"]) for r in fake_embeddings.requests) == [5, 8, 8, 8, 8]
    assert sorted(t for r in fake_embeddings.requests for t in r["input"]) == sorted(TEXTS)
    assert {r["model"] for r in fake_embeddings.requests} == {"fake-embed"}


def test_base64_is_asked_for_and_a_server_that_sends_floats_is_understood_too():
    results = []
    for b64 in (True, False):
        with FakeEmbeddings(base64=b64) as fake:
            results.append(embedder(fake.base_url).embed(TEXTS[:3]))
            assert fake.requests[0]["encoding_format"] == "base64"
    assert np.allclose(results[0], results[1], atol=1e-6)


def test_several_requests_are_in_flight_at_once(fake_embeddings):
    fake_embeddings.service_time(0.2)
    seen = []
    embedder(fake_embeddings.base_url, concurrency=4).embed(TEXTS, progress=seen.append)
    assert fake_embeddings.max_in_flight == 4 and sum(seen) == len(TEXTS)


def test_two_calls_at_once_share_one_pool_of_requests(fake_embeddings):
    from concurrent.futures import ThreadPoolExecutor

    fake_embeddings.service_time(0.1)
    model = embedder(fake_embeddings.base_url, concurrency=3)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(model.embed, [TEXTS, TEXTS[::-1]]))
    assert fake_embeddings.max_in_flight == 3


@pytest.mark.parametrize("status", [429, 500, 503])
def test_429_and_5xx_are_retried(fake_embeddings, status):
    fake_embeddings.fail_next(2, status=status)
    assert embedder(fake_embeddings.base_url).embed(TEXTS[:3]).shape == (3, 64)
    assert len(fake_embeddings.requests) == 3


def test_a_dropped_connection_is_retried(fake_embeddings):
    fake_embeddings.drop_next()
    assert embedder(fake_embeddings.base_url).embed(TEXTS[:2]).shape == (2, 64)


def test_a_server_that_keeps_failing_is_one_line_naming_the_fix(fake_embeddings):
    fake_embeddings.fail_next(10, status=500)
    with pytest.raises(EmbeddingError, match=r"^the embedding server at http://127.0.0.1:\d+/v1 kept failing \(500\) "
                                             r"after 2 retries; try again later .*RAG_EMBED_MAX_RETRIES$"):
        embedder(fake_embeddings.base_url, max_retries=2).embed(TEXTS[:2])


def test_an_unreachable_server_says_start_it_or_fix_the_url():
    with pytest.raises(EmbeddingError, match=r"cannot reach the embedding server at http://127.0.0.1:\d+/v1 "
                                             r"\(\w+\); start it, or fix RAG_EMBED_BASE_URL"):
        embedder(f"http://127.0.0.1:{free_port()}/v1", max_retries=1).embed(["x"])


def test_a_slow_server_times_out_naming_the_setting(fake_embeddings):
    fake_embeddings.slow_next(3.0)
    with pytest.raises(EmbeddingError, match=r"did not embed 1 texts within 0.5s; .*raise RAG_EMBED_TIMEOUT"):
        embedder(fake_embeddings.base_url, timeout=0.5).embed(["x"])


def test_vectors_of_the_wrong_size_are_refused(fake_embeddings):
    model = embedder(fake_embeddings.base_url, dim=64)
    fake_embeddings.wrong_dim_next(32)
    with pytest.raises(EmbeddingError, match=r"returned vectors of 32 dimensions, but fake-embed's are 64"):
        model.embed(["x"])


def test_the_first_answer_sets_the_dimension_the_rest_must_keep(fake_embeddings):
    model = embedder(fake_embeddings.base_url, concurrency=1)
    assert model.probe().dim == 64
    fake_embeddings.wrong_dim_next(65)
    with pytest.raises(EmbeddingError, match="65 dimensions"):
        model.embed(["y"])


@pytest.mark.parametrize("script,message", [
    (lambda f: f.raw_next("<html>502 Bad Gateway</html>"), r"sent something that is not an OpenAI embeddings "
                                                           r"response \('<html>502 Bad Gateway</html>'\)"),
    (lambda f: f.fail_next(1, status=401), r"rejected the API key \(401\); set RAG_EMBED_API_KEY"),
    (lambda f: f.fail_next(1, status=400), r"refused the request \(400: fake failure 400\); check RAG_EMBED_MODEL"),
])
def test_other_failures_are_one_line_naming_the_fix(fake_embeddings, script, message):
    script(fake_embeddings)
    with pytest.raises(EmbeddingError, match=message):
        embedder(fake_embeddings.base_url).embed(["x"])


def test_an_unknown_model_names_the_setting():
    with FakeEmbeddings(models=["nomic-embed-text"]) as fake:
        with pytest.raises(EmbeddingError, match=r"has no model 'fake-embed' .*set RAG_EMBED_MODEL"):
            embedder(fake.base_url).embed(["x"])


def test_a_failure_part_way_keeps_the_vectors_that_arrived_in_the_cache(fake_embeddings, tmp_path):
    model = embedder(fake_embeddings.base_url, concurrency=1, max_retries=0)
    cached = CachedEmbedder(model, EmbeddingCache(tmp_path / "c.sqlite"))
    fake_embeddings.fail_after(2, status=503)
    with pytest.raises(EmbeddingError):
        cached.embed(TEXTS)
    first = list(fake_embeddings.texts)  # the two answered, and any request already under way
    assert 16 <= len(first) < len(TEXTS)
    fake_embeddings.texts.clear()
    cached.embed(TEXTS)
    assert sorted(fake_embeddings.texts + first) == sorted(TEXTS)  # only what was missing


def test_the_cache_keys_each_model_apart_and_keeps_minilm_keys_as_they_were(fake_embeddings, tmp_path):
    import hashlib

    assert text_key(MODEL_ID, "abc") == hashlib.sha256(f"{MODEL_ID}\x00abc".encode()).hexdigest()
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    cache.put_many({text_key(MODEL_ID, "abc"): np.ones(384, dtype=np.float32)})
    remote = CachedEmbedder(embedder(fake_embeddings.base_url), cache)
    assert remote.embed(["abc"]).shape == (1, 64) and fake_embeddings.texts == ["abc"]


def test_settings_pick_the_server_and_its_key(fake_embeddings, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    model = embedder_for(Settings(embed_base_url=fake_embeddings.base_url + "/", embed_model="e5",
                                  llm_api_key="llm-key", embed_concurrency=2))
    assert (model.model, model.concurrency, model.base_url) == ("e5", 2, fake_embeddings.base_url)
    assert model._client.api_key == "llm-key"
    assert embedder_for(Settings(embed_base_url=fake_embeddings.base_url, embed_model="e5",
                                 llm_api_key="llm-key", embed_concurrency=2)) is model
