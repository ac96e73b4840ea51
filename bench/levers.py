"""Retrieval levers at scale: which ranking changes find more gold papers, on which question sets.

    RAG_DATA_DIR=/work/store74k .venv/bin/python bench/levers.py eval/datasets/seeds.jsonl eval/datasets/arxiv200.jsonl \
        [--json out.json] [--losses losses.jsonl]

For every answerable question of each set (gold papers resolved by title, as `rag eval` does), the
store is searched once per candidate depth (`Retriever.rankings`, auto filters on, as the answer
chain uses them), and each lever re-ranks from those same pieces, so the rows differ only in the
lever. Metrics: recall@5, recall@10, nDCG@10 (binary gains), per set and per question type, with
a paired bootstrap of the nDCG@10 gain over the default and the questions each lever moved.

Levers (all offline, no model call):
  default            what ships: 50 dense chunks + 50 BM25 papers, min-max fusion 0.5 / 0.5
  depth=N            N candidates from each retriever instead of 50
  title x2 / x3      BM25 over papers whose title is repeated (field weighting), built in memory
  prf                RM3-style pseudo-relevance feedback: BM25 again with the question's terms plus
                     the top-weighted terms of the first ranking's top 3 papers (weight 0.5)
  dense best+mean    a paper's dense score is the mean of its best chunk and its mean chunk cosine
  shape weight       dense share 0.3 for questions of <= 4 content words, 0.7 for >= 12, else 0.5
  rrf                reciprocal rank fusion (k 60) of the same two rankings instead of min-max
  zscore             each retriever's scores standardised over its own candidates (mean 0, sd 1),
                     then summed: a retriever whose best paper stands far above its others counts more
  dense prf          Rocchio feedback in the dense space: the question vector plus 0.5 x the mean
                     of the best chunk vectors of the default top 3 papers, searched again
  bm25 k1=0.9 b=0.4  BM25 with Anserini's parameters instead of bm25s's 1.5 / 0.75

`--evidence` writes, for every question (unanswerable ones too), the parts of the abstention
decision (`rag.evidence`: best passage cosine, lexical coverage, the evidence score, whether a
detected filter decided) and the shape of the dense candidates (cosine at ranks 1, 5, 10, 20 and
the mean of ranks 10-50), to calibrate a threshold that holds at 45 and at 75,000 papers.
`--losses` writes, for every question whose gold paper is not in the default top 5, the gold's
rank and scores in each list and the papers that outrank it (title, dense cosine, BM25 score, the
question terms each one matches) so a loss can be read, not guessed.
Not measured: answers, latency (see bench/retrieval.py and `rag eval`).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from retrieval import bootstrap  # noqa: E402  (bench/retrieval.py)

DEPTHS = (50, 100, 200)


def metrics(ranked: list[str], gold: set[str]) -> dict[str, float]:
    out = {f"R@{k}": len(set(ranked[:k]) & gold) / len(gold) for k in (5, 10)}
    dcg = sum(1 / math.log2(i + 2) for i, p in enumerate(ranked[:10]) if p in gold)
    out["nDCG@10"] = dcg / sum(1 / math.log2(i + 2) for i in range(min(len(gold), 10)))
    return out


def content_words(question: str) -> int:
    from rag.bm25 import tokenize
    from rag.evidence import distinctive_words

    return len(tokenize(distinctive_words(question)))


class Levers:
    """The pieces of one store that the levers need, built once."""

    def __init__(self, retriever) -> None:
        from rag.bm25 import BM25Index, paper_text, tokenize

        self.r = retriever
        self.papers = list(retriever.catalog.papers.values())
        self.tokenize = tokenize
        self.titled: dict[int, BM25Index] = {}
        for times in (2, 3):
            started = time.perf_counter()
            docs = [_repeat_title(p, times, paper_text) for p in self.papers]
            self.titled[times] = _build(docs, [p.id for p in self.papers])
            print(f"  BM25 with title x{times}: {time.perf_counter() - started:.0f}s", file=sys.stderr)
        started = time.perf_counter()
        self.anserini = _build([paper_text(p) for p in self.papers], [p.id for p in self.papers], k1=0.9, b=0.4)
        print(f"  BM25 k1=0.9 b=0.4: {time.perf_counter() - started:.0f}s", file=sys.stderr)

    def pieces(self, question: str, depth: int):
        old = self.r.settings.candidates
        self.r.settings.candidates = depth
        try:
            return self.r.rankings(question)
        finally:
            self.r.settings.candidates = old

    def prf(self, question: str, sparse: list[tuple[str, float]], allowed, depth: int, *, docs: int = 3,
            terms: int = 10, weight: float = 0.5) -> list[tuple[str, float]]:
        bm25 = self.r.catalog.bm25
        asked = set(self.tokenize(question))
        counts: Counter = Counter()
        for pid, score in sparse[:docs]:
            toks = self.tokenize(_text(self.r.catalog.papers[pid]))
            n = len(toks) or 1
            for t, c in Counter(toks).items():
                if t not in asked:
                    counts[t] += score * c / n
        n_docs = len(bm25)
        scored = {t: w * math.log(1 + n_docs / (1 + bm25.document_frequency(t))) for t, w in counts.items()}
        extra = [t for t, _ in sorted(scored.items(), key=lambda kv: -kv[1])[:terms]]
        base = bm25.scores(question)
        if extra and len(base):
            tids = bm25.model.get_tokens_ids(extra)
            base = base + weight * bm25.model.get_scores_from_ids(tids)
        return _top(bm25, base, depth, allowed)

    def dense_mean(self, qv, dense: list[tuple[str, float]]) -> list[tuple[str, float]]:
        import numpy as np

        known = self.r.catalog.chunk_ids
        pids = [p for p, _ in dense if p in known]
        ids = [c for p in pids for c in known[p]]
        got = self.r.store.chunks(ids=ids)
        sims = got.embeddings @ np.asarray(qv, dtype=np.float32) if got.ids else []
        per: dict[str, list[float]] = defaultdict(list)
        for pid, s in zip(got.paper_ids, sims):
            per[pid].append(float(s))
        out = [(p, (best + statistics.fmean(per[p])) / 2 if per.get(p) else best) for p, best in dense]
        return sorted(out, key=lambda kv: -kv[1])

    def dense_prf(self, qv, first: list[str], allowed, *, docs: int = 3, weight: float = 0.5) -> list[tuple[str, float]]:
        import numpy as np

        matrix = self.r.matrix()
        if matrix is None:
            raise SystemExit("levers.py needs the in-memory chunk matrix (the store is over RAG_EXACT_LIMIT)")
        best = []
        for pid in first[:docs]:
            _, _, sims = matrix.paper_sims(qv, [pid])
            if len(sims):
                best.append(_row_vector(matrix, pid, int(np.argmax(sims))))
        if not best:
            return []
        v = np.asarray(qv, dtype=np.float32) + weight * np.mean(best, axis=0)
        return dense_rank(self.r, v / (np.linalg.norm(v) or 1.0), allowed)


def dense_rank(r, vector, allowed, depth: int = 50) -> list[tuple[str, float]]:
    """Papers by their best chunk's cosine with `vector`, as the shipped dense search ranks them."""
    matrix = r.matrix()
    if matrix is None:
        raise SystemExit("this lever needs the in-memory chunk matrix (the store is over RAG_EXACT_LIMIT)")
    seen: dict[str, float] = {}
    for _, pid, cos in matrix.nearest(vector, depth, allowed):
        if pid not in seen and (allowed is None or pid in allowed):
            seen[pid] = cos
    return list(seen.items())


