"""Chat models: every generated answer goes through `openai`'s client and the OpenAI chat protocol.

    model = make_chat_model(settings)          # None for the extractive backend
    done = model.complete([{"role": "user", "content": "Hi"}])
    stream = model.stream(messages)
    for delta in stream: print(delta, end="")
    stream.completion.usage                    # {"prompt_tokens": .., "completion_tokens": ..} or {}
    model.progress = print                     # hear "waiting for ..." and "retrying in ..."

Works with any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp). Every call has a time
budget (`rag.llm_budget.Budget`): at most `timeout` s without a token (RAG_LLM_TIMEOUT; connecting,
retries and their sleeps included, keep-alive bytes do not count) and `deadline` s in all
(RAG_LLM_DEADLINE, the whole answer). The retries are the openai client's own, on 429, 5xx and
lost connections (a stream's only before it starts), never on timeouts or other 4xx, and bounded
by the budget: a Retry-After or backoff longer than what is left fails at once (`rag.llm_budget`).
A 200 that is not a chat completion (not JSON, an HTML page, no events) is an error, never an empty
answer. Failures become `LLMError`: one line naming the server and the fix. It does not build
prompts, parse citations or check answers (`rag.answer` does), and prints nothing (`progress` is
the caller's).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import openai
from openai.types.chat import ChatCompletion

from rag.errors import ConfigError, LLMError
from rag.llm_budget import Budget, OutOfTime, RetryingClient, head, watched_http_client

KEPT_LOGPROBS = 8  # first tokens whose logprobs a Completion keeps (the answer chain reads how sure a decline was)
_MALFORMED = (ValueError, AttributeError, TypeError, IndexError, KeyError)  # json.JSONDecodeError is a ValueError


@dataclass(slots=True)
class Completion:
    text: str
    model: str
    usage: dict = field(default_factory=dict)  # {prompt_tokens, completion_tokens}; {} if not reported
    finish_reason: str | None = None
    first_token_ms: float | None = None  # streams only
    total_ms: float = 0.0
    # the first tokens as (text, logprob, token id), when the request asked for logprobs (streams only)
    logprobs: list[tuple[str, float, int | None]] = field(default_factory=list)


class StreamResult:
    """Iterate for text deltas (the request starts then); once exhausted, `.completion` is set."""

    def __init__(self, gen: Generator[str, None, Completion]) -> None:
        self._gen = gen
        self.completion: Completion | None = None

    def __iter__(self) -> Iterator[str]:
        self.completion = yield from self._gen

    def close(self) -> None:
        """Stop early (closes the connection)."""
        self._gen.close()


class ChatModel(Protocol):
    @property
    def name(self) -> str: ...

    def complete(self, messages: list[dict], *, max_tokens: int | None = None, temperature: float | None = None,
                 stop: list[str] | None = None) -> Completion: ...

    def stream(self, messages: list[dict], *, max_tokens: int | None = None, temperature: float | None = None,
               stop: list[str] | None = None) -> StreamResult: ...


class OpenAIChatModel:
    """A model behind an OpenAI-compatible server; `base_url=None` means OpenAI itself. `clock` and
    `sleep` are injectable for tests; `progress` (None: the log) hears waits and retries.
    `backoff_base`: the first retry's wait (the client's backoff scaled to it: doubling each retry up
    to 16 times it, less up to 25% jitter)."""

    def __init__(self, base_url: str | None, model: str, api_key: str | None, timeout: float = 60.0,
                 max_retries: int = 3, *, max_tokens: int = 300, temperature: float = 0.0,
                 backoff_base: float = 0.5, deadline: float = 120.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        api_key = api_key or os.environ.get("OPENAI_API_KEY")
        if not api_key and not base_url:
            raise ConfigError("no API key for OpenAI; set OPENAI_API_KEY (or RAG_LLM_API_KEY), point "
                              "RAG_LLM_BASE_URL at a local server, or use --backend extractive")
        self.model, self.timeout, self.max_tokens, self.temperature = model, timeout, max_tokens, temperature
        self.backoff_base, self.deadline, self.clock, self.sleep = backoff_base, deadline, clock, sleep
        self.extra_body: dict | None = None  # server-specific request fields, e.g. llama.cpp's cache_prompt
        self.progress: Callable[[str], None] | None = None
        self.progress_every = 5.0  # seconds between "waiting for the model server" messages
        self._client = RetryingClient(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout,
                                      max_retries=max_retries, http_client=watched_http_client())
        self.base_url = str(self._client.base_url).rstrip("/")

    @property
    def name(self) -> str:
        return self.model

    def _request(self, messages, max_tokens, temperature, stop, body, budget: Budget, **extra):
        """The response, retries included, under `budget`: a `Stream` with `stream=True` (the body not
        read yet), else a raw response whose body the client read (so a failure there is retried too)."""
        create = (self._client.chat.completions.create if extra.get("stream")
                  else self._client.chat.completions.with_raw_response.create)
        with budget.running():
            return create(
                model=self.model, messages=messages, max_tokens=max_tokens or self.max_tokens,
                temperature=self.temperature if temperature is None else temperature,
                stop=stop or openai.omit, extra_body={**(self.extra_body or {}), **(body or {})} or None, **extra)

    def complete(self, messages, *, max_tokens=None, temperature=None, stop=None, body=None) -> Completion:
        """`body`: extra request fields for this call only (server-specific, e.g. llama.cpp's id_slot)."""
        start, budget = time.perf_counter(), Budget(self)
        with self._waiting(budget):
            try:
                raw = self._request(messages, max_tokens, temperature, stop, body, budget)
            except (openai.APIError, OutOfTime) as exc:
                raise self._error(exc, budget) from exc
        try:
            resp = raw.parse()
            if not isinstance(resp, ChatCompletion):  # the client hands back the text of a non-JSON body
                raise TypeError(type(resp).__name__)
            choice = resp.choices[0]
            text = choice.message.content or ""
            if not isinstance(text, str):
                raise TypeError(type(text).__name__)
            return Completion(text, resp.model or self.model, _usage(resp.usage), choice.finish_reason, None,
                              _ms(start))
        except _MALFORMED as exc:  # not JSON (json.JSONDecodeError), or not the JSON of a chat completion
            raise self._malformed(head(raw.http_response), raw.headers.get("content-type")) from exc

    def stream(self, messages, *, max_tokens=None, temperature=None, stop=None, body=None) -> StreamResult:
        """`body`: extra request fields for this call only (e.g. `logprobs`, `logit_bias`)."""
        return StreamResult(self._stream(messages, max_tokens, temperature, stop, body))

    def _stream(self, messages, max_tokens, temperature, stop, body=None) -> Generator[str, None, Completion]:
        start, budget = time.perf_counter(), Budget(self)
        with self._waiting(budget):
            try:
                return (yield from self._stream_once(messages, max_tokens, temperature, stop, body, budget, start))
            except (openai.APIError, OutOfTime) as exc:
                if budget.pieces and not isinstance(exc, OutOfTime | openai.APITimeoutError):  # text was shown
                    raise LLMError(f"the model server at {self.base_url} broke off the answer after "
                                   f"{budget.pieces} pieces ({type(exc).__name__}); ask again") from exc
                raise self._error(exc, budget) from exc

    def _stream_once(self, messages, max_tokens, temperature, stop, body, budget: Budget,
                     start: float) -> Generator[str, None, Completion]:
        model, usage, finish, first_ms, parts, events, logprobs = self.model, {}, None, None, [], 0, []
        with self._request(messages, max_tokens, temperature, stop, body, budget, stream=True,
                           stream_options={"include_usage": True}) as stream:
            content_type = stream.response.headers.get("content-type")
            try:
                for chunk in stream:
                    events += 1
                    model, usage = chunk.model or model, _usage(chunk.usage) or usage
                    for choice in chunk.choices[:1]:
                        finish = choice.finish_reason or finish
                        if len(logprobs) < KEPT_LOGPROBS and getattr(choice, "logprobs", None):
                            logprobs += [(t.token, t.logprob, getattr(t, "id", None))
                                         for t in (choice.logprobs.content or [])][: KEPT_LOGPROBS - len(logprobs)]
                        if choice.delta and choice.delta.content:
                            first_ms = _ms(start) if first_ms is None else first_ms
                            parts.append(str(choice.delta.content))
                            budget.token()
                            yield parts[-1]
            except _MALFORMED as exc:
                sample = getattr(exc, "doc", None) or head(stream.response)  # JSONDecodeError.doc: the bad event
                raise self._malformed(sample, content_type, pieces=len(parts)) from exc
        if not events:  # e.g. an HTML page: no `data:` line at all
            raise self._malformed(head(stream.response), content_type, events=False)
        return Completion("".join(parts), model, usage, finish, first_ms, _ms(start), logprobs)

    def _malformed(self, sample: bytes | str, content_type: str | None, *, pieces: int = 0,
                   events: bool = True) -> LLMError:
        text = sample.decode("utf-8", "replace") if isinstance(sample, bytes) else str(sample)
        text = " ".join(text.split())
        shown = text[:80] + ("..." if len(text) > 80 else "")
        kind = (content_type or "no Content-Type").split(";")[0]
        what = "something that is not an OpenAI chat completion" if events else "no chat-completion events"
        after = f" after {pieces} pieces of the answer" if pieces else ""
        return LLMError(f"the model server at {self.base_url} sent {what}{after} ({kind}: {shown!r}); check that "
                        "RAG_LLM_BASE_URL is its OpenAI-compatible endpoint (usually ending in /v1)")

    @contextmanager
    def _waiting(self, budget: Budget):
        """While the call runs and no token has come, tell `progress` every `progress_every` s."""
        if self.progress is None:
            yield
            return
        stop, say, every = threading.Event(), self.progress, self.progress_every

        def tick() -> None:
            n = 1
            while not stop.wait(every) and not budget.pieces:
                say(f"waiting for the model server at {self.base_url} ({round(n * every, 1):g}s)...")
                n += 1

        threading.Thread(target=tick, name="rag-llm-waiting", daemon=True).start()
        try:
            yield
        finally:
            stop.set()

    def _error(self, exc: openai.APIError | OutOfTime, budget: Budget) -> LLMError:
        """The `LLMError` for a call the client (or its budget) gave up on."""
        retries = budget.retries
        after = f" after {retries} retries" if retries else ""
        if isinstance(exc, OutOfTime | openai.APITimeoutError):  # a timeout: the attempt had all the time left
            return self._out_of_time(exc if isinstance(exc, OutOfTime) else OutOfTime(budget))
        if isinstance(exc, openai.APIConnectionError):
            return self._unreachable(exc, retries)
        status = getattr(exc, "status_code", 0) or 0
        detail = exc.body.get("message") if isinstance(exc.body, dict) else None
        if not status:  # an error event inside a 200 stream
            return LLMError(f"the model server at {self.base_url} reported an error ({detail or exc.message}); "
                            "check its log, or ask again")
        if status in (401, 403):
            return LLMError(f"the model server rejected the API key ({status}); set RAG_LLM_API_KEY or OPENAI_API_KEY")
        if status == 404:
            return self._not_found()
        if status == 429 or status >= 500:
            failed = f"kept failing ({status}){after}" if retries else f"failed ({status})"
            return LLMError(f"the model server {failed}; try again later, or raise RAG_LLM_MAX_RETRIES")
        return LLMError(f"the model server refused the request ({status}: {detail or exc.message}); "
                        "check RAG_LLM_MODEL and RAG_MAX_ANSWER_TOKENS")

    def _out_of_time(self, stop: OutOfTime) -> LLMError:
        """The call ran out of time (`stop.delay` None), or has none for the wait a retry needs."""
        b, url, status = stop.budget, self.base_url, stop.status
        if stop.delay is not None and not status:
            return self._unreachable(stop.error, b.retries)
        deadline = b.deadline_first()
        limit, setting = (self.deadline, "RAG_LLM_DEADLINE") if deadline else (self.timeout, "RAG_LLM_TIMEOUT")
        after = f" after {b.retries} retries" if b.retries else ""
        if stop.delay is not None:
            left, allowed = max(b.left(), 0), f"the {limit:g}s allowed ({setting})"
            if stop.asked:
                what = f"asked to retry after {stop.delay:g}s ({status}), longer than the {left:.1f}s left of {allowed}"
            else:
                failed = f"kept failing ({status}){after}" if b.retries else f"failed ({status})"
                what = f"{failed}, with only {left:.1f}s of {allowed} left for a retry"
            return LLMError(f"the model server at {url} {what}; try again later, or raise {setting}")
        alive = " (it only kept the connection alive)" if b.bytes_seen and not b.pieces else ""
        if deadline:
            what = "did not finish the answer" if b.pieces else "did not answer"
            return LLMError(f"the model server at {url} {what} within the {limit:g}s deadline{alive}{after}; "
                            "check it, or raise RAG_LLM_DEADLINE")
        if b.pieces:
            return LLMError(f"the model server at {url} stopped sending the answer for {limit:g}s after {b.pieces} "
                            "pieces; ask again, or raise RAG_LLM_TIMEOUT")
        return LLMError(f"the model server at {url} did not answer within {limit:g}s{alive}{after}; check it, "
                        "or raise RAG_LLM_TIMEOUT")

    def _unreachable(self, error: BaseException | None, retries: int) -> LLMError:
        why, cause = "connection failed", error
        while cause is not None:
            why = "connection refused" if isinstance(cause, ConnectionRefusedError) else why
            cause = cause.__cause__ or cause.__context__
        after = f" after {retries} retries" if retries else ""
        return LLMError(f"cannot reach the model server at {self.base_url} ({why}{after}); start it, "
                        "or set RAG_LLM_BASE_URL / use --backend extractive")

    def _not_found(self) -> LLMError:
        try:
            names = ", ".join(sorted(m.id for m in self._client.with_options(max_retries=0).models.list()))
            return LLMError(f"model '{self.model}' not found on the server (404); set RAG_LLM_MODEL to one of: {names}")
        except (openai.OpenAIError, *_MALFORMED):
            return LLMError(f"model '{self.model}' not found at {self.base_url} (404); check RAG_LLM_MODEL, "
                            "and that RAG_LLM_BASE_URL ends in /v1")


def make_chat_model(settings) -> ChatModel | None:
    """The chat model `settings.backend` names; None for "extractive" (answers without an LLM)."""
    if settings.backend == "extractive":
        return None
    if settings.backend == "openai":
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return OpenAIChatModel(settings.llm_base_url, settings.llm_model, key, settings.llm_timeout,
                               settings.llm_max_retries, max_tokens=settings.max_answer_tokens,
                               temperature=settings.temperature, deadline=settings.llm_deadline)
    return LocalChatModel(settings)


class LocalChatModel:
    """The bundled model through its own llama.cpp server (`rag.local_server`), spoken to like any
    OpenAI-compatible server. Installation problems surface here, at construction; the server starts
    on the first request, is shared by every model object of the process, and is restarted once if
    it died between requests. The server has one slot (0), whose cache `prime` saves and restores."""

    SLOT = 0
    reads_grammar = True  # llama.cpp: a "grammar" request field constrains what it samples (`rag.grammar`)

    def __init__(self, settings) -> None:
        from rag.local_model import MODEL_NAME
        from rag.local_server import shared_server

        self.server = shared_server(settings)
        self.model = MODEL_NAME
        self._settings = settings
        self._inner: OpenAIChatModel | None = None
        self._url: str | None = None
        self.extra_body: dict | None = None  # e.g. {"cache_prompt": False} to measure without the prompt cache
        self.progress: Callable[[str], None] | None = None  # passed on to the OpenAIChatModel that talks to it

    @property
    def name(self) -> str:
        return self.model

    def warm_up(self) -> None:
        """Start the server now rather than on the first question."""
        self._client()

    def prime(self, messages: list[dict]) -> str:
        """Put `messages` (the fixed prompt prefix) in the answer slot's prompt cache: restored from the
        slot file saved for exactly this prefix, model and context size when there is one ("restored"),
        else read once and saved for the next process ("computed")."""
        import hashlib
        import json

        import httpx

        server = self.server
        path = server.model_path.resolve()
        ident = [messages, str(path), path.stat().st_size, server.ctx, self.model]
        name = "prefix-" + hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16] + ".bin"
        root = self._client().base_url.removesuffix("/v1")
        folder, slot = server.slot_dir, self.SLOT
        if folder and (folder / name).is_file():
            try:
                r = httpx.post(f"{root}/slots/{slot}?action=restore", json={"filename": name}, timeout=30)
                if r.status_code == 200:
                    return "restored"
            except httpx.HTTPError:
                pass
        self._call(lambda m: m.complete(messages, max_tokens=1, temperature=0.0, body=self._body(slot)))
        if folder:
            try:
                if httpx.post(f"{root}/slots/{slot}?action=save", json={"filename": name}, timeout=60).status_code == 200:
                    for old in folder.glob("prefix-*.bin"):
                        if old.name != name:
                            old.unlink(missing_ok=True)
            except (httpx.HTTPError, OSError):
                pass
        return "computed"

    def _body(self, slot: int) -> dict:
        return {**(self.extra_body or {}), "id_slot": slot}

    def _client(self) -> OpenAIChatModel:
        url = self.server.url()
        if self._inner is None or url != self._url:
            s = self._settings
            self._inner = OpenAIChatModel(url, self.model, "local", s.llm_timeout, max_retries=1,
                                          max_tokens=s.max_answer_tokens, temperature=s.temperature,
                                          deadline=s.llm_deadline)
            self._url = url
        self._inner.progress = self.progress
        return self._inner

    def _call(self, request):
        try:
            done = request(self._client())
        except LLMError:
            if self.server.alive():
                raise
            done = request(self._client())  # it died: restarted by _client()
        done.model = self.model
        return done

    def complete(self, messages, **kwargs) -> Completion:
        body = {**(self.extra_body or {}), **(kwargs.pop("body", None) or {})} or None
        return self._call(lambda m: m.complete(messages, body=body, **kwargs))

    def stream(self, messages, **kwargs) -> StreamResult:
        return StreamResult(self._stream(messages, kwargs))

    def _stream(self, messages, kwargs) -> Generator[str, None, Completion]:
        # llama.cpp reports the first tokens' logprobs at no measurable cost: the chain reads how sure a decline was
        body = {"logprobs": True, "top_logprobs": 1, **(self.extra_body or {}), **(kwargs.get("body") or {})}
        args = (messages, kwargs.get("max_tokens"), kwargs.get("temperature"), kwargs.get("stop"), body)
        for attempt in (0, 1):
            inner, shown = self._client()._stream(*args), False
            try:
                while True:
                    delta = next(inner)
                    shown = True
                    yield delta
            except StopIteration as done:
                done.value.model = self.model  # llama.cpp reports "-" in streams
                return done.value
            except LLMError:
                if shown or attempt or self.server.alive():
                    raise
            finally:
                inner.close()  # stopping early closes the connection
        raise AssertionError("unreachable")


def _usage(usage) -> dict:
    counts = {k: getattr(usage, k, None) for k in ("prompt_tokens", "completion_tokens")}
    return counts if all(isinstance(v, int) for v in counts.values()) else {}


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
