import numpy as np
import pytest

from rag.embeddings import get_embedder
from rag.extractive import cite, extractive_answer, is_listing_question, listing_answer
from rag.support import check_support, novel_terms
from rag.types import Passage


def passage(pid, text, score=0.6):
    return Passage(paper_id=pid, chunk_id=f"{pid}#0", text=text, title=pid, authors=[], year=None, venue=None,
                   score=score)


PASSAGES = {
    1: passage("griffin", "We propose Hawk, an RNN with gated linear recurrences, and Griffin, a hybrid model that "
               "mixes gated linear recurrences with local attention. Griffin matches Llama-2."),
    2: passage("robots", "A custom simulator was developed for multi-robot navigation. Agents were trained with "
               "deep reinforcement learning.", score=0.3),
}


def test_extractive_answer_cites_the_best_sentence_first():
    text = extractive_answer("Which model mixes gated linear recurrences with local attention?", PASSAGES)
    assert text.startswith("We propose Hawk") and text.split(".")[0].endswith("[1]")


def test_a_question_for_a_figure_gets_the_sentence_that_gives_one():
    both = {1: passage("griffin", "Griffin is a hybrid model. Griffin was scaled to 14B.")}  # equal overlap
    text = extractive_answer("How many parameters does Griffin have?", both, max_sentences=1)
    assert text == "Griffin was scaled to 14B [1]."
    assert extractive_answer("What is Griffin?", both, max_sentences=1) == "Griffin is a hybrid model [1]."


SDTP = passage("sdtp", "We propose Saliency-driven Dynamic Token Pruning (SDTP) to prune redundant tokens. A saliency-driven "
              "prediction module estimates the importance of each token to prune tokens dynamically. Pruning 65% of "
              "the tokens gives a speedup of up to 1.75x during inference. The code is released.")


def test_a_two_part_question_gets_the_figure_its_second_clause_asks_for():
    """The first clause names many topic words that the other sentences share; the figure comes first anyway."""
    text = extractive_answer("How does Saliency-driven Dynamic Token Pruning (SDTP) decide which tokens to prune, "
                             "and how much faster is inference?", {1: SDTP}, max_sentences=2)
    assert text.startswith("Pruning 65% of the tokens gives a speedup of up to 1.75x during inference [1].")


def test_a_figure_on_something_else_is_not_put_first():
    """"How many GPUs ...?": the 65% and 1.75x figures are about pruning, not GPUs, so they are not pushed
    first (the chain then finds no figure in the answer and abstains with no_quantity)."""
    text = extractive_answer("How many GPUs were used to train SDTP?", {1: SDTP}, max_sentences=1)
    assert text.startswith("We propose Saliency-driven Dynamic Token Pruning")


def test_extractive_answer_is_deterministic_and_empty_without_passages():
    q = "multi-robot navigation simulator"
    assert extractive_answer(q, PASSAGES) == extractive_answer(q, PASSAGES)
    assert extractive_answer(q, {}) == ""


@pytest.mark.parametrize("sentence,expected", [("A claim.", "A claim [3]."), ("No stop", "No stop [3].")])
def test_cite_puts_the_key_before_the_full_stop(sentence, expected):
    assert cite(sentence, 3) == expected


@pytest.fixture(scope="module")
def embed():
    return get_embedder().embed


def test_support_check_tells_grounded_from_invented(embed):
    checks = check_support(["Griffin mixes gated linear recurrences with local attention [1].",
                            "Griffin was trained on the moon by astronauts in 1969 [1].",
                            "An uncited claim about robots."], PASSAGES, embed, threshold=0.6)
    assert [c.supported for c in checks] == [True, False, False]
    assert checks[0].supported_by == [1] and checks[2].keys == []


def test_support_ignores_keys_that_were_not_given(embed):
    check = check_support(["Griffin mixes recurrences with attention [5]."], PASSAGES, embed, threshold=0.5)[0]
    assert check.keys == [] and not check.supported


def test_support_with_a_predictable_fake_embedder():
    def fake(texts):  # vector = [has 'griffin', has 'robot'], so support is purely lexical here
        return np.array([[("griffin" in t.lower()) * 1.0, ("robot" in t.lower()) * 1.0] for t in texts])
    checks = check_support(["Griffin is fast [1].", "Robots are slow [1]."], PASSAGES, fake, threshold=0.9)
    assert [c.supported for c in checks] == [True, False]


