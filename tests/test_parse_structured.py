"""Structured inputs: JSON Lines, JSON arrays, gzip, CSV/TSV and BibTeX, through `parse_file`."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from rag.parsers import parse_file

ARXIV = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv_cs_daily.jsonl.gz"


def _parse(tmp_path: Path, name: str, content: str | bytes):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return parse_file(path)


@pytest.fixture
def arxiv_head(tmp_path: Path) -> Path:
    if not ARXIV.exists():
        pytest.skip(f"{ARXIV} not present (shared data set); the arXiv layout test needs it")
    with gzip.open(ARXIV, "rt", encoding="utf-8") as fh:
        lines = [next(fh) for _ in range(3)]
    path = tmp_path / "arxiv_head.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_arxiv_layout_jsonl(arxiv_head: Path):
    result = parse_file(arxiv_head)
    assert result.layout == "jsonl" and not result.errors and len(result.records) == 3
    first = result.records[0]
    assert first.id == first.arxiv_id == "2503.11677"
    assert first.title.startswith("Simulation of prosthetic vision") and first.authors[0] == "Jungyeon Park"
    assert first.date == "2025-03-18" and first.venue == "arXiv" and first.categories == ["cs.HC", "cs.CV"]
    assert first.sources[0].line == 1 and result.records[2].sources[0].line == 3


ROWS = [
    {"title": "Paper One", "authors": "Smith, John and Jane Doe", "year": 2021, "abstract": "A."},
    {"title": "Paper Two", "authors": [{"name": "Ada Lovelace"}, "et al."], "url": "https://arxiv.org/abs/2503.11677v2"},
]


@pytest.mark.parametrize("name, content", [
    ("a.jsonl", "\n".join(json.dumps(r) for r in ROWS) + "\n"),
    ("a.json", json.dumps(ROWS, indent=2)),
    ("a.json", json.dumps({"papers": ROWS})),
    ("noext", "\n\n" + "\n".join(json.dumps(r) for r in ROWS)),
    ("a.jsonl.gz", gzip.compress("\n".join(json.dumps(r) for r in ROWS).encode())),
])
def test_json_shapes(tmp_path, name, content):
    result = _parse(tmp_path, name, content)
    assert result.layout == "jsonl" and not result.errors
    one, two = result.records
    assert (one.title, one.authors, one.date) == ("Paper One", ["John Smith", "Jane Doe"], "2021")
    assert (two.authors, two.authors_complete, two.arxiv_id) == (["Ada Lovelace"], False, "2503.11677")


@pytest.mark.parametrize("authors, expected, complete", [
    ("Alice Smith, Bob Jones and Carol White", ["Alice Smith", "Bob Jones", "Carol White"], True),
    ("Smith, J.; Doe, Jane", ["J. Smith", "Jane Doe"], True),
    ("He, Bobby, Noci, Lorenzo", ["Bobby He", "Lorenzo Noci"], True),
    ("van der Berg, Jan and others", ["Jan van der Berg"], False),
    (["Last, First", "A B et al."], ["First Last", "A B"], False),
    (["and Shadab Khan", "Adam Hewitt and"], ["Shadab Khan", "Adam Hewitt"], True),
])
def test_author_spellings(tmp_path, authors, expected, complete):
    result = _parse(tmp_path, "a.jsonl", json.dumps({"title": "T", "authors": authors}))
    assert (result.records[0].authors, result.records[0].authors_complete) == (expected, complete)


@pytest.mark.parametrize("name, text", [
    ("p.csv", 'Title,Authors,Published,Abstract\n"A, with comma","Smith, John; Doe, Jane",2023-09-25,"line one\nline two"\n'
              ",,,\nB,X Y,2020,\n"),
    ("p.tsv", "title\tauthors\tdate\tabstract\nA, with comma\tSmith, John; Doe, Jane\t2023-09-25\tline one line two\n"
              "B\tX Y\t2020\t\n"),
    ("p.txt", "title|authors|date|abstract\nA, with comma|Smith, John; Doe, Jane|2023-09-25|line one line two\n"
              "B|X Y|2020|\n"),
])
def test_csv_and_tsv(tmp_path, name, text):
    result = _parse(tmp_path, name, text)
    assert result.layout == "csv"
    a, b = result.records
    assert (a.title, a.authors, a.date) == ("A, with comma", ["John Smith", "Jane Doe"], "2023-09-25")
    assert a.abstract == "line one line two"
    assert (b.title, b.date, b.abstract) == ("B", "2020", None)
    assert b.sources[0].line == (5 if name == "p.csv" else 3)  # the csv abstract spans lines 2-3


@pytest.mark.parametrize("header", ["name,size,colour", "paper,writer,when"])
def test_csv_without_header_is_a_file_error(tmp_path, header):
    result = _parse(tmp_path, "x.csv", f"{header}\n1,2,3\n")
    assert not result.records and len(result.errors) == 1
    message = str(result.errors[0])
    assert str(tmp_path / "x.csv") in message and "title or abstract column" in message
    assert header.split(",")[0] in message and "title, authors" in message


def test_csv_row_errors_have_line_numbers(tmp_path):
    result = _parse(tmp_path, "x.csv", "title,abstract,year\nGood,,2020\n,,2021\nAlso good,Text.,\n")
    assert [r.title for r in result.records] == ["Good", "Also good"]
    assert [(e.line, "no title or abstract" in e.reason) for e in result.errors] == [(3, True)]


BIB = r"""
@string{nips = "Advances in Neural Information Processing Systems"}
@comment{ not an entry {at all} }
@article{mueller2023,
  author = {M{\"u}ller, J{\"o}rg and Jos\'e Garc{\'\i}a and {\ss}Str, Hans and others},
  title = {{BERT} and {Deep {Nested}} Models for $\alpha$-Nets},
  journal = nips, year = 2023, month = sep,
  abstract = "Uses {braces} and 40\% less.", keywords = {ignored},
}
@inproceedings{broken,
  title = {Unclosed {brace,
  year = 2020
}
@misc{arx, title = "On arXiv", eprint = {2503.11677}, archivePrefix = {arXiv},
  year = {2025}, month = {3}, day = {18}, author = {Doe, Jane}}
@book(parens, title = {Paren Book} # " Vol. " # 2, year = "1999", booktitle = {Proc. X})
"""


def test_bibtex(tmp_path):
    result = _parse(tmp_path, "refs.bib", BIB)
    a, m, b = result.records
    assert a.authors == ["Jörg Müller", "José García", "Hans ßStr"] and not a.authors_complete
    assert a.title == "BERT and Deep Nested Models for α-Nets" and a.venue.startswith("Advances in Neural")
    assert (a.date, a.abstract, a.sources[0].line) == ("2023", "Uses braces and 40% less.", 4)
    assert (m.arxiv_id, m.id, m.date, m.authors, m.authors_complete) == ("2503.11677", "2503.11677", "2025-03-18", ["Jane Doe"], True)
    assert (b.title, b.date, b.venue) == ("Paren Book Vol. 2", "1999", "Proc. X")
    [err] = result.errors
    assert err.line == 10 and "broken" in err.reason and "@inproceedings{broken" in err.reason


@pytest.mark.parametrize("name, text, good, bad_lines", [
    ("x.jsonl", '{"title": "A"}\n{"title": \n{"abstract": "B"}\n[1, 2]\n{"year": 2020}\n', 2, [2, 4, 5]),
    ("x.ndjson", '{"title": "A"} trailing\n\n{"title": "B"}\n', 1, [1]),
    ("x.json", '[{"title": "A"},\n {"title": "B"},\n {"oops"}\n]', 2, [3]),
])
def test_json_per_line_errors(tmp_path, name, text, good, bad_lines):
    result = _parse(tmp_path, name, text)
    assert len(result.records) == good
    assert [e.line for e in result.errors] == bad_lines
    assert all(str(tmp_path / name) in str(e) for e in result.errors)
