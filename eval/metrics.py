"""Grounding and retrieval metrics of the eval harness, as pure functions.

Each function implements one definition of `shared/docs/grounding-metrics.md`; its docstring says
which, and what it returns where the definition does not apply. Conventions used throughout:

* `None` means "the metric does not apply to this case" (no gold papers, no citations to be precise
  about, an abstention with no sentences to judge). It is never 0: a mean over questions must skip it,
  which `mean_ignoring_none` does.
* Retrieval metrics count *papers*, not chunks: a ranked list of paper ids is de-duplicated (first
  occurrence kept) before the cut at k, so several chunks of one paper take one rank.
* Sentences and citation keys come from `rag.citations` (`split_sentences`, `cited_keys`,
  `strip_keys`), the same code the answer chain uses, so eval and product agree on what a sentence
  and a citation are.
* Entailment is a parameter: `entails(premise, hypothesis) -> bool`. The harness passes an NLI
  cross-encoder; tests pass a deterministic fake. The metrics never depend on which.

Stdlib only.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import NamedTuple

from rag.citations import CITE_RE, cited_keys, keys_in, split_sentences, strip_keys
from rag.types import NO_ANSWER

Entails = Callable[[str, str], bool]

# Cited passages are concatenated with this separator before judging (ALCE joins with "\n").
PASSAGE_JOINER = "\n"

__all__ = [
    "PASSAGE_JOINER",
    "AbstentionCase",
    "abstention_accuracy",
    "citation_counts",
    "citation_scores",
    "cited_paper_precision",
    "cited_paper_recall",
    "f1",
    "faithfulness",
    "false_abstention_rate",
    "invalid_citation_rate",
    "is_abstention",
    "mean_ignoring_none",
    "mrr_at_k",
    "must_mention_accuracy",
    "ndcg_at_k",
    "percentile",
    "recall_at_k",
    "unique_in_order",
]


# --------------------------------------------------------------------------------------------
# Retrieval over papers
# --------------------------------------------------------------------------------------------

def unique_in_order(ranked: Iterable[Hashable]) -> list:
    """Paper ids in rank order, each kept at its first occurrence (several chunks of a paper count once)."""
    return list(dict.fromkeys(ranked))


def _top_k_papers(ranked: Iterable[Hashable], k: int) -> list:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return unique_in_order(ranked)[:k]


def recall_at_k(ranked: Sequence[Hashable], gold: Iterable[Hashable], k: int) -> float | None:
    """recall@k = |gold papers in the top-k retrieved papers| / |gold papers|.

    `ranked` is de-duplicated first (first occurrence kept), so k counts papers, not chunks.
    Returns None when `gold` is empty (the metric does not apply). Raises ValueError if k < 1.
    """
    gold = set(gold)
    top = _top_k_papers(ranked, k)
    if not gold:
        return None
    return sum(1 for p in top if p in gold) / len(gold)


def mrr_at_k(ranked: Sequence[Hashable], gold: Iterable[Hashable], k: int) -> float | None:
    """MRR@k (reciprocal rank) = 1 / rank of the first gold paper in the top k papers, else 0.

    Ranks are 1-based over the de-duplicated paper list. The mean over questions is the MRR.
    Returns None when `gold` is empty. Raises ValueError if k < 1.
    """
    gold = set(gold)
    top = _top_k_papers(ranked, k)
    if not gold:
        return None
    for rank, paper in enumerate(top, start=1):
        if paper in gold:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[Hashable], gold: Iterable[Hashable], k: int = 10) -> float | None:
    """nDCG@k with binary gain over papers, BEIR (pytrec_eval `ndcg_cut`) convention.

    DCG = sum over ranks i = 1..k of rel_i / log2(i + 1), rel_i = 1 if the i-th (de-duplicated)
    paper is gold else 0. IDCG = the DCG of min(|gold|, k) gold papers at ranks 1, 2, ...
    nDCG = DCG / IDCG. Returns None when `gold` is empty. Raises ValueError if k < 1.
    """
    gold = set(gold)
    top = _top_k_papers(ranked, k)
    if not gold:
        return None
    dcg = sum(1.0 / math.log2(i + 1) for i, paper in enumerate(top, start=1) if paper in gold)
    idcg = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(gold), k) + 1))
    return dcg / idcg


# --------------------------------------------------------------------------------------------
# Paper-level attribution (cheap, no model)
# --------------------------------------------------------------------------------------------

def cited_paper_precision(cited_ids: Iterable[Hashable], gold: Iterable[Hashable]) -> float | None:
    """cited-paper precision = |cited papers that are gold| / |cited papers|.

    Papers are counted once each (two keys citing chunks of one paper are one cited paper).
    Returns None when nothing is cited (nothing to be precise about; e.g. an abstention).
    With an empty `gold` and some citations the precision is 0.0 (every cited paper is non-gold).
    """
    cited = set(cited_ids)
    if not cited:
        return None
    return len(cited & set(gold)) / len(cited)


def cited_paper_recall(cited_ids: Iterable[Hashable], gold: Iterable[Hashable]) -> float | None:
    """cited-paper recall = |gold papers cited| / |gold papers|.

    Returns None when `gold` is empty (the metric does not apply); 0.0 when gold papers exist
    but nothing is cited.
    """
    gold = set(gold)
    if not gold:
        return None
    return len(gold & set(cited_ids)) / len(gold)


def invalid_citation_rate(n_invalid: int, n_citations_total: int) -> float | None:
    """invalid citation rate = citations whose key was not among the passages given to the model /
    all citation occurrences, the invalid ones included (so the rate is at most 1). Must be 0.

    Returns None when there are no citations at all. Raises ValueError on negative counts or
    `n_invalid > n_citations_total`.
    """
    if n_invalid < 0 or n_citations_total < 0 or n_invalid > n_citations_total:
        raise ValueError(f"need 0 <= n_invalid <= n_citations_total, got {n_invalid}, {n_citations_total}")
    if n_citations_total == 0:
        return None
    return n_invalid / n_citations_total


def citation_counts(raw_text: str, valid_keys: Iterable[int]) -> tuple[int, int]:
    """(n_invalid, n_citations_total) of the raw model text, for `invalid_citation_rate`.

    Every key of every citation marker is one occurrence ("[1, 3-4]" is 3 citations, "[1] ... [1]"
    is 2), parsed with `rag.citations` (`CITE_RE`, `keys_in`); invalid = key not in `valid_keys`.
    Use it on the text *before* `clean_citations` removes the invalid keys.
    """
    valid = set(valid_keys)
    keys = [k for m in CITE_RE.finditer(raw_text) for k in keys_in(m[1])]
    return sum(1 for k in keys if k not in valid), len(keys)


# --------------------------------------------------------------------------------------------
# ALCE citation recall / precision and faithfulness
# --------------------------------------------------------------------------------------------

def is_abstention(answer_text: str) -> bool:
    """True when the answer is the NO_ANSWER sentinel (whitespace and citation keys ignored).

    Whether an abstention also carries citations is a separate question (`abstention_accuracy`
    requires none)."""
    return strip_keys(answer_text or "") == NO_ANSWER


def _cached(entails: Entails) -> Entails:
    """One judge call per distinct (premise, hypothesis) within one answer."""

    @functools.cache
    def judge(premise: str, hypothesis: str) -> bool:
        return bool(entails(premise, hypothesis))

    return judge


def _judged_sentences(answer_text: str) -> list[tuple[str, list[int]]] | None:
    """(stripped sentence, its keys) per sentence, or None when there is nothing to judge
    (an abstention without citations, or an empty answer)."""
    if is_abstention(answer_text) and not cited_keys(answer_text):
        return None
    sentences = [(strip_keys(s), cited_keys(s)) for s in split_sentences(answer_text or "")]
    sentences = [(s, keys) for s, keys in sentences if s or keys]
    return sentences or None


def f1(precision: float | None, recall: float | None) -> float | None:
    """Harmonic mean 2PR / (P + R); 0.0 when both are 0; None when either is None."""
    if precision is None or recall is None:
        return None
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def citation_scores(answer_text: str, passages: dict[int, str], entails: Entails) -> dict:
    """ALCE citation recall, precision and F1 (Gao et al. 2023) of one answer.

    `passages` maps each citation key given to the model to its passage text; `entails(premise,
    hypothesis)` is the judge. The answer is split with `split_sentences`, keys are read per sentence
    with `cited_keys` (so a key repeated within a sentence is one citation), and sentences are judged
    with their keys removed (`strip_keys`). Cited passages are joined with PASSAGE_JOINER in the
    order the keys are cited.

    * citation recall of sentence s: 0 if s has no citation or cites a key not in `passages`; else
      1 if entails(joined cited passages, s), else 0. Answer-level recall = mean over sentences.
    * citation precision of citation c of s: if s has recall 0 (not supported by all its citations,
      or an invalid key), every citation of s scores 0; if s has exactly one citation, its precision
      is the recall of s; if s has several, c is imprecise (0) only when c alone does not entail s
      AND the other citations of s together still do; otherwise precise (1).
      Answer-level precision = precise citations / citations. As in ALCE, an answer with sentences
      but no citations at all gets precision 0.0 (not None): uncited claims are not excused.
    * citation F1 = harmonic mean of answer-level precision and recall (0 when both are 0).

    Returns a dict:
      sentences           the stripped sentences judged
      sentence_recall     list[int], 0/1 per sentence
      citation_precision_per_sentence  list[list[int]], 0/1 per citation of each sentence
      citation_recall, citation_precision, citation_f1   float, or None (see below)
      n_citations, n_precise, n_sentences                 int

    An abstention (the answer is the NO_ANSWER sentinel, with no citations) or an empty answer has
    no sentences to judge: the three scores are None and the lists empty; score abstentions with
    `abstention_accuracy` instead.
    """
    judge = _cached(entails)
    judged = _judged_sentences(answer_text)
    if judged is None:
        return _scores([], [], [])
    recalls, precisions = [], []
    for sentence, keys in judged:  # one sentence at a time: the judge is asked in reading order
        recalls.append(_sentence_recall(sentence, keys, passages, judge))
        precisions.append(_citation_precisions(sentence, keys, recalls[-1], passages, judge))
    return _scores([s for s, _ in judged], recalls, precisions)


def _joined(passages: dict[int, str], keys: Iterable[int]) -> str:
    """The cited passages as one premise, in the order the keys are cited."""
    return PASSAGE_JOINER.join(passages[k] for k in keys)


def _sentence_recall(sentence: str, keys: list[int], passages: dict[int, str], judge: Entails) -> int:
    """1 when the sentence cites only given keys and their passages together entail it, else 0."""
    if not keys or any(k not in passages for k in keys):
        return 0
    return int(judge(_joined(passages, keys), sentence))


def _citation_precisions(sentence: str, keys: list[int], recall: int, passages: dict[int, str],
                         judge: Entails) -> list[int]:
    """0/1 per citation of a sentence (ALCE): all 0 when the sentence is unsupported; one citation
    is precise when the sentence is supported; of several, a citation is imprecise only when it
    alone does not entail the sentence and the others together still do."""
    if not recall:
        return [0] * len(keys)
    if len(keys) == 1:
        return [recall]
    out = []
    for c in keys:
        alone = judge(passages[c], sentence)
        others_suffice = not alone and judge(_joined(passages, (k for k in keys if k != c)), sentence)
        out.append(0 if others_suffice else 1)
    return out


def _scores(sentences: list[str], recalls: list[int], precisions: list[list[int]]) -> dict:
    """The `citation_scores` dict from per-sentence recall and per-citation precision."""
    if not sentences:
        return {"sentences": [], "sentence_recall": [], "citation_precision_per_sentence": [],
                "citation_recall": None, "citation_precision": None, "citation_f1": None,
                "n_citations": 0, "n_precise": 0, "n_sentences": 0}
    n_citations = sum(len(p) for p in precisions)
    n_precise = sum(sum(p) for p in precisions)
    recall_score = sum(recalls) / len(recalls)
    precision_score = n_precise / n_citations if n_citations else 0.0
    return {
        "sentences": sentences, "sentence_recall": recalls, "citation_precision_per_sentence": precisions,
        "citation_recall": recall_score, "citation_precision": precision_score,
        "citation_f1": f1(precision_score, recall_score),
        "n_citations": n_citations, "n_precise": n_precise, "n_sentences": len(sentences),
    }


def faithfulness(answer_text: str, passages: dict[int, str], entails: Entails) -> float | None:
    """Faithfulness (RAGAS, with the answer's sentences as claims) = supported sentences / sentences.

    A sentence (keys stripped) is supported when entails(its cited passages joined, sentence).
    Only the cited keys that are in `passages` form the premise: faithfulness asks whether the
    content is grounded in what the sentence cites; invalid keys are punished by citation recall
    and the invalid citation rate. A sentence with no valid cited passage is unsupported.
    Returns None for an abstention (NO_ANSWER without citations) or an empty answer.
    """
    judge = _cached(entails)
    judged = _judged_sentences(answer_text)
    if judged is None:
        return None
    supported = 0
    for sentence, keys in judged:
        valid = [k for k in keys if k in passages]
        if valid and judge(_joined(passages, valid), sentence):
            supported += 1
    return supported / len(judged)


# --------------------------------------------------------------------------------------------
# Abstention
# --------------------------------------------------------------------------------------------

class AbstentionCase(NamedTuple):
    """One question's outcome for the abstention metrics (plain 3-tuples work as well).

    answerable: the dataset marks the question answerable from the corpus;
    abstained: the answer is the NO_ANSWER sentinel (`Answer.abstained`, or `is_abstention(text)`);
    n_citations: citations the answer carries.
    """

    answerable: bool
    abstained: bool
    n_citations: int = 0


def abstention_accuracy(results: Iterable[tuple[bool, bool, int]]) -> float | None:
    """Share of *unanswerable* questions answered with the sentinel AND no citations.

    `results`: (answerable, abstained, n_citations) per question (see AbstentionCase); answerable
    questions are ignored. Returns None when there is no unanswerable question.
    """
    outcomes = [bool(abstained) and n_citations == 0
                for answerable, abstained, n_citations in map(_case, results) if not answerable]
    return sum(outcomes) / len(outcomes) if outcomes else None


def false_abstention_rate(results: Iterable[tuple[bool, bool, int]]) -> float | None:
    """Share of *answerable* questions answered with the sentinel (citations or not).

    `results`: (answerable, abstained, n_citations) per question; unanswerable questions are
    ignored. Returns None when there is no answerable question.
    """
    outcomes = [bool(abstained) for answerable, abstained, _ in map(_case, results) if answerable]
    return sum(outcomes) / len(outcomes) if outcomes else None


def _case(r) -> AbstentionCase:
    return r if isinstance(r, AbstentionCase) else AbstentionCase(*r)


# --------------------------------------------------------------------------------------------
# Answer content
# --------------------------------------------------------------------------------------------

def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def must_mention_accuracy(answer_text: str, phrases: Iterable[str]) -> float | None:
    """Share of required key phrases present in the answer: case-insensitive substring match,
    whitespace runs treated as one space. Blank phrases are ignored; returns None when no phrase
    is left (nothing is required)."""
    wanted = [_norm(p) for p in phrases if p and p.strip()]
    if not wanted:
        return None
    text = _norm(answer_text or "")
    return sum(1 for p in wanted if p in text) / len(wanted)


def answer_bearing(context_text: str, phrases: Iterable[str]) -> bool | None:
    """True when every required key phrase is in the text the answer's writer was given (its
    sources as formatted for it), matched as in `must_mention_accuracy`: the answer reached the
    prompt. None when nothing is required."""
    share = must_mention_accuracy(context_text, phrases)
    return None if share is None else share == 1.0


# --------------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------------

def mean_ignoring_none(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None (metrics that did not apply are skipped, not zeroed).
    Returns None when no value is left."""
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0 <= q <= 100) with linear interpolation between closest ranks
    (numpy's default): position (n - 1) * q / 100 in the sorted values. p50 = median.
    None values are skipped; returns None when no value is left. Raises ValueError for q outside [0, 100].
    """
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100], got {q}")
    xs = sorted(float(v) for v in values if v is not None)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
