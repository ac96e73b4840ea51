"""Ingestion benchmark: how fast `rag ingest` turns arXiv records into a searchable store.

    .venv/bin/python bench/ingest.py --sizes 1000,10000 [--all] [--json results.json]

(--all alone runs only the whole corpus. Embedding runs at roughly 10-45 chunks/s on 2 cores, about
2.15 chunks per record, so 10,000 records take about 10-30 minutes per embedding variant.)

Input: the first N lines of ../shared/data/arxiv_cs_daily.jsonl.gz (74,728 real arXiv CS records),
written to a plain .jsonl file. For each size, four variants run one after another (never in
parallel: the machine is small and shared), each in a fresh Python process so its peak RSS
(getrusage ru_maxrss) is its own, and each on a fresh data directory unless stated:

    pipeline            `rag.ingest.ingest([file])` end to end, cold: imports done lazily inside it,
                        model load, Chroma start-up, parse, dedupe, chunk, embed, upsert, state.
    reingest            the same call again on the pipeline's data directory with the file
                        unchanged (the timed figure), then once more after rewriting the file with
                        identical bytes (new mtime). Both should embed nothing.
    raw-embed           the bound no pipeline can beat: the exact texts the pipeline embeds
                        (parse_file + merge_records + chunk_record, built before the clock starts),
                        timed only around `get_embedder().embed(texts)`. Model load is excluded.
    llamaindex-default  llama-index out of the box on the same model: read the JSONL, one
                        `Document(abstract, {title, authors, year})` per record, then
                        `VectorStoreIndex.from_documents` (default SentenceSplitter, in-memory
                        SimpleVectorStore). Model load is excluded; reading the file is included.

Every variant uses the same MiniLM int8 ONNX embedder with all cores and the RAG_EMBED_BATCH_SIZE
default (8). `--variants pipeline,reingest` skips the two comparison runs (each as long as the
pipeline) where the time is not there; the pipeline still reports its own time inside the model.
Not measured: query latency or retrieval quality, a Chroma server (set no RAG_* variables: they
would apply to every variant), disk use, or GPU embedding. The llama-index variant
embeds different texts (its own chunking, metadata in the embedded text) and stores nothing on
disk, so it is a reference point for the effort a default setup spends, not a like-for-like race.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv_cs_daily.jsonl.gz"
ALL = 74728
VARIANTS = ("pipeline", "reingest", "raw-embed", "llamaindex-default")


# ---------------------------------------------------------------- child side: one variant per process

def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has spent so far (from /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait


class Clock:
    """Wall seconds of a block, the cores it used (CPU / wall) and the cores other processes used meanwhile."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu, self.busy = time.perf_counter(), time.process_time(), machine_busy_seconds()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = max(time.perf_counter() - self.wall, 1e-9)
        own = time.process_time() - self.cpu
        self.cores = own / self.seconds
        self.others = max(machine_busy_seconds() - self.busy - own, 0.0) / self.seconds

    def figures(self) -> dict:
        return {"seconds": self.seconds, "cores": self.cores, "other_cores": self.others}


def run_pipeline(file: Path, data_dir: Path) -> dict:
    from rag.ingest import ingest
    from rag.settings import Settings

    with Clock() as clock:
        report = ingest([file], settings=Settings(data_dir=data_dir), progress=False)
    return {**clock.figures(), "chunks": report.chunks_added + report.chunks_updated,
            "embedded": report.embedded, "report": report.to_dict()}


def run_reingest(file: Path, data_dir: Path) -> dict:
    from rag.ingest import ingest
    from rag.settings import Settings

    settings = Settings(data_dir=data_dir)
    with Clock() as clock:
        report = ingest([file], settings=settings, progress=False)
    file.write_bytes(file.read_bytes())  # identical content, new mtime
    with Clock() as touched_clock:
        touched = ingest([file], settings=settings, progress=False)
    return {**clock.figures(), "chunks": 0, "embedded": report.embedded,
            "report": report.to_dict(), "touched_seconds": touched_clock.seconds,
            "touched_embedded": touched.embedded}


def pipeline_texts(file: Path) -> list[str]:
    """The texts `ingest` embeds for this one file, built the way it builds them."""
    from rag.chunking import chunk_record
    from rag.dedupe import merge_records
    from rag.parsers import parse_file
    from rag.settings import Settings

    settings = Settings(data_dir=Path(tempfile.gettempdir()))
    records = parse_file(file, max_page_bytes=settings.max_page_bytes).records
    papers, _ = merge_records(records)
    return [c.embed_text for p in papers
            for c in chunk_record(p, chunk_tokens=settings.chunk_tokens, overlap=settings.chunk_overlap)]


def run_raw_embed(file: Path, data_dir: Path) -> dict:
    from rag.embeddings import get_embedder

    texts = pipeline_texts(file)
    with Clock() as load:
        embedder = get_embedder()
    with Clock() as clock:
        embedder.embed(texts)
    return {**clock.figures(), "chunks": len(texts), "embedded": len(texts),
            "model_load_seconds": load.seconds}


