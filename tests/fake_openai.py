"""A fake OpenAI-compatible server with behaviour, for tests: a real HTTP server on 127.0.0.1.

    with FakeOpenAI() as fake:                       # or the `fake_openai` fixture below
        fake.enqueue("Transformers use attention [1].")
        model = OpenAIChatModel(fake.base_url, "fake-model", None, 5, 3)
        ...
        assert fake.requests[0]["messages"][-1]["content"].startswith("Question")

Endpoints:
  GET  /v1/models            {"object": "list", "data": [{"id": ...}]}: `models`, or ["fake-model"]
  POST /v1/chat/completions  a chat completion; with `"stream": true` Server-Sent Events in the
                             OpenAI chunk format: a role chunk, one chunk per word (small deltas),
                             a finish chunk, a usage chunk when `stream_options.include_usage`,
                             then `data: [DONE]`.

Each chat request takes the next scripted response from a queue (`enqueue`, `fail_next`). When the
queue is empty the DEFAULT BEHAVIOUR answers from the prompt: it finds the first "[1]" in the
user messages (the last one first), reads source [1] up to the next blank line (skipping its first
line when there are several: the "[1] Title (byline)" header of prompts/source.txt), and replies
"<its first sentence of at least five words> [1]." so the answer is supported by source 1. With a
"[1]" but no such sentence it replies "The first source covers this [1]."; with no "[1]" in any
user message (system prompts are ignored) it replies `rag.types.NO_ANSWER`.

Usage counts whitespace-separated tokens: prompt = all message contents, completion = the reply.
`max_tokens` truncates the reply to that many words with finish_reason "length".
`stream_usage=False` makes a server that ignores `stream_options` (no usage chunk).
`enqueue(..., cut_after=k)` drops a stream's connection after k deltas (a broken stream).
Misbehaving servers (each answers 200, streamed or not):
  `enqueue_raw(body, content_type)`  sends `body` as is, e.g. an HTML page instead of JSON;
  `enqueue_events(lines)`            sends these SSE lines (each as "<line>\n\n"), e.g.
                                     ["data: {not json"], then `data: [DONE]` (as an event stream,
                                     or as the "JSON" body of a plain request);
  `enqueue_keepalive(every)`         never sends a token: a stream gets an SSE comment
                                     (": keep-alive") every `every` s, a plain request a space of
                                     its JSON body every `every` s, until the client hangs up
                                     (or `lasting` s have passed).
A 429 with `Retry-After` is `fail_next(1, status=429, headers={"Retry-After": "60"})`.
Checks: `api_key="..."` -> 401 unless `Authorization: Bearer <key>`; `models=[...]` -> 404 for
any other model. `requests` holds every chat request body received (failed ones included),
`headers` the matching request headers (names lower-cased).
"""

from __future__ import annotations

import collections
import json
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag.types import NO_ANSWER

_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error",
                429: "rate_limit_exceeded", 500: "server_error", 503: "server_error"}


@dataclass
class Scripted:
    """One scripted response: `text` is the reply (status 200) or the error message (otherwise)."""

    text: str
    status: int = 200
    delay: float = 0.0
    headers: dict = field(default_factory=dict)
    cut_after: int | None = None  # streaming only: drop the connection after this many deltas
    raw: bytes | None = None  # sent as the whole 200 body instead of a chat completion
    content_type: str = "application/json"
    events: list[str] | None = None  # streaming only: these SSE lines instead of the generated chunks
    keepalive: float | None = None  # seconds between keep-alive bytes; no token is ever sent
    lasting: float = 120.0  # keep-alive only: give up after this long even if the client stays
    sure: float | None = None  # streaming only: send logprobs, the first two words together having this probability


def default_reply(messages: list[dict]) -> str:
    """The reply used when nothing is queued: cite the first source, or say there is no answer."""
    for text in reversed([_content(m) for m in messages if m.get("role") == "user"]):
        at = text.find("[1]")
        if at < 0:
            continue
        block = re.split(r"\n\s*\n", text[at + 3:], maxsplit=1)[0]  # source [1] ends at a blank line
        lines = [line for line in block.splitlines() if line.strip()]
        body = " ".join(lines[1:] if len(lines) > 1 else lines)  # skip a "Title (byline)" header line
        for sentence in re.split(r"(?<=[.!?])\s+", body):
            sentence = sentence.strip().rstrip(".!?")
            if len(sentence.split()) >= 5:
                return f"{sentence} [1]."
        return "The first source covers this [1]."
    return NO_ANSWER


