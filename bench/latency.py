"""Where retrieval time goes, stage by stage, and what onnxruntime's busy-waiting threads cost.

    RAG_DATA_DIR=/work/store74k .venv/bin/python bench/latency.py eval/datasets/arxiv200.jsonl [more files] \
        [--rounds 2] [--ingest records.jsonl]

For the questions of the files, `Retriever.search` (hybrid, auto filters, as `rag ask` retrieves)
runs once to warm up (the first question reads the chunk matrix), then `--rounds` times over every
question in each of two arrangements, alternated so that both see the same machine:

    shipped    the question embedded by `MiniLMEmbedder`'s own query session (threads that do not
               busy-wait after a run)
    spinning   the question embedded by the batch session (threads that spin after each run, as
               every onnxruntime session does by default), i.e. the embedder before 2026-12-07

Printed per arrangement and round: p50 / p95 ms of each stage of `Retrieval.timings` (embed, dense,
bm25, fuse, passages) and of the whole search.

`--ingest FILE` also ingests FILE into two fresh temporary data directories, one with the batch
session spinning (as shipped) and one without, twice each, alternated, and prints the seconds of
each (`rag.ingest.ingest`, cold, model load included): the cost of not spinning for batches.
Not measured: answers, a Chroma server, filters chosen by the caller.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

STAGES = ("embed", "dense", "bm25", "fuse", "passages", "total")


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def search_rounds(paths: list[Path], rounds: int) -> None:
    from rag.eval.datasets import load_questions
    from rag.retrieval import Retriever
    from rag.settings import load_settings

    retriever = Retriever(load_settings())
    embedder = retriever.embedder
    if not hasattr(embedder, "_new_session"):
        raise SystemExit("bench/latency.py measures the bundled MiniLM (RAG_EMBED_BASE_URL is set)")
    questions = [q.question for p in paths for q in load_questions(p).questions]
    retriever.search(questions[0])  # reads the matrix and makes the query session
    shipped = embedder._query_session
    print(f"{len(questions)} questions, {len(retriever.catalog.papers):,} papers")
    print(f"{'arrangement':12}{'round':>6}" + "".join(f"{s:>16}" for s in STAGES))
    for r in range(1, rounds + 1):
        for name, session in (("shipped", shipped), ("spinning", embedder._session)):
            embedder._query_session = session
            times: dict[str, list[float]] = {s: [] for s in STAGES}
            for q in questions:
                timings = retriever.search(q).timings
                for s in STAGES:
                    times[s].append(timings.get(s, 0.0))
            print(f"{name:12}{r:>6}" + "".join(
                f"{statistics.median(times[s]):>8.1f} /{_pct(times[s], 0.95):>6.1f}" for s in STAGES))
    embedder._query_session = shipped


def ingest_rounds(path: Path) -> None:
    import subprocess

    code = (
        "import sys, time, onnxruntime as ort\n"
        "if sys.argv[1] == 'off':\n"
        "    orig = ort.SessionOptions.add_session_config_entry\n"
        "    ort.SessionOptions.add_session_config_entry = lambda self, k, v: orig(self, k, "
        "'0' if k == 'session.intra_op.allow_spinning' else v)\n"
        "from pathlib import Path\n"
        "from rag.ingest import ingest\n"
        "from rag.settings import load_settings\n"
        "t = time.perf_counter()\n"
        "report = ingest([Path(sys.argv[2])], settings=load_settings(), say=lambda *a: None)\n"
        "print(f'{time.perf_counter() - t:.1f} {report.chunks_added}')\n"
    )
    for r in (1, 2):
        for spin in ("on", "off"):
            with tempfile.TemporaryDirectory() as tmp:
                env = {**os.environ, "RAG_DATA_DIR": tmp}
                out = subprocess.run([sys.executable, "-c", code, spin, str(path)], env=env, check=True,
                                     capture_output=True, text=True).stdout.split()
            print(f"ingest round {r}, batch threads spinning {spin:3}: {out[0]} s, {out[1]} chunks")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", type=Path, help="question files (rag eval's JSONL format)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--ingest", type=Path, help="also time ingesting this file with and without spinning")
    args = ap.parse_args()
    search_rounds(args.files, args.rounds)
    if args.ingest:
        ingest_rounds(args.ingest)


if __name__ == "__main__":
    main()
