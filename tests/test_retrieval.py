"""Retrieval over the ingested sample corpus: modes, filters, auto filters, passages, BM25 upkeep, threads."""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

import rag.retrieval as retrieval
from rag.bm25 import BM25Index, index_dir
from rag.ingest import ingest
from rag.retrieval import Retriever, detect_filters
from rag.settings import Settings, load_settings
from rag.types import Filters

GRIFFIN = "Griffin: Mixing Gated Linear Recurrences with Local Attention for Efficient Language Models"
COREYES = "John D. Co-Reyes"
COREYES_2021 = {"Evolving Reinforcement Learning Algorithms",
                "Differentiable Architecture Search for Reinforcement Learning"}
AUTHORS = ["John D. Co-Reyes", "Razvan Pascanu", "Siddhant M. Jayakumar", "Alexander Levine", "Sergey Levine",
           "José Núñez", "Lechao Xiao"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory, sample_store) -> Settings:
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("RAG_")]:
            mp.delenv(key)
        settings = Settings(data_dir=sample_store(tmp_path_factory.mktemp("sample-store")))
    return settings


@pytest.fixture(scope="module")
def retriever(sample) -> Retriever:
    return Retriever(sample)


def titles(result) -> list[str]:
    return [p.title for p in result.passages]


@pytest.mark.parametrize("question, title", [
    ("Which paper proposes Griffin?", GRIFFIN),
    ("simulator for self-driving car research that runs on TPUs", "Waymax: An Accelerated, Data-Driven Simulator "
     "for Large-Scale Autonomous Driving Research"),
    ("What happens when you put thousands of examples in the prompt?", "Many-Shot In-Context Learning"),
    ("a weight reparameterisation whose rich-get-richer updates make networks sparse",
     "Powerpropagation: A sparsity inducing weight reparameterisation"),
])
def test_hybrid_ranks_the_right_paper_first(retriever, question, title):
    result = retriever.search(question)
    assert titles(result)[0] == title
    assert result.best_similarity == max(p.score for p in result.passages) > 0
    assert set(result.timings) >= {"embed", "dense", "bm25", "fuse", "total"}


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_each_mode_works_and_scores_passages_by_cosine(retriever, mode):
    result = retriever.search("Griffin gated linear recurrences local attention", mode=mode, top_k=3)
    assert titles(result)[0] == GRIFFIN and result.mode == mode and len(result.passages) == 3
    dense = {p.chunk_id: p.score for p in retriever.search("Griffin gated linear recurrences local attention",
                                                           mode="dense", top_k=45).passages}
    for p in result.passages:  # the same chunk scores the same whichever retriever found it
        assert p.score == pytest.approx(dense.get(p.chunk_id, p.score), abs=1e-4)


def test_one_passage_per_paper_and_sources_cover_the_fusion(retriever):
    result = retriever.search("reinforcement learning", top_k=10)
    ids = [p.paper_id for p in result.passages]
    assert len(ids) == len(set(ids)) == 10
    assert [s.paper_id for s in result.sources[:10]] == ids
    assert all(s.dense_score is not None or s.bm25_score is not None for s in result.sources)
    assert [s.score for s in result.sources] == sorted((s.score for s in result.sources), reverse=True)


@pytest.mark.parametrize("filters, check", [
    ({"authors": ["jayakumar"]}, lambda p: "Siddhant M. Jayakumar" in p.authors),
    ({"author": "Co-Reyes", "year_from": 2019, "year_to": 2021},
     lambda p: COREYES in p.authors and 2019 <= p.year <= 2021),
    ({"year_to": 2018}, lambda p: p.year is not None and p.year <= 2018),
    ({"venue": "international conference on machine"}, lambda p: "Machine Learning" in (p.venue or "")),
    ({"categories": ["cs.RO", "cs.CL"]}, lambda p: p.title.startswith(("Waymax", "Improving Large Language"))),
])
def test_explicit_filters_restrict_results(retriever, filters, check):
    result = retriever.search("reinforcement learning agents and models", filters=filters, top_k=50)
    assert result.passages and all(check(p) for p in result.passages)
    assert result.filters_applied["matched_papers"] == len(result.passages)
    assert result.filters_applied["auto"] == []


