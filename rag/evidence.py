"""How strongly do the retrieved passages bear on the question? One number, for abstention.

    evidence = best passage cosine + 0.5 * lexical coverage

Lexical coverage is the IDF-weighted share of the question's distinctive words (generic words such
as "paper" or "propose" left out) found in one of the top three papers (`BM25Index.coverage`); a
word the collection has never seen weighs the most, so a question about something absent scores low. Dense similarity alone
misses short name questions ("Which paper proposes Griffin?" has cosine 0.18 with its paper) and
lexical overlap alone misses paraphrases; together they separate answerable from unanswerable
seed questions (see BENCHMARKS.md). Questions narrowed by an author or year detected in the
question are judged by the filter: the papers it matched are the evidence.
This module only scores; the answer chain decides.
"""

from __future__ import annotations

from functools import lru_cache

from rag.bm25 import tokenize
from rag.types import Passage

COVERAGE_WEIGHT = 0.5
GENERIC_WORDS = ("paper papers propose proposes proposed study studies studied work works model models method methods "
                 "approach result results show shows use uses using new present presents introduce introduces learn "
                 "learning based research publish published author authors")


@lru_cache(maxsize=1)
def _generic() -> frozenset[str]:
    return frozenset(tokenize(GENERIC_WORDS))


def distinctive_words(question: str) -> str:
    """The question without generic words ("Which paper proposes Griffin?" -> "Which Griffin?")."""
    return " ".join(w for w in question.split() if not (set(tokenize(w)) and set(tokenize(w)) <= _generic()))


def lexical_coverage(question: str, passages: list[Passage], bm25, *, top: int = 3) -> float:
    """Best IDF-weighted share of the question's distinctive words found in one of the top papers (0..1)."""
    words = distinctive_words(question)
    return max((bm25.coverage(words, p.paper_id) for p in passages[:top]), default=0.0)


def evidence_score(question: str, passages: list[Passage], bm25) -> float:
    best = max((p.score for p in passages), default=0.0)
    return best + COVERAGE_WEIGHT * lexical_coverage(question, passages, bm25)
