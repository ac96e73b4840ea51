"""Every chunk vector of a store in one matrix, for exact dense search in memory.

    matrix = ChunkMatrix.load(settings, store, chunk_ids, digest)   # None when the store is too big for it
    matrix.nearest(question_vector, 50, allowed)          # [(chunk id, paper id, cosine)], best first
    matrix.paper_sims(question_vector, paper_ids)          # (paper ids, cosines), one row per chunk

Chroma's HNSW query is approximate, and slow when a metadata filter allows many papers (0.4-3 s
for "listed in 2025" at 162,077 chunks, BENCHMARKS.md). A matrix product of the question with
every chunk vector is exact, and as fast with a filter as without: the rows of the papers a filter
leaves out are skipped by a mask. 162,077 x 384 float32 vectors are 250 MB.

The matrix is read from Chroma once (by chunk id, the committed chunks the state lists) and saved
under `data_dir/cache/vectors/` keyed by the state digest, so later processes read the file instead
of Chroma. A store whose state changed (an ingest ran) gets a new file; the old one is removed.
This module only reads and ranks chunk vectors; `rag.retrieval` decides when to use it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

FETCH_BATCH = 2000  # chunk ids per Chroma read when the matrix is built


def vector_file(settings, digest: str) -> Path:
    """Where the matrix of the store whose state has `digest` is saved."""
    return settings.cache_dir / "vectors" / f"{settings.collection}@{digest}.npz"


def dense_search(settings, chunks: int, digest: str) -> str:
    """How dense search runs on a store of `chunks` chunks, in words (`rag doctor` says it)."""
    if chunks > settings.exact_limit:
        return f"dense search by Chroma's HNSW query (over RAG_EXACT_LIMIT={settings.exact_limit:,} chunks)"
    saved = "saved" if vector_file(settings, digest).is_file() else "read from Chroma on the first question, then saved"
    return f"dense search exact in memory (vectors {saved})"


class ChunkMatrix:
    """Chunk ids, their papers and their normalised vectors (row i = chunk i), read-only."""

    def __init__(self, ids: np.ndarray, paper_ids: np.ndarray, vectors: np.ndarray) -> None:
        self.ids, self.vectors = ids, vectors
        self.papers, self.row_paper = np.unique(paper_ids, return_inverse=True)  # sorted paper ids; row -> index
        self._index = {str(p): i for i, p in enumerate(self.papers)}
        order = np.argsort(self.row_paper, kind="stable")
        self._rows = np.split(order, np.cumsum(np.bincount(self.row_paper, minlength=len(self.papers)))[:-1])

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def load(cls, settings, store, chunk_ids: dict[str, list[str]], digest: str) -> ChunkMatrix | None:
        """The matrix of the store whose state has `digest` and lists `chunk_ids` (paper id -> its
        chunk ids): from its cache file, or read from Chroma and saved. None when the store holds
        more chunks than `exact_limit`, or none of those listed."""
        wanted = [(cid, pid) for pid, cids in chunk_ids.items() for cid in cids]
        if not wanted or len(wanted) > settings.exact_limit:
            return None
        path = vector_file(settings, digest)
        try:
            with np.load(path, allow_pickle=False) as saved:
                return cls(saved["ids"], saved["paper_ids"], saved["vectors"])
        except (OSError, ValueError, KeyError):
            pass
        matrix = cls.read(store, wanted)
        if not len(matrix):  # Chroma holds none of the chunks the state lists: let it answer itself
            return None
        try:
            matrix.save(path)
        except OSError:  # a read-only data dir: keep it in memory only
            pass
        return matrix

    @classmethod
    def read(cls, store, wanted: list[tuple[str, str]]) -> ChunkMatrix:
        """The vectors of these (chunk id, paper id) pairs, read from the store by id."""
        ids, papers, parts = [], [], []
        paper_of = dict(wanted)
        for start in range(0, len(wanted), FETCH_BATCH):
            batch = [cid for cid, _ in wanted[start : start + FETCH_BATCH]]
            found, vectors = store.vectors(batch)
            ids += found
            papers += [paper_of[cid] for cid in found]
            parts.append(vectors)
        vectors = np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
        return cls(np.array(ids, dtype=str), np.array(papers, dtype=str), np.ascontiguousarray(vectors, np.float32))

    def save(self, path: Path) -> None:
        """Write to `path` atomically (a temporary file renamed), and remove older matrices of the
        same collection."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, ids=self.ids, paper_ids=self.papers[self.row_paper], vectors=self.vectors)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        collection = path.name.split("@", 1)[0]
        for old in path.parent.glob(f"{collection}@*.npz"):
            if old != path:
                old.unlink(missing_ok=True)

    def _allowed_rows(self, allowed: set[str] | None) -> np.ndarray | None:
        """A mask over rows for the papers `allowed` (None: every row)."""
        if allowed is None:
            return None
        keep = np.zeros(len(self.papers), dtype=bool)
        keep[[i for p in allowed if (i := self._index.get(p)) is not None]] = True
        return keep[self.row_paper]

    def nearest(self, query_vector: np.ndarray, n: int, allowed: set[str] | None = None) -> list[tuple[str, str, float]]:
        """The `n` chunks most similar to the question (exact cosine; vectors are normalised), best
        first, among the chunks of the `allowed` papers (None = all)."""
        if not len(self.ids) or n <= 0:
            return []
        sims = self.vectors @ np.asarray(query_vector, dtype=np.float32)
        mask = self._allowed_rows(allowed)
        if mask is not None:
            sims = np.where(mask, sims, -np.inf)
        n = min(n, len(sims))
        top = np.argpartition(-sims, n - 1)[:n]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(str(self.ids[i]), str(self.papers[self.row_paper[i]]), float(sims[i])) for i in top
                if sims[i] > -np.inf]

    def paper_sims(self, query_vector: np.ndarray, paper_ids: list[str]) -> tuple[list[str], list[str], np.ndarray]:
        """The chunks of these papers: (chunk ids, paper ids, cosine with the question), a row each."""
        rows = [self._rows[i] for p in paper_ids if (i := self._index.get(p)) is not None]
        rows = np.concatenate(rows) if rows else np.zeros(0, dtype=int)
        sims = self.vectors[rows] @ np.asarray(query_vector, dtype=np.float32)
        return [str(self.ids[i]) for i in rows], [str(self.papers[self.row_paper[i]]) for i in rows], sims
