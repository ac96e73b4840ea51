"""Embeddings from any server that speaks the OpenAI `/v1/embeddings` protocol (OpenAI, vLLM, Ollama,
llama.cpp with embeddings on, Hugging Face TEI), through `openai`'s client.

    embedder = OpenAIEmbedder("http://127.0.0.1:8080/v1", "nomic-embed-text", batch_size=32, concurrency=4)
    vectors = embedder.embed(texts)        # float32 (n, dim), unit length, in the input order
    embedder.info                          # ModelInfo(name, server, dim): what the store records

Texts go in requests of `batch_size`, `concurrency` of them in flight. The pool of requests is the
embedder's, shared by every call, so two calls at once (an ingest embedding its next batch while it
stores the last) keep the server exactly that busy. Each request has its own time budget
(`rag.llm_budget.Budget`, the chat model's machinery): `timeout` s in all, retries and their waits
included; the retries are the openai client's own, on 429, 5xx and dropped connections, with backoff.
Every answer is checked: one vector per text, each of the expected dimension (the store's, or else
the first answer's), then L2-normalised (servers differ). Failures are `EmbeddingError`, one line
naming the server and the fix; its `done` holds the vectors of the call that did arrive. This module
does not cache vectors (`rag.embeddings.CachedEmbedder`) or check a store (`rag.store`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import numpy as np
import openai
from openai.types import CreateEmbeddingResponse

from rag.chunking import InputLimit, token_limit
from rag.embeddings import ModelInfo
from rag.errors import EmbeddingError
from rag.llm_budget import Budget, OutOfTime, RetryingClient, head, watched_http_client

_MALFORMED = (ValueError, AttributeError, TypeError, IndexError, KeyError)
_RESUMES = "rag ingest again resumes where it stopped"


class OpenAIEmbedder:
    """A model behind an OpenAI-compatible embeddings server. Thread-safe. `dim` None: learnt from
    the first answer (or set from the store's record before). `clock` and `sleep` are for tests."""

    def __init__(self, base_url: str | None, model: str, api_key: str | None = None, *, batch_size: int = 8,
                 concurrency: int = 4, timeout: float = 60.0, max_retries: int = 3, dim: int | None = None,
                 max_tokens: int = 512, backoff_base: float = 0.5,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.model, self.batch_size, self.concurrency, self.dim = model, batch_size, concurrency, dim
        self.model_id = f"openai:{model}"  # the cache's key: never the bundled model's
        self.input_limit: InputLimit = token_limit(max_tokens)
        # what `Budget` reads: one request's time in all (no tokens to wait between), its clock and sleep
        self.timeout = self.deadline = timeout
        self.backoff_base, self.clock, self.sleep = backoff_base, clock, sleep
        self.progress: Callable[[str], None] | None = None  # hears "retrying in ..."; None: the log
        self._client = RetryingClient(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout,
                                      max_retries=max_retries, http_client=watched_http_client())
        self.base_url = str(self._client.base_url).rstrip("/")
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="rag-embed")
        self._dim_lock = threading.Lock()

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(self.model, self.base_url, self.dim)

    def probe(self) -> ModelInfo:
        """One small request, before any file is read: the server answers, with vectors of the expected
        dimension (when one is set), else says what its dimension is."""
        self.embed_query("dimension probe")
        return self.info

    def embed(self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed `texts`, `batch_size` to a request, `concurrency` requests in flight."""
        texts = list(texts)
        starts = range(0, len(texts), self.batch_size)
        futures = {self._pool.submit(self._request, texts[i : i + self.batch_size]): i for i in starts}
        done: dict[int, np.ndarray] = {}
        pending, failed = set(futures), None
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                if future.cancelled():
                    continue
                if future.exception() is not None:
                    failed = failed or future.exception()
                    continue
                vecs = future.result()
                done.update((futures[future] + j, v) for j, v in enumerate(vecs))
                if progress:
                    progress(len(vecs))
            if failed is not None:  # send nothing more; keep what the requests under way bring back
                for future in pending:
                    future.cancel()
        if failed is not None:
            if isinstance(failed, EmbeddingError):
                failed.done = done
            raise failed
        return np.stack([done[i] for i in range(len(texts))]) if texts else np.zeros((0, self.dim or 0), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._request([text])[0]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _request(self, texts: list[str]) -> np.ndarray:
        """One request's vectors, retries included, checked and normalised."""
        budget = Budget(self)
        try:
            with budget.running():
                raw = self._client.embeddings.with_raw_response.create(  # base64 asked, floats taken too, as
                    model=self.model, input=[t or " " for t in texts])   # the client does (far less JSON)
        except (openai.APIError, OutOfTime) as exc:
            raise self._error(exc, budget, len(texts)) from exc
        try:
            resp = raw.parse()
            if not isinstance(resp, CreateEmbeddingResponse):  # the client hands back the text of a non-JSON body
                raise TypeError(type(resp).__name__)
            rows = sorted(resp.data, key=lambda d: d.index)
            vecs = np.asarray([d.embedding for d in rows], dtype=np.float32)
        except _MALFORMED as exc:
            sample = " ".join(head(raw.http_response).decode("utf-8", "replace").split())[:80]
            raise EmbeddingError(f"the embedding server at {self.base_url} sent something that is not an OpenAI "
                                 f"embeddings response ({sample!r}); check that RAG_EMBED_BASE_URL is its "
                                 "OpenAI-compatible endpoint (usually ending in /v1)") from exc
        return self._checked(vecs, len(texts))

    def _checked(self, vecs: np.ndarray, n: int) -> np.ndarray:
        if vecs.ndim != 2 or vecs.shape[0] != n:
            raise EmbeddingError(f"the embedding server at {self.base_url} returned {len(vecs)} vectors for {n} texts; "
                                 "check that it serves an embedding model (llama.cpp: start it with --embeddings)")
        with self._dim_lock:
            self.dim = self.dim or vecs.shape[1]
        if vecs.shape[1] != self.dim:
            raise EmbeddingError(f"the embedding server at {self.base_url} returned vectors of {vecs.shape[1]} "
                                 f"dimensions, but {self.model}'s are {self.dim} (the store's, or its first "
                                 "answer's); point RAG_EMBED_BASE_URL/RAG_EMBED_MODEL at the model that built "
                                 "the store, or ingest into a new collection (RAG_COLLECTION)")
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-12)

    def _error(self, exc: openai.APIError | OutOfTime, budget: Budget, n: int) -> EmbeddingError:
        """The one-line `EmbeddingError` for a request the client (or its budget) gave up on."""
        url, retries = self.base_url, budget.retries
        after = f" after {retries} retries" if retries else ""
        if isinstance(exc, OutOfTime) and exc.delay is not None:
            if not exc.status:
                return self._unreachable(exc.error)
            what = f"asked to retry after {exc.delay:g}s" if exc.asked else f"kept failing{after}"
            return EmbeddingError(f"the embedding server at {url} {what} ({exc.status}), past the {self.timeout:g}s "
                                  f"a request may take; try again later ({_RESUMES}), or raise RAG_EMBED_TIMEOUT")
        if isinstance(exc, OutOfTime | openai.APITimeoutError):
            return EmbeddingError(f"the embedding server at {url} did not embed {n} texts within {self.timeout:g}s"
                                  f"{after}; check it, or raise RAG_EMBED_TIMEOUT or lower RAG_EMBED_BATCH_SIZE")
        if isinstance(exc, openai.APIConnectionError):
            return self._unreachable(exc.__cause__ or exc)
        status = getattr(exc, "status_code", 0) or 0
        detail = exc.body.get("message") if isinstance(exc.body, dict) else None
        detail = " ".join(str(detail or exc.message).split())[:120]
        if status in (401, 403):
            return EmbeddingError(f"the embedding server at {url} rejected the API key ({status}); set "
                                  "RAG_EMBED_API_KEY (or OPENAI_API_KEY)")
        if status == 404:
            return EmbeddingError(f"the embedding server at {url} has no model {self.model!r} or no embeddings "
                                  f"route (404: {detail}); set RAG_EMBED_MODEL to a model it serves, and "
                                  "RAG_EMBED_BASE_URL to its OpenAI endpoint (usually ending in /v1)")
        if status == 429 or status >= 500:
            return EmbeddingError(f"the embedding server at {url} kept failing ({status}){after}; try again "
                                  f"later ({_RESUMES}), or raise RAG_EMBED_MAX_RETRIES")
        return EmbeddingError(f"the embedding server at {url} refused the request ({status}: {detail}); check "
                              "RAG_EMBED_MODEL, or lower RAG_EMBED_MAX_TOKENS if a text is too long for it")

    def _unreachable(self, cause: BaseException | None) -> EmbeddingError:
        why = type(cause).__name__ if cause is not None else "no answer"
        return EmbeddingError(f"cannot reach the embedding server at {self.base_url} ({why}); start it, or fix "
                              f"RAG_EMBED_BASE_URL (unset it for the bundled MiniLM); {_RESUMES}")


_SHARED: dict[tuple, OpenAIEmbedder] = {}
_SHARED_LOCK = threading.Lock()


def shared_embedder(settings) -> OpenAIEmbedder:
    """One embedder (and one pool of requests) per process and server settings."""
    key_setting = settings.embed_api_key or settings.llm_api_key
    api_key = key_setting.get_secret_value() if key_setting else os.environ.get("OPENAI_API_KEY")
    url = settings.embed_base_url.rstrip("/")
    key = (url, settings.embed_model, api_key, settings.embed_batch_size,
           settings.embed_concurrency, settings.embed_timeout, settings.embed_max_retries, settings.embed_max_tokens)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = OpenAIEmbedder(url, settings.embed_model, api_key,
                                          batch_size=settings.embed_batch_size,
                                          concurrency=settings.embed_concurrency, timeout=settings.embed_timeout,
                                          max_retries=settings.embed_max_retries,
                                          max_tokens=settings.embed_max_tokens)
        return _SHARED[key]