def llama_documents(file: Path, *, cap_authors: bool = False) -> list:
    """One Document per record; `cap_authors` keeps the first three authors + "et al." (as rag's header)."""
    from llama_index.core import Document

    from rag.chunking import author_line

    docs = []
    with file.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            authors = row.get("authors") or []
            meta = {"title": row.get("title") or "",
                    "authors": author_line(authors, True) if cap_authors else ", ".join(authors),
                    "year": (row.get("listing_date") or "")[:4]}
            docs.append(Document(text=row.get("abstract") or "", metadata=meta))
    return docs


def run_llamaindex(file: Path, data_dir: Path) -> dict:
    import llama_index.core
    os.environ.setdefault("TIKTOKEN_CACHE_DIR",
                          str(Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"))
    from llama_index.core import VectorStoreIndex

    from rag.embeddings import get_embedder, llama_index_embedding

    embed_model = llama_index_embedding(get_embedder())  # model load outside the clock
    result = {}
    try:
        with Clock() as clock:
            index = VectorStoreIndex.from_documents(llama_documents(file), embed_model=embed_model,
                                                    show_progress=False)
    except ValueError as exc:  # the default splitter refuses metadata longer than its 1024-token chunks
        if "Metadata length" not in str(exc):
            raise
        result["default_failed"] = str(exc)
        with Clock() as clock:
            index = VectorStoreIndex.from_documents(llama_documents(file, cap_authors=True),
                                                    embed_model=embed_model, show_progress=False)
    nodes = list(index.docstore.docs.values())
    return {**result, **clock.figures(), "chunks": len(nodes), "embedded": len(nodes),
            "truncated": truncated_nodes(nodes)}


def truncated_nodes(nodes: list) -> int:
    """Nodes whose embedded text (metadata included) exceeds MiniLM's window, so their tail is never seen."""
    from llama_index.core.schema import MetadataMode

    from rag.chunking import MAX_WORD_PIECES, count_word_pieces

    return sum(count_word_pieces(n.get_content(metadata_mode=MetadataMode.EMBED)) > MAX_WORD_PIECES for n in nodes)


CHILDREN = {"pipeline": run_pipeline, "reingest": run_reingest, "raw-embed": run_raw_embed,
            "llamaindex-default": run_llamaindex}


def child_main(variant: str, file: str, data_dir: str) -> None:
    result = CHILDREN[variant](Path(file), Path(data_dir))
    result["peak_rss_mib"] = peak_rss_mib()
    print("RESULT " + json.dumps(result))


# ---------------------------------------------------------------- parent side: orchestration and report

def write_sample(n: int, dest: Path) -> int:
    """The first `n` lines of the corpus as a plain .jsonl file; returns how many were written."""
    count = 0
    with gzip.open(DATA, "rt", encoding="utf-8") as src, dest.open("w", encoding="utf-8") as out:
        for line in src:
            if count == n:
                break
            out.write(line)
            count += 1
    return count


def run_child(variant: str, file: Path, data_dir: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", variant, str(file), str(data_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"{variant} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}", file=sys.stderr)
        return {"error": last}
    return json.loads(lines[-1][len("RESULT "):])


def bench_size(n: int, workdir: Path, say, variants=VARIANTS) -> list[dict]:
    """The chosen variants on the first `n` records, one process at a time."""
    file = workdir / f"arxiv_{n}.jsonl"
    records = write_sample(n, file)
    pipeline_dir = workdir / f"data_{n}_pipeline"
    results = []
    for variant in variants:
        data_dir = pipeline_dir if variant in ("pipeline", "reingest") else workdir / f"data_{n}_{variant}"
        say(f"[{time.strftime('%H:%M:%S')}] size {n}: {variant} ...")
        result = run_child(variant, file, data_dir)
        result.update(size=records, variant=variant)
        if "error" not in result:
            say(f"    {result['seconds']:.1f} s, {result['chunks']} chunks, embedded {result['embedded']}, "
                f"peak RSS {result['peak_rss_mib']:.0f} MiB, other processes used {result['other_cores']:.2f} cores")
        results.append(result)
    return results


def machine() -> dict:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor() or "unknown")
    mem_kib = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                   if ln.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": round(mem_kib / 2**20, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "versions": library_versions()}


def library_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("onnxruntime", "chromadb", "llama-index-core", "tokenizers"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.1f}" if seconds > 0 and count else "-"


def results_table(results: list[dict]) -> list[str]:
    lines = ["| size | variant | seconds | records/s | chunks/s | chunks (nodes) | embedded | peak RSS MiB "
             "| CPU s | cores used | cores used by others |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['size']:,} | {r['variant']} | failed: {r['error']} | | | | | | | | |")
            continue
        lines.append(f"| {r['size']:,} | {r['variant']} | {r['seconds']:.2f} | {rate(r['size'], r['seconds'])} | "
                     f"{rate(r['chunks'], r['seconds'])} | {r['chunks']:,} | {r['embedded']:,} | "
                     f"{r['peak_rss_mib']:.0f} | {r['seconds'] * r['cores']:.1f} | {r['cores']:.2f} | {r['other_cores']:.2f} |")
    return lines


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def ratios_table(results: list[dict]) -> list[str]:
    lines = ["| size | pipeline overhead over raw embedding (wall / CPU) | pipeline outside the model (s) | "
             "llama-index default / pipeline | reingest, unchanged (s) | reingest after rewrite (s) |",
             "|---:|---:|---:|---:|---:|---:|"]
    for size in sorted({r["size"] for r in results}):
        ok = [r for r in results if r["size"] == size and "error" not in r]
        secs = {r["variant"]: r["seconds"] for r in ok}
        cpu = {r["variant"]: r["seconds"] * r["cores"] for r in ok}
        touched = next((f"{r['touched_seconds']:.2f} (embedded {r['touched_embedded']})" for r in results
                        if r["size"] == size and "touched_seconds" in r), "-")
        outside = next((r["seconds"] - r["report"]["embed_seconds"] for r in results if r["size"] == size
                        and r["variant"] == "pipeline" and "embed_seconds" in r.get("report", {})), None)
        ratio = lambda a, b, t=secs: t[a] / t[b] if a in t and b in t else None  # noqa: E731
        wall, by_cpu = ratio("pipeline", "raw-embed"), ratio("pipeline", "raw-embed", cpu)
        lines.append(f"| {size:,} | {fmt(wall and wall - 1, '+.1%')} / {fmt(by_cpu and by_cpu - 1, '+.1%')} | "
                     f"{fmt(outside, '.1f')} | "
                     f"{fmt(ratio('llamaindex-default', 'pipeline'), '.2f')}x | {fmt(secs.get('reingest'), '.2f')} | "
                     f"{touched} |")
    return lines


def report(results: list[dict], info: dict, command: str) -> str:
    v = ", ".join(f"{k} {x}" for k, x in info["versions"].items())
    head = [f"Command: `{command}`",
            f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gib']} GiB RAM, {info['platform']}; "
            f"shared machine, variants run one at a time; load average at start "
            f"{' '.join(map(str, info['load_average_at_start']))}",
            f"Python {info['python']}; {v}", f"Date: {info['date']}", ""]
    notes = ["", "pipeline overhead = pipeline seconds / raw-embed seconds - 1 (pipeline timed cold, "
             "raw-embed excludes model load), and the same with CPU seconds (steadier on a busy machine); outside the model = pipeline seconds - the report's embed_seconds. "
             "Reingest rows: embedded must be 0. cores used = CPU seconds / "
             f"wall seconds (at most {info['nproc']}); cores used by others = the rest of the machine's busy time "
             "meanwhile (from /proc/stat): above ~0.1 the figures are disturbed by other work."]
    for r in (r for r in results if "truncated" in r):
        notes.append(f"llama-index default, {r['size']:,} records: {r['truncated']:,} of {r['chunks']:,} nodes "
                     "exceed MiniLM's 256 word-piece window and are embedded truncated.")
        if "default_failed" in r:
            notes.append(f"  As is, it fails ({r['default_failed']}); timed with authors cut to 3 + 'et al.'.")
    return "\n".join(head + results_table(results) + [""] + ratios_table(results) + notes)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", help="comma-separated record counts (default: 1000, or none with --all)")
    p.add_argument("--all", action="store_true", help=f"run the whole corpus ({ALL:,} records), after any --sizes")
    p.add_argument("--json", type=Path, help="also write the raw figures to this file")
    p.add_argument("--workdir", type=Path, help="where temp files and stores go (default: a new temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the temp files and stores")
    p.add_argument("--variants", default=",".join(VARIANTS),
                   help=f"comma-separated subset of {', '.join(VARIANTS)} (default: all four; "
                        "reingest needs pipeline)")
    args = p.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        p.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    if "reingest" in args.variants and "pipeline" not in args.variants:
        p.error("reingest re-runs the pipeline's store: add pipeline to --variants")
    args.variants = [v for v in VARIANTS if v in args.variants]
    sizes = {int(s) for s in (args.sizes or ("" if args.all else "1000")).split(",") if s.strip()}
    args.sizes = sorted(sizes | ({ALL} if args.all else set()))
    return args


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        return child_main(*argv[1:4])
    args = parse_args(argv)
    if not DATA.exists():
        sys.exit(f"benchmark data not found: {DATA}")
    if any(k.startswith("RAG_") for k in os.environ):
        print("warning: RAG_* environment variables are set and apply to every variant", file=sys.stderr)
    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    info = machine()
    workdir = Path(tempfile.mkdtemp(prefix="rag-bench-", dir=args.workdir))
    try:
        results = [r for n in args.sizes for r in bench_size(n, workdir, say, args.variants)]
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report(results, info, command))
    if args.json:
        args.json.write_text(json.dumps({"command": command, "machine": info, "results": results}, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
