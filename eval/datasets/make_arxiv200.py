"""Write eval/datasets/arxiv200-records.jsonl: 200 records of the shared arXiv CS corpus, picked by a fixed rule.

Rule (anyone can re-run it; stdlib only):
    Read ../shared/data/arxiv_cs_daily.jsonl.gz (74,728 lines). For k = 0, 1, ..., 199 the k-th pick
    is the line with 0-based index i = 373 * k. A line is unusable when its abstract or title is empty,
    or when its title or the start of its abstract (first 200 characters, normalised: lower case,
    punctuation dropped, spacing collapsed) equals that of a record already picked (the project would
    merge the two into one paper). An unusable line is replaced by the next line, i + 1, i + 2, ...,
    until a usable one is found. The records are written exactly as in the source file, one per line,
    in pick order.

main() also takes an offset (pick k is then line i = 373 * k + offset) and a records file to avoid
(a line whose record id, title or normalised abstract start is one of that file's records is unusable
too); make_arxiv200b.py uses them. The defaults (offset 0, nothing to avoid) give this file's output.

Usage (from the repository root):
    python eval/datasets/make_arxiv200.py [SOURCE.jsonl.gz] [OUT.jsonl]
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "shared" / "data" / "arxiv_cs_daily.jsonl.gz"
OUT = HERE / "arxiv200-records.jsonl"
STEP = 373
COUNT = 200


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def read_avoid(path: Path | None) -> tuple[set[str], set[str], set[str]]:
    """Record ids, normalised titles and normalised abstract starts of the records in ``path``."""
    ids: set[str] = set()
    titles: set[str] = set()
    abstracts: set[str] = set()
    if path is not None:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                ids.add(str(rec.get("id")))
                titles.add(norm(rec.get("title") or ""))
                abstracts.add(norm(rec.get("abstract") or "")[:200])
    return ids, titles, abstracts


def main(source: Path = SOURCE, out: Path = OUT, offset: int = 0, avoid: Path | None = None) -> None:
    """Pick line i = STEP * k + offset for k = 0 .. COUNT - 1 (see the module docstring).

    ``avoid``: a records file (JSONL); a line whose record id, title or abstract start (normalised as
    above) is one of its records' is unusable too. The defaults give arxiv200-records.jsonl.
    """
    avoid_ids, titles, abstracts = read_avoid(avoid)  # the avoided records count as picked already
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        lines = [line.rstrip("\n") for line in fh]
    picked: list[str] = []
    for k in range(COUNT):
        i = STEP * k + offset
        while True:
            if i >= len(lines):
                sys.exit(f"ran out of lines at pick {k}")
            rec = json.loads(lines[i])
            title = norm(rec.get("title") or "")
            abstract = norm(rec.get("abstract") or "")[:200]
            if title and abstract and title not in titles and abstract not in abstracts \
                    and str(rec.get("id")) not in avoid_ids:
                break
            print(f"skip line {i} ({rec.get('id')}): empty, a duplicate, or one to avoid", file=sys.stderr)
            i += 1
        titles.add(title)
        abstracts.add(abstract)
        picked.append(lines[i])
    data = "".join(line + "\n" for line in picked).encode("utf-8")
    out.write_bytes(data)
    print(f"wrote {len(picked)} records to {out} (sha256 {hashlib.sha256(data).hexdigest()})")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(Path(args[0]) if args else SOURCE, Path(args[1]) if len(args) > 1 else OUT)
