"""The extractive backend: an answer built from the best evidence sentences, each cited. No LLM.

Sentences of the retrieved passages are scored by how many of the question's rarer content words
they contain (an IDF weight over the given passages), plus the passage's retrieval similarity.
The best few, at most two per paper, are returned verbatim with their keys. Deterministic and
instant; used when no model is available and in fast tests. It never paraphrases, so every
sentence it returns is supported by construction. It does not decide whether to abstain.
"""

from __future__ import annotations

import math
import re

from rag.citations import split_sentences
from rag.types import Passage

STOPWORDS = frozenset("""a about above after again all also am an and any are as at be because been before being
between both but by can could did do does doing done during each few for from had has have having he her here
his how i if in into is it its itself just me more most my no nor not of on once only or other our out over own
paper papers propose proposes proposed publish published same she should so some such than that the their them
then there these they this those through to too under until up very was we were what when where which while who
whom why will with work works would you your""".split())
WORD_RE = re.compile(r"[a-z0-9][a-z0-9\-]*")


def content_words(text: str) -> set[str]:
    return {w for w in WORD_RE.findall(text.lower()) if w not in STOPWORDS and len(w) > 2}


def extractive_answer(question: str, passages: dict[int, Passage], *, max_sentences: int = 3) -> str:
    """Up to `max_sentences` cited evidence sentences, best first; '' when there is no passage."""
    if not passages:
        return ""
    q_words = content_words(question)
    units = [(key, i, s) for key, p in passages.items() for i, s in enumerate(split_sentences(p.text))]
    df: dict[str, int] = {}
    for _, _, s in units:
        for w in content_words(s):
            df[w] = df.get(w, 0) + 1
    n = len(units) or 1

    def score(key: int, index: int, sentence: str) -> float:
        overlap = sum(math.log(1 + n / df[w]) for w in content_words(sentence) & q_words)
        return overlap + 2.0 * passages[key].score - 0.05 * index

    ranked = sorted(units, key=lambda u: score(*u), reverse=True)
    chosen, per_paper = [], {}
    for key, index, sentence in ranked:
        pid = passages[key].paper_id
        if per_paper.get(pid, 0) >= 2:
            continue
        chosen.append((key, index, sentence))
        per_paper[pid] = per_paper.get(pid, 0) + 1
        if len(chosen) == max_sentences:
            break
    return " ".join(cite(sentence, key) for key, _, sentence in chosen)


def cite(sentence: str, key: int) -> str:
    """'A claim.' -> 'A claim [1].'"""
    sentence = sentence.rstrip()
    if sentence[-1:] in ".!?":
        return f"{sentence[:-1]} [{key}]{sentence[-1]}"
    return f"{sentence} [{key}]."
