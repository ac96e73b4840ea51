"""rag.llm_budget: the openai client's own retries, bounded by the call's time budget (fake server)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fake_openai import FakeOpenAI, FakeTime, fake_openai  # noqa: F401  (fake_openai is a fixture)

from rag.llm import LLMError, OpenAIChatModel

MESSAGES = [{"role": "user", "content": "Sources:\n[1] Attention lets every token look at all others.\n\nQuestion: q"}]


def model_for(fake: FakeOpenAI, t: FakeTime, *, timeout: float = 60.0, retries: int = 3,
              backoff_base: float = 0.01) -> OpenAIChatModel:
    return OpenAIChatModel(fake.base_url, "fake-model", None, timeout, retries, backoff_base=backoff_base,
                           clock=t.clock, sleep=t.sleep)


@pytest.mark.parametrize("call", ["complete", "stream"])
def test_the_retries_are_the_clients_own(fake_openai, call):
    fake_openai.fail_next(2, status=503)
    model = model_for(fake_openai, FakeTime())
    text = model.complete(MESSAGES).text if call == "complete" else "".join(model.stream(MESSAGES))
    assert text.startswith("Attention")
    assert [h["x-stainless-retry-count"] for h in fake_openai.headers] == ["0", "1", "2"]
    assert fake_openai.headers[0]["user-agent"].startswith("OpenAI/Python ")


def test_backoff_is_the_clients_scaled_to_backoff_base(fake_openai):
    t = FakeTime()
    fake_openai.fail_next(3, status=500)
    model_for(fake_openai, t, backoff_base=1.0).complete(MESSAGES)
    assert len(t.slept) == 3
    for n, wait in enumerate(t.slept):  # 1, 2, 4 s, less up to 25% jitter
        assert 0.75 * 2**n <= wait <= 2**n


def test_retry_after_beyond_the_clients_two_minutes_still_fails_at_once_naming_it(fake_openai):
    t = FakeTime()
    fake_openai.fail_next(3, status=429, headers={"Retry-After": "600"})
    with pytest.raises(LLMError, match=r"asked to retry after 600s \(429\), longer than the 60.0s left of the 60s "
                                       r"allowed \(RAG_LLM_TIMEOUT\)"):
        model_for(fake_openai, t).complete(MESSAGES)
    assert t.slept == [] and len(fake_openai.requests) == 1


@pytest.mark.parametrize("status", [408, 409])
def test_statuses_the_client_would_retry_but_rag_does_not(fake_openai, status):
    fake_openai.enqueue("not now", status=status)
    with pytest.raises(LLMError, match=rf"refused the request \({status}: not now\)"):
        model_for(fake_openai, FakeTime()).complete(MESSAGES)
    assert len(fake_openai.requests) == 1


def test_an_attempt_after_a_wait_gets_only_the_time_left(fake_openai):
    t = FakeTime()
    fake_openai.fail_next(2, status=503, headers={"Retry-After": "1.5"})
    model_for(fake_openai, t, timeout=5).complete(MESSAGES)
    assert t.slept == [1.5, 1.5]
    assert [float(h["x-stainless-read-timeout"]) for h in fake_openai.headers] == [5.0, 3.5, 2.0]


def test_a_timeout_after_a_wait_is_not_retried(fake_openai):
    t = FakeTime()
    fake_openai.fail_next(1, status=503, headers={"Retry-After": "0.6"})
    fake_openai.enqueue("late", delay=1.0)  # within the 1.2 s timeout, but not within the 0.6 s left
    with pytest.raises(LLMError, match=r"at http://127.0.0.1:\d+/v1 did not answer within 1.2s after 1 retries; "
                                       r"check it, or raise RAG_LLM_TIMEOUT"):
        model_for(fake_openai, t, timeout=1.2).complete(MESSAGES)
    assert t.slept == [0.6] and len(fake_openai.requests) == 2


def test_out_of_retries_says_so_even_when_the_server_asks_for_a_long_wait(fake_openai):
    fake_openai.fail_next(5, status=503, headers={"Retry-After": "600"})
    with pytest.raises(LLMError, match=r"the model server failed \(503\); try again later, or raise "
                                       r"RAG_LLM_MAX_RETRIES"):
        model_for(fake_openai, FakeTime(), retries=0).complete(MESSAGES)
    assert len(fake_openai.requests) == 1


class _CutBodyOnce(BaseHTTPRequestHandler):
    """The first answer breaks off in its body (20 of 300 bytes); later ones are whole."""

    answers = 0

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).answers += 1
        body = json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": "m", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "whole"}, "finish_reason": "stop"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "300" if self.answers == 1 else str(len(body)))
        self.end_headers()
        self.wfile.write(body[:20] if self.answers == 1 else body)
        self.close_connection = self.answers == 1


def test_a_plain_call_whose_body_breaks_off_is_retried():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CutBodyOnce)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        t = FakeTime()
        model = OpenAIChatModel(f"http://127.0.0.1:{server.server_port}/v1", "m", None, 5, 3, backoff_base=0.01,
                                clock=t.clock, sleep=t.sleep)
        assert model.complete(MESSAGES).text == "whole"
        assert _CutBodyOnce.answers == 2 and len(t.slept) == 1
    finally:
        server.shutdown()
        server.server_close()
