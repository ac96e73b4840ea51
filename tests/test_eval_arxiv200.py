"""The held-out arXiv set (eval/datasets/arxiv200.jsonl) is well formed and matches its records file:
every gold title is a parsed paper of arxiv200-records.jsonl, every type is allowed, unanswerable
questions have no gold, and every must_mention phrase is in a gold paper's text. Parsing only."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest

from rag.dedupe import merge_records
from rag.parsers import parse_paths

DATASETS = Path(__file__).resolve().parents[1] / "eval" / "datasets"
QUESTIONS = DATASETS / "arxiv200.jsonl"
RECORDS = DATASETS / "arxiv200-records.jsonl"
TYPES = {"single", "paraphrase", "multi", "metadata", "unanswerable"}


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def papers():
    results = list(parse_paths([RECORDS]))
    assert all(not result.errors for _, result in results)
    records = [r for _, result in results for r in result.records]
    return merge_records(records)[0]


def test_records_parse_into_200_distinct_papers(papers):
    assert len(papers) == 200
    titles = [p.title for p in papers]
    assert all(titles) and len(set(titles)) == 200
    assert all(p.abstract for p in papers)


def test_every_question_is_well_formed(questions):
    ids = [q["id"] for q in questions]
    assert ids == [f"a{i:03d}" for i in range(1, len(ids) + 1)]
    assert len({q["question"] for q in questions}) == len(questions)
    for q in questions:
        assert q["question"].strip() and q["type"] in TYPES, q["id"]
        assert isinstance(q["gold"], list) and all(isinstance(g, str) and g for g in q["gold"]), q["id"]
        assert (q["type"] == "unanswerable") == (not q["gold"]), q["id"]
        if q["type"] == "multi":
            assert len(q["gold"]) >= 2, q["id"]
        assert isinstance(q.get("must_mention", []), list) and len(q.get("must_mention", [])) <= 3, q["id"]


def test_counts(questions):
    counts = Counter(q["type"] for q in questions)
    assert len(questions) >= 55 and counts["unanswerable"] >= 10
    assert all(counts[t] > 0 for t in TYPES), counts


def test_gold_titles_resolve_and_must_mention_comes_from_gold(questions, papers):
    by_title = {p.title: p for p in papers}
    for q in questions:
        gold = []
        for title in q["gold"]:
            assert title in by_title, f"{q['id']}: gold {title!r} is not a parsed title of {RECORDS.name}"
            gold.append(by_title[title])
        for phrase in q.get("must_mention", []):
            texts = [p.abstract or "" for p in gold]
            if q["type"] == "metadata":
                texts += [f"{p.title} {p.date or ''} {' '.join(p.categories)}" for p in gold]
            assert any(_norm(phrase) in _norm(t) for t in texts), f"{q['id']}: {phrase!r} is in no gold paper"


def test_the_selection_rule_reproduces_the_records_file(arxiv_path, tmp_path):
    spec = importlib.util.spec_from_file_location("make_arxiv200", DATASETS / "make_arxiv200.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "records.jsonl"
    module.main(arxiv_path, out)
    assert out.read_bytes() == RECORDS.read_bytes()
