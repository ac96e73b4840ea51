"""The answer chain end to end: real Chroma, real retrieval, and the real openai client talking HTTP
to a fake OpenAI-compatible server with scripted behaviour (tests/fake_openai.py)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from fake_openai import FakeOpenAI
from rag.api import Assistant
from rag.citations import strip_keys
from rag.errors import IndexEmpty
from rag.ingest import ingest
from rag.settings import Settings
from rag.types import NO_ANSWER

FIXTURES = Path(__file__).parent / "fixtures"
Q = "Which paper proposes Griffin, a hybrid of gated linear recurrences and local attention?"
GRIFFIN = "Griffin: Mixing Gated Linear Recurrences with Local Attention for Efficient Language Models"


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory, sample_store):
    folder = sample_store(tmp_path_factory.mktemp("answer-store"))
    ingest([FIXTURES / "hostile.jsonl"], settings=Settings(data_dir=folder), say=lambda *a: None)
    return folder


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def llm(store_dir, server):
    """The chain with a scripted model; a decline stands (the quote rescue has its own tests)."""
    server.requests.clear()
    return Assistant(Settings(data_dir=store_dir, backend="openai", llm_base_url=server.base_url,
                              llm_model="fake-model", quote_rescue=False))


@pytest.fixture(scope="module")
def extractive(store_dir):
    return Assistant(Settings(data_dir=store_dir, backend="extractive"))


def test_extractive_answer_cites_the_right_paper(extractive):
    answer = extractive.ask("Which paper proposes Griffin, mixing gated linear recurrences with local attention?")
    assert not answer.abstained and answer.citations[0].title == GRIFFIN
    assert answer.model == "extractive" and answer.unsupported_sentences == []


def test_weak_evidence_abstains_without_calling_the_model(llm, server):
    answer = llm.ask("What is the boiling point of seawater on Mars in kelvin?")
    assert answer.abstained and answer.text == NO_ANSWER and answer.citations == []
    assert server.requests == []


def test_llm_answer_is_mapped_to_papers_with_usage_and_timings(llm, server):
    answer = llm.ask(Q)
    assert not answer.abstained and answer.citations and answer.usage["completion_tokens"] > 0
    assert {"retrieval_ms", "first_token_ms", "total_ms"} <= answer.timings.keys()
    sent = server.requests[-1]["messages"]
    assert any(f"[{c.key}] {c.title}" in sent[-1]["content"] for c in answer.citations)


def test_invented_key_is_removed_and_counted(llm, server):
    server.enqueue("Griffin mixes gated linear recurrences with local attention [1][9].")
    answer = llm.ask(Q)
    assert "[9]" not in answer.text and answer.invalid_citations == ["9"]
    assert [c.key for c in answer.citations] == [1]


def test_answer_without_citations_is_cited_by_code_or_withheld(llm, server):
    """A supported sentence the model left uncited gets its key from code (checked as any citation);
    one that nothing supports is withheld."""
    server.enqueue("Griffin is a hybrid model that mixes recurrences and attention.")
    answer = llm.ask(Q)
    assert not answer.abstained and answer.added_citations == [1] and answer.citations[0].title == GRIFFIN
    server.enqueue("Bananas are the main export of the Moon.")
    answer = llm.ask(Q)
    assert answer.abstained and answer.text == NO_ANSWER and answer.citations == []


def test_model_sentinel_means_abstention_with_no_citations(llm, server):
    server.enqueue(f"{NO_ANSWER} [1]")
    answer = llm.ask(Q)
    assert answer.abstained and answer.citations == []


def test_unsupported_sentence_is_flagged(llm, server):
    server.enqueue("Griffin mixes gated linear recurrences with local attention [1]. "
                   "The authors also won the 1998 world chess championship with it [1].")
    answer = llm.ask(Q)
    assert not answer.abstained
    assert answer.unsupported_sentences == ["The authors also won the 1998 world chess championship with it [1]."]


def test_streaming_gives_tokens_then_the_checked_answer(llm, server):
    server.enqueue("Griffin mixes gated linear recurrences with local attention [1][8].")
    events = list(llm.stream(Q))
    tokens = "".join(e.text for e in events if e.kind == "token")
    assert len([e for e in events if e.kind == "token"]) > 3 and "[8]" not in tokens
    assert events[-1].kind == "answer" and events[-1].answer.invalid_citations == ["8"]


def test_retries_through_server_errors(llm, server):
    server.fail_next(2, status=503)
    server.enqueue("Griffin mixes gated linear recurrences with local attention [1].")
    llm.chat_model.backoff_base = 0.01
    assert not llm.ask(Q).abstained
    assert len(server.requests) == 3


def test_author_filter_restricts_citations(extractive):
    answer = extractive.ask("reinforcement learning", filters={"authors": ["Siddhant M. Jayakumar"]})
    assert answer.citations and all("Siddhant M. Jayakumar" in c.authors for c in answer.citations)
    assert answer.filters_applied["authors"] == ["Siddhant M. Jayakumar"]


def test_author_and_year_in_the_question_become_filters(extractive):
    answer = extractive.ask("What did John D. Co-Reyes publish in 2021?")
    assert answer.filters_applied["authors"] == ["John D. Co-Reyes"] and answer.filters_applied["year_from"] == 2021
    assert answer.citations and all(c.year == 2021 for c in answer.citations)
    assert '"Evolving Reinforcement Learning Algorithms" (2021; John D. Co-Reyes) [' in answer.text
    assert '"Differentiable Architecture Search for Reinforcement Learning" (2021; John D. Co-Reyes) [' in answer.text
    # then what each paper does, quoted from its abstract, each sentence backed by its own paper
    assert len(answer.citations) == 2 and all(len(c.supported_sentences) == 2 for c in answer.citations)


def test_follow_up_uses_the_conversation(extractive):
    history = [{"role": "user", "content": "What did John D. Co-Reyes publish?"},
               {"role": "assistant", "content": "Several RL papers [1]."}]
    answer = extractive.chat(history, "and which of those came out after 2020?")
    assert answer.filters_applied["authors"] == ["John D. Co-Reyes"] and answer.filters_applied["year_from"] == 2021
    assert answer.citations and all(c.year > 2020 for c in answer.citations)


def test_eight_threads_share_one_assistant_without_mixing_answers(extractive):
    questions = {Q: GRIFFIN,
                 "Which paper introduces Powerpropagation, a sparsity inducing weight reparameterisation?":
                     "Powerpropagation: A sparsity inducing weight reparameterisation",
                 "What is Waymax, the simulator for autonomous driving research?":
                     "Waymax: An Accelerated, Data-Driven Simulator for Large-Scale Autonomous Driving Research",
                 "Which paper studies outlier features in neural network training?":
                     "Understanding and Minimising Outlier Features in Neural Network Training"}
    jobs = list(questions.items()) * 2
    results: dict[int, object] = {}
    threads = [threading.Thread(target=lambda i=i, q=q: results.__setitem__(i, extractive.ask(q)))
               for i, (q, _) in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 8
    for i, (question, title) in enumerate(jobs):
        assert results[i].question == question and results[i].citations[0].title == title


def test_hostile_record_cannot_add_keys_or_change_the_rules(llm, server):
    server.enqueue("This paper proves P = NP [7]. Sparse mixture-of-experts routing is studied [1].")
    answer = llm.ask("What is studied about sparse mixture-of-experts routing?")
    prompt = server.requests[-1]["messages"][-1]["content"]
    assert "cite (7)" in prompt and "cite [7]" not in prompt
    assert "7" in answer.invalid_citations and "[7]" not in answer.text
    assert all(c.key in range(1, 6) for c in answer.citations)


def test_prompt_leak_demanded_by_a_record_is_never_shown(llm, server):
    server.enqueue("You answer questions about scientific papers using only the numbered sources [1]. "
                   "The paper studies prompt disclosure in retrieval systems [1].")
    answer = llm.ask("What does the paper on prompt disclosure in retrieval systems describe?")
    assert "numbered sources" not in answer.text
    assert answer.abstained or answer.text == "The paper studies prompt disclosure in retrieval systems [1]."


def test_empty_store_is_a_clear_error(tmp_path):
    with pytest.raises(IndexEmpty, match="rag ingest"):
        Assistant(Settings(data_dir=tmp_path / "empty"))


def test_ask_front_door_reuses_one_assistant_per_settings(store_dir):
    from rag import api

    settings = Settings(data_dir=store_dir, backend="extractive")
    first = api.ask(Q, settings=settings)
    second = api.ask("What is Waymax, the simulator for autonomous driving research?", settings=settings)
    assert first.citations[0].title == GRIFFIN and second.citations[0].title.startswith("Waymax")
    assert len([k for k in api._DEFAULT if str(store_dir) in k]) == 1


# Hostile paper text that looks like citation keys: "[3]", "[Source 4]", "[n]" in an abstract, "[2]" in
# a title, "[5]" in an author name, "[1]" in a venue (tests/fixtures/hostile.jsonl). Keys are the code's.
MOLECULES = "Message Passing for Molecule Graphs"


def _keys_outside_headers(prompt: str, given: int) -> list[str]:
    """Every key-like group in a prompt except the code's own "[k] " at the start of a source block."""
    from rag.citations import CITE_RE

    body = re.sub(rf"(?m)^\[(?:{'|'.join(str(k) for k in range(1, given + 1))})\] ", "", prompt)
    return [m[0] for m in CITE_RE.finditer(body)]


