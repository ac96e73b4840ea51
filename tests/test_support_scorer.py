"""The one support scorer (`rag.support.check_claims`): the backing sentence it keeps, the evidence
of a source given as text, quotes, and the eval's similarity judge agreeing with the chain's check
whenever both read the same text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from rag.eval.judge import SimilarityJudge
from rag.support import check_claims, check_quotes, check_support, passage_evidence, text_evidence
from rag.types import Passage

CASES = [json.loads(line) for line in (Path(__file__).parent / "fixtures" / "support_cases.jsonl").open()]
VOCAB = ["griffin", "recurrences", "attention", "fast", "robots", "slow", "tokens"]


def bag_of_words(texts: list[str]) -> np.ndarray:
    """A predictable embedder: unit vectors of which VOCAB words a text holds."""
    rows = np.array([[float(w in re.findall(r"[a-z]+", t.lower())) for w in VOCAB] + [0.01] for t in texts])
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def same(texts: list[str]) -> np.ndarray:
    """Every text the same vector: cosine 1, so only the specifics decide."""
    return np.ones((len(texts), 2)) / np.sqrt(2)


def bare(text: str, **kw) -> Passage:
    return Passage(paper_id="p", chunk_id="p#0", text=text, title=kw.get("title"), authors=kw.get("authors", []),
                   year=kw.get("year"), venue=None, score=1.0)


GRIFFIN = bare("Griffin mixes recurrences with attention. It is fast. Robots are slow.")


def test_the_backing_is_the_closest_sentence_of_each_cited_source():
    check = check_support(["The model uses recurrences and attention [1]."], {1: GRIFFIN}, bag_of_words,
                          threshold=0.5)[0]
    assert check.supported and check.backing == {1: "Griffin mixes recurrences with attention."}
    slow = check_support(["Robots are slow [1]."], {1: GRIFFIN}, bag_of_words, threshold=0.5)[0]
    assert slow.backing == {1: "Robots are slow."}


def test_a_key_that_does_not_support_still_names_its_closest_sentence():
    other = bare("Tokens are counted. Nothing else.")
    check = check_support(["Griffin is fast [1][2]."], {1: GRIFFIN, 2: other}, bag_of_words, threshold=0.6)[0]
    assert check.supported_by == [1] and check.backing[1] == "It is fast." and 2 in check.backing


def test_check_claims_takes_the_keys_beside_the_sentence():
    evidence = {7: passage_evidence(GRIFFIN)}
    checks = check_claims([("Griffin is fast.", [7]), ("Griffin is fast.", [8]), ("Robots are slow.", [7, 7])],
                          evidence, bag_of_words, threshold=0.5)
    assert [c.keys for c in checks] == [[7], [], [7]]
    assert [c.supported for c in checks] == [True, False, True]


def test_text_evidence_reads_lines_and_drops_key_labels():
    ev = text_evidence("[3] Griffin (Soham De, 2024)\nGriffin mixes recurrences. It is fast.")
    assert ev.sentences == ("Griffin (Soham De, 2024)", "Griffin mixes recurrences.", "It is fast.")
    assert "[3]" not in ev.known and "Soham De" in ev.known


def test_a_number_only_in_the_key_label_is_not_evidence():
    judge = SimilarityJudge(same, threshold=0.5)
    premise = "[3] Griffin (Soham De, 2024)\nGriffin mixes recurrences with attention."
    assert not judge(premise, "Griffin has 3 layers.")
    assert judge(premise + " It has 3 layers.", "Griffin has 3 layers.")
    assert judge(premise, "Soham De proposed Griffin in 2024.")  # the byline the model read is evidence


def test_quotes_are_backed_by_the_sentence_they_quote():
    checks = check_quotes(["It is fast [1].", "Is it fast [1]?", "Griffin, robots [1][2]."], {1: GRIFFIN, 2: bare("x")})
    assert [c.backing for c in checks] == [{1: "It is fast."}, {}, {}]
    assert all(c.supported for c in checks) and checks[2].keys == [1, 2]
    asked = check_quotes(["Can robots be fast [4]?"], {4: bare("Can robots be fast? We ask.")})[0]
    assert asked.backing == {4: "Can robots be fast?"}


@pytest.fixture(scope="module")
def embed():
    from rag.embeddings import get_embedder

    model, seen = get_embedder(), {}

    def cached(texts: list[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in seen]
        if new:
            seen.update(zip(new, model.embed(new)))
        return np.stack([seen[t] for t in texts])

    return cached


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['expect']}: {c['sentence'][:50]}")
def test_the_judge_and_the_chain_agree_on_the_same_text(case, embed):
    """What used to be claimed "by construction": given the same text (a passage with no title or
    byline, so the chain knows nothing the judge's premise lacks), both give the same verdict."""
    from rag.citations import strip_keys
    from rag.settings import Settings

    threshold = Settings.model_fields["support_threshold"].default
    chain = check_support([case["sentence"]], {1: bare(case["passage"]["text"])}, embed, threshold=threshold)[0]
    judge = SimilarityJudge(embed, threshold=threshold)
    assert judge(case["passage"]["text"], strip_keys(case["sentence"])) == chain.supported
