"""Hand-made support cases, both directions: right answers that must pass, invented specifics that must not.

Each line of fixtures/support_cases.jsonl is one cited passage (a realistic abstract with its title,
byline, venue and year) and one answer sentence citing it as [1], with "expect": "pass" (a faithful
paraphrase: abbreviations written out or contracted, numbers in words, hyphenation, inflection,
spelling, title terms) or "flag" (exactly one number, name, organisation, dataset or unit that no
source gives, listed under "novel"). Checked with the real MiniLM embedder at the shipped threshold.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.embeddings import get_embedder
from rag.settings import Settings
from rag.support import _known_text, check_support, novel_terms
from rag.types import Passage

CASES = [json.loads(line) for line in (Path(__file__).parent / "fixtures" / "support_cases.jsonl").open()]
THRESHOLD = Settings.model_fields["support_threshold"].default
# Right answers that similarity alone rejects (MiniLM scores them under the threshold), measured and kept
# visible rather than hidden by a lower threshold: a sentence about the venue or the byline is far, in
# embedding space, from every sentence of the abstract. Lexically they are clean (test_novel_terms).
COSINE_MISSES = {
    "The paper was presented at the International Conference on Learning Representations in 2020 [1].",
    "Tomas Ortega and Maria Jensen repeat the previous action with probability 0.25 [1].",
}


def as_passage(d: dict) -> Passage:
    return Passage(paper_id="case", chunk_id="case#0", text=d["text"], title=d["title"], authors=d["authors"],
                   year=d["year"], venue=d["venue"], score=0.6)


def label(case: dict) -> str:
    return f"{case['expect']}: {case['sentence'][:60]}"


@pytest.fixture(scope="module")
def embed():
    """The real embedder, each distinct text embedded once (many cases share a passage)."""
    model, seen = get_embedder(), {}

    def cached(texts: list[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in seen]
        if new:
            seen.update(zip(new, model.embed(new)))
        return np.stack([seen[t] for t in texts])

    return cached


def test_the_fixtures_cover_both_directions():
    expects = [c["expect"] for c in CASES]
    assert expects.count("pass") >= 20 and expects.count("flag") >= 20
    assert all(len(c["novel"]) >= 1 for c in CASES if c["expect"] == "flag")


@pytest.mark.parametrize("case", CASES, ids=label)
def test_novel_terms(case):
    """The lexical half on its own: a right answer has no novel term, an invented one has exactly its own."""
    found = novel_terms(case["sentence"], [_known_text(as_passage(case["passage"]))])
    assert found == (case["novel"] if case["expect"] == "flag" else []), case["why"]


def _marked(case: dict):
    if case["sentence"] in COSINE_MISSES:
        return pytest.param(case, marks=pytest.mark.xfail(strict=True, reason="MiniLM cosine under the threshold"))
    return case


@pytest.mark.parametrize("case", [_marked(c) for c in CASES], ids=label)
def test_check_support(case, embed):
    check = check_support([case["sentence"]], {1: as_passage(case["passage"])}, embed, threshold=THRESHOLD)[0]
    if case["expect"] == "flag":
        assert not check.supported and check.novel == case["novel"], case["why"]
    else:
        assert check.novel == [], (case["why"], check.novel)
        assert check.supported, (case["why"], check.score)


def test_the_cosine_misses_are_still_cases():
    assert COSINE_MISSES <= {c["sentence"] for c in CASES if c["expect"] == "pass"}


@pytest.mark.parametrize("date, cats, sentence, novel", [
    ("2025-06-12", [], "Curriculum layer scaling was listed in June 2025 [1].", []),
    ("2025-05-02", [], "Curriculum layer scaling was listed in June 2025 [1].", ["June"]),
    ("2025-06-12", ["cs.GT"], "It is a Game Theory paper [1].", []),
    ("2025-06-12", ["cs.GT"], "It is a Robotics paper [1].", ["Robotics"]),
])
def test_the_date_and_the_categories_are_evidence_too(date, cats, sentence, novel):
    p = Passage(paper_id="p", chunk_id="p#0", text="We scale layers with a curriculum.", title="Curriculum Layers",
                authors=["Ann Lee"], year=2025, venue=None, score=0.6, date=date, categories=cats)
    assert novel_terms(sentence, [_known_text(p)]) == novel
