"""The BM25 paper index: tokens, build/load/search, filtering by allowed ids, staleness, atomic swap."""

from __future__ import annotations

import json

from rag import bm25
from rag.bm25 import BM25Index, bm25_digest, build_bm25, ensure_bm25, index_dir, stored_digest, tokenize
from rag.records import Record
from rag.settings import load_settings
from rag.state import State

PAPERS = [
    Record(title="Griffin: gated linear recurrences with local attention", authors=["Soham De"],
           abstract="We propose Hawk and Griffin, recurrent language models."),
    Record(title="Top-KAST: always sparse training", authors=["Siddhant M. Jayakumar"],
           abstract="Sparse networks trained sparsely in the forward and backward pass."),
    Record(title="Powerpropagation", authors=["Siddhant M. Jayakumar"], venue="NeurIPS",
           abstract="A weight reparameterisation that induces sparsity; training becomes sparse."),
    Record(title="Waymax", abstract="A simulator for autonomous driving on accelerators."),
]


def test_tokenize_folds_stems_and_drops_stopwords(monkeypatch):
    assert tokenize("What are the Naïve Networks of Co-Reyes?") == ["naiv", "network", "co", "rey"]
    assert tokenize("the a of") == [] and tokenize("") == []
    assert tokenize("Networks trained", stem=False) == ["networks", "trained"]
    monkeypatch.setattr(bm25, "_WORDS", {True: {}, False: {}})
    monkeypatch.setattr(bm25, "_WORDS_MAX", 0)  # a full word table still tokenizes, without growing
    assert tokenize("unseen words here, unseen") == ["unseen", "word", "unseen"] and bm25._WORDS[True] == {}


def test_build_load_search_roundtrip():
    settings = load_settings()
    build_bm25(settings, PAPERS, digest="d1")
    index = BM25Index.load(settings)
    assert index.digest == "d1" and index.ids == [p.id for p in PAPERS]
    assert index.search("griffin recurrences", 3)[0][0] == PAPERS[0].id
    assert {p for p, _ in index.search("sparse", 10)} == {PAPERS[1].id, PAPERS[2].id}
    assert index.search("nothing matches xyzzy", 5) == [] and index.search("", 5) == []
    assert [p for p, _ in index.search("jayakumar neurips", 5)][0] == PAPERS[2].id  # authors, venue indexed


def test_allowed_restricts_even_to_a_low_ranked_paper():
    index = BM25Index.build(PAPERS)
    assert [p for p, _ in index.search("sparse training", 1, allowed={PAPERS[2].id})] == [PAPERS[2].id]
    assert index.search("sparse training", 5, allowed={PAPERS[3].id}) == []  # allowed but no match
    assert index.search("sparse", 5, allowed=set()) == []
    assert index.search("sparse", 5, allowed={"unknown-id"}) == []


def test_digest_is_order_free_and_tracks_hashes():
    assert bm25_digest([("a", "1"), ("b", "2")]) == bm25_digest([("b", "2"), ("a", "1")])
    assert bm25_digest([("a", "1"), ("b", "2")]) != bm25_digest([("a", "1"), ("b", "3")])
    assert bm25_digest([]) != bm25_digest([("a", "1")])


def test_ensure_rebuilds_only_when_out_of_step():
    settings = load_settings()
    state = State(settings.state_path)
    state.put_papers([(p.id, "h", json.dumps(p.to_dict())) for p in PAPERS])
    assert ensure_bm25(settings, state) is True and len(BM25Index.load(settings)) == 4
    assert ensure_bm25(settings, state) is False
    state.put_papers([(PAPERS[0].id, "changed", json.dumps(PAPERS[0].to_dict()))])
    assert ensure_bm25(settings, state) is True and ensure_bm25(settings, state) is False
    state.delete_papers([PAPERS[3].id])
    assert ensure_bm25(settings, state) is True and PAPERS[3].id not in BM25Index.load(settings).ids


def test_rebuild_swaps_atomically_and_leaves_no_temp_folders():
    settings = load_settings()
    build_bm25(settings, PAPERS, digest="one")
    build_bm25(settings, PAPERS[:2], digest="two")
    assert BM25Index.load(settings).digest == "two" and len(BM25Index.load(settings)) == 2
    assert sorted(p.name for p in index_dir(settings).parent.iterdir()) == [".build.lock", index_dir(settings).name]
    build_bm25(settings, [], digest="empty")
    assert BM25Index.load(settings).search("sparse", 5) == []


def test_missing_or_corrupt_index_loads_as_none():
    settings = load_settings()
    assert BM25Index.load(settings) is None
    build_bm25(settings, PAPERS, digest="x")
    (index_dir(settings) / "papers.json").write_text("{not json")
    assert BM25Index.load(settings) is None and stored_digest(settings) is None


def test_coverage_weighs_rare_terms():
    index = BM25Index.build(PAPERS)
    assert index.coverage("Griffin recurrences", PAPERS[0].id) == 1.0
    assert index.coverage("Griffin recurrences", PAPERS[3].id) == 0.0
    assert 0 < index.coverage("sparse zebra", PAPERS[1].id) < 0.5  # an unknown word weighs more than "sparse"
    assert index.coverage("the of", PAPERS[0].id) == 0.0 and index.coverage("sparse", "unknown-id") == 0.0
