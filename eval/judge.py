"""Offline judges for the ALCE citation metrics: `entails(premise, hypothesis) -> bool`.

No NLI cross-encoder ships on PyPI with its weights (see ../shared/docs/offline.md), so two
offline judges are offered, and every report names the one used:

* `similarity` (default): the answer chain's own support scorer (`rag.support.check_claims`):
  all-MiniLM-L6-v2 cosine between the claim and each sentence of the premise (and the premise as a
  whole) at or above `threshold`, and no number or capitalised name in the claim that the premise
  lacks (`rag.support.novel_terms`). The premise is the cited sources exactly as the model read
  them, so it can fail a sentence the chain passed where the chain knew more than the model was
  shown (authors past the byline's cap, the month, the arXiv categories). Fast and deterministic,
  but not entailment.
* `llm`: the configured chat model (local by default) asked whether the premise supports the
  claim (`prompts/judge.txt`), answer yes/no. Independent of the similarity check, slower (one
  model call per judgement), and only as good as the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from rag.support import check_claims, text_evidence


class SimilarityJudge:
    def __init__(self, embed: Callable[[list[str]], np.ndarray], threshold: float,
                 model_id: str = "all-MiniLM-L6-v2") -> None:
        self.embed = embed
        self.threshold = threshold
        self.description = (f"similarity: {model_id} cosine >= {threshold:g} between the sentence and a cited "
                            "sentence, and no number or name missing from the cited text (the chain's own "
                            "support test; not an NLI model)")

    def __call__(self, premise: str, hypothesis: str) -> bool:
        evidence = {1: text_evidence(premise)}
        return check_claims([(hypothesis, [1])], evidence, self.embed, threshold=self.threshold)[0].supported


class LLMJudge:
    def __init__(self, chat_model) -> None:
        self.chat_model = chat_model
        self.description = f"llm: {chat_model.name} asked whether the cited text supports the sentence (yes/no)"

    def __call__(self, premise: str, hypothesis: str) -> bool:
        from rag.prompts import render

        prompt = render("judge", premise=" ".join(premise.split()), claim=hypothesis)
        text = self.chat_model.complete([{"role": "user", "content": prompt}], max_tokens=3, temperature=0.0).text
        return bool(re.match(r"\W*yes\b", text.strip(), re.I))


def make_judge(kind: str, *, embed, threshold: float, chat_model=None):
    from rag.errors import ConfigError

    if kind == "similarity":
        return SimilarityJudge(embed, threshold)
    if kind == "llm":
        if chat_model is None:
            raise ConfigError("--judge llm needs a model; use --backend local or openai, or --judge similarity")
        return LLMJudge(chat_model)
    raise ConfigError(f"unknown judge {kind!r}; use similarity or llm")