def _row_vector(matrix, pid: str, k: int):
    """The k-th chunk vector of paper `pid` (in `ChunkMatrix.paper_sims` order)."""
    return matrix.vectors[matrix._rows[matrix._index[pid]][k]]


def _text(p) -> str:
    from rag.bm25 import paper_text

    return paper_text(p)


def _repeat_title(p, times: int, paper_text) -> str:
    return "\n".join([p.title or ""] * (times - 1) + [paper_text(p)])


def _build(docs: list[str], ids: list[str], **params):
    import bm25s

    from rag.bm25 import BM25Index, tokenize

    model = bm25s.BM25(**params)
    model.index([tokenize(d) for d in docs], show_progress=False)
    return BM25Index(model, ids, "")


def _top(index, scores, k: int, allowed) -> list[tuple[str, float]]:
    import numpy as np

    if allowed is not None:
        mask = np.zeros(len(scores), dtype=bool)
        mask[[index.position[p] for p in allowed if p in index.position]] = True
        scores = np.where(mask, scores, 0)
    keep = np.flatnonzero(scores > 0)
    keep = keep[np.argsort(-scores[keep], kind="stable")][:k]
    return [(index.ids[i], float(scores[i])) for i in keep]


def rank_all(lv: Levers, question: str) -> tuple[dict[str, list[str]], dict]:
    from rag.retrieval import fuse

    out: dict[str, list[str]] = {}
    pieces = {d: lv.pieces(question, d) for d in DEPTHS}
    first = pieces[50]
    qv, dense, sparse, applied = first.query_vector, first.dense, first.bm25, first.filters_applied
    allowed = _allowed(lv, applied)
    out["default"] = [p for p, _ in fuse(dense, sparse)]
    for d in DEPTHS[1:]:
        out[f"depth={d}"] = [p for p, _ in fuse(pieces[d].dense, pieces[d].bm25)]
    for times, index in lv.titled.items():
        out[f"title x{times}"] = [p for p, _ in fuse(dense, _top(index, index.scores(question), 50, allowed))]
    out["prf"] = [p for p, _ in fuse(dense, lv.prf(question, sparse, allowed, 50))]
    out["dense best+mean"] = [p for p, _ in fuse(lv.dense_mean(qv, dense), sparse)]
    n = content_words(question)
    w = 0.3 if n <= 4 else 0.7 if n >= 12 else 0.5
    out["shape weight"] = [p for p, _ in fuse(dense, sparse, weight=w)]
    out["rrf"] = [p for p, _ in fuse(dense, sparse, method="rrf")]
    out["zscore"] = [p for p, _ in fuse(dense, sparse, method="zscore")]
    out["dense prf"] = [p for p, _ in fuse(lv.dense_prf(qv, out["default"], allowed), sparse)]
    out["bm25 k1=0.9 b=0.4"] = [p for p, _ in fuse(dense, _top(lv.anserini, lv.anserini.scores(question), 50,
                                                                allowed))]
    return out, {"dense": dense, "sparse": sparse, "applied": applied}


