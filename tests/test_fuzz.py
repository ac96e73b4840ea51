"""Property tests: no input text or bytes makes a parser raise; each returns a `ParseResult`."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.errors import InputError
from rag.parsers import fields, parse_file
from rag.parsers.base import PARSER_MODULES, ParseResult


def _importable():
    modules = []
    for name in PARSER_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            continue
    return modules


PARSERS = _importable()
FRAGMENTS = [
    "LGSep 25, 2023", "… (see more)", "(see more)", "arXiv.org Machine Learning", "Last, First",
    "He, Bobby, Noci, Lorenzo", "{", "}", "@article{", "@string{x = ", "author = {A and others},",
    "$\\textit{", "\\\"{o}", "title,authors,abstract", "\t", '{"title": ', '[{"abstract": "x"}', '"', ",",
    "Collaborating Authors", "Goto", "2503.11677v2", "et al. · deepmind", "", "\n", "\r\n", " ", "\u00a0",
]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
texts = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=40).map("\n".join),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=40).map("".join),
)
names = st.sampled_from(["page.txt", "x.jsonl", "x.json", "x.csv", "x.tsv", "x.bib", "noext"])


@pytest.mark.parametrize("module", PARSERS, ids=lambda m: m.NAME)
@FUZZ
@given(text=texts, name=names)
def test_parse_never_raises(module, text, name):
    path = Path(name)
    if module.sniff(path, text[:65536]) in (True, False):
        result = module.parse(path, text)
        assert isinstance(result, ParseResult)
        assert all(str(path) in str(e) for e in result.errors)


@FUZZ
@given(data=st.one_of(st.binary(max_size=600), texts.map(lambda t: t.encode("utf-8", "surrogatepass"))),
       name=st.sampled_from(["f.txt", "f.jsonl", "f.csv", "f.bib", "f.json.gz", "f"]))
def test_parse_file_never_raises(tmp_path_factory, data, name):
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(data)
    result = parse_file(path)
    assert isinstance(result, ParseResult)
    assert all(e.path == str(path) for e in result.errors)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
    | st.sampled_from(FRAGMENTS),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(sorted(fields.KNOWN_KEYS | {"Title", "Publication Date", "authors_complete", "truncated"}))


@FUZZ
@given(row=st.dictionaries(field_names | st.text(max_size=10), json_values, max_size=8))
def test_fields_mapping_never_crashes(row):
    try:
        record = fields.record_from_fields(row, path="rows.jsonl", line=7, layout="jsonl")
    except InputError as err:
        assert err.line == 7 and "no title or abstract" in err.reason
    else:
        assert (record.title or record.abstract) and all(isinstance(a, str) and a for a in record.authors)
        assert record.date is None or len(record.date) in (4, 10)
