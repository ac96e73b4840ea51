"""Literature-table benchmark (`rag table`): cell quality on the hand labels, and table build time.

    .venv/bin/python bench/table.py /tmp/tablestore --backend extractive
    .venv/bin/python bench/table.py /tmp/tablestore --backend local --model-path MODEL.gguf

STORE is a data directory holding the sample corpus (ingested there first when it is empty).
  - quality: every labelled paper of eval/datasets/table-cells.jsonl gets one row
    (`RowFiller.row`: one model call per paper, or the extractive picker, then the support check),
    scored by `rag.eval.table_cells` (cell accuracy, the share of "not stated" that were right,
    shown cells not in the record), with each wrong cell printed.
  - speed: `Assistant.table(QUESTION, ["task", "method", "main result"], limit=10)` end to end
    (retrieval, rows, checks), `--runs` times; the first run is cold for the embedding cache of
    the support check, later ones warm. For the local model the server is started and warmed before
    any timing (not timed).
The load average before and after is printed: other work on the machine slows every figure.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
COLUMNS = ["task", "method", "main result"]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def quality(assistant, labels: list[dict]) -> tuple[dict, list[float]]:
    from rag.eval.table_cells import score
    from rag.table import RowFiller

    filler = RowFiller(assistant.settings, assistant.chat_model, assistant.chain.embed)
    papers, cells, seconds, rejected = assistant.retriever.catalog.papers, [], [], 0
    for label in labels:
        record = papers[label["paper_id"]]
        columns = list(label["cells"])
        started = time.perf_counter()
        row = filler.row(record, columns)
        seconds.append(time.perf_counter() - started)
        text = " ".join(x for x in (record.title, record.abstract) if x)
        for cell in row.cells:
            gold = label["cells"][cell.column]
            shown = cell.text if cell.stated else None
            cells.append((cell.column, shown, gold, text))
            rejected += bool(cell.rejected)
            mark = "ok " if (shown is None) == (gold is None) else "XX "
            print(f"  {mark}{record.id} {cell.column}: {shown!r}" + (f" (rejected {cell.rejected!r})"
                                                                       if cell.rejected else ""), file=sys.stderr)
    return {**score(cells), "rejected_by_check": rejected}, seconds


def speed(assistant, question: str, runs: int) -> list[tuple[float, int]]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        table = assistant.table(question, COLUMNS, limit=10)
        out.append((time.perf_counter() - started, len(table.rows)))
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("store", type=Path)
    p.add_argument("--backend", choices=["extractive", "local"], default="extractive")
    p.add_argument("--model-path", type=Path, help="a GGUF file for the local model (default: the bundle)")
    p.add_argument("--question", default="reinforcement learning agents", help="the speed table's question")
    p.add_argument("--runs", type=int, default=3, help="speed runs (the first is cold)")
    p.add_argument("--labels", type=Path, default=HERE.parent / "eval" / "datasets" / "table-cells.jsonl")
    args = p.parse_args(argv)

    from rag.api import Assistant, paper_count
    from rag.eval.table_cells import load_labels
    from rag.ingest import ingest
    from rag.settings import Settings

    settings = Settings(data_dir=args.store, backend=args.backend, local_model_path=args.model_path)
    if paper_count(settings) == 0:
        ingest(settings=settings, say=lambda *a: None)
    print(f"# {platform.node()}, {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"# {' '.join(sys.argv)}")
    print(f"# before: {load()}, {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    assistant = Assistant(settings)
    if args.backend == "local":
        assistant.chat_model.warm_up()
        assistant.chat_model.complete([{"role": "user", "content": "Say OK."}], max_tokens=2)
    try:
        figures, seconds = quality(assistant, load_labels(args.labels))
        print(f"quality ({assistant.model_name}): {figures}")
        print(f"per row: median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s, "
              f"{len(seconds)} rows of {len(figures['by_column'])} columns")
        for n, (took, rows) in enumerate(speed(assistant, args.question, args.runs), 1):
            print(f"table run {n}: {rows} rows x {len(COLUMNS)} columns in {took:.2f} s")
    finally:
        if args.backend == "local":
            assistant.chat_model.server.stop()
    print(f"# after: {load()}, {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")


if __name__ == "__main__":
    main()
