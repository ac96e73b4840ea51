"""The shipped evaluation set (eval/datasets/seeds.jsonl) is well formed and matches the sample corpus:
every gold title is a paper of the sample, every paper is some question's gold, every type is there."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from rag.dedupe import merge_records
from rag.ingest import SAMPLE_DIR
from rag.parsers import parse_paths

SEEDS = Path(__file__).resolve().parents[1] / "eval" / "datasets" / "seeds.jsonl"
TYPES = {"single", "multi", "metadata", "unanswerable"}


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    return [json.loads(line) for line in SEEDS.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def papers():
    records = [r for _, result in parse_paths([SAMPLE_DIR]) for r in result.records]
    return merge_records(records)[0]


def test_every_question_is_well_formed(questions):
    ids = [q["id"] for q in questions]
    assert len(ids) == len(set(ids)) and len({q["question"] for q in questions}) == len(questions)
    for q in questions:
        assert q["question"].strip() and q["type"] in TYPES, q["id"]
        assert isinstance(q["gold"], list) and all(isinstance(g, str) and g for g in q["gold"]), q["id"]
        assert (q["type"] == "unanswerable") == (not q["gold"]), q["id"]
        if q["type"] == "multi":
            assert len(q["gold"]) >= 2, q["id"]
        assert isinstance(q.get("must_mention", []), list), q["id"]


def test_counts_meet_the_issue(questions):
    counts = Counter(q["type"] for q in questions)
    assert len(questions) >= 60 and counts["unanswerable"] >= 10
    assert all(counts[t] > 0 for t in TYPES), counts


def test_gold_titles_resolve_to_sample_papers_and_cover_them_all(questions, papers):
    by_title = {p.title: p.id for p in papers if p.title}
    ids = {p.id for p in papers}
    covered = set()
    for q in questions:
        for gold in q["gold"]:
            pid = by_title.get(gold, gold if gold in ids else None)
            assert pid is not None, f"{q['id']}: gold {gold!r} is not a paper of the sample corpus"
            covered.add(pid)
    assert covered == ids, f"papers no question asks about: {sorted(ids - covered)}"
