"""Query rewriting with the local model (HyDE-style): does a hypothetical abstract find the paper?

    # 1. the model writes a hypothetical abstract for every question (needs only the model)
    RAG_DATA_DIR=/tmp/evalseed/data .venv/bin/python bench/hyde.py write eval/datasets/seeds.jsonl \
        eval/datasets/arxiv200.jsonl --out /tmp/hyde/hypotheses.jsonl
    # 2. re-rank with them on a store (no model call; the same pieces as bench/levers.py)
    RAG_DATA_DIR=/work/store74k .venv/bin/python bench/hyde.py measure /tmp/scale/seeds-74k.jsonl \
        eval/datasets/arxiv200.jsonl --hypotheses /tmp/hyde/hypotheses.jsonl [--json out.json]

`write` asks the configured chat model (the bundled one by default) once per question with
`prompts/hypothesis.txt` (greedy, at most 100 tokens), and records the text and the seconds it
took; questions already in the output file are skipped, so an interrupted run resumes.
`measure` searches each answerable question once (`Retriever.rankings`, auto filters on, as the
answer chain uses them) and builds every variant from the same pieces:

  default        what ships: 50 dense chunks + 50 BM25 papers, min-max fusion 0.5 / 0.5
  hyde dense     the dense query is the normalised mean of the question's and the hypothesis's
                 vectors (the HyDE paper's average of query and generated document)
  hyde doc       the dense query is the hypothesis's vector alone
  hyde bm25      BM25 scores of the question plus 0.5 x those of the hypothesis
  hyde both      hyde dense + hyde bm25
  hyde rrf       reciprocal rank fusion (k 60) of the default ranking and the hypothesis's own
                 hybrid ranking
  hyde if < E    hyde dense only for questions whose first retrieval has an evidence score
                 (`rag.evidence`, as the answer chain computes it) under E, the default otherwise:
                 what a rewrite triggered by weak retrieval would give, and how often it would run

Filters found in the question apply to every variant. Metrics: recall@5, recall@10, nDCG@10
per set and per question type, the paired bootstrap of the nDCG@10 gain over the default, and the
questions each variant moved (recall@5).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from levers import _allowed, _top, dense_rank, metrics  # noqa: E402  (bench/levers.py)
from retrieval import bootstrap  # noqa: E402  (bench/retrieval.py)

MAX_TOKENS = 100


def write(paths: list[Path], out: Path) -> None:
    from rag.eval.datasets import load_questions
    from rag.llm import make_chat_model
    from rag.prompts import render
    from rag.settings import load_settings

    settings = load_settings()
    model = make_chat_model(settings)
    if model is None:
        raise SystemExit("hyde.py write needs a chat model: unset RAG_BACKEND=extractive")
    done = set()
    if out.exists():
        done = {json.loads(line)["question"] for line in out.read_text().splitlines() if line.strip()}
    out.parent.mkdir(parents=True, exist_ok=True)
    todo = [q for p in paths for q in load_questions(p).questions if q.question not in done]
    print(f"{len(todo)} questions to write ({len(done)} already in {out})", file=sys.stderr)
    with out.open("a", encoding="utf-8") as f:
        for i, q in enumerate(todo, 1):
            started = time.perf_counter()
            text = model.complete([{"role": "user", "content": render("hypothesis", question=q.question)}],
                                  max_tokens=MAX_TOKENS, temperature=0.0).text.strip()
            seconds = round(time.perf_counter() - started, 2)
            f.write(json.dumps({"id": q.id, "question": q.question, "hypothesis": text, "seconds": seconds}) + "\n")
            f.flush()
            print(f"  {i}/{len(todo)} {q.id} {seconds}s", file=sys.stderr)


def unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v) or 1.0)


TRIGGERS = (0.7, 0.9)


def evidence(r, question: str) -> float:
    """The answer chain's evidence score of the first retrieval (`AnswerChain.evidence`)."""
    from rag.evidence import evidence_score

    found = r.search(question)
    if found.passages and found.filters_applied.get("auto"):
        return 1.0
    return evidence_score(question, found.passages, r.catalog.bm25)


