"""Which llama.cpp runtime serves the local model: xllamacpp (prebuilt wheel) vs llama-cpp-python.

    .venv/bin/python bench/llm_runtime.py --model MODEL.gguf [--llama-cpp-python /path/to/venv/bin/python]

Both serve the OpenAI protocol on 127.0.0.1 and are driven by the same `openai` client with the
same requests: three answer prompts of the seed corpus (system prompt, worked examples, sources,
question; about 800 tokens), prompt cache off, greedy, 64 answer tokens. Reported per runtime:
server start (process start to first answer), prompt tokens/s (prompt tokens / time to first
token) and generation tokens/s ((completion tokens - 1) / (total - first token)), medians.
llama-cpp-python is not a project dependency: build it into a separate venv first
(`python3 -m venv /tmp/lcpp && /tmp/lcpp/bin/pip install "llama-cpp-python[server]==0.3.36"`).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import openai

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

QUESTIONS = ["Which paper proposes Griffin?",
             "Does proximal policy optimization suffer from collapsing features over long training?",
             "several robots finding their way without a central planner, trained with deep RL"]


def prompts(store: Path) -> list[list[dict]]:
    from rag.answer import build_messages
    from rag.api import Assistant
    from rag.settings import Settings

    a = Assistant(Settings(data_dir=store, backend="extractive", source_tokens=0, source_min_share=0.0))
    out = []
    for q in QUESTIONS:
        found = a.retriever.search(q)
        out.append(build_messages(q, {i + 1: p for i, p in enumerate(found.passages)}))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(client: openai.OpenAI, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            client.models.list()
            return
        except openai.OpenAIError:
            time.sleep(0.5)
    raise SystemExit("server did not start")


def measure(client: openai.OpenAI, model: str, messages_list: list[list[dict]], extra: dict,
            known_prompt_tokens: list[int] | None = None) -> dict:
    """Medians over the prompts. A server that reports no usage in streams (llama-cpp-python) gets
    the prompt sizes measured on the other runtime and one token per streamed piece."""
    rows = []
    for i, messages in enumerate(messages_list):
        start = time.perf_counter()
        first, usage, pieces = None, None, 0
        stream = client.chat.completions.create(model=model, messages=messages, max_tokens=64, temperature=0,
                                                stream=True, stream_options={"include_usage": True},
                                                extra_body=extra)
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                pieces += 1
                if first is None:
                    first = time.perf_counter() - start
            usage = chunk.usage or usage
        total = time.perf_counter() - start
        prompt = usage.prompt_tokens if usage else known_prompt_tokens[i]
        completion = usage.completion_tokens if usage else pieces
        rows.append({"prompt_tps": prompt / first, "gen_tps": (completion - 1) / max(total - first, 1e-6),
                     "prompt_tokens": prompt, "completion_tokens": completion})
    out = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    out["prompt_tokens_each"] = [r["prompt_tokens"] for r in rows]
    return out


def run_xllamacpp(model: Path, threads: int, msgs) -> dict:
    from rag.local_server import LocalServer

    started = time.perf_counter()
    server = LocalServer(model, threads=threads, ctx=4096, log_dir=Path("/tmp"))
    client = openai.OpenAI(base_url=server.url(), api_key="x")
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=1)
    start_s = time.perf_counter() - started
    try:
        return {"runtime": "xllamacpp", "start_s": start_s, **measure(client, "m", msgs, {"cache_prompt": False})}
    finally:
        server.stop()


def run_llama_cpp_python(python: str, model: Path, threads: int, msgs, known: list[int]) -> dict:
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen([python, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "4096", "--n_threads", str(threads),
                             "--n_threads_batch", str(threads), "--chat_format", "chatml"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x")
    try:
        wait_ready(client, proc)
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=1)
        start_s = time.perf_counter() - started
        # llama-cpp-python keeps one prompt cache per model; make each prompt unique at the start instead
        uniq = [[{**m[0], "content": f"({i}) " + m[0]["content"]}] + m[1:] for i, m in enumerate(msgs)]
        return {"runtime": "llama-cpp-python", "start_s": start_s, **measure(client, "m", uniq, {}, known)}
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True, help="the assembled GGUF")
    p.add_argument("--store", type=Path, default=Path("rag-data"), help="a store of the sample corpus")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    p.add_argument("--llama-cpp-python", help="python of a venv with llama-cpp-python[server] installed")
    args = p.parse_args()
    msgs = prompts(args.store)
    results = [run_xllamacpp(args.model, args.threads, msgs)]
    if args.llama_cpp_python:
        known = [n + 3 for n in results[0]["prompt_tokens_each"]]  # + the "(i) " made unique
        results.append(run_llama_cpp_python(args.llama_cpp_python, args.model, args.threads, msgs, known))
    print(f"Command: `{' '.join(['.venv/bin/python'] + sys.argv)}`; {args.threads} threads, "
          f"load average at end {os.getloadavg()[0]:.2f}\n")
    print("| runtime | server start to first answer s | prompt tokens (median) | prompt tok/s | generation tok/s |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['runtime']} | {r['start_s']:.1f} | {r['prompt_tokens']:.0f} | {r['prompt_tps']:.1f} "
              f"| {r['gen_tps']:.1f} |")


if __name__ == "__main__":
    main()