def _content(message: dict) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _words(text: str) -> int:
    return len(text.split())


class FakeOpenAI:
    """Start with `with FakeOpenAI(...) as fake:` (or `.start()` / `.stop()`)."""

    def __init__(self, *, api_key: str | None = None, models: list[str] | None = None,
                 stream_usage: bool = True) -> None:
        self.api_key = api_key
        self.stream_usage = stream_usage  # False: like servers that ignore stream_options
        self.models = list(models) if models else None
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self._queue: collections.deque[Scripted] = collections.deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- scripting ---------------------------------------------------------------------------
    def enqueue(self, text: str, *, status: int = 200, delay: float = 0.0, headers: dict | None = None,
                cut_after: int | None = None, sure: float | None = None) -> None:
        """Script the next chat response (after those already queued). `sure`: a stream carries
        logprobs (token id 1000 + word index), its first two words together this probable."""
        with self._lock:
            self._queue.append(Scripted(text, status, delay, dict(headers or {}), cut_after, sure=sure))

    def enqueue_raw(self, body: bytes | str, content_type: str = "text/html") -> None:
        """Script a 200 whose body is `body` as is (not a chat completion, not an event stream)."""
        data = body.encode() if isinstance(body, str) else body
        self._push(Scripted("", raw=data, content_type=content_type))

    def enqueue_events(self, lines: list[str]) -> None:
        """Script a 200 event stream of these SSE lines (e.g. ``["data: {not json"]``), then [DONE]."""
        self._push(Scripted("", events=list(lines)))

    def enqueue_keepalive(self, every: float = 3.0, *, lasting: float = 120.0) -> None:
        """Script a 200 that keeps the connection busy every `every` s and never sends a token."""
        self._push(Scripted("", keepalive=every, lasting=lasting))

    def _push(self, scripted: Scripted) -> None:
        with self._lock:
            self._queue.append(scripted)

    def fail_next(self, n: int, status: int = 503, *, headers: dict | None = None) -> None:
        """Make the next `n` chat requests fail with `status`, before anything already queued."""
        with self._lock:
            for _ in range(n):
                self._queue.appendleft(Scripted(f"fake failure {status}", status, 0.0, dict(headers or {})))

    def _next(self) -> Scripted | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakeOpenAI is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # clients that hang up are fine
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class FakeTime:
    """A clock that moves only when the code sleeps: retry arithmetic without waiting."""

    def __init__(self) -> None:
        self.now, self.slept = 0.0, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def send_body(handler: BaseHTTPRequestHandler, status: int, data: bytes, content_type: str,
              headers: dict | None = None) -> None:
    """One whole HTTP response: status, content type and length, any extra headers, the body (the
    fake servers' one way to answer with a body of known length)."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    for k, v in (headers or {}).items():
        handler.send_header(k, str(v))
    handler.end_headers()
    handler.wfile.write(data)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeOpenAI

    def log_message(self, format, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        if not self._authorized():
            return
        if self.path.rstrip("/") != "/v1/models":
            return self._error(404, f"no route {self.path}")
        ids = self.fake.models or ["fake-model"]
        self._json(200, {"object": "list", "data": [{"id": m, "object": "model", "created": 0,
                                                     "owned_by": "fake"} for m in ids]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._error(404, f"no route {self.path}")
        self.fake.requests.append(body)
        self.fake.headers.append({k.lower(): v for k, v in self.headers.items()})
        if not self._authorized():
            return
        model = body.get("model", "")
        if self.fake.models and model not in self.fake.models:
            return self._error(404, f"The model `{model}` does not exist.", code="model_not_found")
        scripted = self.fake._next() or Scripted(default_reply(body.get("messages", [])))
        time.sleep(scripted.delay)
        if scripted.status != 200:
            return self._error(scripted.status, scripted.text, headers=scripted.headers)
        if scripted.raw is not None or scripted.keepalive is not None or scripted.events is not None:
            return self._misbehave(scripted, bool(body.get("stream")))
        words = scripted.text.split(" ")
        finish = "stop"
        if body.get("max_tokens") and _words(scripted.text) > body["max_tokens"]:
            words, finish = scripted.text.split()[: body["max_tokens"]], "length"
        text = " ".join(words)
        prompt_tokens = sum(_words(_content(m)) for m in body.get("messages", []))
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": _words(text),
                 "total_tokens": prompt_tokens + _words(text)}
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "created": int(time.time()), "model": model,
                "system_fingerprint": None}
        if body.get("stream"):
            deltas = [w + " " for w in words[:-1]] + words[-1:]
            include_usage = self.fake.stream_usage and (body.get("stream_options") or {}).get("include_usage")
            return self._stream(base, deltas, finish, usage if include_usage else None, scripted)
        message = {"role": "assistant", "content": text}
        self._json(200, {**base, "object": "chat.completion", "usage": usage, "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}]},
            headers=scripted.headers)

    def _stream(self, base: dict, deltas: list[str], finish: str, usage: dict | None, scripted: Scripted) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in scripted.headers.items():
            self.send_header(k, str(v))
        self.end_headers()

        def chunk(delta: dict, finish_reason: str | None = None) -> dict:
            out = {**base, "object": "chat.completion.chunk",
                   "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}
            return {**out, "usage": None} if usage is not None else out

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": d}) for d in deltas]
        if scripted.sure is not None:  # what llama.cpp sends with logprobs on: one token per delta here
            for i, (event, d) in enumerate(zip(events[1:], deltas)):
                lp = math.log(scripted.sure) / 2 if i < 2 else 0.0
                event["choices"][0]["logprobs"] = {"content": [
                    {"token": d, "logprob": lp, "bytes": list(d.encode()), "id": 1000 + i, "top_logprobs": []}]}
        events.append(chunk({}, finish))
        if usage is not None:
            events.append({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        for i, event in enumerate(events):
            if scripted.cut_after is not None and i > scripted.cut_after:
                self.close_connection = True  # no terminating chunk: the client sees a broken stream
                return
            self._send_chunk(f"data: {json.dumps(event)}\n\n".encode())
        self._send_chunk(b"data: [DONE]\n\n")
        self._send_chunk(b"")

    def _misbehave(self, scripted: Scripted, stream: bool) -> None:
        """The scripted misbehaviours: a raw body, raw SSE lines, or keep-alives and no token."""
        if scripted.raw is not None:
            send_body(self, 200, scripted.raw, scripted.content_type)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if stream else "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if scripted.events is not None:
                for line in scripted.events:
                    self._send_chunk(f"{line}\n\n".encode())
                self._send_chunk(b"data: [DONE]\n\n")
                self._send_chunk(b"")
                return
            ends = time.monotonic() + scripted.lasting
            while time.monotonic() < ends:
                self._send_chunk(b": keep-alive\n\n" if stream else b" ")
                time.sleep(scripted.keepalive)
        except OSError:  # the client hung up: what a client that gives up does
            pass
        self.close_connection = True

    def _send_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _authorized(self) -> bool:
        if self.fake.api_key is None or self.headers.get("Authorization") == f"Bearer {self.fake.api_key}":
            return True
        self._error(401, "Incorrect API key provided.", code="invalid_api_key")
        return False

    def _error(self, status: int, message: str, *, code: str | None = None, headers: dict | None = None) -> None:
        error = {"message": message, "type": _ERROR_TYPES.get(status, "api_error"), "param": None, "code": code}
        self._json(status, {"error": error}, headers=headers)

    def _json(self, status: int, payload: dict, *, headers: dict | None = None) -> None:
        send_body(self, status, json.dumps(payload).encode(), "application/json", headers)


@pytest.fixture
def fake_openai():
    """A started `FakeOpenAI()` (any model, no key check); import it into a test module to use it."""
    with FakeOpenAI() as fake:
        yield fake
