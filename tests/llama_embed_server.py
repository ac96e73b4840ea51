"""A real llama.cpp server (xllamacpp) serving `/v1/embeddings` on 127.0.0.1, for tests and benchmarks.

    with LlamaEmbedServer(gguf_path, threads=2) as server:
        server.base_url              # http://127.0.0.1:PORT/v1, for the `openai` client

The bundled GGUF (Qwen2.5-Coder-1.5B) runs in embedding mode with mean pooling: not a trained
embedding model, but the real protocol path of a real server. It is a child process
(`python tests/llama_embed_server.py --model PATH`) that prints "READY <address>" once listening
and exits when its stdin closes, so it never outlives the test that started it.
"""

from __future__ import annotations

import argparse
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

READY = "READY "
MODEL_NAME = "qwen-embed"


class LlamaEmbedServer:
    def __init__(self, model: Path, *, threads: int = 2, parallel: int = 2, ctx: int = 2048,
                 start_timeout: float = 180.0) -> None:
        self.cmd = [sys.executable, __file__, "--model", str(model), "--threads", str(threads),
                    "--parallel", str(parallel), "--ctx", str(ctx)]
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self.base_url = ""

    def start(self) -> LlamaEmbedServer:
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline, buf = time.monotonic() + self.start_timeout, b""
        while time.monotonic() < deadline and self.proc.poll() is None:
            if sel.select(timeout=0.2):
                buf += os.read(self.proc.stdout.fileno(), 4096)
                for line in buf.decode(errors="replace").splitlines():
                    if line.startswith(READY):
                        self.base_url = line[len(READY):].strip().rstrip("/") + "/v1"
                        return self
        self.stop()
        raise RuntimeError(f"the llama.cpp embeddings server did not start: {self.cmd}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self.proc = None

    def __enter__(self) -> LlamaEmbedServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(model: str, threads: int, parallel: int, ctx: int) -> None:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = model
    params.model_alias = MODEL_NAME
    params.embedding = True  # llama-server --embeddings
    params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    params.n_ctx = ctx
    params.n_parallel = parallel  # requests served at once, ctx / parallel tokens each
    params.n_batch = params.n_ubatch = ctx // parallel  # an input must fit one micro-batch
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.offline = True
    server = xllamacpp.Server(params)
    print(READY + server.listening_address, flush=True)
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)  # the parent is gone: no graceful stop (it waits for requests under way)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="Serve a GGUF's embeddings on 127.0.0.1 (for tests and bench).")
    p.add_argument("--model", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--ctx", type=int, default=2048)
    a = p.parse_args()
    serve(a.model, a.threads, a.parallel, a.ctx)
    sys.stderr.flush()
    os._exit(0)
