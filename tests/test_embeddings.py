import numpy as np
import pytest

from rag.embeddings import DIM, CachedEmbedder, EmbeddingCache, get_embedder, llama_index_embedding
from rag.errors import ConfigError


@pytest.fixture(scope="module")
def model():
    return get_embedder()


def test_vectors_are_unit_length_and_ordered(model):
    texts = ["a short text", "x " * 600, "Griffin mixes gated linear recurrences with local attention."]
    vecs = model.embed(texts)
    assert vecs.shape == (3, DIM)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert np.allclose(vecs[2], model.embed_query(texts[2]), atol=1e-5)


def test_related_texts_are_closer_than_unrelated(model):
    q = model.embed_query("recurrent language model with local attention")
    near, far = model.embed(["Griffin: gated linear recurrences with local attention for language models",
                             "A custom simulator for multi-robot navigation with deep reinforcement learning"])
    assert q @ near > q @ far + 0.1


class CountingEmbedder:
    """A fake with behaviour: predictable vectors, and it counts what it was asked to embed."""

    model_id = "counting"

    def __init__(self):
        self.seen = []

    def embed(self, texts, progress=None):
        self.seen.extend(texts)
        return np.array([[len(t), 1.0] + [0.0] * (DIM - 2) for t in texts], dtype=np.float32)


def test_cache_never_embeds_the_same_text_twice(tmp_path):
    fake = CountingEmbedder()
    cached = CachedEmbedder(fake, EmbeddingCache(tmp_path / "c.sqlite"))
    first = cached.embed(["alpha", "beta"])
    second = cached.embed(["beta", "gamma", "alpha"])
    assert fake.seen == ["alpha", "beta", "gamma"]
    assert np.array_equal(second[0], first[1]) and np.array_equal(second[2], first[0])
    assert (cached.hits, cached.misses) == (2, 3)


def test_cache_survives_reopening(tmp_path):
    EmbeddingCache(tmp_path / "c.sqlite").put_many({"k": np.ones(DIM, dtype=np.float32)})
    assert EmbeddingCache(tmp_path / "c.sqlite").get_many(["k", "missing"]).keys() == {"k"}


def test_unknown_model_is_a_config_error():
    with pytest.raises(ConfigError, match="RAG_EMBED_MODEL"):
        get_embedder("bge-large")


def test_llama_index_adapter_matches_the_model(model):
    adapter = llama_index_embedding(model)
    assert np.allclose(adapter.get_query_embedding("plasticity"), model.embed_query("plasticity"), atol=1e-5)
