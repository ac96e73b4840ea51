"""The Chroma vector store: an embedded `PersistentClient` under the data directory, or a `chroma run` server.

Chunks are written as llama-index `TextNode`s in the layout llama-index's `ChromaVectorStore`
reads back (so its retrievers work on this collection), but with `upsert`, never `add`: writing
the same chunk twice leaves one copy. Embeddings are always passed in, so Chroma's own default
embedding function (which downloads a model) is never used. Telemetry is off.

Reads are by vector (`nearest`: the chunks closest to a query, with their cosine similarity) or
by id (`chunks`: stored texts and embeddings, by chunk id or paper id). This module does not decide
what to write (see `rag.ingest`) or how to rank results (see `rag.retrieval`).

The collection remembers its embedding model (`rag.embeddings.ModelInfo`: name, server, dimension)
in its metadata, recorded at the first write; a collection holding chunks but no record was written
by the bundled MiniLM. Opening it with another model (the settings' by default) is refused with
`EmbeddingError`, never a silent mix of vector spaces.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from rag.chunking import Chunk
from rag.embeddings import MINILM, ModelInfo, expected_model
from rag.errors import EmbeddingError, StoreError
from rag.settings import Settings

UPSERT_BATCH = 1000
MODEL_KEYS = ("rag_embed_model", "rag_embed_server", "rag_embed_dim")  # in the collection's metadata


def paper_id_of(chunk_id: str) -> str:
    """The paper a chunk belongs to: `rag.chunking` names chunks "<paper id>#<index>"."""
    return chunk_id.rsplit("#", 1)[0]


class ChunkHit(NamedTuple):
    """One chunk near a query vector."""

    chunk_id: str
    paper_id: str
    text: str
    cosine: float


@dataclass(slots=True)
class StoredChunks:
    """Chunks read back by id: parallel lists, and their embeddings as one float32 matrix (a row each)."""

    ids: list[str]
    paper_ids: list[str]
    texts: list[str]
    embeddings: np.ndarray


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def open_client(settings: Settings):
    """A Chroma client for `settings`: a server when `chroma_host` is set, else a local folder."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb

    if settings.chroma_host:
        try:
            client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=_chroma_settings())
            client.heartbeat()
        except Exception as exc:  # chromadb raises several unrelated types for "not reachable"
            raise StoreError(
                f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} ({exc.__class__.__name__}); "
                f"start it with: chroma run --path DIR --host {settings.chroma_host} --port {settings.chroma_port}, "
                "or unset RAG_CHROMA_HOST to use the embedded store"
            ) from None
        return client
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=_chroma_settings())
    except Exception as exc:
        raise StoreError(f"cannot open the Chroma store in {settings.chroma_dir} ({exc}); "
                         "check the folder, or move it aside and run: rag ingest") from None