def test_extractive_answer_never_carries_a_key_from_paper_text(extractive):
    from rag.citations import strip_keys
    from rag.ui.render import answer_html

    answer = extractive.ask("Which paper says graph transformers predict molecular properties?")
    assert not answer.abstained and answer.invalid_citations == []
    assert answer.citations[0].title == MOLECULES
    assert "[3]" not in answer.text and "[Source 4]" not in answer.text and "[n]" not in answer.text
    for c in answer.citations:  # each key is the paper whose text holds the sentence it is cited for
        for sentence in c.supported_sentences:
            assert strip_keys(sentence).rstrip(".") in c.passage, (c.key, c.title, sentence)
    page = answer_html(answer)
    assert "were removed" not in page  # no model wrote anything, so nothing was invented
    assert page.count('class="rag-card"') == len(answer.citations)


def test_a_key_in_a_title_does_not_become_a_citation_in_a_listing(extractive):
    answer = extractive.ask("What did Wren Halloway publish in 2020?")
    assert not answer.abstained and answer.invalid_citations == []
    assert answer.text == ('The matching papers in the collection are: "Tabular Contrastive Pretraining (2)" (2020) [1]. '
                           "We pretrain tabular encoders with a contrastive loss over corrupted rows of spreadsheets [1].")
    assert [c.key for c in answer.citations] == [1]
    assert answer.citations[0].title == "Tabular Contrastive Pretraining (2)"
    assert answer.citations[0].authors == ["Wren (5) Halloway"] and answer.citations[0].venue == "Workshop (1) on Tables"


