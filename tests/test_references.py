"""References out (`rag.references`): citation keys, BibTeX / RIS / CSL-JSON, and their round trips.

The round trip is the test: records made by the project's own parsers (the sample corpus, a few
hundred arXiv records, generated awkward records) are exported to BibTeX and read back by the
project's BibTeX reader, which must give the same title, authors, year, venue and arXiv id. The
exports are also read by independent parsers (bibtexparser 2 with its LaTeX decoding, rispy), and
the CSL-JSON is validated against the published CSL 1.0.2 schema (tests/fixtures/csl-data.json).
"""

from __future__ import annotations

import gzip
import itertools
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.errors import ConfigError
from rag.parsers import bibtex, parse_paths
from rag.parsers.common import squash
from rag.parsers.jsonl import parse as parse_jsonl
from rag.parsers.latex import escape_latex, strip_latex
from rag.records import Record
from rag.references import FORMATS, citation_keys, format_references
from rag.types import Answer, Citation

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE = Path(__file__).resolve().parents[1] / "rag" / "sample"
ARXIV = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv_cs_daily.jsonl.gz"
AWKWARD = re.compile(r"[\\{}%&$#_~^]|--|''")


def _sample() -> list[Record]:
    records = [r for _, result in parse_paths([SAMPLE]) for r in result.records]
    return list({r.id: r for r in records}.values())


@pytest.fixture(scope="module")
def arxiv() -> list[Record]:
    """The first 200 records of the arXiv file, and every awkward one among its first 5,000."""
    if not ARXIV.exists():
        pytest.skip(f"{ARXIV} is absent (see ../shared/data/README.md); the arXiv round trip needs it")
    with gzip.open(ARXIV, "rt", encoding="utf-8") as fh:
        records = parse_jsonl(Path("arxiv.jsonl"), "".join(itertools.islice(fh, 5000))).records
    awkward = [r for r in records[200:] if AWKWARD.search(" ".join([r.title or "", *r.authors]))]
    assert len(awkward) >= 10  # titles with %, &, ^, --, LaTeX left in; names with ~ and --
    return records[:200] + awkward


def _read_back(records: list[Record]) -> list[Record]:
    result = bibtex.parse(Path("export.bib"), format_references(records, "bibtex"))
    assert not result.errors
    return result.records


def _same_fields(a: Record, b: Record) -> None:
    assert (b.title, b.authors, b.year, b.venue, b.arxiv_id) == (a.title, a.authors, a.year, a.venue, a.arxiv_id)
    assert b.date == (a.date if a.date and len(a.date) == 10 else str(a.year) if a.year else None)
    if a.authors:
        assert b.authors_complete == a.authors_complete


# ---------------------------------------------------------------- keys

def _griffin(**kw) -> Record:
    fields = dict(title="Griffin: Mixing Gated Linear Recurrences", authors=["Razvan Pascanu"], date="2024-02-29",
                  venue="arXiv", arxiv_id="2402.19427")
    return Record(**{**fields, **kw})


def test_keys_are_author_year_word_and_unique_with_a_b_suffixes_in_the_order_of_ids():
    records = [_griffin(), _griffin(arxiv_id="2402.00001"), _griffin(arxiv_id="2402.00002")]
    assert citation_keys(records) == ["pascanu2024griffinb", "pascanu2024griffin", "pascanu2024griffina"]
    assert citation_keys([Record(title="The Über Model", authors=["Jürgen van der Müller"], date="2019")]) == [
        "vandermuller2019uber"]
    assert citation_keys([Record(abstract="No title, no author.")]) == ["paper"]


def test_keys_are_stable_across_runs_and_orders():
    records = [_griffin(arxiv_id=f"2402.0000{i}") for i in range(4)] + _sample()
    keys = dict(zip((r.id for r in records), citation_keys(records)))
    again = list(reversed(records))
    assert dict(zip((r.id for r in again), citation_keys(again))) == keys
    assert len(set(keys.values())) == len(keys)


# ---------------------------------------------------------------- escaping

def _bibtex_balanced(value: str) -> bool:
    """Braces as BibTeX counts them: every one, escaped or not."""
    depth = 0
    for c in value:
        depth += (c == "{") - (c == "}")
        if depth < 0:
            return False
    return depth == 0


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab ,.'`-{}\\%&$#_~^\"éøß@=")) | st.characters(), max_size=60))
def test_strip_latex_reads_back_what_escape_latex_writes(text):
    written = escape_latex(text)
    assert strip_latex(written) == squash(text)
    assert _bibtex_balanced(written) and "--" not in written and "''" not in written


