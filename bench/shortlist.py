"""Dense search at 75,000 papers: can a PCA shortlist replace the full exact scan, and how much does it cost?

    RAG_DATA_DIR=/work/store74k .venv/bin/python bench/shortlist.py eval/datasets/seeds.jsonl \
        eval/datasets/arxiv200.jsonl eval/datasets/arxiv200b.jsonl

Reads the store's chunk-vector matrix as the dense search does (`Retriever.matrix`, `rag.vectors`),
fits a PCA basis on 20,000 random rows, projects every row to k dimensions, and for each question
of the files (embedded with the store's model) compares the shipped exact search (every row
scored, top 50 chunks) with a shortlist: the projected rows scored, the best N kept, those N
rescored exactly, top 50. Reported per (k, N): the mean and worst share of the exact top 50 that
the shortlist finds, and the p50 / p95 milliseconds of each (numpy, one question at a time).
Not measured: paper rankings or recall (the overlap of chunk lists bounds their change), filters.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np


def main() -> None:
    from rag.eval.datasets import load_questions
    from rag.retrieval import Retriever
    from rag.settings import load_settings

    retriever = Retriever(load_settings())
    matrix = retriever.matrix()  # the store's own matrix, as the dense search reads it
    if matrix is None:
        raise SystemExit("no chunk matrix: the store is empty or over RAG_EXACT_LIMIT")
    vectors = matrix.vectors
    print(f"matrix: {vectors.shape[0]} chunks x {vectors.shape[1]}", file=sys.stderr)
    rng = np.random.default_rng(0)
    sample = vectors[rng.choice(len(vectors), min(20000, len(vectors)), replace=False)]
    started = time.perf_counter()
    _, s, vt = np.linalg.svd(sample - sample.mean(0), full_matrices=False)
    print(f"PCA fit: {time.perf_counter() - started:.1f}s", file=sys.stderr)
    questions = [q.question for path in sys.argv[1:] for q in load_questions(Path(path)).questions]
    queries = np.array([retriever.embedder.embed_query(q) for q in questions], dtype=np.float32)
    print(f"{'k':>4}{'N':>6}{'kept var':>9}{'overlap':>9}{'worst':>7}{'exact p50/p95 ms':>18}{'shortlist p50/p95 ms':>22}")
    for k in (64, 96, 128):
        basis = np.ascontiguousarray(vt[:k].T.astype(np.float32))
        projected = np.ascontiguousarray(vectors @ basis)
        kept = float((s[:k] ** 2).sum() / (s ** 2).sum())
        for n in (1000, 2000, 4000):
            overlap, exact_ms, short_ms = [], [], []
            for q in queries:
                t = time.perf_counter()
                sims = vectors @ q
                exact = np.argpartition(-sims, 49)[:50]
                exact_ms.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                coarse = projected @ (q @ basis)
                cand = np.argpartition(-coarse, n - 1)[:n]
                short = cand[np.argpartition(-(vectors[cand] @ q), 49)[:50]]
                short_ms.append((time.perf_counter() - t) * 1000)
                overlap.append(len(set(exact.tolist()) & set(short.tolist())) / 50)
            print(f"{k:4}{n:6}{kept:9.3f}{np.mean(overlap):9.4f}{min(overlap):7.2f}"
                  f"{np.median(exact_ms):9.1f}/{np.percentile(exact_ms, 95):<8.1f}"
                  f"{np.median(short_ms):12.1f}/{np.percentile(short_ms, 95):<8.1f}")


if __name__ == "__main__":
    main()
