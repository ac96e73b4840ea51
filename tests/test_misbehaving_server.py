"""A misbehaving OpenAI-compatible server (issue 11, part 3), through the real `openai` client and
the real `rag ask`: bad JSON in a stream or a body, a 200 that is not JSON, a 429 asking for a long
Retry-After, keep-alives and never a token. Each ends in one `LLMError` naming the server and the
fix, within the call's time budget; no broken server passes for an abstention."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner
from fake_openai import FakeOpenAI, FakeTime, fake_openai  # noqa: F401  (fake_openai is a fixture)

from rag.api import Assistant
from rag.cli import main
from rag.llm import LLMError, OpenAIChatModel
from rag.settings import Settings

MESSAGES = [{"role": "user", "content": "Sources:\n[1] Attention lets every token look at all others.\n\n"
                                        "Question: what does attention do?"}]
Q = "Which paper proposes Griffin, a hybrid of gated linear recurrences and local attention?"
CHUNK = "data: " + json.dumps({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
                               "choices": [{"index": 0, "delta": {"content": "Griffin "}, "finish_reason": None}]})
NOT_JSON = "<html><body>502 Bad Gateway</body></html>"


def model_for(fake: FakeOpenAI, *, timeout: float = 5.0, retries: int = 3, **kwargs) -> OpenAIChatModel:
    """`kwargs`: deadline, clock, sleep."""
    return OpenAIChatModel(fake.base_url, "fake-model", None, timeout, retries, backoff_base=0.01, **kwargs)


# ---------------------------------------------------------------- not a chat completion

def test_malformed_event_in_a_stream_is_an_llm_error_naming_the_server(fake_openai):
    fake_openai.enqueue_events(["data: {not json"])
    with pytest.raises(LLMError, match=r"at http://127.0.0.1:\d+/v1 sent something that is not an OpenAI chat "
                                       r"completion \(text/event-stream: '\{not json'\); check that RAG_LLM_BASE_URL"):
        list(model_for(fake_openai).stream(MESSAGES))
    assert len(fake_openai.requests) == 1  # a broken server is not asked again


def test_malformed_event_after_some_tokens_says_how_far_it_got(fake_openai):
    fake_openai.enqueue_events([CHUNK, "data: {not json"])
    seen = []
    with pytest.raises(LLMError, match=r"not an OpenAI chat completion after 1 pieces of the answer"):
        for delta in model_for(fake_openai).stream(MESSAGES):
            seen.append(delta)
    assert seen == ["Griffin "]


@pytest.mark.parametrize("script", [
    lambda f: f.enqueue_events(["data: {not json"]),  # SSE lines as the "JSON" of a plain call
    lambda f: f.enqueue_raw(NOT_JSON),  # the client hands back a str
    lambda f: f.enqueue_raw("oops", "application/json"),  # json.JSONDecodeError inside the client
    lambda f: f.enqueue_raw('{"id": "x"}', "application/json"),  # JSON, but no choices
], ids=["sse-lines", "html", "json-typed-junk", "no-choices"])
def test_plain_call_with_a_body_that_is_not_a_chat_completion_is_an_llm_error(fake_openai, script):
    script(fake_openai)
    model = model_for(fake_openai)
    with pytest.raises(LLMError, match=rf"at {model.base_url} sent something that is not an OpenAI chat completion"):
        model.complete(MESSAGES)
    assert len(fake_openai.requests) == 1


def test_stream_answered_by_a_page_is_an_error_not_an_empty_answer(fake_openai):
    fake_openai.enqueue_raw(NOT_JSON)
    with pytest.raises(LLMError, match=r"sent no chat-completion events \(text/html: '<html><body>502 Bad Gateway"):
        list(model_for(fake_openai).stream(MESSAGES))


# ---------------------------------------------------------------- the time budget

@pytest.mark.parametrize("timeout, deadline, setting", [(5, 120, "RAG_LLM_TIMEOUT"), (60, 5, "RAG_LLM_DEADLINE")])
def test_retry_after_longer_than_the_time_left_fails_at_once(fake_openai, timeout, deadline, setting):
    fake_openai.fail_next(10, status=429, headers={"Retry-After": "60"})
    model = model_for(fake_openai, timeout=timeout, **({"deadline": deadline} if deadline != 120 else {}))
    start = time.monotonic()
    with pytest.raises(LLMError, match=rf"at {model.base_url} asked to retry after 60s \(429\), longer than the "
                                       rf"[\d.]+s left of the 5s allowed \({setting}\); try again later, "
                                       rf"or raise {setting}"):
        model.complete(MESSAGES)
    assert time.monotonic() - start < 5 and len(fake_openai.requests) == 1  # was 180 s and 4 requests


def test_retry_sleeps_are_bounded_by_the_time_left(fake_openai):
    t = FakeTime()
    fake_openai.fail_next(3, status=429, headers={"Retry-After": "2"})
    model = model_for(fake_openai, clock=t.clock, sleep=t.sleep)
    with pytest.raises(LLMError, match=r"asked to retry after 2s \(429\), longer than the 1.0s left of the 5s allowed"):
        model.complete(MESSAGES)
    assert t.slept == [2.0, 2.0] and len(fake_openai.requests) == 3


def test_backoff_that_would_outlast_the_time_left_stops_and_says_so(fake_openai):
    t = FakeTime()
    fake_openai.fail_next(10, status=503)
    model = model_for(fake_openai, clock=t.clock, sleep=t.sleep)
    model.backoff_base = 4.0  # waits of 3-4 s, then 6-8 s: the second cannot fit in 5 s
    with pytest.raises(LLMError, match=r"kept failing \(503\) after 1 retries, with only [\d.]+s of the 5s "
                                       r"allowed \(RAG_LLM_TIMEOUT\) left for a retry; try again later, "
                                       r"or raise RAG_LLM_TIMEOUT"):
        model.complete(MESSAGES)
    assert len(t.slept) == 1 and len(fake_openai.requests) == 2


def test_keepalives_without_a_token_end_a_stream_at_the_timeout(fake_openai):
    fake_openai.enqueue_keepalive(0.3)
    start = time.monotonic()
    with pytest.raises(LLMError, match=r"did not answer within 1.5s \(it only kept the connection alive\); "
                                       r"check it, or raise RAG_LLM_TIMEOUT"):
        list(model_for(fake_openai, timeout=1.5).stream(MESSAGES))
    assert 1.5 <= time.monotonic() - start < 10  # was: never (the server gave up first)


def test_keepalives_every_3s_end_a_stream_at_the_deadline(fake_openai):
    fake_openai.enqueue_keepalive(3.0)  # the server: a comment every 3 s, 5 s timeout
    start = time.monotonic()
    with pytest.raises(LLMError, match=r"did not answer within the 2s deadline .*raise RAG_LLM_DEADLINE"):
        list(model_for(fake_openai, timeout=5, deadline=2).stream(MESSAGES))
    assert time.monotonic() - start < 10


def test_keepalive_spaces_without_a_body_end_a_plain_call_at_the_timeout(fake_openai):
    fake_openai.enqueue_keepalive(0.3)
    start = time.monotonic()
    with pytest.raises(LLMError, match=r"did not answer within 1.5s \(it only kept the connection alive\)"):
        model_for(fake_openai, timeout=1.5).complete(MESSAGES)
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("call", ["stream", "complete"])
def test_silence_after_the_headers_is_a_timeout_too(fake_openai, call):
    fake_openai.enqueue_keepalive(60)  # headers and one keep-alive, then nothing
    model = model_for(fake_openai, timeout=1)
    with pytest.raises(LLMError, match=r"did not answer within 1s \(it only kept the connection alive\)"):
        list(model.stream(MESSAGES)) if call == "stream" else model.complete(MESSAGES)
    assert len(fake_openai.requests) == 1


def test_progress_hears_retries_and_waits_until_the_first_token(fake_openai):
    seen: list[str] = []
    model = model_for(fake_openai)
    model.progress, model.progress_every = seen.append, 0.1
    fake_openai.fail_next(1, status=503)
    fake_openai.enqueue("late but fine", delay=1.0)
    assert "".join(model.stream(MESSAGES)) == "late but fine"
    assert any(m.startswith("retrying in ") and m.endswith(f"(the model server at {model.base_url} said 503)...")
               for m in seen)
    assert f"waiting for the model server at {model.base_url} (0.1s)..." in seen
    count = len(seen)
    time.sleep(0.3)
    assert len(seen) == count  # the reports stop with the call


# ---------------------------------------------------------------- `rag ask` and chat follow-ups

@pytest.fixture(scope="module")
def store_dir(tmp_path_factory, sample_store):
    folder = sample_store(tmp_path_factory.mktemp("misbehaving-store"))
    return folder


def ask_cli(monkeypatch, store_dir, fake: FakeOpenAI, **env):
    for key, value in {"RAG_DATA_DIR": store_dir, "RAG_LLM_BASE_URL": fake.base_url, "RAG_LLM_MODEL": "fake-model",
                       **env}.items():
        monkeypatch.setenv(key, str(value))
    start = time.monotonic()
    result = CliRunner().invoke(main, ["ask", Q, "--backend", "openai", "--no-stream"])
    return result, time.monotonic() - start


@pytest.mark.parametrize("script, env, says", [
    (lambda f: f.enqueue_events(["data: {not json"]), {}, "not an OpenAI chat completion"),
    (lambda f: f.enqueue_raw(NOT_JSON), {}, "sent no chat-completion events"),
    (lambda f: f.fail_next(10, status=429, headers={"Retry-After": "60"}), {"RAG_LLM_TIMEOUT": 5},
     "asked to retry after 60s"),
    (lambda f: f.enqueue_keepalive(0.5), {"RAG_LLM_TIMEOUT": 2}, "did not answer within 2s"),
], ids=["bad-sse", "html-200", "429-retry-after-60", "keepalive"])
def test_rag_ask_against_a_misbehaving_server_prints_one_error_line(monkeypatch, store_dir, fake_openai, script,
                                                                    env, says):
    script(fake_openai)
    result, seconds = ask_cli(monkeypatch, store_dir, fake_openai, **env)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert len(errors) == 1 and fake_openai.base_url in errors[0] and says in errors[0], result.stderr
    assert "RAG_LLM_" in errors[0] and "Traceback" not in result.output
    assert "does not answer" not in result.stdout  # a broken server is not an abstention
    assert seconds < 30


def test_rag_ask_reports_a_retry_on_stderr_and_answers(monkeypatch, store_dir, fake_openai):
    fake_openai.fail_next(1, status=503)
    result, _ = ask_cli(monkeypatch, store_dir, fake_openai)
    assert result.exit_code == 0, result.output
    assert f"(the model server at {fake_openai.base_url} said 503)..." in result.stderr
    assert "Griffin" in result.stdout


def test_chat_follow_up_against_bad_json_raises_llm_error(store_dir, fake_openai):
    """The chat window shows an LLMError as a message and stays up (ui.app.error_turn); anything else
    was an "Unexpected error". Follow-ups condense the question with a plain (non-streamed) call."""
    assistant = Assistant(Settings(data_dir=store_dir, backend="openai", llm_base_url=fake_openai.base_url,
                                   llm_model="fake-model"))
    fake_openai.enqueue_events(["data: {not json"])
    with pytest.raises(LLMError, match=fake_openai.base_url):
        assistant.chat([("Which paper proposes Griffin?", "Griffin [1].")], "and who wrote it?")
    fake_openai.enqueue_raw(NOT_JSON)
    with pytest.raises(LLMError, match="not an OpenAI chat completion"):
        assistant.chat([("Which paper proposes Griffin?", "Griffin [1].")], "and who wrote it?")
