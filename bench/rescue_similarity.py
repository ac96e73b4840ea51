"""How close the quote rescue's quotes are to their questions, right and wrong: the data behind
RAG_QUOTE_MIN_SIMILARITY.

    .venv/bin/python bench/rescue_similarity.py RUN_DIR [RUN_DIR ...]

Reads `rag eval` run directories (local-model runs: their `questions.jsonl`) and, for every answer
the rescue wrote (`answer.quoted`, not abstained), embeds the question and each quoted sentence
(citation keys stripped) with the bundled MiniLM and takes the best cosine, as
`AnswerChain._about` does. An answer is "right" when its question has gold papers and the answer
cites one of them (cited-paper precision > 0), else "wrong" (an unanswerable question answered,
or only other papers cited). Printed: every rescued answer by cosine, then, for a few thresholds,
how many right and wrong rescues fall under it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def main() -> None:
    from rag.citations import split_sentences, strip_keys
    from rag.embeddings import get_embedder

    if len(sys.argv) < 2:
        raise SystemExit(__doc__.split("\n\n")[1])
    embedder = get_embedder()
    rows = []
    for run in map(Path, sys.argv[1:]):
        for line in (run / "questions.jsonl").open():
            q = json.loads(line)
            answer = q["answer"]
            if not answer.get("quoted") or answer.get("abstained"):
                continue
            sentences = [bare for s in split_sentences(answer["text"]) if (bare := strip_keys(s)).strip()]
            vectors = embedder.embed([q["question"], *sentences])
            best = float(np.max(vectors[1:] @ vectors[0]))
            right = bool(q["gold"]) and (q["metrics"].get("cited_paper_precision") or 0) > 0
            rows.append((best, "right" if right else "wrong", run.name, q["id"], q["question"][:70]))
    rows.sort()
    for best, verdict, run, qid, question in rows:
        print(f"{best:6.3f}  {verdict:5}  {run:24} {qid:6} {question}")
    right = [r[0] for r in rows if r[1] == "right"]
    wrong = [r[0] for r in rows if r[1] == "wrong"]
    print(f"\n{len(right)} right rescues (cosine {min(right, default=0):.3f}-{max(right, default=0):.3f}), "
          f"{len(wrong)} wrong ({min(wrong, default=0):.3f}-{max(wrong, default=0):.3f})")
    for t in (0.2, 0.25, 0.3, 0.35, 0.4):
        print(f"under {t:.2f}: {sum(c < t for c in right)} right, {sum(c < t for c in wrong)} wrong")


if __name__ == "__main__":
    main()