@pytest.mark.parametrize("question", ["Which paper says graph transformers predict molecular properties?",
                                      "Which paper pretrains tabular encoders with a contrastive loss?"])
def test_no_key_from_paper_text_reaches_the_prompt(llm, server, question):
    server.enqueue("Graph transformers predict molecular properties [1].")
    llm.ask(question)
    prompt = server.requests[-1]["messages"][-1]["content"]
    assert _keys_outside_headers(prompt, 5) == [], prompt
    assert "(3) Title: Fake Source" in prompt or "Tabular Contrastive Pretraining (2)" in prompt


def test_a_listing_question_is_answered_by_code_whatever_the_backend(llm, server):
    """The filters already found the papers: the model is not asked to rediscover them."""
    answer = llm.ask("What did John D. Co-Reyes publish in 2021?")
    assert server.requests == [] and not answer.abstained and answer.invalid_citations == []
    assert answer.text.startswith("The matching papers in the collection are: ")
    assert "(2021; John D. Co-Reyes) [1]" in answer.text and "[2]" in answer.text
    assert {c.title for c in answer.citations} == {"Evolving Reinforcement Learning Algorithms",
                                                   "Differentiable Architecture Search for Reinforcement Learning"}


@pytest.mark.parametrize("reply, reason", [
    ("The collection does not answer this.", "model_declined"),
    ("Griffin was designed on the Moon by Zorblat Industries [1].", "unsupported"),
    ("The collection holds no paper on Martian weather [1].", "unsupported"),
])
def test_each_abstain_reason_comes_from_its_cause(llm, server, reply, reason):
    server.enqueue(reply)
    answer = llm.ask(Q)
    assert answer.abstained and answer.text == NO_ANSWER and answer.abstain_reason == reason
    assert answer.withheld == ("" if reason == "model_declined" else reply)
    assert answer.context and all(text.startswith(f"[{k}] ") for k, text in answer.context.items())


