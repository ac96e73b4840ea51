"""`Assistant.add_files`, `Assistant.facets` and the dependencies `ask()` takes: a real store on a
temporary directory, the extractive backend, two small JSONL files."""

from __future__ import annotations

import json

import pytest

from rag import Assistant, IngestReport, ask, ingest, paper_count
from rag.settings import Settings

KELP = {"title": "Kelp Forest Graphs for Coastal Sensing", "authors": ["Ana Ruiz", "Bo Zhang"], "date": "2023-05-01",
        "categories": ["cs.LG"], "abstract": "We present kelp forest graphs, a graph model of coastal sensor networks "
                                             "that predicts water temperature from sparse buoys."}
GLACIER = {"title": "Glacier Flow Transformers", "authors": ["Lars Vendelbo", "ada abel"], "date": "2021-03-01",
           "categories": ["physics.geo-ph", "cs.CV"],
           "abstract": "Glacier flow transformers track ice motion in satellite images and forecast glacier retreat."}


def _jsonl(path, *records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def assistant(tmp_path):
    settings = Settings(data_dir=tmp_path / "rag-data", backend="extractive")
    ingest([_jsonl(tmp_path / "kelp.jsonl", KELP)], settings=settings, say=lambda *a: None)
    return Assistant(settings)


def test_add_files_indexes_them_and_the_next_question_finds_them(assistant, tmp_path):
    said: list[str] = []
    report = assistant.add_files([_jsonl(tmp_path / "glacier.jsonl", GLACIER)], say=said.append)
    assert isinstance(report, IngestReport) and report.ok and report.papers == 2 and report.files_read == 1
    assert paper_count(assistant.settings) == 2
    answer = assistant.ask("What do glacier flow transformers forecast?")
    assert answer.citations and answer.citations[0].title == GLACIER["title"]


def test_add_files_with_no_path_changes_nothing(assistant):
    report = assistant.add_files([])
    assert report.papers == 0 and report.files_read == 0
    assert paper_count(assistant.settings) == 1  # not the sample corpus, which ingest() with no path reads


def test_add_files_reports_an_unreadable_file_by_name(assistant, tmp_path):
    report = assistant.add_files([tmp_path / "missing.jsonl"], say=lambda *a: None)
    assert not report.ok and "missing.jsonl" in str(report.errors[0])
    assert paper_count(assistant.settings) == 1


def test_facets_list_authors_by_last_name_then_years_and_categories(assistant, tmp_path):
    assert assistant.facets().authors == ["Ana Ruiz", "Bo Zhang"]
    assistant.add_files([_jsonl(tmp_path / "glacier.jsonl", GLACIER)], say=lambda *a: None)
    facets = assistant.facets()
    assert facets.papers == 2
    assert facets.authors == ["ada abel", "Ana Ruiz", "Lars Vendelbo", "Bo Zhang"]
    assert facets.years == [2021, 2023]
    assert facets.categories == ["cs.CV", "cs.LG", "physics.geo-ph"]


def test_ask_uses_the_dependencies_it_is_given_and_keeps_none_of_them(assistant, monkeypatch):
    from rag import api

    searched: list[str] = []
    real_search = assistant.retriever.search
    monkeypatch.setattr(assistant.retriever, "search", lambda q, **kw: searched.append(q) or real_search(q, **kw))
    before = dict(api._DEFAULT)
    answer = ask("What do kelp forest graphs predict?", settings=assistant.settings, retriever=assistant.retriever)
    assert searched == ["What do kelp forest graphs predict?"]
    assert answer.citations[0].title == KELP["title"]
    assert api._DEFAULT == before


def test_an_assistant_reads_the_store_it_is_given(assistant):
    again = Assistant(assistant.settings, store=assistant.retriever.store)
    assert again.retriever.store is assistant.retriever.store and again.model_name == "extractive"
