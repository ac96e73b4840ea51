"""rag.llm through the real `openai` client, over HTTP, against the fake server in fake_openai.py."""

from __future__ import annotations

import pytest
from fake_openai import FakeOpenAI, default_reply, fake_openai  # noqa: F401  (fake_openai is a fixture)

from rag.errors import ConfigError
from rag.llm import LocalChatModel, LLMError, OpenAIChatModel, make_chat_model
from rag.settings import load_settings
from rag.types import NO_ANSWER
from netutil import free_port

MESSAGES = [{"role": "system", "content": "Answer from the sources."},
            {"role": "user", "content": "Sources:\n[1] Attention lets every token look at all others.\n\n"
                                        "Question: what does attention do?"}]


def model_for(fake: FakeOpenAI, *, model: str = "fake-model", key: str | None = None, retries: int = 3,
              timeout: float = 5.0) -> OpenAIChatModel:
    return OpenAIChatModel(fake.base_url, model, key, timeout, retries, backoff_base=0.01)


def test_complete_returns_text_usage_and_sends_the_prompt(fake_openai):
    fake_openai.enqueue("Attention mixes tokens [1].")
    done = model_for(fake_openai).complete(MESSAGES, max_tokens=50, temperature=0.2)
    assert done.text == "Attention mixes tokens [1]."
    assert done.usage == {"prompt_tokens": 19, "completion_tokens": 4}
    assert done.finish_reason == "stop" and done.model == "fake-model" and done.total_ms > 0
    sent = fake_openai.requests[0]
    assert sent["messages"] == MESSAGES and sent["max_tokens"] == 50 and sent["temperature"] == 0.2


def test_stream_yields_deltas_in_order_then_the_completion(fake_openai):
    fake_openai.enqueue("one two three four five")
    stream = model_for(fake_openai).stream(MESSAGES)
    deltas = list(stream)
    assert deltas == ["one ", "two ", "three ", "four ", "five"]
    done = stream.completion
    assert done.text == "one two three four five" and done.finish_reason == "stop"
    assert done.usage == {"prompt_tokens": 19, "completion_tokens": 5}
    assert 0 < done.first_token_ms <= done.total_ms
    assert fake_openai.requests[0]["stream_options"] == {"include_usage": True}


def test_stream_without_usage_from_the_server_leaves_usage_empty():
    with FakeOpenAI(stream_usage=False) as fake:
        stream = model_for(fake).stream(MESSAGES)
        assert "".join(stream) == "Attention lets every token look at all others [1]."
        assert stream.completion.usage == {} and stream.completion.finish_reason == "stop"


@pytest.mark.parametrize("status", [503, 429, 500])
def test_retries_after_server_errors_then_succeeds(fake_openai, status):
    fake_openai.fail_next(2, status=status)
    done = model_for(fake_openai).complete(MESSAGES)
    assert done.text == "Attention lets every token look at all others [1]."
    assert len(fake_openai.requests) == 3


def test_gives_up_after_max_retries_and_says_so(fake_openai):
    fake_openai.fail_next(10, status=503)
    with pytest.raises(LLMError, match=r"kept failing \(503\) after 3 retries.*RAG_LLM_MAX_RETRIES"):
        model_for(fake_openai).complete(MESSAGES)
    assert len(fake_openai.requests) == 4


def test_retry_after_header_is_honoured(fake_openai):
    fake_openai.fail_next(1, status=429, headers={"Retry-After": "0.3"})
    model, slept = model_for(fake_openai), []
    model.sleep = slept.append  # the wait the model asks for, without waiting
    model.complete(MESSAGES)
    assert slept == [0.3]
    assert len(fake_openai.requests) == 2


def test_no_retry_on_400(fake_openai):
    fake_openai.enqueue("context too long", status=400)
    with pytest.raises(LLMError, match=r"refused the request \(400: context too long\)"):
        model_for(fake_openai).complete(MESSAGES)
    assert len(fake_openai.requests) == 1


def test_stream_retries_before_the_first_token(fake_openai):
    fake_openai.fail_next(1, status=503)
    fake_openai.enqueue("fine now")
    stream = model_for(fake_openai).stream(MESSAGES)
    assert list(stream) == ["fine ", "now"]
    assert len(fake_openai.requests) == 2


def test_stream_broken_after_tokens_is_not_retried(fake_openai):
    fake_openai.enqueue("one two three four", cut_after=2)
    seen = []
    with pytest.raises(LLMError, match="broke off the answer after 2 pieces"):
        for delta in model_for(fake_openai).stream(MESSAGES):
            seen.append(delta)
    assert seen == ["one ", "two "] and len(fake_openai.requests) == 1