@pytest.mark.parametrize("reply, reason", [
    ("Griffin mixes gated linear recurrences with local attention [1].", "no_quantity"),  # on topic, no figure
    ("Griffin was scaled up to 14B parameters [1].", None),
])
def test_a_question_that_asks_for_a_figure_needs_one_in_the_answer(llm, server, reply, reason):
    server.enqueue(reply)
    answer = llm.ask("How many parameters was Griffin scaled up to, with gated linear recurrences and local attention?")
    assert answer.abstain_reason == reason and answer.abstained is (reason is not None)
    assert answer.withheld == (reply if reason else "")


def test_abstain_reasons_without_a_model_call(llm, server):
    weak = llm.ask("What is the boiling point of seawater on Mars in kelvin?")
    assert weak.abstain_reason == "weak_evidence" and weak.withheld == ""
    none = llm.ask(Q, filters={"authors": ["Nobody Atall"]})
    assert none.abstained and none.abstain_reason == "no_sources"
    assert server.requests == []
    answered = llm.ask("What did John D. Co-Reyes publish in 2021?")
    assert answered.abstain_reason is None


def test_the_answer_sentence_in_another_chunk_reaches_the_model(llm, server, store_dir):
    """Retrieval scores a paper by its best chunk; the model reads the sentences of the whole record."""
    from rag.retrieval import load_catalog

    catalog = load_catalog(Settings(data_dir=store_dir))
    long = [p for p in catalog.papers.values() if len(catalog.chunk_ids.get(p.id, [])) >= 3]
    assert long, "the sample has papers cut into three or more chunks"
    paper = long[0]
    last = paper.abstract.rstrip().rsplit(". ", 1)[-1]  # the closing sentence, far from the first chunk
    server.enqueue("The collection does not answer this.")
    llm.ask(f"{paper.title}: {last}")
    prompt = server.requests[-1]["messages"][-1]["content"]
    assert " ".join(last.split())[:60] in " ".join(prompt.split())


@pytest.mark.parametrize("question, applied", [
    ("Which robotics papers are in the collection?", {"categories": ["cs.RO"]}),
    ("Which papers were listed in July 2024?", {"months": ["2024-07"]}),
    ("Which paper appeared at ICML?", {"venue": "international conference on machine learning"}),
])
def test_months_categories_and_venues_in_the_question_become_filters(extractive, question, applied):
    answer = extractive.ask(question)
    assert {k: answer.filters_applied[k] for k in applied} == applied
    assert answer.filters_applied["matched_papers"] == 1 and not answer.abstained
    assert answer.text.startswith("The matching papers in the collection are: ") and len(answer.citations) == 1


def test_a_detected_filter_that_matches_nothing_is_reported_not_an_error(extractive):
    answer = extractive.ask("Which papers were listed in February 2019?")
    assert answer.filters_applied["months"] == ["2019-02"] and answer.filters_applied["matched_papers"] == 0
    assert answer.abstained and answer.abstain_reason == "no_sources"


