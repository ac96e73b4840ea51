"""The chat window's Papers and Table views and the references of answers, through their handlers:
a real `Assistant` (extractive backend) over a temp-dir store of five papers, no browser.

The browser checks of the same views are in test_ui_browser.py; this file checks what each event
returns: the HTML, the files offered for download (read back and parsed), and the messages."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("gradio")

from rag import ingest, table_format  # noqa: E402
from rag.parsers import bibtex  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.ui import exports, handlers, papers, render, style, tables  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
ANY = handlers.ANY
TIDAL = "Tidal Attention for Ocean Sensor Streams"
PAPERS = [
    {"title": TIDAL, "authors": ["Marina Okonkwo", "Lars Vendelbo"], "date": "2021-01-01", "categories": ["cs.LG"],
     "abstract": "We introduce tidal attention, a periodic sparse attention pattern for ocean sensor streams. "
                 "Tidal attention cuts the memory of long sensor sequences by half."},
    {"title": "Kelp Forest Graphs for Coastal Sensor Networks", "authors": ["Ana Ruiz"], "date": "2023-05-01",
     "categories": ["cs.LG"], "abstract": "We present kelp forest graphs, a graph model of coastal sensor networks "
                                          "that predicts water temperature from sparse buoys."},
    {"title": "Attention Over Buoy Sensor Streams", "authors": ["Ana Ruiz", "Marina Okonkwo"], "date": "2024-02-01",
     "categories": ["cs.LG"], "abstract": "We propose buoy attention, an attention layer for ocean sensor streams "
                                          "that handles missing readings."},
    {"title": "Sensor Stream Compression for Ocean Observatories", "authors": ["Lars Vendelbo"],
     "categories": ["cs.IT"], "abstract": "We compress ocean sensor streams with learned codes, keeping tidal "
                                          "signals intact."},
    {"title": "Glacier Flow Transformers", "authors": ["Lars Vendelbo"], "date": "2022-03-01", "categories": ["cs.CV"],
     "abstract": "Glacier flow transformers track ice motion in satellite images and forecast glacier retreat."},
]
NO_FILTERS = ([], ANY, ANY, ANY)


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ui-views")
    corpus = folder / "ocean.jsonl"
    corpus.write_text("".join(json.dumps(p) + "\n" for p in PAPERS))
    settings = Settings(data_dir=folder / "rag-data", backend="extractive")
    ingest([corpus], settings=settings, say=lambda *a: None)
    return handlers.Backend(settings)


def offered(button) -> Path | None:
    """The file a DownloadButton update offers (gradio has copied it to its cache), or None."""
    return Path(button.value["path"]) if button.value else None


def titles_in(page: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r'<td class="rag-hit-title">(.*?)</td>', page)]


# ---------------------------------------------------------------- Papers

def test_search_lists_the_papers_best_first_and_exports_them_as_bibtex(backend):
    hits, page, button = papers.search(backend, "tidal attention", 5, "score", "bibtex", *NO_FILTERS)
    assert titles_in(page)[0] == TIDAL and len(titles_in(page)) == len(hits) > 1
    assert "matching sentence" in page and "We introduce tidal attention, a periodic sparse" in page
    path = offered(button)
    assert path.name == "papers-tidal-attention.bib" and button.interactive
    back = bibtex.parse(path, path.read_text()).records
    assert [r.title for r in back] == [h.title for h in hits]


def test_sorting_by_year_puts_the_newest_first_and_the_export_follows(backend):
    hits, _, _ = papers.search(backend, "ocean sensor streams", 5, "score", "csv", *NO_FILTERS)
    page, button = papers.resort(hits, "year", "csv")
    years = [h.year for h in papers.sort_hits(hits, "year")]
    known = [y for y in years if y is not None]
    assert known == sorted(known, reverse=True) and years[len(known):] == [None] * (len(years) - len(known))
    assert None in years and "sorted by year, newest first" in page
    rows = list(csv.DictReader(io.StringIO(offered(button).read_text())))
    assert [r["title"] for r in rows] == titles_in(page) != [h.title for h in hits]
    assert [int(r["rank"]) for r in rows] == [h.rank for h in papers.sort_hits(hits, "year")]  # ranks are kept


@pytest.mark.parametrize("fmt, suffix", [("bibtex", ".bib"), ("ris", ".ris"), ("csl-json", ".json"), ("csv", ".csv"),
                                         ("jsonl", ".jsonl")])
def test_each_export_format_gets_its_own_file_extension(backend, fmt, suffix):
    hits, _, _ = papers.search(backend, "kelp forest graphs", 3, "score", "bibtex", *NO_FILTERS)
    path = offered(papers.export(hits, "score", fmt))
    assert path.suffix == suffix and path.read_text() == hits.export(fmt)


def test_a_search_that_finds_nothing_says_why_in_words(backend):
    hits, page, button = papers.search(backend, "protein folding with AlphaFold", 5, "score", "bibtex", *NO_FILTERS)
    assert not hits and hits.reason
    assert "No papers found" in page and "<table" not in page and html.escape(hits.reason[1:]) in page
    assert offered(button) is None and not button.interactive


def test_the_side_panels_filters_apply_to_the_search(backend):
    hits, page, _ = papers.search(backend, "ocean sensor streams", 5, "score", "bibtex", ["Ana Ruiz"], ANY, ANY, ANY)
    assert hits and all("Ana Ruiz" in h.authors for h in hits) and "author Ana Ruiz" in page


def test_an_empty_query_is_a_message_that_names_the_fix(backend):
    hits, page, button = papers.search(backend, "  ", 5, "score", "bibtex", *NO_FILTERS)
    assert hits is None and "Could not search" in page and "the search query is empty" in page
    assert offered(button) is None


def test_the_views_say_so_when_nothing_is_indexed(tmp_path):
    empty = handlers.Backend(Settings(data_dir=tmp_path / "rag-data", backend="extractive"))
    _, page, _ = papers.search(empty, "ocean", 5, "score", "bibtex", *NO_FILTERS)
    *_, (_, _, table_page, _, _) = tables.build(empty, "ocean", "task", 3, "md", *NO_FILTERS)
    for shown in (page, table_page):
        assert "Nothing is indexed yet" in shown and "rag ingest" in shown and "upload box" in shown


# ---------------------------------------------------------------- Table

def test_a_table_shows_each_row_as_it_is_done_then_offers_its_exports(backend):
    steps = list(tables.build(backend, "ocean sensor streams", "method, dataset", 3, "csv", *NO_FILTERS))
    notes = [re.sub("<[^>]+>", "", note) for _, note, *_ in steps]
    assert notes[:5] == ["retrieving papers…", "0 of 3 papers", "1 of 3 papers", "2 of 3 papers", "3 of 3 papers"]
    assert notes[-1].startswith("3 of 3 papers · done in ")
    assert [step[2].count("<tr><td data-paper-id") for step in steps[1:5]] == [0, 1, 2, 3]
    table, _, page, table_file, bib_file = steps[-1]
    assert page == render.table_html(table_format.render(table, "html"))
    assert offered(table_file).suffix == ".csv" and offered(table_file).read_text() == table_format.render(table, "csv")
    assert all(offered(step[3]) is None for step in steps[:-1])  # nothing to download before the table is done
    back = bibtex.parse(offered(bib_file), offered(bib_file).read_text()).records
    assert [r.title for r in back] == [row.title for row in table.rows]


def test_cells_not_stated_are_marked_for_the_grey_style(backend):
    *_, (table, _, page, _, _) = tables.build(backend, "ocean sensor streams", "method, hardware budget", 2, "md",
                                              *NO_FILTERS)
    hardware = [row.cell("hardware budget") for row in table.rows]
    assert not any(c.stated for c in hardware)
    assert page.count('<td class="not-stated">not stated</td>') >= len(hardware)
    assert "td.not-stated" in style.CSS


@pytest.mark.parametrize("fmt", table_format.FORMATS)
def test_the_table_exports_as_rag_table_writes_it(backend, fmt):
    *_, (table, *_rest) = tables.build(backend, "kelp forest graphs", "task", 1, "md", *NO_FILTERS)
    path = offered(tables.export(table, fmt))
    assert path.suffix == exports.SUFFIXES[fmt] and path.read_text() == table_format.render(table, fmt)


@pytest.mark.parametrize("columns, limit, message", [
    ("", 3, "no columns given"),
    (", ".join(f"c{i}" for i in range(13)), 3, "a table has at most 12"),
    ("task", 51, "a table has 1 to 50 rows"),
])
def test_bad_table_input_shows_the_assistants_one_line_message(backend, columns, limit, message):
    *_, (table, note, page, table_file, bib_file) = tables.build(backend, "ocean sensors", columns, limit, "md",
                                                                 *NO_FILTERS)
    assert table is None and "Could not build the table" in page and message in page and "Traceback" not in page
    assert offered(table_file) is None and offered(bib_file) is None


def test_a_table_with_no_rows_says_why(backend):
    *_, (table, _, page, table_file, _) = tables.build(backend, "protein folding with AlphaFold", "task", 3, "md",
                                                       *NO_FILTERS)
    assert table.reason and "No rows" in page and "<table" not in page and offered(table_file) is None


# ---------------------------------------------------------------- the references of answers

def ask(backend, question: str, turns=()):
    *_, (chat, turns, _box, _model) = handlers.respond(backend, question, list(turns), *NO_FILTERS)
    return turns


def test_an_answer_carries_its_bibtex_for_the_copy_button(backend):
    turns = ask(backend, "What is tidal attention?")
    answer = turns[-1]["answer"]
    assert answer.citations and 'class="rag-copy-bib"' in turns[-1]["html"]
    kept = re.search(r'<pre class="rag-bibtex">(.*?)</pre>', turns[-1]["html"])[1]
    assert "\n" not in turns[-1]["html"]  # one line, for the chat's Markdown
    assert html.unescape(kept) == answer.references("bibtex")


@pytest.mark.parametrize("fmt, suffix", [("bibtex", ".bib"), ("ris", ".ris"), ("csl-json", ".json")])
def test_the_last_answers_references_download_in_each_format(backend, fmt, suffix):
    turns = ask(backend, "What is tidal attention?")
    button, note = handlers.last_references(turns, fmt)
    answer = turns[-1]["answer"]
    assert offered(button).suffix == suffix and offered(button).read_text() == answer.references(fmt)
    assert "cited in the answer to “What is tidal attention?”" in note


def test_an_abstained_answer_has_no_references_and_says_so(backend):
    turns = ask(backend, "What is tidal attention?")
    turns = ask(backend, "Which paper studies protein folding with AlphaFold?", turns)
    assert turns[-1]["answer"].abstained and "rag-copy-bib" not in turns[-1]["html"]
    button, note = handlers.last_references(turns, "bibtex")
    assert offered(button) is None and not button.interactive
    assert "did not answer" in note and "no references" in note
    button, note = handlers.last_references([], "bibtex")
    assert offered(button) is None and "Ask a question" in note


def test_export_files_are_named_for_their_content_and_format():
    one = exports.write_export("@misc{a}\n", "Papers: Griffin & co.", "bibtex")
    assert one.name == "papers-griffin-co.bib" and one.read_text() == "@misc{a}\n"
    assert exports.write_export("@misc{a}\n", "Papers: Griffin & co.", "bibtex") == one  # the same export: one file
    other = exports.write_export("@misc{b}\n", "Papers: Griffin & co.", "bibtex")
    assert other != one and one.read_text() == "@misc{a}\n"  # another session's export leaves this one alone
    assert exports.file_stem("???") == "export" and len(exports.file_stem("word " * 40)) <= exports.STEM_CHARS
