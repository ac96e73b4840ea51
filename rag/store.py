"""The Chroma vector store: an embedded `PersistentClient` under the data directory, or a `chroma run` server.

Chunks are written as llama-index `TextNode`s in the layout llama-index's `ChromaVectorStore`
reads back (so its retrievers work on this collection), but with `upsert`, never `add`: writing
the same chunk twice leaves one copy. Embeddings are always passed in, so Chroma's own default
embedding function (which downloads a model) is never used. Telemetry is off.

This module does not decide what to write (see `rag.ingest`) or how to rank results.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from rag.chunking import Chunk
from rag.errors import StoreError
from rag.settings import Settings

UPSERT_BATCH = 1000


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
    """The chunks of one collection: upsert, delete, count, and a llama-index view for retrieval."""

    def __init__(self, settings: Settings, client=None) -> None:
        self.settings = settings
        self.client = client or open_client(settings)
        self.collection = self.client.get_or_create_collection(
            settings.collection, embedding_function=None, metadata={"hnsw:space": "cosine"}
        )

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