def test_wrong_api_key_names_the_key_settings():
    with FakeOpenAI(api_key="sk-right") as fake:
        with pytest.raises(LLMError, match=r"rejected the API key \(401\); set RAG_LLM_API_KEY or OPENAI_API_KEY"):
            model_for(fake, key="sk-wrong").complete(MESSAGES)
        assert len(fake.requests) == 1
        assert model_for(fake, key="sk-right").complete(MESSAGES).text
        assert fake.headers[-1]["authorization"] == "Bearer sk-right"


def test_local_server_without_key_gets_a_dummy_key(fake_openai, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model_for(fake_openai).complete(MESSAGES)
    assert fake_openai.headers[0]["authorization"] == "Bearer not-needed"


def test_unreachable_server_names_the_base_url_setting():
    port = free_port()  # nothing listens there
    slept = []
    model = OpenAIChatModel(f"http://127.0.0.1:{port}/v1", "m", None, 0.5, 2, backoff_base=0.01, sleep=slept.append)
    with pytest.raises(LLMError, match=rf"cannot reach .*127.0.0.1:{port}/v1 \(connection refused.*RAG_LLM_BASE_URL"):
        model.complete(MESSAGES)
    assert len(slept) == 2 and sum(slept) < 0.1  # two retries, each after a short backoff, then the error


def test_slow_server_times_out_with_a_clear_message(fake_openai):
    fake_openai.enqueue("late", delay=1.0)
    with pytest.raises(LLMError, match=r"did not answer within 0.2s.*RAG_LLM_TIMEOUT"):
        model_for(fake_openai, timeout=0.2, retries=0).complete(MESSAGES)


def test_unknown_model_lists_the_available_ones():
    with FakeOpenAI(models=["llama3", "qwen2.5"]) as fake:
        with pytest.raises(LLMError, match=r"model 'gpt-x' not found .*\(404\); set RAG_LLM_MODEL to one of: "
                                           r"llama3, qwen2.5"):
            model_for(fake, model="gpt-x").complete(MESSAGES)
        assert len(fake.requests) == 1
        assert model_for(fake, model="qwen2.5").complete(MESSAGES).model == "qwen2.5"


def test_fake_default_reply_cites_source_one_or_abstains():
    assert default_reply(MESSAGES) == "Attention lets every token look at all others [1]."
    sources = "Sources:\n[1] Attention Is All You Need (A. Vaswani, 2017)\nShort. Attention replaces recurrence " \
              "in sequence models. More.\n\n[2] Other (B, 2020)\nOther text here and there.\n\nQuestion: q"
    expected = "Attention replaces recurrence in sequence models [1]."
    assert default_reply([{"role": "user", "content": sources}]) == expected
    assert default_reply([{"role": "user", "content": "[1] Short.\n\n[2] Other text here"}]) == (
        "The first source covers this [1].")
    system = {"role": "system", "content": "Cite like [1] or [2][3]."}
    assert default_reply([system, {"role": "user", "content": "no sources at all"}]) == NO_ANSWER


def test_make_chat_model_for_each_backend(fake_openai, monkeypatch, local_model_file):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert make_chat_model(load_settings(backend="extractive")) is None
    local = make_chat_model(load_settings(backend="local", local_model_path=str(local_model_file)))
    assert isinstance(local, LocalChatModel) and local.name == "qwen2.5-coder-1.5b-instruct"
    assert not local.server.alive()  # started on first use, not before
    monkeypatch.setattr("rag.local_server.runtime_available", lambda: False)
    with pytest.raises(ConfigError, match=r"runtime \(xllamacpp\) is not installed; run: pip install 'paper-rag\[local\]'"):
        make_chat_model(load_settings(backend="local", local_model_path=str(local_model_file)))
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_chat_model(load_settings(backend="openai"))
    model = make_chat_model(load_settings(backend="openai", llm_base_url=fake_openai.base_url, llm_model="m1",
                                          max_answer_tokens=64))
    assert model.name == "m1" and model.complete(MESSAGES).text
    assert fake_openai.requests[0]["max_tokens"] == 64


def test_openai_key_from_settings_or_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert make_chat_model(load_settings(backend="openai")).name == "gpt-4o-mini"
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("RAG_LLM_API_KEY", "sk-rag")
    assert make_chat_model(load_settings(backend="openai"))._client.api_key == "sk-rag"