def test_metadata_where_path_matches_the_id_list_path(retriever, monkeypatch):
    f = Filters(authors=["Co-Reyes"], year_from=2018, categories=["cs.LG"])
    small = titles(retriever.search("learning", filters=f, top_k=50))
    monkeypatch.setattr(retrieval, "IN_LIMIT", 0)  # forces the Chroma metadata `where`
    assert sorted(titles(retriever.search("learning", filters=f, top_k=50))) == sorted(small)
    assert len(small) == 9 and "EX2: Exploration with Exemplar Models for Deep Reinforcement Learning" not in small


def test_auto_filters_from_the_question(retriever):
    result = retriever.search("What did John D. Co-Reyes publish in 2021?")
    assert set(titles(result)) == COREYES_2021
    assert result.filters_applied == {"authors": [COREYES], "year_from": 2021, "year_to": 2021,
                                      "auto": ["authors", "year"], "matched_papers": 2}
    explicit = retriever.search("What did John D. Co-Reyes publish in 2021?", filters={"year_from": 2020})
    assert explicit.filters_applied["auto"] == ["authors"] and explicit.filters_applied["year_from"] == 2020
    plain = retriever.search("What did John D. Co-Reyes publish in 2021?", auto_filters=False)
    assert plain.filters_applied == {"auto": []}


def test_filters_matching_nothing_give_empty_results(retriever):
    for filters in ({"authors": ["Nobody Atall"]}, {"year_from": 2030}, {"venue": "Nature"}, {"categories": ["q-bio"]}):
        result = retriever.search("reinforcement learning", filters=filters)
        assert result.passages == [] and result.sources == [] and result.filters_applied["matched_papers"] == 0
    result = retriever.search("What did Razvan Pascanu publish in 2021?")  # his papers have no known year
    assert result.passages == [] and result.filters_applied["auto"] == ["authors", "year"]


@pytest.mark.parametrize("question, authors, years", [
    ("What did John D. Co-Reyes publish in 2021?", [COREYES], (2021, 2021)),
    ("papers by co-reyes after 2020", [COREYES], (2021, None)),
    ("Did John Co-Reyes write anything before 2019?", [COREYES], (None, 2018)),
    ("Pascanu's work since 2022", ["Razvan Pascanu"], (2022, None)),
    ("work by jose nunez between 2020 and 2018", ["José Núñez"], (2018, 2020)),
    ("What did Levine do from 2019?", [], (2019, 2019)),  # two Levines: a last name alone is ambiguous
    ("Sergey Levine's papers 2017-2019", ["Sergey Levine"], (2017, 2019)),
    ("Which papers in the collection are dated 2024?", [], (2024, 2024)),
    ("Which 2021 papers list John D. Co-Reyes as an author?", [COREYES], (2021, 2021)),  # the year as an adjective
    ("Name two 2019 publications of Sergey Levine", ["Sergey Levine"], (2019, 2019)),
    ("Which model was trained on 2048 papers?", [], (None, None)),  # a count, not a year
    ("How does Xiao scale models to 4096 GPUs in 3000 steps?", ["Lechao Xiao"], (None, None)),
    ("Summarise the paper in 2012.01234", [], (None, None)),
])
def test_detect_filters(question, authors, years):
    found, kinds = detect_filters(question, AUTHORS)
    assert found.authors == authors and (found.year_from, found.year_to) == years
    assert kinds == [k for k, on in (("authors", authors), ("year", years != (None, None))) if on]


def test_a_last_name_that_is_a_common_word_is_not_an_author_filter():
    found, _ = detect_filters("How does power scale with model size?", ["Ann Power"], lambda last: last == "power")
    assert found.authors == []
    assert detect_filters("What did Ann Power find?", ["Ann Power"], lambda last: True)[0].authors == ["Ann Power"]


def test_bm25_index_is_rebuilt_when_missing_and_refreshed_after_ingest(tmp_path):
    settings = load_settings()
    (tmp_path / "a.jsonl").write_text(json.dumps({"title": "Griffin recurrent models", "abstract": "Recurrences."}))
    ingest([tmp_path / "a.jsonl"], settings=settings, say=lambda *a: None)
    shutil.rmtree(index_dir(settings), ignore_errors=True)
    retriever = Retriever(settings)
    assert BM25Index.load(settings).digest == retriever.catalog.digest and len(retriever.catalog.bm25) == 1
    assert retriever.refresh() is False
    (tmp_path / "b.jsonl").write_text(json.dumps({"title": "Waymax driving simulator", "abstract": "A simulator."}))
    ingest([tmp_path / "b.jsonl"], settings=settings, say=lambda *a: None)
    assert retriever.refresh() is True
    assert titles(retriever.search("Waymax simulator", mode="bm25"))[0] == "Waymax driving simulator"


