"""Answer-time benchmark: retrieval latency and extractive answer time on real stores.

For each data directory given (a store built by `rag ingest`, e.g. by `bench/ingest.py --keep`):
  - retrieval: `Retriever.search` (hybrid: query embedding + Chroma + BM25 + fusion) over a fixed
    question set, after 3 warm-up queries; p50/p95/max in ms, and the median of each stage.
  - extractive answers: `Assistant(backend="extractive").ask` end to end (retrieval, evidence
    check, sentence selection, support check); p50/p95 in ms.
  - abstention (with --calibrate): the evidence score of answerable vs unanswerable seed questions.
Questions: the seed questions (bench/seed_questions.jsonl + seed_unanswerable.jsonl) and, for
stores with more papers, the titles of up to 100 papers drawn with a fixed seed. Runs in one process,
one query at a time. It does not measure LLM generation (see the local-model issue).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def load_questions(path: Path) -> list[str]:
    return [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def questions_for(papers, n: int = 100) -> list[str]:
    seeds = load_questions(HERE / "seed_questions.jsonl") + load_questions(HERE / "seed_unanswerable.jsonl")
    titled = [p.title for p in papers if p.title]
    random.Random(7).shuffle(titled)
    return seeds + titled[:n]


def time_calls(fn, questions: list[str]) -> tuple[list[float], list]:
    for q in questions[:3]:
        fn(q)
    times, results = [], []
    for q in questions:
        started = time.perf_counter()
        results.append(fn(q))
        times.append((time.perf_counter() - started) * 1000)
    return times, results


def bench_store(data_dir: Path) -> dict:
    from rag.api import Assistant
    from rag.settings import Settings

    assistant = Assistant(Settings(data_dir=data_dir, backend="extractive"))
    papers = assistant.retriever.catalog.papers  # id -> Record
    questions = questions_for(list(papers.values()))
    r_times, found = time_calls(assistant.retriever.search, questions)
    stages = {k: statistics.median(f.timings.get(k, 0.0) for f in found) for k in found[0].timings}
    a_times, answers = time_calls(assistant.ask, questions)
    return {"data_dir": str(data_dir), "papers": len(papers), "questions": len(questions),
            "retrieval_ms": {"p50": percentile(r_times, .5), "p95": percentile(r_times, .95), "max": max(r_times)},
            "stages_median_ms": stages,
            "extractive_ms": {"p50": percentile(a_times, .5), "p95": percentile(a_times, .95), "max": max(a_times)},
            "abstained": sum(a.abstained for a in answers)}


def calibrate(data_dir: Path) -> dict:
    """Evidence scores of answerable and unanswerable seed questions (the abstention threshold's basis)."""
    from rag.api import Assistant
    from rag.settings import Settings

    assistant = Assistant(Settings(data_dir=data_dir, backend="extractive"))
    score = lambda q: assistant.chain.evidence(q, assistant.retriever.search(q))  # noqa: E731
    answerable = [score(q) for q in load_questions(HERE / "seed_questions.jsonl")]
    unanswerable = [score(q) for q in load_questions(HERE / "seed_unanswerable.jsonl")]
    t = assistant.settings.min_evidence
    return {"threshold": t, "answerable_min": min(answerable), "unanswerable_max": max(unanswerable),
            "false_abstentions": sum(s < t for s in answerable), "answerable": len(answerable),
            "missed_abstentions": sum(s >= t for s in unanswerable), "unanswerable": len(unanswerable)}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))) / 2**20
    return f"{os.cpu_count()} CPUs ({cpu}), {mem:.1f} GiB RAM, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data_dirs", nargs="+", type=Path, help="stores to measure (RAG data directories)")
    p.add_argument("--calibrate", action="store_true", help="also report abstention calibration on each store")
    p.add_argument("--json", type=Path, help="write the raw figures here too")
    args = p.parse_args(argv)
    results = [bench_store(d) for d in args.data_dirs]
    print(f"Command: `{' '.join(['.venv/bin/python', 'bench/answer.py'] + (argv or sys.argv[1:]))}`")
    print(f"Machine: {machine()}; date {datetime.now(timezone.utc).isoformat(timespec='seconds')}\n")
    print("| papers | questions | retrieval p50 ms | p95 ms | max ms | embed / dense / bm25 / fuse median ms "
          "| extractive answer p50 ms | p95 ms |")
    print("|---:|---:|---:|---:|---:|---|---:|---:|")
    for r in results:
        s = r["stages_median_ms"]
        stages = " / ".join(f"{s.get(k, 0):.1f}" for k in ("embed", "dense", "bm25", "fuse"))
        print(f"| {r['papers']:,} | {r['questions']} | {r['retrieval_ms']['p50']:.1f} | {r['retrieval_ms']['p95']:.1f} "
              f"| {r['retrieval_ms']['max']:.1f} | {stages} | {r['extractive_ms']['p50']:.1f} "
              f"| {r['extractive_ms']['p95']:.1f} |")
    if args.calibrate:
        for d in args.data_dirs:
            c = calibrate(d)
            print(f"\nAbstention on {d}: threshold {c['threshold']}; answerable min evidence {c['answerable_min']:.3f}, "
                  f"unanswerable max {c['unanswerable_max']:.3f}; false abstentions {c['false_abstentions']}/"
                  f"{c['answerable']}, missed abstentions {c['missed_abstentions']}/{c['unanswerable']}")
            results.append({"calibration": c, "data_dir": str(d)})
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
