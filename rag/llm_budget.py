"""A chat call's time budget, and `openai`'s client made to retry within it.

    budget = Budget(model)       # model: timeout, deadline, clock, sleep, backoff_base, base_url, progress
    client = RetryingClient(base_url=..., api_key=..., max_retries=3, http_client=watched_http_client())
    with budget.running():       # the client's requests and retries in here run on `budget`
        client.chat.completions.create(...)

The retries are the client's own: on 429, 5xx (not its 408 and 409) and lost connections (for a
plain call also while its body is read, for a stream only before it starts), with its exponential
backoff and jitter (scaled to `model.backoff_base`) and its Retry-After (honoured up to 2 minutes). The budget bounds them: each attempt gets the time
left as its timeout, a timeout is not retried (the attempt had all the time left), and a wait that
does not fit in what is left stops the call at once. The body of every 2xx answer is read under
the budget too (`Watched`), so keep-alive bytes cannot hold a call open. Stopping raises
`OutOfTime`, which says why; this module words no error for people (`rag.llm` does).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpx2
import openai
from openai._constants import INITIAL_RETRY_DELAY

log = logging.getLogger(__name__)
HEAD_BYTES = 200  # first bytes of a body kept for error messages


class Budget:
    """One call's time on `model.clock`: `model.timeout` s without a token (counted from the start,
    then from each token) and `model.deadline` s in all. `left()` is what remains of the nearer one."""

    def __init__(self, model) -> None:
        self.model, self.clock = model, model.clock
        self.start = self.last = model.clock()
        self.pieces, self.retries, self.bytes_seen = 0, 0, False

    def token(self) -> None:
        self.pieces += 1
        self.last = self.clock()

    def deadline_first(self) -> bool:
        """True when the deadline, not the timeout, is the nearer limit."""
        return self.start + self.model.deadline <= self.last + self.model.timeout

    def left(self) -> float:
        return min(self.last + self.model.timeout, self.start + self.model.deadline) - self.clock()

    def check(self) -> None:
        if self.left() <= 0:
            raise OutOfTime(self)

    @contextmanager
    def running(self):
        """The client's requests made inside run on this budget (per thread and task)."""
        token = _CALL.set(self)
        try:
            yield self
        finally:
            _CALL.reset(token)

    def wait(self, delay: float, response: httpx2.Response | None, error: BaseException | None) -> None:
        """Sleep `delay` s (`model.sleep`) before retrying a failed attempt (`response` None: the
        connection failed, with `error`), or raise `OutOfTime` when there is no time for it."""
        if isinstance(error, httpx2.TimeoutException):
            raise OutOfTime(self)
        status = 0 if response is None else response.status_code
        if delay >= self.left():
            raise OutOfTime(self, delay=delay, status=status, error=error)
        m = self.model
        why = f"the model server at {m.base_url} said {status}" if status else f"cannot reach {m.base_url}"
        (m.progress or log.info)(f"retrying in {delay:.1f}s ({why})...")
        m.sleep(delay)
        self.retries += 1


class OutOfTime(Exception):
    """The call stops for lack of time: it ran out (`delay` None), or a retry would wait `delay` s
    after a `status` failure (0: a lost connection, `error`), more than is left; `asked`: the server
    asked for that wait (Retry-After)."""

    def __init__(self, budget: Budget, *, delay: float | None = None, status: int = 0, asked: bool = False,
                 error: BaseException | None = None) -> None:
        super().__init__("out of time" if delay is None else f"no time for a {delay:g}s wait")
        self.budget, self.delay, self.status, self.asked, self.error = budget, delay, status, asked, error


_CALL: ContextVar[Budget | None] = ContextVar("rag_llm_call", default=None)  # the call being served


class Watched(httpx2.SyncByteStream):
    """A response body that checks the call's budget at every piece of bytes received, and keeps
    the first bytes (`head`) for error messages."""

    def __init__(self, inner: httpx2.SyncByteStream, budget: Budget) -> None:
        self._inner, self._budget, self.head = inner, budget, b""

    def __iter__(self) -> Iterator[bytes]:
        for data in self._inner:
            self._budget.bytes_seen = True
            if len(self.head) < HEAD_BYTES:
                self.head += data[: HEAD_BYTES - len(self.head)]
            self._budget.check()
            yield data

    def close(self) -> None:
        self._inner.close()


def _watch_body(response: httpx2.Response) -> None:
    """httpx response hook, run before any of the body is read (that of an answer: an error's body
    is not the server keeping the call alive)."""
    budget = _CALL.get()
    if budget is not None and response.is_success:
        response.stream = Watched(response.stream, budget)


def watched_http_client() -> httpx2.Client:
    """openai's default httpx client, its response bodies read under the running call's budget."""
    return openai.DefaultHttpxClient(event_hooks={"response": [_watch_body]})


def head(response: httpx2.Response) -> bytes:
    """The first bytes of a body read under a budget."""
    return getattr(response.stream, "head", b"")


class RetryingClient(openai.OpenAI):
    """openai's client whose retries run on the budget of the call in progress (see the module
    docstring). Outside a call (`Budget.running`) it is the plain client."""

    @property
    def user_agent(self) -> str:
        return f"OpenAI/Python {self._version}"  # as the plain client says (it names its class)

    def _prepare_options(self, options):
        options = super()._prepare_options(options)
        budget = _CALL.get()
        if budget is not None:  # before each attempt
            options.timeout = max(budget.left(), 0.001)
        return options

    def _should_retry(self, response: httpx2.Response) -> bool:
        """429 and 5xx by the client's rules; a Retry-After longer than the time left stops the call now
        (one over the client's 2 minutes too, which it would merely not retry)."""
        status, budget = response.status_code, _CALL.get()
        if not (status == 429 or status >= 500):
            return False
        asked = self._parse_retry_after_header(response.headers)
        if budget is not None and asked is not None and asked >= budget.left():
            response.close()
            raise OutOfTime(budget, delay=asked, status=status, asked=True)
        return super()._should_retry(response)

    def _sleep_for_retry(self, *, retries_taken: int, max_retries: int, options, response) -> None:
        budget = _CALL.get()
        if budget is None:
            return super()._sleep_for_retry(retries_taken=retries_taken, max_retries=max_retries, options=options,
                                            response=response)
        headers = None if response is None else response.headers
        delay = self._calculate_retry_timeout(max_retries - retries_taken, options, headers)
        if delay != self._parse_retry_after_header(headers):  # the client's backoff, not the server's Retry-After
            delay *= budget.model.backoff_base / INITIAL_RETRY_DELAY
        budget.wait(delay, response, sys.exception())  # the client calls this in its `except`: what failed