@pytest.mark.parametrize("raw, once", [
    ("Codebook Size $\\mathit{2^{128}}$", "Codebook Size 2^128"),
    ("Codes over $\\frac{\\mathbb{F}_{p^m}[u]}{\\langle u \\rangle}$", "Codes over F_p^m[u]/\\langle u \\rangle"),
])
def test_cleaning_a_title_twice_changes_nothing(raw, once):
    """The BibTeX reader cleans what it reads; a title that cleaning would change again could not round-trip."""
    from rag.parsers.fields import clean

    assert clean(raw) == once and clean(once) == once


def test_escape_latex_writes_the_usual_escapes():
    assert escape_latex("Mix&Match: 80% of $5 #1 a_b") == r"Mix\&Match: 80\% of \$5 \#1 a\_b"
    assert escape_latex("Mus{é}e -- 1\\x") == r"Mus\{é\}e -{}- 1\textbackslash{}x"
    assert escape_latex("a } b") == r"a \textbraceright{} b"


# ---------------------------------------------------------------- BibTeX round trips

def test_sample_corpus_round_trips_through_our_bibtex_reader():
    records = _sample()
    back = _read_back(records)
    assert len(back) == len(records) == 45
    for a, b in zip(records, back):
        _same_fields(a, b)


def test_arxiv_records_round_trip_through_our_bibtex_reader(arxiv):
    back = _read_back(arxiv)
    assert len(back) == len(arxiv)
    for a, b in zip(arxiv, back):
        _same_fields(a, b)


FRAGMENTS = ["{", "}", "{é}", "%", "&", "$", "$x$", "$\\alpha$", "#", "_", "~", "^2", "--", "---", "''", "``",
             "\\textit{Deep}", "{\\\"o}", "\\'e", "\\LaTeX{}", "\\foo", "\\\\", "Ünïcödé", "naïve", "Straße", "@",
             "and", "others", ",", ":", "\"", "[3]", "(see more)", "x", "Net", " "]
NAMES = st.builds(lambda first, particle, last, suffix: " ".join(p for p in (first, particle, last, suffix) if p),
                  st.sampled_from(["Ana", "J.", "Jean-Luc", "Søren", "Zoë", "Mingde", "A. B.", "Eric~L."]),
                  st.sampled_from(["", "", "van", "de la", "von"]),
                  st.sampled_from(["Ruiz", "Co-Reyes", "Müller", "O'Brien", "Ocampo--Pineda", "Nguy\\~ên", "Ng",
                                   "Smith_2", "Brontë"]),
                  st.sampled_from(["", "", "", "Jr.", "III"]))
RAW = st.fixed_dictionaries({
    "title": st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=6), min_size=1, max_size=14).map("".join),
    "authors": st.lists(NAMES, max_size=120),
}, optional={
    "date": st.dates().map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}") | st.integers(1900, 2030).map(str),
    "venue": st.sampled_from(["arXiv", "Proceedings of ICML", "J. Mach. Learn. Res. 25 & 26", "NeurIPS 2023 {oral}"]),
    "arxiv_id": st.sampled_from(["2402.19427", "1910.06764v2", "hep-th/9901001"]),
    "abstract": st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=20).map("".join),
    "authors_complete": st.booleans(),
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RAW, min_size=1, max_size=4))
def test_generated_awkward_records_round_trip(raws):
    """Records as the project makes them (its JSONL parser reads the generated fields), exported and read back."""
    parsed = parse_jsonl(Path("generated.jsonl"), "".join(json.dumps(r) + "\n" for r in raws))
    records = list({r.id: r for r in parsed.records}.values())
    back = _read_back(records)
    assert len(back) == len(records)
    for a, b in zip(records, back):
        _same_fields(a, b)


# ---------------------------------------------------------------- independent readers

def test_bibtexparser_reads_every_entry_with_the_same_fields(arxiv):
    bibtexparser = pytest.importorskip("bibtexparser", minversion="2.0.0b7")
    from bibtexparser import middlewares as m

    records = _sample() + arxiv
    text = format_references(records, "bibtex")
    library = bibtexparser.parse_string(text, append_middleware=[
        m.LatexDecodingMiddleware(), m.SeparateCoAuthors(), m.SplitNameParts()])
    assert not library.failed_blocks  # duplicate keys would be failed blocks too
    assert [e.key for e in library.entries] == citation_keys(records)
    for r, entry in zip(records, library.entries):
        f = {k: v.value for k, v in entry.fields_dict.items()}
        if r.title:  # pylatexenc spells \textasciicircum as U+02C6; the title's outer braces keep its capitals
            assert f["title"].replace("ˆ", "^").removeprefix("{").removesuffix("}") == r.title
        names = f.get("author", [])
        assert len(names) == len(r.authors) + (bool(r.authors) and not r.authors_complete)
        if r.authors and " " in r.authors[0] and "," not in r.authors[0]:
            assert " ".join(names[0].von + names[0].last).replace("ˆ", "^") in r.authors[0]
        assert f.get("year") == (str(r.year) if r.year else None)
        assert f.get("eprint") == r.arxiv_id