def test_extractive_sentences_are_quoted_verbatim_from_the_passage_they_cite():
    from rag.citations import cited_keys, split_sentences, strip_keys

    text = extractive_answer("gated linear recurrences local attention robots", PASSAGES, max_sentences=3)
    for sentence in split_sentences(text):
        key = cited_keys(sentence)[0]
        assert strip_keys(sentence).rstrip(".") in PASSAGES[key].text


@pytest.mark.parametrize("question,listing", [
    ("What did John D. Co-Reyes publish in 2021?", True),
    ("Which papers did Co-Reyes write?", True),
    ("John D. Co-Reyes's papers from 2021", True),
    ("What did John D. Co-Reyes publish about meta-learning in 2021?", False),
    ("What has John D. Co-Reyes worked on according to the collection?", True),
    ("What did John D. Co-Reyes study in 2021?", True),
    ("Which papers have John D. Co-Reyes among their authors?", True),
    ("Which papers of John D. Co-Reyes are filed under cs.LG?", True),  # where a paper is listed is not a topic
    ("Which of John D. Co-Reyes's papers were posted or submitted in 2021?", True),
])
def test_listing_questions_are_only_about_who_and_when(question, listing):
    applied = {"authors": ["John D. Co-Reyes"], "year_from": 2021, "auto": ["authors", "year"]}
    assert is_listing_question(question, applied) is listing


def test_no_listing_without_detected_filters():
    assert not is_listing_question("What did John D. Co-Reyes publish in 2021?", {})


def test_listing_answer_cites_every_matched_paper_and_quotes_what_each_does():
    text = listing_answer({1: PASSAGES[1], 2: PASSAGES[2]})
    assert text == ('The matching papers in the collection are: "griffin" [1]; "robots" [2]. We propose Hawk, an RNN '
                    "with gated linear recurrences, and Griffin, a hybrid model that mixes gated linear recurrences "
                    "with local attention [1]. A custom simulator was developed for multi-robot navigation [2].")


def test_a_title_that_ends_in_a_question_mark_does_not_split_the_listing():
    from rag.citations import split_sentences

    asks = Passage(paper_id="q", chunk_id="q#0", text="", title="What matters for alignment? Global or local",
                   authors=[], year=2025, venue=None, score=0.5)
    text = listing_answer({1: asks, 2: PASSAGES[2]})
    assert split_sentences(text)[0] == ('The matching papers in the collection are: "What matters for alignment? '
                                        'Global or local" (2025) [1]; "robots" [2].')


@pytest.mark.parametrize("abstract, expected", [
    ("Models fail at taste. Here, we use the term to refer to judging and propose ideas. In this work, we propose "
     "RLCF, a method.",
     "In this work, we propose RLCF, a method."),          # the contribution, not a verb far from its subject
    ("Evaluation is hard. In this paper, we analyze the limits of pipelines. We find that A beats B.",
     "In this paper, we analyze the limits of pipelines."),  # no "propose": the first study sentence
    ("Background only. More background.", "Background only."),
    ("", ""),
])
def test_gist_is_the_sentence_that_says_what_the_paper_does(abstract, expected):
    from rag.extractive import gist

    assert gist(abstract) == expected


def test_a_specific_the_source_never_gives_makes_a_sentence_unsupported(embed):
    """Similar wording, right paper, but an invented optimizer and number: flagged, with the terms."""
    checks = check_support(["Griffin mixes gated linear recurrences with local attention and uses Adam with a "
                            "learning rate of 0.0001 [1].",
                            "Griffin matches Llama-2 [1]."], PASSAGES, embed, threshold=0.45)
    assert not checks[0].supported and checks[0].novel == ["0.0001", "Adam"]
    assert checks[1].supported and checks[1].novel == []


@pytest.mark.parametrize("sentence, novel", [
    ("Yes, Griffin matches Llama-2 [1].", []),               # first word and known names pass
    ("Griffins are hybrid models [1].", []),                 # plural of a known name
    ("It was trained on 300B tokens by DeepMind [1].", ["300", "DeepMind"]),
    ("The title Griffin is in the header [1].", []),
])
def test_novel_terms(sentence, novel):
    assert novel_terms(sentence, ["griffin: mixing gated linear recurrences. griffin matches llama-2."]) == novel
