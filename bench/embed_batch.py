"""Embedding throughput by batch size: the evidence for the RAG_EMBED_BATCH_SIZE default.

Embeds the same 256 chunk texts (the first arXiv records, chunked as `rag ingest` does) with each
batch size, after a warm-up, one run each, and prints texts/s. Model load is not timed.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
ARXIV = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv_cs_daily.jsonl.gz"


def main() -> None:
    from rag.chunking import chunk_record
    from rag.embeddings import MiniLMEmbedder
    from rag.records import Record

    texts: list[str] = []
    with gzip.open(ARXIV, "rt") as f:
        for line in f:
            d = json.loads(line)
            record = Record(title=d["title"], authors=d["authors"], date=d["listing_date"], abstract=d["abstract"])
            texts += [c.embed_text for c in chunk_record(record)]
            if len(texts) >= 256:
                break
    texts = texts[:256]
    print("| batch size | texts/s |\n|---:|---:|")
    for size in (1, 4, 8, 16, 32, 64):
        model = MiniLMEmbedder(batch_size=size)
        model.embed(texts[:8])
        started = time.perf_counter()
        model.embed(texts)
        print(f"| {size} | {len(texts) / (time.perf_counter() - started):.1f} |")


if __name__ == "__main__":
    main()