@pytest.fixture
def rescuing(store_dir, server):
    """The chain as shipped: a declined question that its closest papers match is answered by quotes."""
    server.requests.clear()
    return Assistant(Settings(data_dir=store_dir, backend="openai", llm_base_url=server.base_url,
                              llm_model="fake-model"))


def test_a_declined_question_is_answered_by_quotes_from_the_closest_paper(rescuing, server):
    server.enqueue(NO_ANSWER, sure=0.3)
    events = list(rescuing.stream(Q))
    kinds = [e.kind for e in events]
    assert kinds.index("reset") < kinds.index("answer") and kinds[kinds.index("reset") + 1] == "token"
    answer = events[-1].answer
    assert not answer.abstained and answer.quoted and answer.citations[0].title == GRIFFIN
    assert answer.timings["decline_p"] == pytest.approx(0.3) and len(server.requests) == 1
    for c in answer.citations:  # verbatim sentences of the paper each key names
        for sentence in c.supported_sentences:
            assert strip_keys(sentence).rstrip(".") in c.passage
    assert "[" + str(answer.citations[0].key) + "]" in answer.text and answer.invalid_citations == []


def test_quotes_not_about_the_question_leave_the_decline_standing(store_dir, server):
    """The rescue shows quotes only when one is close to the question (`quote_min_similarity`): with
    a bar no sentence reaches, the model's decline stands, and the reason says the model declined."""
    strict = Assistant(Settings(data_dir=store_dir, backend="openai", llm_base_url=server.base_url,
                                llm_model="fake-model", quote_min_similarity=0.99))
    server.enqueue(NO_ANSWER, sure=0.3)
    answer = strict.ask(Q)
    assert answer.abstained and answer.abstain_reason == "model_declined" and not answer.quoted
    assert answer.citations == [] and answer.sources  # the sources are still listed


def test_a_declined_question_asking_for_a_quantity_stays_declined(rescuing, server):
    server.enqueue(NO_ANSWER, sure=0.3)
    answer = rescuing.ask("How many training tokens was Griffin trained on?")
    assert answer.abstained and answer.abstain_reason == "model_declined" and not answer.quoted


def test_the_decline_probability_is_recorded(llm, server):
    server.enqueue(NO_ANSWER, sure=0.9)
    answer = llm.ask(Q)
    assert answer.abstained and answer.abstain_reason == "model_declined"
    assert answer.timings["decline_p"] == pytest.approx(0.9) and len(server.requests) == 1


def test_a_sentence_the_model_left_uncited_gets_the_key_of_the_source_that_supports_it(llm, server):
    server.enqueue("Griffin mixes gated linear recurrences with local attention. It was designed on the Moon.")
    answer = llm.ask(Q)
    assert not answer.abstained and answer.added_citations == [1]
    assert answer.text.startswith("Griffin mixes gated linear recurrences with local attention [1].")
    assert answer.citations[0].title == GRIFFIN
    assert answer.unsupported_sentences == ["It was designed on the Moon."]  # nothing supports it: no key


def test_an_uncited_answer_nothing_supports_is_still_withheld(llm, server):
    server.enqueue("Penguins migrate across the Sahara every winter.")
    answer = llm.ask(Q)
    assert answer.abstained and answer.abstain_reason == "unsupported" and answer.added_citations == []
    assert answer.withheld == "Penguins migrate across the Sahara every winter."


def test_a_sentence_about_the_collection_is_not_part_of_the_answer(llm, server):
    server.enqueue("Yes, the collection does answer this. Griffin mixes gated linear recurrences with local attention [1].")
    answer = llm.ask(Q)
    assert answer.text == "Griffin mixes gated linear recurrences with local attention [1]."
    server.enqueue("The papers do not cover this question.")
    assert llm.ask(Q).abstain_reason == "model_declined"


NEIGHBOUR = "RecurrentGemma uses the Griffin architecture, which combines linear recurrences with local attention [2]."


