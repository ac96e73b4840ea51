"""Write eval/datasets/arxiv200b-records.jsonl: 200 more records of the shared arXiv CS corpus, picked by a fixed rule.

Rule (anyone can re-run it; stdlib only): the rule of make_arxiv200.py with an offset. Read
../shared/data/arxiv_cs_daily.jsonl.gz. For k = 0, 1, ..., 199 the k-th pick is the line with 0-based
index i = 373 * k + 186. A line is unusable when its abstract or title is empty, when its title or the
start of its abstract (first 200 characters, normalised: lower case, punctuation dropped, spacing
collapsed) equals that of a record already picked, or when its record id, title or abstract start is
that of a record in arxiv200-records.jsonl (so the two sets share no paper). An unusable line is
replaced by the next line, i + 1, i + 2, ..., until a usable one is found. The records are written
exactly as in the source file, one per line, in pick order.

Usage (from the repository root):
    python eval/datasets/make_arxiv200b.py [SOURCE.jsonl.gz] [OUT.jsonl]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_arxiv200 import HERE, SOURCE, main  # noqa: E402

OUT = HERE / "arxiv200b-records.jsonl"
OFFSET = 186
AVOID = HERE / "arxiv200-records.jsonl"


if __name__ == "__main__":
    args = sys.argv[1:]
    main(Path(args[0]) if args else SOURCE, Path(args[1]) if len(args) > 1 else OUT, offset=OFFSET, avoid=AVOID)
