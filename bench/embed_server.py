"""Ingest through an embedding server against the server's own raw throughput (issue 16).

    .venv/bin/python bench/embed_server.py --records 300                      # the fake server, about 1 minute
    .venv/bin/python bench/embed_server.py --server llama --model M.gguf --records 20 --batch 4
    .venv/bin/python bench/embed_server.py --records 1000 --chroma-server     # writes to a `chroma run`

Input: the first N records of ../shared/data/arxiv_cs_daily.jsonl.gz written to a .jsonl file. The
texts are exactly the chunks `rag ingest` embeds (parse, merge, chunk with the server model's window),
built before any clock starts. For each number of requests in flight (1, 4, 8), in one run and one
process, against the same server:

    raw        `OpenAIEmbedder.embed(texts)`: the same texts, batch size and requests in flight, and
               nothing else (no parsing, no cache, no store): what the server itself can do.
    ingest     `rag.ingest.ingest([file])` end to end on a fresh data directory (cold cache): parse,
               merge, chunk, embed, Chroma upserts, state, BM25; its texts/s are chunks embedded
               over the whole wall time.

raw runs before and after ingest and the mean is the reference (the machine is shared), and a small
ingest first warms up the imports. Servers:

    fake       tests/fake_embeddings.py on 127.0.0.1, in a process of its own, with a service time
               per request and per text (`--per-request`, `--per-text`, seconds): a remote GPU's
               latency without using this machine's CPU (its JSON work aside); `--per-text 0
               --per-request 0` measures the pipeline's own ceiling.
    llama      tests/llama_embed_server.py: llama.cpp serving the GGUF in embedding mode on this
               machine's cores, which the pipeline then shares.

It prints a Markdown table with the machine's load (uptime) before and after, for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "arxiv_cs_daily.jsonl.gz"
sys.path.insert(0, str(ROOT / "tests"))  # the servers live with the tests


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def write_records(n: int, dest: Path) -> Path:
    with gzip.open(DATA, "rt") as src, dest.open("w") as out:
        for _, line in zip(range(n), src):
            out.write(line)
    return dest


def chunk_texts(path: Path, max_tokens: int) -> list[str]:
    from rag.chunking import chunk_record, token_limit
    from rag.dedupe import merge_records
    from rag.parsers import parse_file
    from rag.settings import Settings

    s = Settings()
    papers, _ = merge_records(parse_file(path).records)
    return [c.embed_text for p in papers for c in chunk_record(p, chunk_tokens=s.chunk_tokens,
                                                               overlap=s.chunk_overlap, limit=token_limit(max_tokens))]


def raw(url: str, model: str, texts: list[str], batch: int, flight: int) -> float:
    from rag.remote_embeddings import OpenAIEmbedder

    embedder = OpenAIEmbedder(url, model, batch_size=batch, concurrency=flight, timeout=600)
    embedder.probe()  # connection and first answer outside the clock
    started = time.perf_counter()
    embedder.embed(texts)
    seconds = time.perf_counter() - started
    embedder.close()
    return len(texts) / seconds


CHROMA_PORT: int | None = None  # --chroma-server: the port of the `chroma run` the ingest writes to


def pipeline(url: str, model: str, path: Path, batch: int, flight: int, root: Path) -> tuple[float, int]:
    from rag.ingest import ingest
    from rag.settings import Settings

    run = f"{flight}-{time.monotonic_ns()}"
    store = {"chroma_host": "127.0.0.1", "chroma_port": CHROMA_PORT, "collection": f"bench-{run}"} if CHROMA_PORT else {}
    settings = Settings(data_dir=root / f"data-{run}", embed_base_url=url, embed_model=model, embed_batch_size=batch,
                        embed_concurrency=flight, embed_timeout=600, **store)
    started = time.perf_counter()
    report = ingest([path], settings=settings, say=lambda *_: None)
    return report.embedded / (time.perf_counter() - started), report.embedded


def run(url: str, model: str, args, root: Path) -> list[str]:
    path = write_records(args.records, root / "records.jsonl")
    texts = chunk_texts(path, 512)
    pipeline(url, model, write_records(3, root / "warm.jsonl"), args.batch, 1, root)  # imports, Chroma start-up
    rows = []
    for flight in args.flight:
        before = load()
        raw_a = raw(url, model, texts, args.batch, flight)
        ingest_rate, embedded = pipeline(url, model, path, args.batch, flight, root)
        raw_b = raw(url, model, texts, args.batch, flight)
        ref = (raw_a + raw_b) / 2
        rows.append(f"| {flight} | {embedded} | {raw_a:.3g} / {raw_b:.3g} | {ingest_rate:.3g} | "
                    f"{ingest_rate / ref:.0%} | {before} -> {load()} |")
        print(rows[-1], flush=True)
    return rows


@contextlib.contextmanager
def chroma_server(folder: Path):
    """`chroma run` on 127.0.0.1 (a process of its own), until its heartbeat answers."""
    import urllib.request

    sys.path.insert(0, str(ROOT / "tests"))
    from netutil import free_port

    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path", str(folder), "--host",
                             "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextlib.contextmanager
def fake_server(per_request: float, per_text: float):
    """tests/fake_embeddings.py in a process of its own (its JSON work is not this process's)."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fake_embeddings.py"), "--per-request",
                             str(per_request), "--per-text", str(per_text)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        yield proc.stdout.readline().split()[1]
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", choices=["fake", "llama"], default="fake")
    p.add_argument("--model", help="GGUF for --server llama")
    p.add_argument("--records", type=int, default=300)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--flight", type=int, nargs="+", default=[1, 4, 8])
    p.add_argument("--per-request", type=float, default=0.02, help="fake: seconds per request")
    p.add_argument("--per-text", type=float, default=0.005, help="fake: seconds per text")
    p.add_argument("--chroma-server", action="store_true", help="ingest into a `chroma run` on 127.0.0.1, not the "
                   "embedded store")
    args = p.parse_args()
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    global CHROMA_PORT
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp, contextlib.ExitStack() as stack:
        if args.chroma_server:
            CHROMA_PORT = stack.enter_context(chroma_server(Path(tmp) / "chroma-server"))
        if args.server == "fake":
            with fake_server(args.per_request, args.per_text) as url:
                server = f"fake, {args.per_request * 1000:g} ms a request + {args.per_text * 1000:g} ms a text"
                rows = run(url, "fake-embed", args, Path(tmp))
        else:
            from llama_embed_server import MODEL_NAME, LlamaEmbedServer

            with LlamaEmbedServer(Path(args.model), threads=os.cpu_count() or 2, parallel=max(args.flight),
                                  ctx=512 * max(args.flight)) as llama:
                server = f"llama.cpp, {Path(args.model).name} in embedding mode, {max(args.flight)} slots"
                rows = run(llama.base_url, MODEL_NAME, args, Path(tmp))
    store = "a chroma run on 127.0.0.1" if args.chroma_server else "the embedded Chroma"
    print(f"\nServer: {server}; store: {store}; batch {args.batch}; {args.records} records; {platform.node()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"Command: python bench/embed_server.py {' '.join(sys.argv[1:])}\n")
    print("| requests in flight | texts | raw texts/s (before / after) | ingest texts/s | ingest / raw "
          "| load (1, 5, 15 min) |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
