"""Paper search (`Assistant.search`, `rag search`) and `rag ask --references`: a real store on a
temporary directory (the project's JSONL parser, Chroma, BM25), the extractive backend, no model."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag import Assistant, PaperHit, PaperHits, ingest
from rag.cli import main
from rag.errors import ConfigError
from rag.parsers import bibtex
from rag.settings import Settings

PAPERS = [
    {"title": "Griffin: Mixing Gated Linear Recurrences with Local Attention", "arxiv_id": "2402.19427",
     "authors": ["Soham De", "Samuel L. Smith", "Razvan Pascanu"], "date": "2024-02-29", "venue": "arXiv",
     "categories": ["cs.LG"], "abstract": "Recurrent neural networks are fast at inference but hard to scale. "
     "We propose Griffin, a hybrid model that mixes gated linear recurrences with local attention. "
     "Griffin matches Llama-2 while being trained on fewer tokens."},
    {"title": "Kelp Forest Graphs for Coastal Sensing", "authors": ["Ana Ruiz", "Bo Zhang"], "date": "2023-05-01",
     "categories": ["cs.LG"], "venue": "Proceedings of the Coastal AI Workshop",
     "abstract": "Coastal sensors are sparse. We present kelp forest graphs, a graph model of coastal sensor "
                 "networks. It predicts water temperature from sparse buoys."},
    {"title": "Glacier Flow Transformers: 80% Less Error & {Faster}", "authors": ["Lars Vendelbo", "Jürgen Müller"],
     "date": "2021-03-01", "categories": ["cs.CV"],
     "abstract": "Glacier flow transformers track ice motion in satellite images. They forecast glacier retreat "
                 "a season ahead."},
    {"title": "Tidal Attention for Ocean Streams", "authors": ["Marina Okonkwo"], "date": "2022-07-15",
     "categories": ["cs.LG"], "abstract": "We introduce tidal attention, a periodic sparse attention pattern. "
                                          "It reads ocean sensor streams with half the memory."},
]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("search")
    papers = folder / "papers.jsonl"
    papers.write_text("".join(json.dumps(p) + "\n" for p in PAPERS))
    settings = Settings(data_dir=folder / "rag-data", backend="extractive")
    ingest([papers], settings=settings, say=lambda *a: None)
    return settings.data_dir


@pytest.fixture(scope="module")
def assistant(store) -> Assistant:
    return Assistant(Settings(data_dir=store, backend="extractive"))


@pytest.fixture
def cli(store, monkeypatch):
    monkeypatch.setenv("RAG_DATA_DIR", str(store))
    return lambda *args: CliRunner().invoke(main, list(args))


def test_search_lists_papers_best_first_with_their_best_sentence(assistant):
    hits = assistant.search("gated linear recurrences mixed with local attention", limit=3)
    assert isinstance(hits, PaperHits) and all(isinstance(h, PaperHit) for h in hits)
    assert hits.reason == "" and [h.rank for h in hits] == [1, 2, 3]
    top = hits[0]
    assert top.paper_id == "2402.19427" and top.title.startswith("Griffin") and top.year == 2024
    assert top.sentence == "We propose Griffin, a hybrid model that mixes gated linear recurrences with local attention."
    assert top.score >= hits[1].score >= hits[2].score and top.dense_score and top.bm25_score
    assert set(hits.timings) == {"retrieval_ms", "total_ms"}


def test_filters_given_and_named_in_the_query_apply(assistant):
    hits = assistant.search("sensor networks", filters={"year_from": 2023})
    assert hits[0].title == PAPERS[1]["title"] and {h.year for h in hits} == {2023, 2024}
    by_name = assistant.search("sensor networks by Marina Okonkwo")
    assert [h.title for h in by_name] == [PAPERS[3]["title"]] and by_name.filters_applied["auto"] == ["authors"]


def test_a_query_that_finds_nothing_gives_an_empty_list_and_the_reason(assistant):
    none = assistant.search("sensor networks", filters={"authors": ["Nobody Atall"]})
    assert list(none) == [] and none.reason == "no paper in the collection matches the filters"
    far = assistant.search("boiling point of seawater on Mars in kelvin")
    assert list(far) == [] and far.reason == "no paper in the collection is close enough to the query"
    assert far.export("table") == "" and far.export("csl-json") == "[]\n"


@pytest.mark.parametrize("query, limit, message", [
    ("  ", 10, "the search query is empty"), ("attention", 0, "limit must be a whole number of at least 1"),
    ("attention", "3", "limit must be a whole number"),
])
def test_bad_queries_and_limits_are_one_line_errors(assistant, query, limit, message):
    with pytest.raises(ConfigError, match=message):
        assistant.search(query, limit=limit)


def test_hits_export_as_jsonl_csv_and_references(assistant):
    hits = assistant.search("glacier retreat forecast in satellite images", limit=2)
    rows = [json.loads(line) for line in hits.export("jsonl").splitlines()]
    title = "Glacier Flow Transformers: 80% Less Error & Faster"  # as the JSONL parser cleaned it
    assert rows[0]["title"] == hits[0].title == title and rows[0]["rank"] == 1 and "sources" not in rows[0]
    table = list(csv.DictReader(io.StringIO(hits.export("csv"))))
    assert table[0]["authors"] == "Lars Vendelbo; Jürgen Müller" and table[0]["year"] == "2021"
    back = bibtex.parse(Path("hits.bib"), hits.export("bibtex")).records
    assert [(b.title, b.authors) for b in back[:1]] == [(title, PAPERS[2]["authors"])]
    assert json.loads(json.dumps(hits.to_dict()))["hits"][0]["sentence"] == hits[0].sentence
    with pytest.raises(ConfigError, match=r"^unknown format 'xml'; use one of: table, jsonl, csv, bibtex"):
        hits.export("xml")


def test_answer_carries_its_cited_papers_and_gives_their_references(assistant):
    answer = assistant.ask("Which paper proposes Griffin?")
    assert [p.id for p in answer.papers] == [c.paper_id for c in answer.citations] == ["2402.19427"]
    assert answer.papers[0].abstract == PAPERS[0]["abstract"]
    assert "@article{de2024griffin," in answer.references("bibtex")
    assert json.loads(answer.references("csl-json"))[0]["number"] == "arXiv:2402.19427"
    json.dumps(answer.to_dict())  # still plain JSON


# ---------------------------------------------------------------- the commands

def test_rag_search_prints_a_table_and_exports(cli):
    result = cli("search", "tidal attention for ocean sensor streams", "--limit", "2")
    assert result.exit_code == 0
    assert result.output.startswith("1. Tidal Attention for Ocean Streams\n   2022; Marina Okonkwo  [t")
    assert "   > We introduce tidal attention, a periodic sparse attention pattern." in result.output
    bib = cli("search", "tidal attention", "--category", "cs.LG", "--format", "bibtex")
    assert bib.exit_code == 0 and "@misc{okonkwo2022tidal," in bib.stdout
    assert bibtex.parse(Path("x.bib"), bib.stdout).records[0].title == PAPERS[3]["title"]


def test_rag_search_says_why_nothing_matched(cli):
    result = cli("search", "sensor networks", "--author", "Nobody Atall")
    assert result.exit_code == 0 and "No papers found: no paper in the collection matches the filters." in result.output
    machine = cli("search", "sensor networks", "--author", "Nobody Atall", "--format", "jsonl")
    assert machine.exit_code == 0 and machine.stdout == "" and "No papers found" in machine.stderr


@pytest.mark.parametrize("args, message", [
    (["search", "attention", "--format", "xml"],
     "error: unknown --format 'xml'; use one of: table, jsonl, csv, bibtex, ris, csl-json"),
    (["ask", "Which paper proposes Griffin?", "--references", "endnote"],
     "error: unknown --references format 'endnote'; use one of: bibtex, ris, csl-json"),
    (["search", "attention", "--limit", "0"], "error: limit must be a whole number of at least 1, not 0"),
])
def test_bad_formats_are_one_line_errors(cli, args, message):
    result = cli(*args)
    assert result.exit_code == 1 and result.output.strip() == message


def test_rag_ask_prints_the_references_after_the_answer(cli):
    result = cli("ask", "Which paper proposes Griffin?", "--references", "ris")
    assert result.exit_code == 0
    answer, refs = result.stdout.split("\nris references:\n")
    assert "[1] Griffin" in answer and refs.startswith("TY  - JOUR\nID  - de2024griffin\n")
    as_json = json.loads(cli("ask", "Which paper proposes Griffin?", "--json", "--references", "bibtex").stdout)
    assert as_json["references"].startswith("@article{de2024griffin,") and as_json["papers"][0]["id"] == "2402.19427"
