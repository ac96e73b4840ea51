"""Answer-time benchmark: retrieval latency and extractive answer time on real stores.

For each data directory given (a store built by `rag ingest`, e.g. by `bench/ingest.py --keep`):
  - retrieval: `Retriever.search` (hybrid: query embedding + Chroma + BM25 + fusion) over a fixed
    question set, after 3 warm-up queries; p50/p95/max in ms, and the median of each stage.
  - extractive answers: `Assistant(backend="extractive").ask` end to end (retrieval, evidence
    check, sentence selection, support check); p50/p95 in ms.
  - abstention (with --calibrate): the evidence score of answerable vs unanswerable seed questions.
Questions: the seed questions (bench/seed_questions.jsonl + seed_unanswerable.jsonl) and, for
stores with more papers, the titles of up to 100 papers drawn with a fixed seed. Runs in one process,
one query at a time.

With --llm, the seed questions (and questions the model itself must decline) go through the local
model instead, once per speed-lever variant (LLM_VARIANTS): first token, total, prompt size, and
whether the right papers were cited.
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


# Speed levers for the local model, each measured as a variant; "default" is what the settings ship.
LLM_VARIANTS = {
    "naive": ({"source_tokens": 0, "source_min_share": 0.0}, False),   # whole passages, 5 sources, no cache
    "cache": ({"source_tokens": 0, "source_min_share": 0.0}, True),    # + fixed prefix kept in the prompt cache
    "compact": ({"source_tokens": 400, "source_min_share": 0.0}, True),  # + sources cut to 400 tokens
    "fewer": ({"source_tokens": 400, "source_min_share": 0.5}, True),  # + only papers >= 0.5 x best score
    "budget300": ({"source_tokens": 300, "source_min_share": 0.5}, True),  # + 300 source tokens
    "default": ({}, True),                                   # the shipped settings: 300 tokens, >= 0.6 x best
    "short": ({"source_tokens": 400, "source_min_share": 0.5, "max_answer_tokens": 120}, True),
    "threads1": ({"source_tokens": 400, "source_min_share": 0.5, "local_threads": 1}, True),
}


def load_gold(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def bench_llm(data_dir: Path, variants: list[str], limit: int | None) -> list[dict]:
    """Seed questions through the local model: time to first token, total, and whether citations are right."""
    from rag.api import Assistant
    from rag.settings import Settings

    answerable = load_gold(HERE / "seed_questions.jsonl")[:limit]
    abstain = load_gold(HERE / "seed_model_abstain.jsonl") + load_gold(HERE / "seed_unanswerable.jsonl")[:3]
    out = []
    for name in variants:
        overrides, cache = LLM_VARIANTS[name]
        assistant = Assistant(Settings(data_dir=data_dir, backend="local", **overrides))
        assistant.chat_model.extra_body = None if cache else {"cache_prompt": False}
        started = time.perf_counter()
        assistant.warm_up()  # server start, and the fixed prefix read into the prompt cache
        cold_s = time.perf_counter() - started
        rows = []
        for item in answerable + abstain:
            ans = assistant.ask(item["question"])
            gold = set(item["gold_titles"])
            cited = {c.title for c in ans.citations}
            rows.append({"question": item["question"], "gold": sorted(gold), "cited": sorted(t or "" for t in cited),
                         "abstained": ans.abstained, "text": ans.text, "timings": ans.timings, "usage": ans.usage,
                         "unsupported": len(ans.unsupported_sentences), "invalid": len(ans.invalid_citations),
                         "right": (ans.abstained if not gold else bool(cited & gold) and cited <= gold)})
            print(f"  [{name}] {'ok ' if rows[-1]['right'] else 'BAD'} {ans.timings.get('first_token_ms', 0) / 1000:5.1f}s "
                  f"{ans.timings.get('total_ms', 0) / 1000:5.1f}s {item['question'][:60]} -> {ans.text[:80]!r}",
                  file=sys.stderr, flush=True)
        answered = [r for r in rows if r["usage"]]  # reached the model (not abstained on evidence)
        first = [r["timings"]["first_token_ms"] / 1000 for r in answered]
        total = [r["timings"]["total_ms"] / 1000 for r in answered]
        ans_rows, abs_rows = rows[:len(answerable)], rows[len(answerable):]
        out.append({"variant": name, "overrides": overrides, "prompt_cache": cache, "cold_first_answer_s": cold_s,
                    "questions": len(rows), "reached_model": len(answered),
                    "first_token_s": {"p50": percentile(first, .5), "p95": percentile(first, .95), "max": max(first)},
                    "total_s": {"p50": percentile(total, .5), "p95": percentile(total, .95), "max": max(total)},
                    "prompt_tokens_mean": statistics.mean(r["usage"].get("prompt_tokens", 0) for r in answered),
                    "completion_tokens_mean": statistics.mean(r["usage"].get("completion_tokens", 0) for r in answered),
                    "answerable_right": sum(r["right"] for r in ans_rows), "answerable": len(ans_rows),
                    "false_abstentions": sum(r["abstained"] for r in ans_rows),
                    "wrong_citations": sum(bool(set(r["cited"]) - set(r["gold"])) for r in ans_rows),
                    "abstained_right": sum(r["right"] for r in abs_rows), "should_abstain": len(abs_rows),
                    "unsupported_sentences": sum(r["unsupported"] for r in rows),
                    "invalid_citations": sum(r["invalid"] for r in rows), "rows": rows})
        assistant.chat_model.server.stop()
    return out


def print_llm(results: list[dict]) -> None:
    print("| variant | settings | prompt cache | first token p50 / p95 s | total p50 / p95 s | prompt tokens (mean) "
          "| answer tokens (mean) | right papers cited | false abstentions | wrong papers | abstained when it should "
          "| unsupported sentences |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['variant']} | {', '.join(f'{k}={v}' for k, v in r['overrides'].items()) or '(defaults)'} "
              f"| {'on' if r['prompt_cache'] else 'off'} | {r['first_token_s']['p50']:.1f} / {r['first_token_s']['p95']:.1f} "
              f"| {r['total_s']['p50']:.1f} / {r['total_s']['p95']:.1f} | {r['prompt_tokens_mean']:.0f} "
              f"| {r['completion_tokens_mean']:.0f} | {r['answerable_right']}/{r['answerable']} | {r['false_abstentions']} "
              f"| {r['wrong_citations']} | {r['abstained_right']}/{r['should_abstain']} | {r['unsupported_sentences']} |")


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
    p.add_argument("--llm", help=f"instead: answer the seed questions with the local model, one run per variant "
                   f"(comma-separated: {', '.join(LLM_VARIANTS)})")
    p.add_argument("--limit", type=int, help="with --llm: only the first N answerable seed questions")
    args = p.parse_args(argv)
    if args.llm:
        variants = [v.strip() for v in args.llm.split(",") if v.strip()]
        unknown = [v for v in variants if v not in LLM_VARIANTS]
        if unknown:
            p.error(f"unknown variant(s) {unknown}; choose from {', '.join(LLM_VARIANTS)}")
        results = bench_llm(args.data_dirs[0], variants, args.limit)
        print(f"Command: `{' '.join(['.venv/bin/python', 'bench/answer.py'] + (argv or sys.argv[1:]))}`")
        print(f"Machine: {machine()}; date {datetime.now(timezone.utc).isoformat(timespec='seconds')}; "
              f"load average at end {os.getloadavg()[0]:.2f}\n")
        print_llm(results)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        return
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