class ChunkStore:
    """The chunks of one collection: upsert, delete, count, and a llama-index view for retrieval.
    `check_model`: refuse to open a collection built by another embedding model than the settings'."""

    def __init__(self, settings: Settings, client=None, *, check_model: bool = True) -> None:
        self.settings = settings
        self.client = client or open_client(settings)
        self.collection = self.client.get_or_create_collection(
            settings.collection, embedding_function=None, metadata={"hnsw:space": "cosine"}
        )
        if check_model:
            self.check_model(expected_model(settings))

    def embedding_model(self) -> ModelInfo | None:
        """The model whose vectors this collection holds (None: empty and unclaimed)."""
        meta = self.collection.metadata or {}
        if meta.get(MODEL_KEYS[0]):
            return ModelInfo(meta[MODEL_KEYS[0]], meta.get(MODEL_KEYS[1]) or "", meta.get(MODEL_KEYS[2]) or None)
        return MINILM if self.count() else None  # written before models were recorded: by the bundled MiniLM

    def check_model(self, model: ModelInfo) -> ModelInfo | None:
        """Refuse `model` unless its vectors can be compared with the stored ones; returns the stored model."""
        built = self.embedding_model()
        if built is not None and not built.same_space(model):
            raise EmbeddingError(
                f"the collection {self.settings.collection!r} in {self.location} was built with {built.describe()}, "
                f"not {model.describe()}; point RAG_EMBED_MODEL (and RAG_EMBED_BASE_URL) at the model that built "
                "it, or ingest into a new collection: RAG_COLLECTION=NAME rag ingest PATH")
        return built

    def record_model(self, model: ModelInfo) -> None:
        """Remember `model` (its dimension known) as the one that built this collection, after checking it."""
        if self.check_model(model) == model:
            return
        meta = {k: v for k, v in (self.collection.metadata or {}).items() if not k.startswith("hnsw:")}
        record = {k: v for k, v in zip(MODEL_KEYS, (model.name, model.server, model.dim)) if v is not None}
        self.collection.modify(metadata={**meta, **record})  # hnsw keys may not be re-sent; the space stays cosine

    @property
    def location(self) -> str:
        s = self.settings
        return f"chroma://{s.chroma_host}:{s.chroma_port}/{s.collection}" if s.chroma_host else str(s.chroma_dir)

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Write chunks with their vectors; existing ids are replaced, never duplicated."""
        from llama_index.core.schema import TextNode
        from llama_index.core.vector_stores.utils import node_to_metadata_dict

        for start in range(0, len(chunks), UPSERT_BATCH):
            part = chunks[start : start + UPSERT_BATCH]
            metadatas = []
            for c in part:
                node = TextNode(id_=c.id, text=c.text, metadata={**c.metadata, "chunk_hash": c.hash})
                meta = node_to_metadata_dict(node, remove_text=True, flat_metadata=False)
                meta["document_id"] = c.paper_id
                meta["ref_doc_id"] = c.paper_id
                metadatas.append(meta)
            self.collection.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[start : start + UPSERT_BATCH],
                documents=[c.text for c in part],
                metadatas=metadatas,
            )

    def delete(self, chunk_ids: Sequence[str]) -> None:
        ids = list(chunk_ids)
        for start in range(0, len(ids), UPSERT_BATCH):
            self.collection.delete(ids=ids[start : start + UPSERT_BATCH])

    def count(self) -> int:
        return self.collection.count()

    def nearest(self, query_vector: np.ndarray, n: int, where: dict | None = None) -> list[ChunkHit]:
        """The `n` chunks most similar to `query_vector` (best first) among those `where` allows
        (a Chroma metadata filter; None = all)."""
        res = self.collection.query(query_embeddings=[np.asarray(query_vector).tolist()], n_results=n, where=where,
                                    include=["metadatas", "documents", "distances"])
        return [ChunkHit(cid, _paper_id(cid, meta), doc or "", 1.0 - float(dist))
                for cid, meta, doc, dist in zip(res["ids"][0], res["metadatas"][0], res["documents"][0],
                                                res["distances"][0])]

    def chunks(self, *, ids: Sequence[str] | None = None, paper_ids: Sequence[str] | None = None) -> StoredChunks:
        """The stored chunks with these chunk ids (a key lookup), or else of these papers (a metadata scan)."""
        if ids is not None:
            got = self.collection.get(ids=list(ids), include=["embeddings", "documents", "metadatas"])
        else:
            got = self.collection.get(where={"paper_id": {"$in": list(paper_ids or [])}},
                                      include=["embeddings", "documents", "metadatas"])
        found = got["ids"]
        vectors = np.asarray(got["embeddings"], dtype=np.float32) if found else np.zeros((0, 0), np.float32)
        return StoredChunks(list(found), [_paper_id(cid, meta) for cid, meta in zip(found, got["metadatas"])],
                            [doc or "" for doc in got["documents"]], vectors)

    def vectors(self, ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """The stored embeddings of these chunk ids (a key lookup): the ids found, and a row each."""
        got = self.collection.get(ids=list(ids), include=["embeddings"])
        found = list(got["ids"])
        return found, (np.asarray(got["embeddings"], dtype=np.float32) if found else np.zeros((0, 0), np.float32))

    def texts(self, ids: Sequence[str]) -> dict[str, str]:
        """The stored text of these chunk ids (a key lookup)."""
        got = self.collection.get(ids=list(ids), include=["documents"])
        return {cid: doc or "" for cid, doc in zip(got["ids"], got["documents"])}

    def chunk_hashes(self) -> dict[str, str]:
        """Every chunk id in the collection with the hash of the content it holds."""
        out: dict[str, str] = {}
        offset, page = 0, 5000
        while True:
            got = self.collection.get(include=["metadatas"], limit=page, offset=offset)
            for cid, meta in zip(got["ids"], got["metadatas"]):
                out[cid] = (meta or {}).get("chunk_hash", "")
            if len(got["ids"]) < page:
                return out
            offset += page

    def vector_store(self):
        """This collection as a llama-index `ChromaVectorStore`."""
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.collection)


def _paper_id(chunk_id: str, metadata: dict | None) -> str:
    return (metadata or {}).get("paper_id") or paper_id_of(chunk_id)