def test_eight_threads_share_one_retriever(retriever):
    questions = ["Which paper proposes Griffin?", "What did John D. Co-Reyes publish in 2021?",
                 "sparse training", "plasticity loss", "autonomous driving simulator", "many-shot prompts",
                 "meta-learning episodic recall", "policy distillation"] * 3
    filters = [None, None, {"authors": ["Jayakumar"]}, None, {"year_from": 2020}, None, None, None] * 3
    def run(i):
        return [(p.paper_id, p.chunk_id, p.score) for p in retriever.search(questions[i], filters=filters[i]).passages]
    sequential = [run(i) for i in range(len(questions))]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(run, range(len(questions)))) == sequential


def test_an_empty_store_says_so():
    from rag.errors import IndexEmpty

    with pytest.raises(IndexEmpty, match="rag ingest"):
        Retriever(load_settings()).search("anything")


def test_lexical_coverage_backs_name_questions_that_cosine_misses(retriever):
    from rag.evidence import evidence_score, lexical_coverage

    griffin, bert = retriever.search("Which paper proposes Griffin?"), retriever.search("Which paper proposes BERT?")
    assert griffin.best_similarity < 0.3 and bert.best_similarity < 0.3  # MiniLM sees little in either
    bm25 = retriever.catalog.bm25
    assert lexical_coverage("Which paper proposes Griffin?", griffin.passages, bm25) > 0.6
    assert lexical_coverage("Which paper proposes BERT?", bert.passages, bm25) < 0.3
    assert evidence_score("Which paper proposes Griffin?", griffin.passages, bm25) > 0.5 > \
        evidence_score("Which paper proposes BERT?", bert.passages, bm25)


def test_a_papers_dense_score_is_its_best_and_mean_chunk_cosine(sample, retriever):
    """`dense_score` best+mean: (best chunk cosine + mean chunk cosine) / 2, from all of the paper's
    chunks; "best" (the default) keeps the best chunk's cosine. The same papers either way."""
    import numpy as np

    question = "Which model mixes gated linear recurrences with local attention?"
    best_only = retriever.rankings(question)
    mixed = Retriever(sample.model_copy(update={"dense_score": "best+mean"})).rankings(question)
    assert retriever.settings.dense_score == "best"
    assert {p for p, _ in best_only.dense} == {p for p, _ in mixed.dense}
    several = [p for p, _ in best_only.dense if len(retriever.catalog.chunk_ids.get(p, ())) > 1]
    assert several, "the sample has papers of several chunks"
    for pid in several[:3]:
        got = retriever.store.chunks(ids=list(retriever.catalog.chunk_ids[pid]))
        sims = got.embeddings @ np.asarray(mixed.query_vector, dtype=np.float32)
        assert dict(best_only.dense)[pid] == pytest.approx(float(sims.max()), abs=1e-5)
        assert dict(mixed.dense)[pid] == pytest.approx((float(sims.max()) + float(sims.mean())) / 2, abs=1e-5)
    assert [s for _, s in mixed.dense] == sorted((s for _, s in mixed.dense), reverse=True)


def test_detected_authors_are_taken_as_named_and_typed_ones_are_resolved(retriever):
    cat = retriever.catalog
    typed, allowed, _ = cat.resolve(Filters(authors=["J. Co-Reyes"]))
    assert typed.authors == [COREYES] and allowed
    # a question's names come from the collection already (detect_filters matched them): no second lookup
    same, allowed_too, _ = cat.resolve(Filters(authors=[COREYES]), detected_authors=True)
    assert same.authors == [COREYES] and allowed_too == allowed
    # a name the collection does not hold is still looked up, detected or not
    assert cat.resolve(Filters(authors=["Co-Reyes"]), detected_authors=True)[0].authors == [COREYES]
