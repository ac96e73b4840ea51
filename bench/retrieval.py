"""Retrieval benchmark: dense vs BM25 vs fused rankings, over papers, on SciFact and the seed corpus.

    .venv/bin/python bench/retrieval.py                        # both datasets
    .venv/bin/python bench/retrieval.py --dataset seed --json out.json
    .venv/bin/python bench/retrieval.py --dataset scifact --limit 200

Metrics per query, averaged: recall@1/5/10 (relevant papers found in the top k / relevant papers),
MRR@10 and nDCG@10 (binary gains). Every query goes through `Retriever.rankings` once (one
embedding, one Chroma query, one BM25 search, auto filters on, as the answer chain uses them);
the fusions are then computed from those two rankings, so every row sees the same candidates
(`candidates` = 50 chunks from Chroma, aggregated per paper, and 50 papers from BM25).

Datasets:
  seed     the built-in sample corpus (45 papers) and bench/seed_questions.jsonl: 40 questions
           written by hand from rag/sample/*.txt with their gold titles (paraphrases with little
           word overlap, names of methods, author and year questions). Ingested into a temp dir.
  scifact  SciFact train (../shared/data/scifact: 5,183 abstracts, 809 claims, 920 qrels). The
           corpus is written to JSONL (title, abstract, and the BEIR `_id` kept as the category
           `scifact-<_id>` so results map back to qrels) and ingested once into
           /tmp/bench-scifact/data (about 5-8 min on 2 cores; reruns reuse it). Three pairs of
           abstracts share a title and are merged into one paper by ingest: a paper is relevant
           when any of its `_id`s is.

Also printed: a paired bootstrap (2,000 resamples of the queries) of the nDCG@10 gain of the
default fusion over RRF k=60, BM25 without stemming (index rebuilt in memory) and, for the seed corpus, the
p50/p95 latency of a full hybrid `Retriever.search` (embedding included, warm).
Not measured: answer quality, other embedding models, a Chroma server.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
SEED_QUESTIONS = Path(__file__).with_name("seed_questions.jsonl")
KS = (1, 5, 10)

# (row name, fuse() keyword arguments); "bm25-nostem" is handled separately
CONFIGS = [
    ("dense", {"mode": "dense"}),
    ("bm25", {"mode": "bm25"}),
    ("hybrid rrf k=60", {"method": "rrf", "rrf_k": 60}),
    ("hybrid rrf k=20", {"method": "rrf", "rrf_k": 20}),
    ("hybrid wrrf dense=0.3", {"method": "wrrf", "weight": 0.3}),
    ("hybrid wrrf dense=0.7", {"method": "wrrf", "weight": 0.7}),
    ("hybrid minmax dense=0.3", {"method": "minmax", "weight": 0.3}),
    ("hybrid minmax 0.5 DEFAULT", {"method": "minmax", "weight": 0.5}),
    ("hybrid minmax dense=0.7", {"method": "minmax", "weight": 0.7}),
]


def metrics(ranked: list[str], relevant: set[str], key=lambda pid: {pid}) -> dict[str, float]:
    """recall@k, MRR@10, nDCG@10 for one query. `key(paper)` gives the gold ids a paper stands for."""
    out: dict[str, float] = {}
    hits = [bool(key(p) & relevant) for p in ranked[:10]]
    for k in KS:
        found = set().union(*(key(p) & relevant for p in ranked[:k])) if ranked[:k] else set()
        out[f"R@{k}"] = len(found) / len(relevant)
    out["MRR@10"] = next((1 / (i + 1) for i, h in enumerate(hits) if h), 0.0)
    dcg = sum(1 / math.log2(i + 2) for i, h in enumerate(hits) if h)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
    out["nDCG@10"] = dcg / ideal
    return out


def bootstrap(a: list[float], b: list[float], n: int = 2000) -> dict[str, float]:
    """Mean of a - b over paired queries with a 95% bootstrap interval, and wins/losses."""
    import random

    diff = [x - y for x, y in zip(a, b)]
    rng = random.Random(0)
    means = sorted(statistics.fmean(rng.choices(diff, k=len(diff))) for _ in range(n))
    return {"gain": statistics.fmean(diff), "ci_low": means[int(0.025 * n)], "ci_high": means[int(0.975 * n) - 1],
            "better": sum(d > 0 for d in diff), "worse": sum(d < 0 for d in diff)}


def evaluate(retriever, queries: list[tuple[str, set[str]]], key) -> dict[str, dict[str, float]]:
    """Mean metrics per configuration over `queries` [(question, gold ids)], plus "_bootstrap"."""
    import rag.bm25 as bm25mod
    from rag.retrieval import fuse

    rows: dict[str, list[dict]] = {name: [] for name, _ in CONFIGS}
    rows["bm25 (no stemming)"] = []
    bm25mod.STEM = False
    plain = bm25mod.BM25Index.build(list(retriever.catalog.papers.values()))
    bm25mod.STEM = True
    started = time.perf_counter()
    for n, (question, gold) in enumerate(queries, 1):
        ranks = retriever.rankings(question)
        for name, kw in CONFIGS:
            ranked = [p for p, _ in fuse(ranks.dense, ranks.bm25, **kw)]
            rows[name].append(metrics(ranked, gold, key))
        bm25mod.STEM = False
        allowed = None  # auto filters are not exercised by the plain-BM25 variant
        ranked = [p for p, _ in plain.search(question, 50, allowed)]
        bm25mod.STEM = True
        rows["bm25 (no stemming)"].append(metrics(ranked, gold, key))
        if n % 200 == 0:
            print(f"  {n}/{len(queries)} queries, {time.perf_counter() - started:.0f}s", file=sys.stderr)
    out = {name: {m: statistics.fmean(r[m] for r in rs) for m in rs[0]} for name, rs in rows.items() if rs}
    ndcg = {name: [r["nDCG@10"] for r in rs] for name, rs in rows.items()}
    out["_bootstrap"] = bootstrap(ndcg["hybrid minmax 0.5 DEFAULT"], ndcg["hybrid rrf k=60"])
    return out


def table(title: str, results: dict[str, dict[str, float]], n: int) -> str:
    cols = [f"R@{k}" for k in KS] + ["MRR@10", "nDCG@10"]
    lines = [f"\n{title} ({n} queries)", f"{'':26}" + "".join(f"{c:>9}" for c in cols)]
    for name, r in results.items():
        if not name.startswith("_"):
            lines.append(f"{name:26}" + "".join(f"{r[c]:9.3f}" for c in cols))
    b = results["_bootstrap"]
    lines.append(f"nDCG@10 gain of DEFAULT over rrf k=60: {b['gain']:+.3f} "
                 f"(95% CI {b['ci_low']:+.3f}..{b['ci_high']:+.3f}; {b['better']} queries better, {b['worse']} worse)")
    return "\n".join(lines)


def seed(args) -> dict:
    from rag.settings import Settings

    with tempfile.TemporaryDirectory(prefix="bench-seed-") as tmp:
        return _seed(args, Settings(data_dir=Path(tmp)))


def _seed(args, settings) -> dict:
    from rag.ingest import ingest
    from rag.retrieval import Retriever

    ingest(settings=settings, say=lambda *a: None)
    retriever = Retriever(settings)
    by_title = {(p.title or "").casefold(): p.id for p in retriever.catalog.papers.values()}
    queries = []
    for line in SEED_QUESTIONS.read_text().splitlines():
        q = json.loads(line)
        gold = {by_title[t.casefold()] for t in q["gold_titles"]}
        queries.append((q["question"], gold))
    results = evaluate(retriever, queries[: args.limit], key=lambda pid: {pid})
    latencies = []
    for _ in range(3):
        for question, _ in queries:
            t = time.perf_counter()
            retriever.search(question)
            latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    lat = {"p50_ms": statistics.median(latencies), "p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
           "searches": len(latencies)}
    print(table("seed corpus: 45 papers, bench/seed_questions.jsonl", results, len(queries[: args.limit])))
    print(f"hybrid Retriever.search latency (warm, {lat['searches']} calls): "
          f"p50 {lat['p50_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms")
    return {"results": results, "latency": lat, "queries": len(queries[: args.limit])}


def scifact(args) -> dict:
    from rag.ingest import ingest
    from rag.retrieval import Retriever
    from rag.settings import Settings

    work = Path(args.scifact_dir)
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "scifact_corpus.jsonl"
    if not corpus.exists():
        with (SCIFACT / "corpus.jsonl").open() as src, corpus.open("w") as out:
            for line in src:
                d = json.loads(line)
                out.write(json.dumps({"title": d.get("title") or "", "abstract": d.get("text") or "",
                                      "categories": [f"scifact-{d['_id']}"]}) + "\n")
    settings = Settings(data_dir=work / "data")
    t = time.perf_counter()
    report = ingest([corpus], settings=settings, say=lambda *a: None, progress=True)
    print(f"ingest: {report.papers} papers, {report.embedded} embedded, {time.perf_counter() - t:.0f}s",
          file=sys.stderr)
    retriever = Retriever(settings)
    doc_ids = {pid: {c[len("scifact-"):] for c in p.categories if c.startswith("scifact-")}
               for pid, p in retriever.catalog.papers.items()}
    texts = {}
    for line in (SCIFACT / "queries_train.jsonl").read_text().splitlines():
        q = json.loads(line)
        texts[str(q["_id"])] = q["text"]
    gold: dict[str, set[str]] = {}
    for line in (SCIFACT / "qrels" / "train.tsv").read_text().splitlines()[1:]:
        qid, cid, score = line.split("\t")
        if int(score) > 0:
            gold.setdefault(qid, set()).add(cid)
    queries = [(texts[q], g) for q, g in gold.items() if q in texts][: args.limit]
    results = evaluate(retriever, queries, key=lambda pid: doc_ids.get(pid, set()))
    print(table("SciFact train: 5,183 abstracts", results, len(queries)))
    return {"results": results, "queries": len(queries)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", choices=["seed", "scifact", "all"], default="all")
    ap.add_argument("--limit", type=int, default=None, help="only the first N queries")
    ap.add_argument("--scifact-dir", default="/tmp/bench-scifact")
    ap.add_argument("--json", help="write the numbers here")
    args = ap.parse_args()
    out = {}
    if args.dataset in ("seed", "all"):
        out["seed"] = seed(args)
    if args.dataset in ("scifact", "all"):
        out["scifact"] = scifact(args)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
