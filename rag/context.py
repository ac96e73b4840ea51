"""What the model reads: each source cut to its sentences that bear on the question, within a budget.

    shown = compact_passages(question, passages, embed, budget=400)   # {key: Passage with shorter text}

A small local model reads about 80 prompt tokens a second on two cores, so every source token costs
time before the first answer token. The budget (tiktoken cl100k tokens, all sources together) is
shared equally by the sources; a source over its share keeps its sentences most similar to the
question (MiniLM cosine plus a little word overlap), in their original order, with " ... " where
text was left out. When the share would fall under `MIN_SHARE` tokens, the lowest-ranked sources
are dropped instead: they are then not given to the model at all, so it cannot cite them.
The sentence vectors land in the embedding cache, where the support check finds them again.
`sentence_scores` is that sentence ranking on its own (`rag search` picks each paper's best
sentence with it). This module only selects text; `rag.answer` formats and checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache

import numpy as np

from rag.citations import split_sentences
from rag.extractive import content_words
from rag.types import Passage

MIN_SHARE = 60
# sentences stating the paper's own contribution carry the answer to most "which paper" questions
_CONTRIBUTION = re.compile(r"\b(we|this paper|this work|our|here)\b[^.]{0,40}\b(propose|introduce|present|develop|show|find|"
                           r"demonstrate|study|investigate|describe)", re.I)


@lru_cache(maxsize=1)
def _encoder():
    from rag.chunking import tiktoken_encoder

    return tiktoken_encoder()


def count_tokens(text: str) -> int:
    return len(_encoder().encode(text, disallowed_special=()))


def _cut(text: str, budget: int) -> str:
    tokens = _encoder().encode(text, disallowed_special=())
    if len(tokens) <= budget:
        return text
    cut = _encoder().decode(tokens[:budget])
    return cut.rsplit(" ", 1)[0] + " ..."


def sentence_scores(question: str, sentences: list[str], vectors: dict[str, np.ndarray]) -> list[float]:
    """How much each sentence bears on the question: MiniLM cosine, plus 0.05 for each content word
    they share (at most 4) and 0.1 for a sentence stating the paper's own contribution. `vectors`
    holds the (normalised) embedding of the question and of every sentence."""
    q_vec, q_words = vectors[question], content_words(question)
    return [float(q_vec @ vectors[s]) + 0.05 * min(4, len(content_words(s) & q_words))
            + 0.1 * bool(_CONTRIBUTION.search(s)) for s in sentences]


def compact_passages(question: str, passages: dict[int, Passage], embed: Callable[[list[str]], np.ndarray],
                     *, budget: int) -> dict[int, Passage]:
    """The passages the model is given, each within its share of `budget`; 0 = no limit."""
    if budget <= 0 or not passages:
        return dict(passages)
    keys = sorted(passages)
    keep = max(1, min(len(keys), budget // MIN_SHARE))
    keys = keys[:keep]
    share = budget // len(keys)
    sizes = {k: count_tokens(passages[k].text) for k in keys}
    long = [k for k in keys if sizes[k] > share]
    if not long:
        return {k: passages[k] for k in keys}
    # give what short sources leave unused to the long ones
    spare = sum(share - sizes[k] for k in keys if k not in long)
    share_long = share + spare // len(long)
    sentences = {k: split_sentences(passages[k].text) for k in long}
    texts = list(dict.fromkeys([question] + [s for k in long for s in sentences[k]]))
    vectors = dict(zip(texts, embed(texts)))
    out = {}
    for k in keys:
        if k not in long:
            out[k] = passages[k]
            continue
        units = sentences[k]
        score = sentence_scores(question, units, vectors)
        chosen, used = set(), 0
        for i in sorted(range(len(units)), key=lambda i: -score[i]):
            cost = count_tokens(units[i])
            if used + cost <= share_long:
                chosen.add(i)
                used += cost
        if not chosen:  # even the best sentence is over the share: cut it
            best = max(range(len(units)), key=lambda i: score[i])
            out[k] = replace(passages[k], text=_cut(units[best], share_long))
            continue
        parts, last = [], -1
        for i in sorted(chosen):
            if parts and i != last + 1:
                parts.append("...")
            parts.append(units[i])
            last = i
        text = " ".join(parts)
        if 0 not in chosen:
            text = "... " + text
        if last != len(units) - 1:
            text += " ..."
        out[k] = replace(passages[k], text=text)
    return out
