"""The eval metrics (`rag.eval.metrics`) on hand-made cases, values worked out by hand.

The judge is a parameter; here it is a deterministic fake (every content word of the hypothesis
occurs in the premise), so what is under test is the metric arithmetic, not an NLI model.
"""

from __future__ import annotations

import math
import re

import pytest

from rag.eval.metrics import (
    PASSAGE_JOINER,
    AbstentionCase,
    abstention_accuracy,
    answer_bearing,
    citation_counts,
    citation_scores,
    cited_paper_precision,
    cited_paper_recall,
    f1,
    faithfulness,
    false_abstention_rate,
    invalid_citation_rate,
    is_abstention,
    mean_ignoring_none,
    mrr_at_k,
    must_mention_accuracy,
    ndcg_at_k,
    percentile,
    recall_at_k,
    unique_in_order,
)
from rag.types import NO_ANSWER

STOP = {"a", "an", "and", "the", "is", "of", "in", "it", "to"}


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower())) - STOP


def fake_entails(premise: str, hypothesis: str) -> bool:
    """Entailed when every content word of the hypothesis appears in the premise."""
    return words(hypothesis) <= words(premise)


def never_called(premise: str, hypothesis: str) -> bool:
    raise AssertionError("the judge must not be called")


PASSAGES = {
    1: "Aspirin reduces fever.",
    2: "Aspirin reduces inflammation.",
    3: "Ibuprofen treats pain.",
}

LOG2_3 = math.log2(3)  # 1.5849625...


# ---------------------------------------------------------------- retrieval


