"""Chat models: every generated answer goes through `openai`'s client and the OpenAI chat protocol.

    model = make_chat_model(settings)          # None for the extractive backend
    done = model.complete([{"role": "user", "content": "Hi"}])
    stream = model.stream(messages)
    for delta in stream: print(delta, end="")
    stream.completion.usage                    # {"prompt_tokens": .., "completion_tokens": ..} or {}

Works with any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp). Retries (exponential
backoff with jitter, honouring Retry-After) on 429, 5xx, lost connections and timeouts, never on
other 4xx, and for streams only before the first token. Failures become `LLMError` with a message
naming the fix. It does not build prompts, parse citations or check answers (`rag.answer` does).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import openai

from rag.errors import ConfigError, RagError


class LLMError(RagError):
    """The model server could not be reached, refused the request, or kept failing."""


@dataclass(slots=True)
class Completion:
    text: str
    model: str
    usage: dict = field(default_factory=dict)  # {prompt_tokens, completion_tokens}; {} if not reported
    finish_reason: str | None = None
    first_token_ms: float | None = None  # streams only
    total_ms: float = 0.0


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
    """A model behind an OpenAI-compatible server; `base_url=None` means OpenAI itself."""

    def __init__(self, base_url: str | None, model: str, api_key: str | None, timeout: float = 60.0,
                 max_retries: int = 3, *, max_tokens: int = 300, temperature: float = 0.0,
                 backoff_base: float = 0.5, backoff_cap: float = 8.0) -> None:
        api_key = api_key or os.environ.get("OPENAI_API_KEY")
        if not api_key and not base_url:
            raise ConfigError("no API key for OpenAI; set OPENAI_API_KEY (or RAG_LLM_API_KEY), point "
                              "RAG_LLM_BASE_URL at a local server, or use --backend extractive")
        self.model, self.max_retries, self.timeout, self.max_tokens = model, max_retries, timeout, max_tokens
        self.temperature, self.backoff_base, self.backoff_cap = temperature, backoff_base, backoff_cap
        self.extra_body: dict | None = None  # server-specific request fields, e.g. llama.cpp's cache_prompt
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout,
                                     max_retries=0)
        self.base_url = str(self._client.base_url).rstrip("/")

    @property
    def name(self) -> str:
        return self.model

    def _request(self, messages, max_tokens, temperature, stop, body=None, **extra):
        return self._client.chat.completions.create(
            model=self.model, messages=messages, max_tokens=max_tokens or self.max_tokens,
            temperature=self.temperature if temperature is None else temperature,
            stop=stop or openai.omit, extra_body={**(self.extra_body or {}), **(body or {})} or None, **extra)

    def complete(self, messages, *, max_tokens=None, temperature=None, stop=None, body=None) -> Completion:
        """`body`: extra request fields for this call only (server-specific, e.g. llama.cpp's id_slot)."""
        start = time.perf_counter()
        for attempt in range(self.max_retries + 1):
            try:
                resp = self._request(messages, max_tokens, temperature, stop, body)
                break
            except openai.APIError as exc:
                self._backoff_or_raise(exc, attempt)
        choice = resp.choices[0]
        return Completion(choice.message.content or "", resp.model or self.model, _usage(resp.usage),
                          choice.finish_reason, None, _ms(start))

    def stream(self, messages, *, max_tokens=None, temperature=None, stop=None) -> StreamResult:
        return StreamResult(self._stream(messages, max_tokens, temperature, stop))

    def _stream(self, messages, max_tokens, temperature, stop, body=None) -> Generator[str, None, Completion]:
        start = time.perf_counter()
        for attempt in range(self.max_retries + 1):
            model, usage, finish, first_ms, parts = self.model, {}, None, None, []
            try:
                with self._request(messages, max_tokens, temperature, stop, body, stream=True,
                                   stream_options={"include_usage": True}) as stream:
                    for chunk in stream:
                        model, usage = chunk.model or model, _usage(chunk.usage) or usage
                        for choice in chunk.choices[:1]:
                            finish = choice.finish_reason or finish
                            if choice.delta and choice.delta.content:
                                first_ms = _ms(start) if first_ms is None else first_ms
                                parts.append(choice.delta.content)
                                yield choice.delta.content
                return Completion("".join(parts), model, usage, finish, first_ms, _ms(start))
            except openai.APIError as exc:
                if parts:  # text was already shown: a retry would repeat it
                    raise LLMError(f"the model server at {self.base_url} broke off the answer after "
                                   f"{len(parts)} pieces ({type(exc).__name__}); ask again") from exc
                self._backoff_or_raise(exc, attempt)

    def _backoff_or_raise(self, exc: openai.APIError, attempt: int) -> None:
        """Sleep before retry `attempt + 1` (Retry-After, capped at 60 s, else backoff with jitter),
        or raise `LLMError` when the failure is final: not retryable, or out of retries."""
        status = getattr(exc, "status_code", 0) or 0
        retryable = isinstance(exc, openai.APIConnectionError) or status == 429 or status >= 500
        if not retryable or attempt >= self.max_retries:
            raise self._error(exc, attempt) from exc
        time.sleep(self._delay(attempt, exc))

    def _delay(self, attempt: int, exc: openai.APIError) -> float:
        response = getattr(exc, "response", None)
        try:
            return min(float(response.headers["retry-after"]), 60.0)
        except (AttributeError, KeyError, TypeError, ValueError):
            wait = min(self.backoff_cap, self.backoff_base * 2**attempt)
            return wait / 2 + random.uniform(0, wait / 2)

    def _error(self, exc: openai.APIError, retries: int) -> LLMError:
        after = f" after {retries} retries" if retries else ""
        if isinstance(exc, openai.APITimeoutError):
            return LLMError(f"the model server at {self.base_url} did not answer within {self.timeout:g}s{after}; "
                            "check it, or raise RAG_LLM_TIMEOUT")
        if isinstance(exc, openai.APIConnectionError):
            cause, why = exc.__cause__, "connection failed"
            while cause is not None:
                why = "connection refused" if isinstance(cause, ConnectionRefusedError) else why
                cause = cause.__cause__ or cause.__context__
            return LLMError(f"cannot reach the model server at {self.base_url} ({why}{after}); start it, "
                            "or set RAG_LLM_BASE_URL / use --backend extractive")
        status = getattr(exc, "status_code", 0) or 0
        if status in (401, 403):
            return LLMError(f"the model server rejected the API key ({status}); set RAG_LLM_API_KEY or OPENAI_API_KEY")
        if status == 404:
            try:
                names = ", ".join(sorted(m.id for m in self._client.models.list()))
                return LLMError(f"model '{self.model}' not found on the server (404); "
                                f"set RAG_LLM_MODEL to one of: {names}")
            except openai.OpenAIError:
                return LLMError(f"model '{self.model}' not found at {self.base_url} (404); check RAG_LLM_MODEL, "
                                "and that RAG_LLM_BASE_URL ends in /v1")
        if status == 429 or status >= 500:
            failed = f"kept failing ({status}){after}" if retries else f"failed ({status})"
            return LLMError(f"the model server {failed}; try again later, or raise RAG_LLM_MAX_RETRIES")
        detail = exc.body.get("message") if isinstance(exc.body, dict) else None
        return LLMError(f"the model server refused the request ({status}: {detail or exc.message}); "
                        "check RAG_LLM_MODEL and RAG_MAX_ANSWER_TOKENS")


def make_chat_model(settings) -> ChatModel | None:
    """The chat model `settings.backend` names; None for "extractive" (answers without an LLM)."""
    if settings.backend == "extractive":
        return None
    if settings.backend == "openai":
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return OpenAIChatModel(settings.llm_base_url, settings.llm_model, key, settings.llm_timeout,
                               settings.llm_max_retries, max_tokens=settings.max_answer_tokens,
                               temperature=settings.temperature)
    return LocalChatModel(settings)


class LocalChatModel:
    """The bundled model through its own llama.cpp server (`rag.local_server`), spoken to like any
    OpenAI-compatible server. Installation problems surface here, at construction; the server starts
    on the first request, is shared by every model object of the process, and is restarted once if
    it died between requests. The server has one slot (0), whose cache `prime` saves and restores."""

    SLOT = 0

    def __init__(self, settings) -> None:
        from rag.local_model import MODEL_NAME
        from rag.local_server import shared_server

        self.server = shared_server(settings)
        self.model = MODEL_NAME
        self._settings = settings
        self._inner: OpenAIChatModel | None = None
        self._url: str | None = None
        self.extra_body: dict | None = None  # e.g. {"cache_prompt": False} to measure without the prompt cache

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
                                          max_tokens=s.max_answer_tokens, temperature=s.temperature)
            self._url = url
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
        return self._call(lambda m: m.complete(messages, body=self.extra_body, **kwargs))

    def stream(self, messages, **kwargs) -> StreamResult:
        return StreamResult(self._stream(messages, kwargs))

    def _stream(self, messages, kwargs) -> Generator[str, None, Completion]:
        args = (messages, kwargs.get("max_tokens"), kwargs.get("temperature"), kwargs.get("stop"), self.extra_body)
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
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens} if usage else {}


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
