"""Filters a question states about itself: months, arXiv categories (code or name) and venues,
beside the author and year detection tested in test_retrieval.py; and listing questions they make."""

from __future__ import annotations

import pytest

from rag.extractive import is_listing_question
from rag.questions import asks_for_several, detect_categories, detect_filters, detect_months, detect_venue, figure_clause

CATS = ["cs.CV", "cs.GR", "cs.GT", "cs.IT", "cs.LG", "cs.RO"]
VENUES = ["arXiv", "Proceedings of the 41st International Conference on Machine Learning", "CVPR 2025"]


@pytest.mark.parametrize("question, months", [
    ("Which autonomous driving paper was listed in May 2025?", ["2025-05"]),
    ("papers listed in January 2026", ["2026-01"]),
    ("What came out in Sept. 2025 or March 2026?", ["2025-09", "2026-03"]),
    ("What may 2025 bring?", ["2025-05"]),  # a month word next to a year is read as that month
    ("Which paper was listed in March?", []),  # no year: not a filter
    ("How do transformers march through 2025 benchmarks?", []),
])
def test_detect_months(question, months):
    assert detect_months(question) == months


@pytest.mark.parametrize("question, cats", [
    ("Which cs.IT papers model fading in wireless channels?", ["cs.IT"]),
    ("Which CS.gt papers are in the collection?", ["cs.GT"]),
    ("Which graphics papers render hair?", ["cs.GR"]),
    ("papers in computer vision about depth", ["cs.CV"]),
    ("robotics papers from 2025", ["cs.RO"]),
    ("How does computer vision help robots grasp?", []),  # a topic, not a kind of paper
    ("Which cs.NI papers study routers?", []),  # a code the collection does not use
])
def test_detect_categories(question, cats):
    assert detect_categories(question, CATS) == cats


@pytest.mark.parametrize("question, venue", [
    ("Which paper appeared at ICML?", "international conference on machine learning"),
    ("Which paper in the collection appeared in the Proceedings of the 41st International Conference on Machine "
     "Learning?", "Proceedings of the 41st International Conference on Machine Learning"),
    ("What was shown at CVPR?", "CVPR"),
    ("Which arXiv paper proposes Griffin?", None),
    ("Which NeurIPS paper studies pruning?", None),  # no NeurIPS venue in the collection
])
def test_detect_venue(question, venue):
    assert detect_venue(question, VENUES) == venue


def test_detect_filters_reports_every_kind():
    found, kinds = detect_filters("Which cs.CV papers were listed in May 2025?", ["Ann Power"],
                                  categories=CATS, venues=VENUES)
    assert found.categories == ["cs.CV"] and found.months == ["2025-05"]
    assert kinds == ["months", "categories"]


@pytest.mark.parametrize("question, applied, listing", [
    ("Which cs.GT papers are in the collection?", {"categories": ["cs.GT"], "auto": ["categories"]}, True),
    ("Which graphics papers are listed?", {"categories": ["cs.GR"], "auto": ["categories"]}, True),
    ("Which papers were listed in May 2025?", {"months": ["2025-05"], "auto": ["months"]}, True),
    ("Which autonomous driving paper was listed in May 2025?", {"months": ["2025-05"], "auto": ["months"]}, False),
    ("Which cs.IT papers model fading?", {"categories": ["cs.IT"], "auto": ["categories"]}, False),
    ("What did John D. Co-Reyes publish in 2021?",
     {"authors": ["John D. Co-Reyes"], "year_from": 2021, "auto": ["authors", "year"]}, True),
])
def test_listing_questions(question, applied, listing):
    assert is_listing_question(question, applied) is listing


@pytest.mark.parametrize("question, found", [
    # at 47,000 papers "Andy Way" is an author: the article "a" is not his initial
    ("a way to simulate how each piece of text a generative transformer was trained on", []),
    ("A way to simulate training data influence", []),  # a capital that starts the question is English too
    ("what did A Way publish in 2019?", ["Andy Way"]),  # a capital inside the sentence is an initial
    ("papers by A. Way on machine translation", ["Andy Way"]),
    ("what did andy way publish?", ["Andy Way"]),
    ("papers by J. Co-Reyes", ["John D. Co-Reyes"]),
    ("i think a de novo design helps", []),
])
def test_a_lowercase_one_letter_word_is_never_an_initial(question, found):
    from rag.questions import detect_authors

    known = ["Andy Way", "John D. Co-Reyes", "Soham De", "Ian Goodfellow"]
    assert detect_authors(question, known, is_common=lambda w: w in {"way", "de"}) == found


