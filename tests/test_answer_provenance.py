"""What the evaluation grades and what the UI marks come from the answer itself: the judge's premise
is the source text the model read (as the prompt carried it), and the passage sentences a card
highlights are the ones the chain's support check found. Real store, real chain, the real openai
client against the fake server (tests/fake_openai.py)."""

from __future__ import annotations

import re

import pytest

from fake_openai import FakeOpenAI
from rag.api import Assistant
from rag.eval.metrics import PASSAGE_JOINER
from rag.eval.runner import answer_metrics, source_texts
from rag.settings import Settings
from rag.types import Answer, Citation

Q = "Which paper proposes Griffin, a hybrid of gated linear recurrences and local attention?"
GRIFFIN = "Griffin: Mixing Gated Linear Recurrences with Local Attention for Efficient Language Models"


@pytest.fixture(scope="module")
def store(tmp_path_factory, sample_store):
    folder = sample_store(tmp_path_factory.mktemp("provenance-store"))
    return folder


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def llm(store, server):
    server.requests.clear()
    return Assistant(Settings(data_dir=store, backend="openai", llm_base_url=server.base_url, llm_model="fake-model",
                              quote_rescue=False))


def prompt_sources(request: dict) -> dict[int, str]:
    """{key: source block} as the last user message of a chat request carried them."""
    text = request["messages"][-1]["content"]
    blocks = text.split("Sources:\n", 1)[1].rsplit("\n\nQuestion:", 1)[0].split("\n\n")
    return {int(re.match(r"\[(\d+)\] ", b)[1]): b for b in blocks}


class Recorder:
    """A judge that says yes and remembers every premise it was asked about."""

    def __init__(self) -> None:
        self.premises: list[str] = []

    def __call__(self, premise: str, hypothesis: str) -> bool:
        self.premises.append(premise)
        return True


def test_the_judge_grades_exactly_the_source_text_the_model_read(llm, server):
    answer = llm.ask(Q)  # the fake model quotes source [1] and cites it
    shown = prompt_sources(server.requests[-1])
    judge = Recorder()
    answer_metrics(answer, [answer.citations[0].paper_id], [], judge)
    assert judge.premises and set(judge.premises) == {shown[1]}
    assert answer.context[1] == shown[1] and answer.citations[0].title == GRIFFIN


def test_a_sentence_citing_two_sources_is_graded_against_both_as_shown(llm, server):
    server.enqueue("Griffin mixes gated linear recurrences with local attention [1][2].")
    answer = llm.ask(Q)
    shown = prompt_sources(server.requests[-1])
    if len(shown) < 2:
        pytest.skip("retrieval gave the model one source")
    judge = Recorder()
    answer_metrics(answer, [], [], judge)
    assert PASSAGE_JOINER.join([shown[1], shown[2]]) in judge.premises
    assert source_texts(answer) == {k: shown[k] for k in (1, 2)}


def test_an_answer_with_no_recorded_source_is_refused_with_the_fix():
    cite = Citation(key=1, paper_id="p", title="T", authors=[], year=None, venue=None, passage="x.")
    with pytest.raises(ValueError, match="Answer.context"):
        source_texts(Answer(question="q", text="x [1].", citations=[cite]))


def test_the_card_marks_the_passage_sentence_the_check_found(llm, server):
    from rag.ui.render import answer_html, esc

    server.enqueue("Griffin is a hybrid model that mixes gated linear recurrences with local attention [1].")
    answer = llm.ask(Q)
    cite = answer.citations[0]
    assert not answer.abstained and cite.backing_sentences and cite.to_dict()["backing_sentences"]
    assert all(b in cite.passage for b in cite.backing_sentences)
    html = answer_html(answer)
    for sentence in cite.backing_sentences:
        assert f'<mark class="rag-hl">{esc(sentence)}</mark>' in html
    assert html.count('class="rag-hl"') == sum(len(c.backing_sentences) for c in answer.citations)


def test_extractive_quotes_are_backed_by_the_sentences_they_quote(store):
    from rag.citations import cited_keys, split_sentences, strip_keys

    answer = Assistant(Settings(data_dir=store, backend="extractive")).ask(Q)
    assert not answer.abstained
    backing = {c.key: c.backing_sentences for c in answer.citations}
    for sentence in split_sentences(answer.text):
        quote = strip_keys(sentence)
        assert any(quote.rstrip(".!?") in b for k in cited_keys(sentence) for b in backing[k])
    assert set(source_texts(answer).values()) <= set(answer.context.values())


def test_a_listing_is_graded_against_every_author_code_read(store):
    """Code wrote the listing from the whole record: the authors the question named (past the byline
    cap a model reads) are in what the judge grades, so the listing is not failed for naming them."""
    from rag.embeddings import get_embedder
    from rag.eval.judge import SimilarityJudge

    settings = Settings(data_dir=store, backend="extractive")
    answer = Assistant(settings).ask("Which paper did Yoshua Bengio and Doina Precup co-author?")
    assert "Doina Precup, Yoshua Bengio" in answer.text
    assert all("Doina Precup" in text for text in source_texts(answer).values())
    judge = SimilarityJudge(get_embedder().embed, threshold=settings.support_threshold)
    assert answer_metrics(answer, [answer.citations[0].paper_id], [], judge)["citation_recall"] == 1.0
