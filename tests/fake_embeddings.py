"""A fake OpenAI-compatible embeddings server with behaviour, for tests: a real HTTP server on 127.0.0.1.

    with FakeEmbeddings(dim=64) as fake:             # or the `fake_embeddings` fixture below
        fake.fail_next(2, status=503)
        embedder = OpenAIEmbedder(fake.base_url, "fake-embed", backoff_base=0.01)
        embedder.embed(["a text"])                   # retried twice, then answered
        fake.texts                                   # every text embedded, in arrival order

POST /v1/embeddings answers `{"object": "list", "data": [{"embedding": [...], "index": i}], ...}`
(the `data` list in reverse order, as the protocol allows: clients must sort by `index`), each
embedding a list of floats, or its float32 bytes in base64 when `encoding_format` is "base64". Vectors
are predictable and meaningful: a hashed bag of words (each lower-cased word adds 1 at
sha256(word) % dim), so texts sharing words are close and a test can retrieve by them.

Scripted behaviours, each for the next request(s), in the order queued (`fail_next` goes first):
  `fail_next(n, status, headers)`   answer `status` (429, 500, 503...) with an OpenAI error body;
  `fail_after(ok, status, n=1)`     answer `ok` requests, then fail `n`;
  `slow_next(seconds)`              wait that long before answering;
  `wrong_dim_next(dim)`             answer vectors of `dim` dimensions;
  `drop_next()`                     read the request, then close the connection without a byte;
  `raw_next(body, content_type)`    answer 200 with `body` as is.
`service_time(per_request, per_text)` makes every request take that long (a model at work), and
`die()` stops the server for good: a server that goes away mid-ingest (`FakeEmbeddings(port=...)`
brings one back on the same port). `max_in_flight` is the most
requests it was serving at once; `models=[...]` answers 404 for any other model name.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from fake_openai import send_body


def bag_of_words(text: str, dim: int) -> list[float]:
    vec = np.zeros(dim, dtype=np.float32)
    for word in text.lower().split():
        vec[int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "little") % dim] += 1.0
    vec[0] += 0.01  # never the zero vector
    return vec.tolist()


def _encoded(vec: list[float], b64: bool) -> list[float] | str:
    """As servers send it: floats, or with `encoding_format: base64` the float32 bytes in base64."""
    return base64.b64encode(np.asarray(vec, dtype=np.float32).tobytes()).decode() if b64 else vec


@dataclass
class Step:
    status: int = 200
    delay: float = 0.0
    dim: int | None = None
    drop: bool = False
    raw: bytes | None = None
    content_type: str = "application/json"
    headers: dict | None = None


class FakeEmbeddings:
    """Start with `with FakeEmbeddings(...) as fake:` (or `.start()` / `.stop()`)."""

    def __init__(self, *, dim: int = 64, models: list[str] | None = None, port: int = 0,
                 base64: bool = True) -> None:
        self.dim, self.models, self.base64 = dim, models, base64  # base64=False: a server that ignores it
        self.requests: list[dict] = []
        self.texts: list[str] = []
        self.in_flight = self.max_in_flight = 0
        self.per_request = self.per_text = 0.0
        self._queue: collections.deque[Step] = collections.deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._port = port  # 0: the OS picks one; a dead server's port: the same server back
        self.dead = False

    # -- scripting ---------------------------------------------------------------------------
    def fail_next(self, n: int, status: int = 503, *, headers: dict | None = None) -> None:
        with self._lock:
            for _ in range(n):
                self._queue.appendleft(Step(status=status, headers=headers))

    def fail_after(self, ok: int, status: int = 503, *, n: int = 1) -> None:
        """Answer the next `ok` requests, then fail `n` with `status`."""
        for step in [Step()] * ok + [Step(status=status)] * n:
            self._push(step)

    def slow_next(self, seconds: float) -> None:
        self._push(Step(delay=seconds))

    def wrong_dim_next(self, dim: int) -> None:
        self._push(Step(dim=dim))

    def drop_next(self, n: int = 1) -> None:
        for _ in range(n):
            self._push(Step(drop=True))

    def raw_next(self, body: str, content_type: str = "text/html") -> None:
        self._push(Step(raw=body.encode(), content_type=content_type))

    def service_time(self, per_request: float, per_text: float = 0.0) -> None:
        self.per_request, self.per_text = per_request, per_text

    def _push(self, step: Step) -> None:
        with self._lock:
            self._queue.append(step)

    def _next(self) -> Step:
        with self._lock:
            return self._queue.popleft() if self._queue else Step()

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    def start(self) -> FakeEmbeddings:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        self._port = self._server.server_address[1]
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # clients that hang up are fine
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving; embedders that `rag` shares by settings are forgotten (the next server may get this port)."""
        from rag import remote_embeddings

        remote_embeddings._SHARED.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def die(self) -> None:
        """Go away for good: new connections are refused, open ones are closed at their next request."""
        self.dead = True
        self.stop()

    def __enter__(self) -> FakeEmbeddings:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeEmbeddings

    def log_message(self, format, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.path.rstrip("/") != "/v1/embeddings":
            return self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
        if self.fake.dead:
            self.close_connection = True
            return
        fake, step = self.fake, self.fake._next()
        with fake._lock:
            fake.requests.append(body)
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            self._answer(body, step)
        finally:
            with fake._lock:
                fake.in_flight -= 1

    def _answer(self, body: dict, step: Step) -> None:
        fake = self.fake
        texts = body.get("input") or []
        texts = [texts] if isinstance(texts, str) else texts
        time.sleep(step.delay + fake.per_request + fake.per_text * len(texts))
        if step.drop:
            self.close_connection = True
            return
        if step.status != 200:
            error = {"message": f"fake failure {step.status}", "type": "server_error", "param": None, "code": None}
            return self._json(step.status, {"error": error}, headers=step.headers)
        if step.raw is not None:
            return send_body(self, 200, step.raw, step.content_type)
        if fake.models and body.get("model") not in fake.models:
            return self._json(404, {"error": {"message": f"model {body.get('model')!r} not found",
                                              "type": "invalid_request_error"}})
        with fake._lock:
            fake.texts.extend(texts)
        dim, b64 = step.dim or fake.dim, fake.base64 and body.get("encoding_format") == "base64"
        data = [{"object": "embedding", "index": i, "embedding": _encoded(bag_of_words(t, dim), b64)}
                for i, t in enumerate(texts)]
        words = sum(len(t.split()) for t in texts)
        self._json(200, {"object": "list", "model": body.get("model"), "data": data[::-1],
                         "usage": {"prompt_tokens": words, "total_tokens": words}})

    def _json(self, status: int, payload: dict, *, headers: dict | None = None) -> None:
        send_body(self, status, json.dumps(payload).encode(), "application/json", headers)


@pytest.fixture
def fake_embeddings():
    """A started `FakeEmbeddings()` (64 dims, any model name); import it into a test module to use it."""
    with FakeEmbeddings() as fake:
        yield fake


if __name__ == "__main__":  # a server of its own process, for bench/embed_server.py: `READY <base url>`
    import argparse
    import sys

    p = argparse.ArgumentParser(description="Serve fake embeddings on 127.0.0.1 until stdin closes.")
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--per-request", type=float, default=0.0)
    p.add_argument("--per-text", type=float, default=0.0)
    a = p.parse_args()
    with FakeEmbeddings(dim=a.dim) as served:
        served.service_time(a.per_request, a.per_text)
        print(f"READY {served.base_url}", flush=True)
        while sys.stdin.buffer.read(4096):
            pass
