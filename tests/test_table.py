"""Literature tables (`rag table`, `Assistant.table`): rows from retrieval, cells checked against
their own record, "not stated" where the record does not say, streaming, limits and formats.

A real store (three made-up papers, real MiniLM embeddings) and, for the model path, the fake
OpenAI-compatible server answering with scripted JSON rows."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from fake_openai import fake_openai  # noqa: F401 - the fixture

import rag
from rag.cli import main
from rag.errors import ConfigError
from rag.llm import OpenAIChatModel
from rag.phrases import pick_phrases
from rag.settings import Settings
from rag.table import NOT_STATED, RowFiller, Table, parse_columns
from rag.table_format import FORMATS, render

KELP = ("We propose kelp forest graphs, a graph model of coastal sensor networks. Experiments on the BuoyNet and "
        "CoastTemp datasets show that kelp forest graphs reduce temperature forecast error by 12%.")
GLACIER = ("Glacier retreat is hard to forecast from sparse field surveys. We introduce glacier flow transformers, "
           "which track ice motion in satellite images and forecast glacier retreat a season ahead.")
PAPERS = [
    {"title": "Kelp Forest Graphs for Coastal Sensing", "authors": ["Ana Ruiz"], "date": "2023-05-01",
     "arxiv_id": "2305.01234", "abstract": KELP},
    {"title": "Glacier Flow Transformers", "authors": ["Lars Vendelbo"], "date": "2021-03-01", "abstract": GLACIER},
    {"title": "Tidal Pool Robots | Field Notes", "authors": ["Mei Chen"], "date": "2022-07-01",
     "abstract": "We present tidal pool robots that sample coastal water. Field trials show the robots last a week."},
]
COLUMNS = ["method", "dataset"]
QUESTION = "coastal sensing of water temperature and glacier forecasts"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables")
    (folder / "papers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in PAPERS))
    settings = Settings(data_dir=folder / "rag-data", backend="extractive")
    rag.ingest([folder / "papers.jsonl"], settings=settings, say=lambda *a: None)
    return settings


@pytest.fixture(scope="module")
def assistant(store):
    return rag.Assistant(store)


def test_one_row_per_paper_found_each_cell_from_its_own_record_or_not_stated(assistant):
    table = assistant.table(QUESTION, "method, dataset", limit=3)
    assert table.reason is None and table.columns == COLUMNS and len(table.rows) == 3
    rows = {row.title: row for row in table.rows}
    kelp, glacier = rows["Kelp Forest Graphs for Coastal Sensing"], rows["Glacier Flow Transformers"]
    assert kelp.cell("dataset").text == "BuoyNet and CoastTemp datasets" and kelp.cell("dataset").stated
    assert kelp.cell("method").text.startswith("kelp forest graphs")
    assert glacier.cell("dataset").text == NOT_STATED and not glacier.cell("dataset").stated
    for row in table.rows:  # the extractive backend copies: every shown phrase is a span of its own record
        assert all(c.text in f"{row.record.title} {row.record.abstract}" for c in row.cells if c.stated)
    assert kelp.year == 2023 and kelp.arxiv_id == "2305.01234" and kelp.record.id == kelp.paper_id


def test_the_stream_yields_the_planned_rows_first_then_one_more_row_each_time(assistant):
    seen = [(len(t.rows), len(t.papers), t.done) for t in assistant.table_stream(QUESTION, COLUMNS, limit=2)]
    assert seen == [(0, 2, False), (1, 2, False), (2, 2, True)]


@pytest.mark.parametrize("question, filters, reason", [
    ("chocolate cake recipes for a birthday party", None, "no paper in the collection is close enough"),
    (QUESTION, {"author": "Nobody Atall"}, "no paper in the collection matches the filters"),
])
def test_a_question_that_finds_nothing_gives_an_empty_table_with_the_reason(assistant, question, filters, reason):
    table = assistant.table(question, COLUMNS, filters=filters)
    assert table.rows == [] and table.papers == [] and table.reason.startswith(reason)
    assert f"No rows: {table.reason}." in render(table, "md") and render(table, "jsonl") == ""


@pytest.mark.parametrize("columns, limit, message", [
    ("", 10, "no columns given"),
    (" , ,", 10, "no columns given"),
    ([], 10, "no columns given"),
    (",".join(f"c{i}" for i in range(13)), 10, "at most 12"),
    ("method", 51, "at most 50"),
    ("method", 0, "1 to 50 rows"),
])
def test_bad_columns_and_limits_are_refused_at_once_naming_the_limit(assistant, columns, limit, message):
    with pytest.raises(ConfigError, match=message):
        assistant.table_stream(QUESTION, columns, limit=limit)  # no iteration needed


def test_columns_are_trimmed_and_repeats_dropped():
    assert parse_columns(" task ,method,  main   result,method") == ["task", "method", "main result"]


def test_unknown_format_names_the_formats():
    with pytest.raises(ConfigError, match="use one of md, csv, html, jsonl"):
        render(Table(question="q", columns=["a"]), "xml")


def test_model_cells_are_checked_and_an_invented_one_is_shown_as_not_stated(store, assistant, fake_openai):  # noqa: F811
    fake_openai.enqueue(json.dumps({"method": "kelp forest graphs, a graph model of coastal sensor networks",
                                    "dataset": "the SeaNet-9 dataset of 40,000 buoys", "main result": "not stated"}))
    model = OpenAIChatModel(fake_openai.base_url, "fake-model", None, 5, 0)
    record = next(r for r in assistant.retriever.catalog.papers.values() if r.title.startswith("Kelp"))
    row = RowFiller(store, model, assistant.chain.embed).row(record, ["method", "dataset", "main result"])
    method, dataset, result = row.cells
    assert method.stated and method.text.startswith("kelp forest graphs") and method.score >= store.support_threshold
    assert not dataset.stated and dataset.text == NOT_STATED and dataset.rejected.startswith("the SeaNet-9")
    assert not result.stated and result.rejected == ""
    sent = fake_openai.requests[-1]
    schema = sent["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["method", "dataset", "main result"] and schema["additionalProperties"] is False
    assert record.abstract in sent["messages"][-1]["content"]


def test_without_a_model_a_cell_is_shown_only_when_the_record_says_it_word_for_word(store, assistant):
    """Picked phrases are checked as the answers' quotes are (`check_quotes`): a span of one sentence
    of the record passes; a phrase that is not one (reworded, or spanning two sentences) does not."""
    record = next(r for r in assistant.retriever.catalog.papers.values() if r.title.startswith("Kelp"))
    filler = RowFiller(store, None, assistant.chain.embed)
    cells = filler.check(record, {"method": "a graph model of coastal sensor networks",
                                  "dataset": "the BuoyNet and CoastTemp data sets",
                                  "task": "coastal sensor networks. Experiments on the BuoyNet"})
    method, dataset, task = cells
    assert method.stated and method.text == "a graph model of coastal sensor networks" and method.score == 1.0
    assert not dataset.stated and dataset.rejected == "the BuoyNet and CoastTemp data sets"
    assert not task.stated and task.text == NOT_STATED


def test_a_reply_that_is_not_json_leaves_every_cell_not_stated_with_a_note(store, assistant, fake_openai):  # noqa: F811
    fake_openai.enqueue("Sure! The method is kelp forest graphs.")
    model = OpenAIChatModel(fake_openai.base_url, "fake-model", None, 5, 0)
    record = next(iter(assistant.retriever.catalog.papers.values()))
    row = RowFiller(store, model, assistant.chain.embed).row(record, COLUMNS)
    assert [c.text for c in row.cells] == [NOT_STATED, NOT_STATED] and "not a JSON row" in row.note


def test_every_format_names_each_paper_and_marks_not_stated(assistant):
    table = assistant.table(QUESTION, COLUMNS, limit=3)
    md, page = render(table, "md"), render(table, "html")
    assert md.splitlines()[0] == "| paper | year | method | dataset |"
    assert "Tidal Pool Robots \\| Field Notes" in md and f"*{NOT_STATED}*" in md
    assert "[arXiv](https://arxiv.org/abs/2305.01234)" in md
    assert "Tidal Pool Robots | Field Notes" in page and 'class="not-stated"' in page and page.count("<tr>") == 4
    rows = list(csv.reader(io.StringIO(render(table, "csv"))))
    assert rows[0] == ["paper_id", "title", "year", "authors", "method", "dataset"] and len(rows) == 4
    lines = [json.loads(line) for line in render(table, "jsonl").splitlines()]
    assert [line["paper_id"] for line in lines] == [r.paper_id for r in table.rows]
    assert sorted(FORMATS) == ["csv", "html", "jsonl", "md"]


def test_a_links_hook_adds_a_link_per_row(assistant):
    table = assistant.table(QUESTION, COLUMNS, limit=1)
    md = render(table, "md", links=lambda row: {"BibTeX": f"/export/{row.paper_id}.bib"})
    assert f"[BibTeX](/export/{table.rows[0].paper_id}.bib)" in md


@pytest.mark.parametrize("title, abstract", [(None, None), ("", ""), (None, "Short."), ("T: ", "🙂 " * 50)])
def test_the_extractive_picker_takes_awkward_records(title, abstract):
    got = pick_phrases(["task", "method", "hardware"], title, abstract)
    assert set(got) == {"task", "method", "hardware"} and got["hardware"] is None


def test_an_unknown_column_gets_the_clause_holding_its_words():
    abstract = "We train on eight GPUs for a week. The hardware budget was small, which limited the sweep."
    assert pick_phrases(["hardware budget"], None, abstract) == {"hardware budget": "The hardware budget was small"}


def test_cli_prints_the_table_and_refuses_bad_options_in_one_line(store, monkeypatch):
    monkeypatch.setenv("RAG_DATA_DIR", str(store.data_dir))
    runner = CliRunner()
    result = runner.invoke(main, ["table", QUESTION, "--columns", "method, dataset", "--limit", "2"])
    assert result.exit_code == 0 and result.output.splitlines()[0] == "| paper | year | method | dataset |"
    assert len(result.output.strip().splitlines()) == 4
    for args, message in ((["--format", "xml"], "unknown table format 'xml'"), (["--columns", ""], "no columns"),
                          (["--limit", "99"], "at most 50")):
        bad = runner.invoke(main, ["table", QUESTION, "--columns", "method", *args])
        assert bad.exit_code == 1 and bad.output.strip() == next(
            line for line in bad.output.splitlines() if line.startswith("error:")) and message in bad.output


def test_cells_are_scored_by_the_rule_written_with_the_labels():
    from rag.eval.table_cells import score

    text = "We propose Top-KAST, a sparse training method, evaluated on ImageNet."
    figures = score([
        ("method", "Top-KAST", ["Top-KAST"], text),                       # right
        ("dataset", None, None, text),                                   # right: not stated, labelled null
        ("dataset", None, ["ImageNet"], text),                           # wrong: it is stated
        ("task", "dense training on CIFAR", ["sparse training"], text),  # wrong, and not in the record
    ])
    assert figures["accuracy"] == 0.5 and figures["by_column"] == {"method": 1.0, "dataset": 0.5, "task": 0.0}
    assert figures["not_stated_precision"] == 0.5 and figures["shown_not_in_record"] == 1


@pytest.mark.parametrize("reply, expected", [
    ('{"method": "KernelDrop", "dataset": "Not stated."}', {"method": "KernelDrop", "dataset": None}),
    ('Row: {"method": "N/A"}', {"method": None, "dataset": None}),  # text around the object, a column left out
    ('{"method": "' + "gated linear recurrences " * 3 + 'with loc", "dataset": "C4 [2]"}',
     {"method": "gated linear recurrences gated linear recurrences gated linear recurrences", "dataset": "C4"}),
    ("[1, 2]", None),
    ("not json at all", None),
])
def test_model_replies_are_read_leniently_and_a_phrase_cut_by_the_schema_loses_its_partial_word(reply, expected):
    from rag.table import parse_reply

    assert parse_reply(reply, COLUMNS) == expected
