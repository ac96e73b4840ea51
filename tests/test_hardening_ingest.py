"""Issue 11, the smaller ones: each a regression test through real ingest (real Chroma on a temp dir).

- `rag eval` with a very long title in the store, and a gold title the store lacks;
- invisible characters (zero-width, soft hyphen, NUL) in titles;
- wholly rejected files counted as skipped, a named pipe, a .jsonl opening with an array line,
  an empty folder or one holding only a symlink loop.
"""

from __future__ import annotations

import json
import os
import threading

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.errors import InputError
from rag.ingest import ingest
from rag.records import Record
from rag.settings import Settings, load_settings
from rag.state import State

CLEAN = "Zero Width Attention Networks"
DIRTY = "Zero Wid\u200bth Atten\u00adtion Net\x00works"
ABSTRACT = "We attend with zero width and find that it works on three benchmarks."


def quiet(*_a, **_k):
    pass


def _jsonl(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _small_store(tmp_path, data_dir, extra=()) -> Settings:
    papers = tmp_path / "papers.jsonl"
    _jsonl(papers, [
        {"title": "Griffin: Mixing Gated Linear Recurrences with Local Attention",
         "abstract": "We propose Griffin, a hybrid model mixing gated linear recurrences with local attention."},
        {"title": "Coral reef bleaching under ocean warming",
         "abstract": "Ocean warming bleaches coral reefs across the Pacific."},
        *extra])
    settings = Settings(data_dir=data_dir)
    report = ingest([papers], settings=settings, say=quiet)
    assert report.ok, report.errors
    return settings


def _questions(path, gold: str):
    _jsonl(path, [{"id": "q1", "question": "Which paper mixes gated linear recurrences with local attention?",
                   "type": "single", "gold": [gold]}])
    return path


# ---------------------------------------------------------------- rag eval

def test_eval_runs_the_llamaindex_baseline_over_a_store_holding_a_very_long_title(tmp_path, data_dir):
    from rag.eval.runner import run_eval

    long_title = " ".join(f"word{i}" for i in range(3000))  # about 9k tokens of metadata
    settings = _small_store(tmp_path, data_dir, [{"title": long_title, "abstract": "A paper with a long title."}])
    out = run_eval(_questions(tmp_path / "q.jsonl", "Griffin: Mixing Gated Linear Recurrences with Local Attention"),
                   settings=settings, out=tmp_path / "run", retrieval_only=True, systems=["llamaindex"],
                   progress=False, say=quiet)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["papers"] == 3
    assert summary["retrieval"]["llamaindex"]["all"]["recall@1"] == 1.0


def test_llamaindex_metadata_of_a_normal_paper_is_what_it_was():
    from rag.eval.systems import baseline_metadata

    paper = Record(title="Griffin: Mixing Gated Linear Recurrences", authors=["Soham De", "Samuel L. Smith"],
                   date="2024-02-29", abstract="We propose Griffin.")
    assert baseline_metadata(paper) == {"title": paper.title, "authors": "Soham De, Samuel L. Smith",
                                        "year": "2024"}
    cut = baseline_metadata(Record(title="word " * 5000, abstract="x"))
    assert 100 < len(cut["title"]) < 2000 and cut["title"].endswith("…")


def test_a_gold_title_missing_from_the_store_is_reported_before_the_baselines_are_built(
        tmp_path, data_dir, monkeypatch):
    import rag.eval.systems
    from rag.eval.runner import run_eval

    settings = _small_store(tmp_path, data_dir)

    def too_late(*_a, **_k):
        raise AssertionError("the retrieval systems were built before the gold titles were checked")

    monkeypatch.setattr(rag.eval.systems.Systems, "__init__", too_late)
    with pytest.raises(InputError, match=r"1 gold paper\(s\) are not in the store .*No Such Paper"):
        run_eval(_questions(tmp_path / "q.jsonl", "No Such Paper"), settings=settings, out=tmp_path / "run",
                 retrieval_only=True, progress=False, say=quiet)
    assert not (tmp_path / "run").exists()  # nothing written for a run that cannot start


# ---------------------------------------------------------------- invisible characters

def test_invisible_characters_leave_titles_and_the_twins_merge(tmp_path):
    settings = load_settings()
    folder = tmp_path / "in"
    folder.mkdir()
    _jsonl(folder / "a.jsonl", [{"title": DIRTY, "authors": ["Ada Love\u200blace"], "abstract": ABSTRACT}])
    (folder / "b.csv").write_text(f"title,date\n{CLEAN},2024-01-02\n", encoding="utf-8")
    report = ingest([folder], settings=settings, say=quiet)
    assert report.ok, report.errors
    assert (report.records, report.papers, report.duplicates_merged) == (2, 1, 1)
    [paper] = State(settings.state_path).papers()
    assert paper.title == CLEAN and paper.authors == ["Ada Lovelace"] and paper.date == "2024-01-02"


def test_dedupe_keys_ignore_invisible_characters_in_records_stored_before():
    from rag.dedupe import merge_records
    from rag.records import normalise_text

    assert normalise_text(DIRTY) == normalise_text(CLEAN) == "zero width attention networks"
    merged, n = merge_records([Record(title=DIRTY, abstract=ABSTRACT), Record(title=CLEAN, date="2024")])
    assert n == 1 and len(merged) == 1


# ---------------------------------------------------------------- files the summary must count

def test_wholly_rejected_files_count_as_skipped(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "latin1.txt").write_bytes("Title line\nSecond line\ncaf\u00e9 au lait\n".encode("latin-1"))
    (folder / "blob.bin").write_bytes(bytes(range(1, 256)) * 40)  # binary without a NUL: not UTF-8, line 1
    (folder / "columns.csv").write_text("name,size\nfoo,3\n", encoding="utf-8")
    _jsonl(folder / "good.jsonl", [{"title": "A good paper", "abstract": "It is good."}])
    result = CliRunner().invoke(main, ["ingest", str(folder)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "files: 1 read, 0 unchanged, 3 skipped" in result.output
    for name in ("latin1.txt:3", "blob.bin:2", "columns.csv:1"):
        assert name in result.output
    assert "papers in the store" in result.output and "1 papers" in result.output


def test_a_file_with_some_good_records_is_read_not_skipped(tmp_path):
    path = tmp_path / "half.jsonl"
    path.write_text(json.dumps({"title": "Kept", "abstract": "Kept."}) + "\n{broken\n", encoding="utf-8")
    report = ingest([path], settings=load_settings(), say=quiet)
    assert report.files_read == 1 and report.files_skipped == [] and [e.line for e in report.errors] == [2]


def test_a_named_pipe_is_not_a_regular_file_and_is_never_opened(tmp_path):
    from rag.parsers import parse_file

    pipe = tmp_path / "papers.jsonl"
    os.mkfifo(pipe)
    report = ingest([pipe], settings=load_settings(), say=quiet)
    [err] = report.errors
    assert err.path == str(pipe) and "not a regular file" in err.reason and "no such file" not in err.reason
    assert len(report.files_skipped) == 1

    got = {}
    reader = threading.Thread(target=lambda: got.setdefault("result", parse_file(pipe)), daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # it blocked in open(): give it a writer and EOF so the test can end
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(10)
        pytest.fail("parse_file blocked reading a named pipe")
    [err] = got["result"].errors
    assert "not a regular file" in err.reason


def test_a_jsonl_whose_first_line_is_an_array_is_read_line_by_line(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([
        json.dumps([{"title": "Paper A", "abstract": "About A."}, {"title": "Paper B", "abstract": "About B."}]),
        json.dumps({"title": "Paper C", "abstract": "About C."}),
        json.dumps([{"title": "Paper D", "abstract": "About D."}]),
        "{broken",
    ]) + "\n", encoding="utf-8")
    settings = load_settings()
    report = ingest([path], settings=settings, say=quiet)
    assert [(e.line, "invalid JSON" in e.reason) for e in report.errors] == [(4, True)]
    papers = State(settings.state_path).papers()
    assert sorted(p.title for p in papers) == ["Paper A", "Paper B", "Paper C", "Paper D"]
    assert {p.title: p.sources[0].line for p in papers} == {"Paper A": 1, "Paper B": 1, "Paper C": 2, "Paper D": 3}


def test_a_pretty_printed_array_is_still_one_array(tmp_path):
    from rag.parsers import parse_file

    path = tmp_path / "pretty.json"
    path.write_text(json.dumps([{"title": "Paper A"}, {"title": "Paper B"}], indent=2), encoding="utf-8")
    result = parse_file(path)
    assert [r.title for r in result.records] == ["Paper A", "Paper B"] and not result.errors


@pytest.mark.parametrize("make", ["empty", "symlink_loop", "hidden_only"])
def test_a_folder_with_no_files_is_an_error_naming_it(tmp_path, make):
    folder = tmp_path / "in"
    folder.mkdir()
    if make == "symlink_loop":
        (folder / "loop").symlink_to(folder / "loop")
    elif make == "hidden_only":
        (folder / ".notes.txt").write_text("hidden\n")
    for command in ("ingest", "parse"):
        result = CliRunner().invoke(main, [command, str(folder)])
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert f"error: no files found in {folder}; " in result.output


def test_an_empty_folder_next_to_a_good_file_is_reported_and_the_file_ingested(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    _jsonl(tmp_path / "good.jsonl", [{"title": "A good paper", "abstract": "It is good."}])
    report = ingest([empty, tmp_path / "good.jsonl"], settings=load_settings(), say=quiet)
    assert report.papers == 1 and [str(e) for e in report.errors][0].startswith(f"no files found in {empty}; ")
