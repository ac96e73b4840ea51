"""`merge_records`: which records are one paper, and what the merged record keeps."""

from __future__ import annotations

import pytest

from rag.dedupe import merge_records
from rag.records import Record, Source, record_id

ABSTRACT = ("We study how outlier features emerge during transformer training and propose simple "
            "architectural and optimisation changes that minimise them without hurting convergence speed.") * 2


def rec(**kw) -> Record:
    kw.setdefault("sources", [Source(file=kw.pop("file", "f.txt"), truncated=kw.pop("truncated", False))])
    return Record(**kw)


@pytest.mark.parametrize("a, b, same", [
    (rec(title="X", arxiv_id="2401.00001"), rec(title="Y", arxiv_id="2401.00001"), True),
    (rec(title="Über: A Study!"), rec(title="uber a   study"), True),
    (rec(title="One paper"), rec(title="Another paper"), False),
    (rec(abstract=ABSTRACT), rec(title="T", abstract=ABSTRACT.upper() + " extra"), True),
    (rec(title="T1", abstract=ABSTRACT), rec(title="T2", abstract=ABSTRACT), False),  # both titled
    (rec(abstract=ABSTRACT[:120]), rec(title="T", abstract=ABSTRACT), True),  # truncated prefix >= 100
    (rec(abstract=ABSTRACT[:90]), rec(title="T", abstract=ABSTRACT), False),  # prefix too short
    (rec(abstract="Short."), rec(abstract="short"), True),
    (rec(), rec(), False),  # nothing to match on
])
def test_same_paper_rules(a, b, same):
    merged, count = merge_records([a, b])
    assert (len(merged), count) == ((1, 1) if same else (2, 0))


def test_chains_merge_through_union_find():
    a = rec(title="Title A", arxiv_id="2401.00001")
    b = rec(arxiv_id="2401.00001", abstract=ABSTRACT)
    c = rec(abstract=ABSTRACT[:150], truncated=True)
    d = rec(title="title a!", venue="NeurIPS")
    other = rec(title="Unrelated")
    merged, count = merge_records([a, other, b, c, d])
    assert count == 3 and [m.title for m in merged] == ["Title A", "Unrelated"]
    assert len(merged[0].sources) == 4 and merged[0].venue == "NeurIPS"


@pytest.mark.parametrize("field, values, expected", [
    ("date", ["2023", "2023-09-25", "2023-10-01"], "2023-09-25"),
    ("date", [None, "2021", "2020"], "2021"),
    ("venue", ["arXiv", "ICML 2024", "NeurIPS"], "ICML 2024"),
    ("venue", [None, "arXiv", "arXiv.org"], "arXiv"),
    ("categories", [["cs.LG"], ["cs.AI", "cs.LG"], []], ["cs.LG", "cs.AI"]),
    ("affiliations", [[], ["MIT"], ["MIT", "ETH"]], ["MIT", "ETH"]),
    ("arxiv_id", [None, "2401.00002", "2401.00002"], "2401.00002"),
])
def test_field_union(field, values, expected):
    records = [rec(title="Same Paper", **{field: v}) if v is not None else rec(title="Same Paper") for v in values]
    [merged], count = merge_records(records)
    assert count == 2 and getattr(merged, field) == expected


@pytest.mark.parametrize("lists, expected", [
    ([(["A", "B", "C"], False), (["A", "B"], True)], (["A", "B"], True)),   # complete beats longer
    ([(["A"], True), (["A", "B"], True)], (["A", "B"], True)),              # then the longer
    ([(["A", "B"], False), (["A", "C"], False)], (["A", "B"], False)),      # then the first
    ([([], True), (["A"], False)], (["A"], False)),                         # an empty list is no list
])
def test_authors_rule(lists, expected):
    records = [rec(title="P", authors=a, authors_complete=c) for a, c in lists]
    [merged], _ = merge_records(records)
    assert (merged.authors, merged.authors_complete) == expected


def test_abstract_prefers_untruncated_source_and_id_is_recomputed():
    cut = rec(title="P", abstract=ABSTRACT + " and then some more words", truncated=True)
    full = rec(title="P", abstract=ABSTRACT)
    arx = rec(title="p.", arxiv_id="2503.11677")
    [merged], count = merge_records([cut, full, arx])
    assert merged.abstract == ABSTRACT and not merged.truncated
    assert cut.id == record_id(None, "P", None) != merged.id == "2503.11677"
    [only_cut], _ = merge_records([rec(title="Q", abstract="a", truncated=True), rec(title="Q", abstract="ab", truncated=True)])
    assert only_cut.abstract == "ab" and only_cut.truncated


@pytest.mark.parametrize("records", [
    [rec(title="A", arxiv_id="2401.00001"), rec(abstract=ABSTRACT, arxiv_id="2401.00001"), rec(abstract=ABSTRACT[:130])],
    [rec(title="A"), rec(title="B"), rec(title="a"), rec(abstract="x"), rec(abstract="x"), rec()],
    [rec(title=f"T{i % 7}", date=["2020", "2020-01-02"][i % 2], authors=["A"] * (i % 3)) for i in range(30)],
])
def test_idempotent(records):
    once, _ = merge_records(records)
    twice, count = merge_records(once)
    assert twice == once and count == 0
    assert [r.sources for r in once] != [] and sum(len(r.sources) for r in once) == len(records)


def test_first_seen_order_and_large_input_is_fast():
    records = [rec(title=f"Paper {i}", abstract=f"Abstract {i} " * 30) for i in range(20_000)]
    records += [rec(title=f"paper {i}!") for i in range(0, 20_000, 2)]
    merged, count = merge_records(records)
    assert count == 10_000 and [m.title for m in merged[:3]] == ["Paper 0", "Paper 1", "Paper 2"]