def _allowed(lv: Levers, applied: dict):
    from rag.types import Filters

    if "matched_papers" not in applied:
        return None
    _, allowed, _ = lv.r.catalog.resolve(Filters.from_dict({k: v for k, v in applied.items()
                                                            if k not in ("auto", "matched_papers")}))
    return allowed


def loss_row(lv: Levers, q, gold: set[str], ranked: list[str], pieces: dict) -> dict:
    cat = lv.r.catalog
    dense, sparse = dict(pieces["dense"]), dict(pieces["sparse"])
    dense_rank = {p: i + 1 for i, (p, _) in enumerate(pieces["dense"])}
    sparse_rank = {p: i + 1 for i, (p, _) in enumerate(pieces["sparse"])}
    terms = list(dict.fromkeys(lv.tokenize(q.question)))

    def about(pid: str) -> dict:
        words = set(lv.tokenize(_text(cat.papers[pid])))
        return {"id": pid, "title": cat.papers[pid].title, "fused_rank": ranked.index(pid) + 1 if pid in ranked else None,
                "dense_rank": dense_rank.get(pid), "dense": round(dense.get(pid, 0.0), 4),
                "bm25_rank": sparse_rank.get(pid), "bm25": round(sparse.get(pid, 0.0), 3),
                "terms": [t for t in terms if t in words]}

    above = [p for p in ranked[: min(ranked.index(g) for g in gold if g in ranked)]] if gold & set(ranked) else ranked[:5]
    return {"id": q.id, "type": q.type, "question": q.question, "filters": pieces["applied"],
            "gold": [about(g) for g in gold], "outranked_by": [about(p) for p in above[:5]]}


