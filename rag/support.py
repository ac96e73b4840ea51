"""Is each answer sentence supported by the passages it cites? An offline similarity check.

For every sentence, the citation keys are stripped and the sentence is embedded with the same
MiniLM model as retrieval; it is compared with each sentence of each cited passage (and with the
passage as a whole). The best cosine similarity is its support score; at or above the threshold it
counts as supported. A sentence that cites nothing is unsupported. This is a similarity check, not
entailment: it catches invented and off-topic claims, not subtle contradictions (the eval harness
uses an NLI judge for that). This module does not change the answer; the chain decides what to do.
"""

from __future__ import annotations

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
        check.supported = bool(check.supported_by)
    return checks