def test_unique_in_order_keeps_first_occurrence():
    assert unique_in_order(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


def test_recall_counts_duplicate_paper_once():
    ranked, gold = ["a", "b", "a", "c"], {"c", "x"}
    # papers: a, b, c -> c is at rank 3
    assert recall_at_k(ranked, gold, 3) == 0.5
    assert recall_at_k(ranked, gold, 2) == 0.0
    assert recall_at_k(ranked, gold, 10) == 0.5
    assert recall_at_k(["c", "x"], gold, 2) == 1.0


def test_recall_gold_larger_than_k():
    assert recall_at_k(["g1", "n", "g2"], {"g1", "g2", "g3"}, 2) == pytest.approx(1 / 3)
    assert recall_at_k(["g1", "n", "g2"], {"g1", "g2", "g3"}, 3) == pytest.approx(2 / 3)


def test_mrr():
    ranked, gold = ["a", "b", "a", "c"], {"c", "x"}
    assert mrr_at_k(ranked, gold, 3) == pytest.approx(1 / 3)  # not 1/4: "a" counted once
    assert mrr_at_k(ranked, gold, 2) == 0.0
    assert mrr_at_k(["x", "c"], gold, 10) == 1.0
    assert mrr_at_k(["n", "c", "x"], gold, 10) == 0.5  # first gold only


def test_ndcg_by_hand():
    ranked, gold = ["a", "b", "a", "c"], {"c", "x"}
    # DCG = 1/log2(3+1) = 0.5; IDCG = 1/log2(2) + 1/log2(3) = 1 + 0.63093
    expected = 0.5 / (1 + 1 / LOG2_3)
    assert ndcg_at_k(ranked, gold, 3) == pytest.approx(expected)
    assert ndcg_at_k(ranked, gold) == pytest.approx(0.306573, abs=1e-6)
    assert ndcg_at_k(ranked, gold, 2) == 0.0


def test_ndcg_single_gold_and_dedup():
    # one gold paper at (deduplicated) rank 2: 1/log2(3) / 1
    assert ndcg_at_k(["a", "a", "c"], {"c"}) == pytest.approx(1 / LOG2_3)
    assert ndcg_at_k(["a", "a", "c"], {"c"}) == pytest.approx(0.6309298, abs=1e-6)


def test_ndcg_perfect_and_ideal_capped_at_k():
    assert ndcg_at_k(["x", "c", "n"], {"c", "x"}) == pytest.approx(1.0)
    # 3 gold, k=2: IDCG uses min(3, 2) = 2 ideal hits; DCG = 1 (g1 at rank 1)
    assert ndcg_at_k(["g1", "n", "g2"], {"g1", "g2", "g3"}, 2) == pytest.approx(1 / (1 + 1 / LOG2_3))
    # k=3: DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3) + 1/2
    assert ndcg_at_k(["g1", "n", "g2"], {"g1", "g2", "g3"}, 3) == pytest.approx(1.5 / (1.5 + 1 / LOG2_3))


def test_retrieval_empty_cases():
    for metric in (recall_at_k, mrr_at_k, ndcg_at_k):
        assert metric(["a", "b"], set(), 5) is None  # metric does not apply
        assert metric([], {"a"}, 5) == 0.0
        with pytest.raises(ValueError):
            metric(["a"], {"a"}, 0)


# ---------------------------------------------------------------- paper-level attribution


def test_cited_paper_precision_and_recall():
    cited, gold = ["p1", "p1", "p2", "p3"], {"p1", "p4"}
    assert cited_paper_precision(cited, gold) == pytest.approx(1 / 3)  # p1 counted once
    assert cited_paper_recall(cited, gold) == 0.5
    assert cited_paper_precision(["p1", "p4"], gold) == 1.0
    assert cited_paper_recall(["p1", "p4", "p9"], gold) == 1.0


def test_cited_paper_empty_cases():
    assert cited_paper_precision([], {"p1"}) is None
    assert cited_paper_recall([], {"p1"}) == 0.0
    assert cited_paper_recall(["p1"], set()) is None
    assert cited_paper_precision(["p1"], set()) == 0.0


def test_invalid_citation_rate():
    assert invalid_citation_rate(1, 4) == 0.25
    assert invalid_citation_rate(0, 3) == 0.0
    assert invalid_citation_rate(2, 2) == 1.0
    assert invalid_citation_rate(0, 0) is None
    with pytest.raises(ValueError):
        invalid_citation_rate(5, 4)
    with pytest.raises(ValueError):
        invalid_citation_rate(-1, 4)


def test_citation_counts_counts_every_occurrence():
    # keys: 1, 7, 2, 3, 1 -> 5 citations, 7 is invalid
    assert citation_counts("A [1, 7]. B [2-3]. C [1].", {1, 2, 3}) == (1, 5)
    assert citation_counts("No citations here.", {1}) == (0, 0)
    n_invalid, total = citation_counts("X [4][5]. Y [Source 1].", {1})
    assert (n_invalid, total) == (2, 3)
    assert invalid_citation_rate(n_invalid, total) == pytest.approx(2 / 3)


# ---------------------------------------------------------------- ALCE citation recall / precision

ANSWER = (
    "Aspirin reduces fever [1]. "                        # supported by [1]
    "Aspirin reduces fever and inflammation [1][2]. "    # only jointly entailed: both precise
    "Ibuprofen treats pain [1]. "                        # wrong passage: recall 0, precision 0
    "Aspirin is cheap. "                                 # no citation: recall 0
    "Ibuprofen treats pain [3][9]."                      # invalid key 9: recall 0, both citations 0
)


def test_citation_scores_worked_example():
    s = citation_scores(ANSWER, PASSAGES, fake_entails)
    assert s["sentences"] == [
        "Aspirin reduces fever.",
        "Aspirin reduces fever and inflammation.",
        "Ibuprofen treats pain.",
        "Aspirin is cheap.",
        "Ibuprofen treats pain.",
    ]
    assert s["sentence_recall"] == [1, 1, 0, 0, 0]
    assert s["citation_precision_per_sentence"] == [[1], [1, 1], [0], [], [0, 0]]
    assert s["n_sentences"] == 5
    assert s["n_citations"] == 6
    assert s["n_precise"] == 3
    assert s["citation_recall"] == pytest.approx(2 / 5)
    assert s["citation_precision"] == pytest.approx(3 / 6)
    # F1 = 2 * 0.5 * 0.4 / 0.9
    assert s["citation_f1"] == pytest.approx(0.4 / 0.9)


def test_single_citation_precision_equals_recall():
    ok = citation_scores("Aspirin reduces fever [1].", PASSAGES, fake_entails)
    assert (ok["citation_recall"], ok["citation_precision"], ok["citation_f1"]) == (1.0, 1.0, 1.0)
    bad = citation_scores("Aspirin reduces fever [2].", PASSAGES, fake_entails)
    assert bad["sentence_recall"] == [0]
    assert bad["citation_precision_per_sentence"] == [[0]]
    assert (bad["citation_recall"], bad["citation_precision"], bad["citation_f1"]) == (0.0, 0.0, 0.0)


def test_redundant_second_citation_is_imprecise():
    # [1] alone entails; [2] alone does not, and the others ([1]) still do -> [2] imprecise
    s = citation_scores("Aspirin reduces fever [1][2].", PASSAGES, fake_entails)
    assert s["sentence_recall"] == [1]
    assert s["citation_precision_per_sentence"] == [[1, 0]]
    assert s["citation_precision"] == 0.5
    assert s["citation_f1"] == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    # order does not matter: the irrelevant citation is the imprecise one
    s = citation_scores("Aspirin reduces fever [2][1].", PASSAGES, fake_entails)
    assert s["citation_precision_per_sentence"] == [[0, 1]]


def test_jointly_entailing_citations_are_both_precise():
    s = citation_scores("Aspirin reduces fever and inflammation [1, 2].", PASSAGES, fake_entails)
    assert s["sentence_recall"] == [1]
    assert s["citation_precision_per_sentence"] == [[1, 1]]
    assert s["citation_precision"] == 1.0


def test_each_alone_entailing_citations_are_both_precise():
    # "Aspirin reduces" is entailed by [1] alone and by [2] alone: c alone entails -> precise
    s = citation_scores("Aspirin reduces [1][2].", PASSAGES, fake_entails)
    assert s["citation_precision_per_sentence"] == [[1, 1]]
    assert s["citation_precision"] == 1.0


def test_unsupported_multi_citation_sentence_scores_zero_everywhere():
    s = citation_scores("Ibuprofen reduces fever [1][2].", PASSAGES, fake_entails)
    assert s["sentence_recall"] == [0]
    assert s["citation_precision_per_sentence"] == [[0, 0]]
    assert s["citation_precision"] == 0.0


def test_invalid_key_zeroes_recall_and_all_its_citations():
    # [1] alone would entail, but the sentence also cites key 7 that was not given to the model
    s = citation_scores("Aspirin reduces fever [1][7].", PASSAGES, fake_entails)
    assert s["sentence_recall"] == [0]
    assert s["citation_precision_per_sentence"] == [[0, 0]]
    assert (s["citation_recall"], s["citation_precision"]) == (0.0, 0.0)


def test_no_citations_at_all_gives_precision_zero_not_none():
    s = citation_scores("Aspirin reduces fever. Ibuprofen treats pain.", PASSAGES, fake_entails)
    assert s["sentence_recall"] == [0, 0]
    assert s["n_citations"] == 0
    assert (s["citation_recall"], s["citation_precision"], s["citation_f1"]) == (0.0, 0.0, 0.0)


def test_repeated_key_in_a_sentence_is_one_citation():
    s = citation_scores("Aspirin reduces fever [1][1].", PASSAGES, fake_entails)
    assert s["n_citations"] == 1
    assert s["citation_precision"] == 1.0


def test_judge_sees_stripped_sentence_and_joined_passages():
    calls: list[tuple[str, str]] = []

    def recording(premise: str, hypothesis: str) -> bool:
        calls.append((premise, hypothesis))
        return True

    s = citation_scores("Aspirin reduces fever [2][1].", PASSAGES, recording)
    assert calls[0] == (PASSAGES[2] + PASSAGE_JOINER + PASSAGES[1], "Aspirin reduces fever.")
    assert all("[" not in h for _, h in calls)
    # both alone entail under this judge -> two more calls, and nothing imprecise
    assert calls[1:] == [(PASSAGES[2], "Aspirin reduces fever."), (PASSAGES[1], "Aspirin reduces fever.")]
    assert s["citation_precision"] == 1.0


def test_judge_called_once_per_single_citation_sentence():
    calls = []
    citation_scores("Aspirin reduces fever [1].", PASSAGES, lambda p, h: calls.append((p, h)) or True)
    assert calls == [(PASSAGES[1], "Aspirin reduces fever.")]


def test_abbreviation_does_not_split_a_sentence():
    s = citation_scores("Drugs, e.g. aspirin, reduce fever [1]. Ibuprofen treats pain [3].", PASSAGES,
                        fake_entails)
    assert s["n_sentences"] == 2
    assert s["sentence_recall"] == [0, 1]  # "drugs" is not in passage 1


def test_abstention_and_empty_answer_have_nothing_to_judge():
    for text in (NO_ANSWER, f"  {NO_ANSWER}  ", "", "   "):
        s = citation_scores(text, PASSAGES, never_called)
        assert s["citation_recall"] is None
        assert s["citation_precision"] is None
        assert s["citation_f1"] is None
        assert s["sentence_recall"] == [] and s["n_citations"] == 0
        assert faithfulness(text, PASSAGES, never_called) is None


def test_sentinel_with_a_citation_is_judged_like_any_sentence():
    s = citation_scores(f"{NO_ANSWER} [1]", PASSAGES, fake_entails)
    assert s["sentence_recall"] == [0]
    assert s["citation_precision"] == 0.0


def test_f1():
    assert f1(0.0, 0.0) == 0.0
    assert f1(1.0, 0.5) == pytest.approx(2 / 3)
    assert f1(None, 0.5) is None
    assert f1(0.5, None) is None


# ---------------------------------------------------------------- faithfulness


def test_faithfulness_worked_example():
    # supported: s1, s2, s5 (its valid cited passage [3] entails it); s3 wrong passage, s4 uncited
    assert faithfulness(ANSWER, PASSAGES, fake_entails) == pytest.approx(3 / 5)


def test_faithfulness_simple_cases():
    assert faithfulness("Aspirin reduces fever [1].", PASSAGES, fake_entails) == 1.0
    assert faithfulness("Aspirin reduces fever.", PASSAGES, fake_entails) == 0.0  # nothing cited
    assert faithfulness("Aspirin reduces fever [9].", PASSAGES, fake_entails) == 0.0  # only invalid key
    assert faithfulness("Aspirin reduces fever [1]. Aspirin cures pain [2].", PASSAGES, fake_entails) == 0.5


# ---------------------------------------------------------------- abstention


CASES = [
    AbstentionCase(answerable=False, abstained=True, n_citations=0),  # correct abstention
    (False, True, 2),   # sentinel but with citations: not a correct abstention
    (False, False, 0),  # answered an unanswerable question
    (True, True, 0),    # false abstention
    (True, True, 1),    # false abstention (citations do not matter here)
    (True, False, 3),
    (True, False, 1),
]


def test_abstention_accuracy():
    assert abstention_accuracy(CASES) == pytest.approx(1 / 3)
    assert abstention_accuracy([(False, True, 0), (False, True, 0)]) == 1.0
    assert abstention_accuracy([(True, True, 0)]) is None  # no unanswerable question
    assert abstention_accuracy([]) is None


def test_false_abstention_rate():
    assert false_abstention_rate(CASES) == 0.5
    assert false_abstention_rate([(True, False, 1)]) == 0.0
    assert false_abstention_rate([(False, True, 0)]) is None  # no answerable question
    assert false_abstention_rate([]) is None


def test_is_abstention():
    assert is_abstention(NO_ANSWER)
    assert is_abstention(f"\n{NO_ANSWER} ")
    assert is_abstention(f"{NO_ANSWER} [1]")  # it is the sentinel; the citation is judged separately
    assert not is_abstention("Aspirin reduces fever [1].")
    assert not is_abstention(f"Aspirin reduces fever. {NO_ANSWER}")
    assert not is_abstention("")


# ---------------------------------------------------------------- answer content


def test_must_mention_accuracy():
    text = "Aspirin reduces FEVER in adults [1]."
    assert must_mention_accuracy(text, ["aspirin", "fever in  adults", "ibuprofen"]) == pytest.approx(2 / 3)
    assert must_mention_accuracy(text, ["ASPIRIN"]) == 1.0
    assert must_mention_accuracy(text, ["paracetamol"]) == 0.0
    assert must_mention_accuracy(text, []) is None
    assert must_mention_accuracy(text, ["  "]) is None
    assert must_mention_accuracy(NO_ANSWER, ["aspirin"]) == 0.0


# ---------------------------------------------------------------- aggregation


def test_mean_ignoring_none():
    assert mean_ignoring_none([1.0, None, 0.5]) == 0.75
    assert mean_ignoring_none([0.0, 0.0, None]) == 0.0
    assert mean_ignoring_none([None, None]) is None
    assert mean_ignoring_none([]) is None


def test_percentile():
    assert percentile([4, 1, 3, 2], 50) == 2.5
    ten = list(range(1, 11))
    assert percentile(ten, 95) == pytest.approx(9.55)  # position 9 * 0.95 = 8.55
    assert percentile(ten, 50) == 5.5
    assert percentile(ten, 0) == 1.0
    assert percentile(ten, 100) == 10.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([None, 2.0, 4.0], 50) == 3.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile(ten, 101)


def test_answer_bearing_context_needs_every_phrase_in_what_the_writer_read():
    context = "[1] Griffin (Soham De, 2024)\nGriffin mixes gated linear  recurrences with local attention."
    assert answer_bearing(context, ["gated linear recurrences", "LOCAL attention"]) is True
    assert answer_bearing(context, ["gated linear recurrences", "Hawk"]) is False
    assert answer_bearing("", ["Hawk"]) is False  # abstained before anything was read
    assert answer_bearing(context, []) is None