def evidence_row(lv: Levers, q, gold: set[str]) -> dict:
    from rag.evidence import lexical_coverage

    found = lv.r.search(q.question)
    pieces = lv.pieces(q.question, 50)
    dense, applied = pieces.dense, pieces.filters_applied
    cos = [s for _, s in dense]
    at = {f"cos@{k}": round(cos[k - 1], 4) if len(cos) >= k else None for k in (1, 5, 10, 20)}
    best = max((p.score for p in found.passages), default=0.0)
    cover = lexical_coverage(q.question, found.passages, lv.r.catalog.bm25)
    return {"id": q.id, "type": q.type, "answerable": bool(gold), "by_filter": bool(applied.get("auto")),
            "best": round(best, 4), "coverage": round(cover, 4), "evidence": round(best + 0.5 * cover, 4),
            "gold_top1": bool(found.passages) and found.passages[0].paper_id in gold, **at,
            "tail_mean": round(statistics.fmean(cos[9:50]), 4) if len(cos) > 10 else None}


def run_set(lv: Levers, path: Path, losses: list[dict], evidence: list[dict]) -> dict:
    from rag.eval.datasets import load_questions, resolve_gold

    dataset = load_questions(path)
    gold_ids = resolve_gold(dataset, lv.r.catalog.papers)
    rows: dict[str, list[dict]] = defaultdict(list)
    types: list[str] = []
    moved: dict[str, list[str]] = defaultdict(list)
    started = time.perf_counter()
    for q in dataset.questions:
        gold = set(gold_ids[q.id])
        evidence.append({"set": path.name, **evidence_row(lv, q, gold)})
        if not gold:
            continue
        ranked, pieces = rank_all(lv, q.question)
        types.append(q.type)
        for name, r in ranked.items():
            rows[name].append(metrics(r, gold))
        base = rows["default"][-1]["R@5"]
        for name in ranked:
            delta = rows[name][-1]["R@5"] - base
            if delta:
                moved[name].append(f"{q.id}{'+' if delta > 0 else '-'}")
        if base < 1:
            losses.append({"set": path.name, **loss_row(lv, q, gold, ranked["default"], pieces)})
    print(f"  {path.name}: {len(types)} questions, {time.perf_counter() - started:.0f}s", file=sys.stderr)
    out = {}
    for name, rs in rows.items():
        by_type = {t: {m: round(statistics.fmean(r[m] for r, tt in zip(rs, types) if tt == t), 4) for m in rs[0]}
                   for t in sorted(set(types))}
        out[name] = {"all": {m: round(statistics.fmean(r[m] for r in rs), 4) for m in rs[0]}, "by_type": by_type,
                     "moved_R@5": moved.get(name, [])}
        if name != "default":
            out[name]["bootstrap_ndcg"] = bootstrap([r["nDCG@10"] for r in rs],
                                                    [r["nDCG@10"] for r in rows["default"]])
    return out


def show(name: str, results: dict) -> str:
    lines = [f"\n{name}", f"{'':18}{'R@5':>7}{'R@10':>7}{'nDCG@10':>9}  gain (95% CI)             moved R@5"]
    for lever, r in results.items():
        a, b = r["all"], r.get("bootstrap_ndcg")
        gain = f"{b['gain']:+.3f} ({b['ci_low']:+.3f}..{b['ci_high']:+.3f})" if b else ""
        lines.append(f"{lever:18}{a['R@5']:7.3f}{a['R@10']:7.3f}{a['nDCG@10']:9.3f}  {gain:26} "
                     f"{' '.join(r['moved_R@5'])}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("datasets", nargs="+", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--losses", type=Path)
    ap.add_argument("--evidence", type=Path)
    args = ap.parse_args()

    from rag.retrieval import Retriever
    from rag.settings import load_settings

    retriever = Retriever(load_settings())
    print(f"store: {len(retriever.catalog.papers)} papers", file=sys.stderr)
    lv = Levers(retriever)
    losses: list[dict] = []
    evidence: list[dict] = []
    results = {p.name: run_set(lv, p, losses, evidence) for p in args.datasets}
    for name, r in results.items():
        print(show(name, r))
    if args.json:
        args.json.write_text(json.dumps({"papers": len(lv.papers), "results": results}, indent=1))
    if args.evidence:
        args.evidence.write_text("".join(json.dumps(row) + "\n" for row in evidence))
    if args.losses:
        args.losses.write_text("".join(json.dumps(row) + "\n" for row in losses))


if __name__ == "__main__":
    main()