def test_a_draft_that_skips_the_best_source_is_written_again_from_that_paper_alone(llm, server):
    """The model cited only a lower-ranked source (the seed questions' wrong citations were such
    drafts): it is asked once more with the paper retrieval ranked first, and that answer is shown."""
    server.enqueue(NEIGHBOUR)
    events = list(llm.stream(Q))
    answer = events[-1].answer
    first, second = (r["messages"][-1]["content"] for r in server.requests)
    assert "\n[2] RecurrentGemma" in first  # the draft cited a neighbour the model was given
    assert "[1] " + GRIFFIN in second and "\n[2]" not in second  # asked again with the best paper alone
    assert [c.title for c in answer.citations] == [GRIFFIN] and not answer.abstained
    assert answer.replaced_draft.startswith("RecurrentGemma uses") and answer.timings["refocus_ms"] > 0
    assert list(answer.context) == [1] and answer.context[1].startswith("[1] " + GRIFFIN)
    kinds = [e.kind for e in events]
    assert "reset" in kinds and "".join(e.text for e in events[kinds.index("reset") + 1:-1]) == answer.text


def test_when_the_best_paper_alone_does_not_answer_the_first_draft_stands(llm, server):
    server.enqueue(NEIGHBOUR)
    server.enqueue(NO_ANSWER)
    events = list(llm.stream(Q))
    answer = events[-1].answer
    assert len(server.requests) == 2 and answer.replaced_draft == ""
    assert [c.title for c in answer.citations] == ["RecurrentGemma: Moving Past Transformers for Efficient Open "
                                                   "Language Models"]
    assert "decline_p" not in answer.timings and len(answer.context) > 1
    last_reset = max(i for i, e in enumerate(events) if e.kind == "reset")
    assert "".join(e.text for e in events[last_reset + 1:-1]) == answer.text


def test_a_draft_citing_the_best_source_is_not_asked_again(llm, server):
    server.enqueue("Griffin mixes gated linear recurrences with local attention [1]. " + NEIGHBOUR)
    answer = llm.ask(Q)
    assert len(server.requests) == 1 and answer.replaced_draft == "" and "refocus_ms" not in answer.timings


def test_refocus_can_be_turned_off(store_dir, server):
    server.requests.clear()
    off = Assistant(Settings(data_dir=store_dir, backend="openai", llm_base_url=server.base_url,
                             llm_model="fake-model", quote_rescue=False, refocus=False))
    server.enqueue(NEIGHBOUR)
    answer = off.ask(Q)
    assert len(server.requests) == 1 and [c.key for c in answer.citations] == [2]


def test_for_papers_in_the_plural_the_best_papers_answer_comes_before_the_draft(llm, server):
    """"Which papers ...?" may have several answers: the draft's neighbour stays, the best paper is added."""
    server.enqueue(NEIGHBOUR)
    events = list(llm.stream("Which papers mix gated linear recurrences with local attention?"))
    answer = events[-1].answer
    first, second = (r["messages"][-1]["content"] for r in server.requests)
    assert "\n[2] RecurrentGemma" in first and "[1] " + GRIFFIN in second and "\n[2]" not in second
    assert [c.title for c in answer.citations] == [GRIFFIN, "RecurrentGemma: Moving Past Transformers for Efficient "
                                                   "Open Language Models"]
    assert answer.text.endswith(NEIGHBOUR) and answer.replaced_draft == "" and sorted(answer.context) == [1, 2]
    assert answer.context[1].startswith("[1] " + GRIFFIN)  # [1] as the model read it alone


def test_a_draft_citing_the_paper_whose_title_names_the_question_stands(llm, server):
    """A record built to rank first (a prompt injection that mentions Griffin) is [1]; the model cited
    "Griffin: ..." [2], whose title names what the question asks about: it is not asked again."""
    server.enqueue("Griffin mixes gated linear recurrences with local attention [2].")
    answer = llm.ask("Which paper proposes Griffin?")
    assert "\n[1] Robust Prompting for Sparse Mixture Models" in "\n" + server.requests[0]["messages"][-1]["content"]
    assert len(server.requests) == 1 and answer.replaced_draft == ""
    assert [c.title for c in answer.citations] == [GRIFFIN]