@pytest.mark.parametrize("question, asks", [
    ("How many TPU chips were used to train RecurrentGemma?", True),
    ("Which optimizer was used to pretrain SPARC, and for how many steps?", True),
    ("By how much did MetaPG improve on Soft Actor-Critic?", True),
    ("What score did the agent reach in NetHack?", True),
    ("Which papers decide how many visual tokens to keep?", False),  # mentions a count, asks for papers
    ("measuring how much litter covers a beach from drone photos", False),
    ("What is the Outlier Protected transformer block?", False),
])
def test_asks_for_quantity(question, asks):
    from rag.questions import asks_for_quantity

    assert asks_for_quantity(question) is asks


@pytest.mark.parametrize("answer, states", [
    ("Griffin was scaled to 14B parameters [1].", True),
    ("The agent controls more than seven hundred actions [2].", True),
    ("It needs only O(d) transitions [1].", True),
    ("Griffin mixes recurrences with local attention [1][2].", False),  # keys are not figures
    ("Qwen2.5-3B was extended [1].", False),                          # the question's own figures
])
def test_states_quantity(answer, states):
    from rag.questions import states_quantity

    assert states_quantity(answer, "How far was the context of Qwen2.5-3B extended?") is states


@pytest.mark.parametrize("question, clause", [
    ("How many GPUs were used to train Griffin?", "GPUs were used to train Griffin"),
    ("How does SDTP prune tokens, and how much faster is inference?", "faster is inference"),
    ("How large is the corpus and which alignment algorithm does it use?", "is the corpus"),
    ("What score did the agent reach in NetHack?", "did the agent reach in NetHack"),
    ("Which paper proposes Griffin?", ""),
])
def test_figure_clause_is_the_part_of_the_question_that_asks_for_a_figure(question, clause):
    assert figure_clause(question) == clause


@pytest.mark.parametrize("question, several", [
    ("Which papers reduce reliance on human-written examples?", True),
    ("Name works that study plasticity loss", True),
    ("Which paper proposes Griffin?", False),
    ("How does Top-KAST keep training sparse?", False),
])
def test_asks_for_several_reads_papers_in_the_plural(question, several):
    assert asks_for_several(question) is several


@pytest.mark.parametrize("answer, states", [
    ("Griffin was trained on over 6 times fewer tokens than Llama-2 [1].", False),  # a ratio, not the count
    ("It needs two-fold fewer tokens [1].", False),
    ("45% of the tokens were pruned [1].", False),
    ("Griffin was trained on 300B tokens [1].", True),
    ("The dataset has over two thousand annotated examples [1].", True),  # a count, if of something else
])
def test_a_question_for_a_count_is_not_answered_by_a_ratio(answer, states):
    from rag.questions import asks_for_count, states_quantity

    question = "How many training tokens in total was Griffin trained on?"
    assert asks_for_count(question) and states_quantity(answer, question) is states


def test_a_ratio_answers_how_many_times_and_how_much():
    from rag.questions import asks_for_count, states_quantity

    for question in ("How many times faster is Griffin than a Transformer?", "How much faster is inference?"):
        assert not asks_for_count(question)
        assert states_quantity("Inference is up to 1.75x faster [1].", question)


@pytest.mark.parametrize("question, found", [
    # the longest written name decides: "Peter J. Liu" is not every J. Liu of the collection
    ("What did Mitchell Wortsman and Peter J. Liu write?", ["Peter J. Liu", "Mitchell Wortsman"]),
    ("papers by J. Liu on graphs", ["Jason Liu", "Jun Liu", "Peter J. Liu"]),  # an initial alone names them all
    ("What did Jason Liu publish?", ["Jason Liu"]),
    # "Bobby" is part of the written name "Bobby He", not T. Christy Bobby's last name
    ("What did Bobby He and Thomas Hofmann write about?", ["Thomas Hofmann", "Bobby He"]),
    ("What did Bobby write about?", ["T. Christy Bobby"]),
])
def test_a_written_full_name_names_only_its_own_authors(question, found):
    from rag.questions import detect_authors

    known = ["Peter J. Liu", "Jason Liu", "Jun Liu", "Mitchell Wortsman", "Bobby He", "T. Christy Bobby",
             "Thomas Hofmann"]
    assert detect_authors(question, known) == found


@pytest.mark.parametrize("question, found", [
    ("Who painted the ceiling of the Sistine Chapel?", []),  # another capitalised word, not her first name
    ("What did Chapel find about probing vision transformers?", ["Laetitia Chapel"]),
    ("What did L. Chapel find?", ["Laetitia Chapel"]),
    ("Papers by Laetitia Chapel", ["Laetitia Chapel"]),
    ("Which papers did Yoshua Bengio write?", ["Y. Bengio"]),  # the written first name fits the initial
    ("Chapel on probing", ["Laetitia Chapel"]),  # a question may start with the name
])
def test_a_last_name_inside_another_proper_name_is_not_an_author(question, found):
    from rag.questions import detect_authors

    assert detect_authors(question, ["Laetitia Chapel", "Y. Bengio"]) == found