def variants(lv, question: str, hypothesis: str) -> dict[str, list[str]]:
    from rag.retrieval import fuse, rrf

    r = lv.r
    first = r.rankings(question)
    allowed = _allowed(lv, first.filters_applied)
    bm25 = r.catalog.bm25
    hv = r.embedder.embed_query(hypothesis)
    mean = unit(unit(first.query_vector) + unit(hv))
    dense_mean = dense_rank(r, mean, allowed)
    both_scores = bm25.scores(question) + 0.5 * bm25.scores(hypothesis)
    sparse_both = _top(bm25, both_scores, 50, allowed)
    default = [p for p, _ in fuse(first.dense, first.bm25)]
    own = [p for p, _ in fuse(dense_rank(r, hv, allowed), bm25.search(hypothesis, 50, allowed))]
    hyde_dense = [p for p, _ in fuse(dense_mean, first.bm25)]
    score = evidence(r, question)
    return {
        "default": default,
        "hyde dense": hyde_dense,
        **{f"hyde if < {e}": hyde_dense if score < e else default for e in TRIGGERS},
        "hyde doc": [p for p, _ in fuse(dense_rank(r, hv, allowed), first.bm25)],
        "hyde bm25": [p for p, _ in fuse(first.dense, sparse_both)],
        "hyde both": [p for p, _ in fuse(dense_mean, sparse_both)],
        "hyde rrf": [p for p, _ in sorted(rrf([default[:50], own[:50]], 60).items(), key=lambda kv: -kv[1])],
    }


def measure_set(lv, path: Path, hypotheses: dict[str, str]) -> dict:
    from rag.eval.datasets import load_questions, resolve_gold

    dataset = load_questions(path)
    gold_ids = resolve_gold(dataset, lv.r.catalog.papers)
    rows: dict[str, list[dict]] = defaultdict(list)
    types: list[str] = []
    moved: dict[str, list[str]] = defaultdict(list)
    triggered: dict[float, int] = defaultdict(int)
    for q in dataset.questions:
        gold = set(gold_ids[q.id])
        if not gold:
            continue
        if q.question not in hypotheses:
            raise SystemExit(f"no hypothesis for {q.id}; run: bench/hyde.py write {path}")
        ranked = variants(lv, q.question, hypotheses[q.question])
        types.append(q.type)
        for e in TRIGGERS:
            triggered[e] += ranked[f"hyde if < {e}"] is not ranked["default"]
        for name, ranking in ranked.items():
            rows[name].append(metrics(ranking, gold))
        base = rows["default"][-1]["R@5"]
        for name in ranked:
            if delta := rows[name][-1]["R@5"] - base:
                moved[name].append(f"{q.id}{'+' if delta > 0 else '-'}")
    out = {}
    for name, rs in rows.items():
        by_type = {t: {m: round(statistics.fmean(r[m] for r, tt in zip(rs, types) if tt == t), 4) for m in rs[0]}
                   for t in sorted(set(types))}
        out[name] = {"all": {m: round(statistics.fmean(r[m] for r in rs), 4) for m in rs[0]}, "by_type": by_type,
                     "moved_R@5": moved.get(name, [])}
        if name != "default":
            out[name]["bootstrap_ndcg"] = bootstrap([r["nDCG@10"] for r in rs],
                                                    [r["nDCG@10"] for r in rows["default"]])
    for e in TRIGGERS:
        out[f"hyde if < {e}"]["triggered"] = f"{triggered[e]} of {len(types)}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("step", choices=("write", "measure"))
    ap.add_argument("datasets", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, help="write: the hypotheses file (JSONL, appended)")
    ap.add_argument("--hypotheses", type=Path, help="measure: the file `write` made")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.step == "write":
        if not args.out:
            ap.error("write needs --out FILE")
        write(args.datasets, args.out)
        return
    if not args.hypotheses:
        ap.error("measure needs --hypotheses FILE")
    from levers import Levers, show  # noqa: E402

    from rag.retrieval import Retriever
    from rag.settings import load_settings

    hypotheses = {}
    seconds = []
    for line in args.hypotheses.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            hypotheses[row["question"]] = row["hypothesis"]
            seconds.append(row["seconds"])
    lv = Levers.__new__(Levers)  # only the retriever: the title-weighted indexes are not needed here
    lv.r = Retriever(load_settings())
    print(f"store: {len(lv.r.catalog.papers)} papers; hypothesis seconds p50 {statistics.median(seconds):.1f}, "
          f"p95 {sorted(seconds)[int(0.95 * (len(seconds) - 1))]:.1f}", file=sys.stderr)
    results = {p.name: measure_set(lv, p, hypotheses) for p in args.datasets}
    for name, r in results.items():
        print(show(name, r))
        for variant, res in r.items():
            print(f"  {variant:12} by type R@5: " + ", ".join(f"{t} {v['R@5']:.3f}" for t, v in res["by_type"].items())
                  + (f"; rewrites {res['triggered']} questions" if "triggered" in res else ""))
    if args.json:
        args.json.write_text(json.dumps({"papers": len(lv.r.catalog.papers), "results": results}, indent=1))


if __name__ == "__main__":
    main()
