"""Is each answer sentence supported by the passages it cites? An offline similarity check.

For every sentence, the citation keys are stripped and the sentence is embedded with the same
MiniLM model as retrieval; it is compared with each sentence of each cited passage (and with the
passage as a whole). The best cosine similarity is its support score; at or above the threshold it
counts as supported. A sentence that cites nothing is unsupported. Similarity alone passes a sentence
that names the right paper but adds a specific the paper never gives ("... uses Adam with a learning
rate of 0.0001 [1]"), so a sentence is also unsupported when it has a number or a capitalised name
found nowhere in what it cites (passage, title, authors, venue, year): `novel_terms`. This is a
similarity check, not entailment: it catches invented and off-topic claims, not subtle contradictions. This module does not change the answer; the chain decides what to do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.citations import cited_keys, split_sentences, strip_keys
from rag.types import Passage


@dataclass(slots=True)
class SentenceCheck:
    sentence: str
    keys: list[int]
    score: float = 0.0
    supported: bool = False
    best_key: int | None = None
    supported_by: list[int] = field(default_factory=list)
    novel: list[str] = field(default_factory=list)  # numbers and names absent from every cited source


def check_support(
    sentences: Sequence[str], passages: dict[int, Passage], embed: Callable[[list[str]], np.ndarray],
    *, threshold: float,
) -> list[SentenceCheck]:
    """One `SentenceCheck` per sentence, in order. `passages` maps valid keys to what was given."""
    checks = [SentenceCheck(s, [k for k in cited_keys(s) if k in passages]) for s in sentences]
    cited = sorted({k for c in checks for k in c.keys})
    units: dict[int, list[str]] = {k: split_sentences(passages[k].text) + [passages[k].text] for k in cited}
    texts = list(dict.fromkeys([strip_keys(c.sentence) for c in checks] + [u for k in cited for u in units[k]]))
    if not texts:
        return checks
    vectors = dict(zip(texts, embed(texts)))
    for check in checks:
        claim = vectors[strip_keys(check.sentence)]
        for key in check.keys:
            score = max(float(claim @ vectors[u]) for u in units[key])
            if score >= threshold:
                check.supported_by.append(key)
            if score > check.score or check.best_key is None:
                check.score, check.best_key = score, key
        if check.keys:
            check.novel = novel_terms(check.sentence, [_known_text(passages[k]) for k in check.keys])
        check.supported = bool(check.supported_by) and not check.novel
    return checks


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")
_NAME = re.compile(r"\b[A-Z][A-Za-z0-9-]{2,}\b")


def _known_text(p: Passage) -> str:
    return " ".join([p.text, p.title or "", " ".join(p.authors), p.venue or "", str(p.year or "")]).lower()


def novel_terms(sentence: str, sources: Sequence[str]) -> list[str]:
    """Numbers, and capitalised words past the first, in `sentence` that none of `sources` (lowercased
    texts) contains; a plural "s" is ignored."""
    claim = strip_keys(sentence)
    first = re.match(r"\W*\w+", claim)
    body = claim[first.end():] if first else claim
    known = " ".join(sources)
    terms = _NUMBER.findall(claim) + _NAME.findall(body)
    missing = []
    for term in dict.fromkeys(terms):
        t = term.lower()
        if t not in known and t.rstrip("s") not in known:
            missing.append(term)
    return missing