def test_rispy_reads_every_ris_record(arxiv):
    rispy = pytest.importorskip("rispy")
    records = _sample() + arxiv
    entries = rispy.loads(format_references(records, "ris"))
    assert len(entries) == len(records)
    for r, e in zip(records, entries):
        assert e.get("title") == r.title and len(e.get("authors", [])) == len(r.authors)
        assert e.get("year") == (str(r.year) if r.year else None)
        assert e.get("accession_number") == (f"arXiv:{r.arxiv_id}" if r.arxiv_id else None)


def test_csl_json_is_valid_against_the_published_schema(arxiv):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((FIXTURES / "csl-data.json").read_text(encoding="utf-8"))
    records = _sample() + arxiv + [Record(title="Only a title"), Record(abstract="Only an abstract.")]
    items = json.loads(format_references(records, "csl-json"))
    jsonschema.Draft7Validator(schema).validate(items)
    assert [i["id"] for i in items] == citation_keys(records)
    broken = [{**items[0], "issued": "2024"}]
    with pytest.raises(jsonschema.ValidationError):  # the schema does check: a date must be a date object
        jsonschema.Draft7Validator(schema).validate(broken)


# ---------------------------------------------------------------- formats and answers

def test_every_format_carries_what_the_record_knows_and_no_more():
    r = Record(title="Kelp & Glaciers", authors=["Harm van Seijen", "Martin Luther King Jr."], authors_complete=False,
               date="2023-05-01", venue="Proceedings of ICML", arxiv_id="2305.00001", categories=["cs.LG", "cs.AI"],
               abstract="We study 100% of it.")
    bib, ris, csl = (format_references([r], f) for f in FORMATS)
    assert "@inproceedings{vanseijen2023kelp," in bib and "author = {van Seijen, Harm and King, Jr., Martin Luther " \
                                                         "and others}" in bib
    assert "booktitle = {Proceedings of ICML}" in bib and "month = may" in bib and "keywords = {cs.LG, cs.AI}" in bib
    assert "eprint = {2305.00001}" in bib and "archivePrefix = {arXiv}" in bib and "primaryClass = {cs.LG}" in bib
    assert "TY  - CPAPER" in ris and "AU  - King, Martin Luther, Jr." in ris and "DA  - 2023/05/01/" in ris
    item = json.loads(csl)[0]
    assert item["author"][0] == {"non-dropping-particle": "van", "family": "Seijen", "given": "Harm"}
    assert item["issued"] == {"date-parts": [[2023, 5, 1]]} and item["type"] == "paper-conference"
    bare = format_references([Record(title="Bare")], "bibtex")
    assert bare == "@misc{bare,\n  title = {{Bare}}\n}\n\n"


def test_unknown_format_is_a_one_line_error_naming_the_choices():
    with pytest.raises(ConfigError, match=r"^unknown reference format 'xml'; use one of: bibtex, ris, csl-json$"):
        format_references([_griffin()], "xml")
    assert format_references([], "csl-json") == "[]\n" and format_references([], "BibTeX ") == ""


def test_answer_references_use_its_papers_else_its_citations():
    citation = Citation(key=1, paper_id="2402.19427", title="Griffin", authors=["Razvan Pascanu"], year=2024,
                        venue="arXiv", passage="...")
    made_by_hand = Answer(question="q", text="Griffin [1].", citations=[citation])
    back = bibtex.parse(Path("a.bib"), made_by_hand.references("bibtex")).records
    assert [(b.title, b.authors, b.year, b.arxiv_id) for b in back] == [("Griffin", ["Razvan Pascanu"], 2024,
                                                                         "2402.19427")]
    with_papers = Answer(question="q", text="Griffin [1].", citations=[citation], papers=[_griffin()])
    assert "Mixing Gated Linear Recurrences" in with_papers.references("ris")
    assert json.loads(json.dumps(with_papers.to_dict()))["papers"][0]["arxiv_id"] == "2402.19427"
    assert Answer(question="q", text="x").references("bibtex") == ""
