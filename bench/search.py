"""Search-time benchmark: `Assistant.search` (rag search) against the retrieval it is built on.

    .venv/bin/python bench/search.py DATA_DIR [DATA_DIR ...] [--limit 10] [--json out.json]

For each store (built by `rag ingest`), over the questions of bench/answer.py (the seed questions
and up to 100 paper titles), one query at a time after 3 warm-up queries:
  - retrieval: `Retriever.search(q, top_k=limit)` alone;
  - search, cold: `Assistant.search(q, limit=limit)` with an empty embedding cache, so every listed
    paper's abstract sentences are embedded the first time it is listed (the worst case);
  - search, warm: the same queries again, those sentence vectors now in the cache.
Reports p50 / p95 / max ms, the sentences embedded, and how busy the machine was (the cores other
processes used meanwhile, from /proc/stat). The store is only read; the cold cache is a temporary file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from answer import percentile, questions_for, time_calls  # noqa: E402  (bench/answer.py)
from ingest import Clock  # noqa: E402  (bench/ingest.py)


def _summary(times: list[float]) -> dict:
    return {"p50": round(percentile(times, .5), 1), "p95": round(percentile(times, .95), 1), "max": round(max(times), 1)}


def bench_store(data_dir: Path, limit: int) -> dict:
    from rag.api import Assistant
    from rag.embeddings import CachedEmbedder, EmbeddingCache
    from rag.settings import Settings

    assistant = Assistant(Settings(data_dir=data_dir, backend="extractive"))
    questions = questions_for(list(assistant.retriever.catalog.papers.values()))
    out = {"data_dir": str(data_dir), "papers": len(assistant.retriever.catalog.papers), "questions": len(questions)}
    with Clock() as clock:
        times, _ = time_calls(lambda q: assistant.retriever.search(q, top_k=limit), questions)
    out["retrieval"] = {**_summary(times), "other_cores": round(clock.others, 2)}
    with tempfile.TemporaryDirectory() as tmp:
        cached = CachedEmbedder(assistant.retriever.embedder, EmbeddingCache(Path(tmp) / "embeddings.sqlite"))
        assistant.chain.embed = cached.embed
        for phase in ("cold", "warm"):
            before = cached.misses
            with Clock() as clock:
                times, hits = time_calls(lambda q: assistant.search(q, limit=limit), questions)
            out[f"search_{phase}"] = {**_summary(times), "other_cores": round(clock.others, 2),
                                      "texts_embedded": cached.misses - before, "empty": sum(not h for h in hits)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dirs", nargs="+", type=Path)
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = [bench_store(d, args.limit) for d in args.data_dirs]
    print(f"started {started}; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; load average at end {os.getloadavg()[0]:.2f}\n")
    print("| papers | questions | variant | p50 ms | p95 ms | max ms | texts embedded | empty | cores used by others |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        for variant in ("retrieval", "search_cold", "search_warm"):
            v = r[variant]
            print(f"| {r['papers']:,} | {r['questions']} | {variant.replace('_', ', ')} | {v['p50']} | {v['p95']} | "
                  f"{v['max']} | {v.get('texts_embedded', '-')} | {v.get('empty', '-')} | {v['other_cores']} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
