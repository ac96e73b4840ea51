"""Unit tests of rag.parsers.text on awkward inputs."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.parsers.latex import latex_to_text
from rag.parsers.names import is_person_name, parse_name_list
from rag.parsers.text import (
    category_from_code,
    clean_abstract,
    clean_text,
    ends_mid_text,
    join_teaser_cuts,
    strip_markdown_emphasis,
    strip_pdf_artefacts,
    subject_categories,
)


@pytest.mark.parametrize("raw, expected", [
    ("", ""),
    ("   \n\t ", ""),
    ("$", "$"),
    ("costs $5 and $10", "costs $5 and $10"),
    ("{{{a", "{{{a"),
    ("a}}} {b", "a}}} {b"),
    ("{value-based}", "value-based"),
    ("{1, 2, 3}", "{1, 2, 3}"),
    ("🙂 emoji $\\textit{ok}$ 🚀", "🙂 emoji ok 🚀"),
    ("\\textit{\\textbf{nested}}", "nested"),
    ("$\\unicode{x2013}$ and \\unicode{8212}", "– and —"),
    ("\\unicode{xZZ} stays", "\\unicode{xZZ} stays"),
    ("O(d^2) and $O(d^2)$", "O(d^2) and O(d^2)"),
    ("ReST$^{EM}$", "ReST^EM"),
    ("$\\alpha$-divergence, $\\frac{1}{2}$", "α-divergence, 1/2"),
    ("models~(LMs), ~10%", "models (LMs), ~10%"),
    ("50\\% \\& e.g.\\ more", "50% & e.g. more"),
    ("a\nb\r\n  c", "a b c"),
])
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("*provably safe* pruning", "provably safe pruning"),
    ("**bold** move", "bold move"),
    ("a * b * c", "a * b * c"),
    ("lone * star", "lone * star"),
    ("x*y*z", "x*y*z"),
])
def test_markdown_emphasis(raw, expected):
    assert strip_markdown_emphasis(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("or on… (see more)-par", "or on-par"),
    ("failure m… (see more)ode remain", "failure mode remain"),
    ("whole word… (see more) next", "whole word next"),
    ("ends here… (see more)", "ends here"),
    ("no teaser here", "no teaser here"),
])
def test_teaser_cuts_joined(raw, expected):
    assert join_teaser_cuts(raw).strip() == expected


@pytest.mark.parametrize("text, cut", [
    ("A full sentence.", False), ("Is it?", False), ('He said "yes."', False), ("(see A.)", False),
    ("(or a 2--3", True), ("stops mid", True), ("teaser…", True), ("", False),
])
def test_ends_mid_text(text, cut):
    assert ends_mid_text(text) is cut


def test_pdf_artefacts_need_evidence_before_joining_capitals():
    assert strip_pdf_artefacts("Cells of type B cells. Y et here.") == ("Cells of type B cells. Y et here.", None)
    text, arxiv_id = strip_pdf_artefacts("ABSTRACT We show type B cells; Y et it works (Y ang et al.).")
    assert text == "We show type B cells; Yet it works (Yang et al.)." and arxiv_id is None


def test_arxiv_footnote_removed_with_affiliation():
    raw = ("A BSTRACT Results hold for any decision often Google Research, University of Oxford. "
           "2 arXiv:2101.01234v3 [cs.LG] 4 Jan 2021 Y et, more work remains.")
    assert clean_abstract(raw) == ("Results hold for any decision often Yet, more work remains.", "2101.01234")


def test_plain_arxiv_citation_is_not_a_footnote():
    raw = "We build on prior work (see arXiv:2101.01234). It helps."
    assert clean_abstract(raw) == (raw, None)


@pytest.mark.parametrize("name, ok", [
    ("John D. Co-Reyes", True), ("YuXuan Liu", True), ("C. Daniel Freeman", True), ("Harm van Seijen", True),
    ("Connor McGregor", True), ("Mind LabJohn Smith", False), ("ML Program", False), ("Solo", False),
    ("John Smith et", False), ("", False),
])
def test_is_person_name(name, ok):
    assert is_person_name(name) is ok


def test_name_list_and_categories():
    assert parse_name_list("Justin Fu, John D. Co-Reyes, Sergey Levine") == [
        "Justin Fu", "John D. Co-Reyes", "Sergey Levine"]
    assert parse_name_list("Justin Fu, and friends") is None
    assert subject_categories("Machine Learning; Robotics") == ["cs.LG", "cs.RO"]
    assert subject_categories("Computer Vision and Pattern Recognition") == ["cs.CV"]
    assert subject_categories("Basket Weaving") == [] and category_from_code("ZZ") is None


def _long_input(k: int) -> str:
    return ("$x$ {a} \\emph{b} *c* m… (see more)ore " * (2500 * k)) + "{" * (625 * k) + "$" * (625 * k)


def _seconds(text: str) -> float:
    start = time.perf_counter()
    clean_abstract(text)
    return time.perf_counter() - start


def test_very_long_input_is_cleaned_in_linear_time():
    """8 times the input takes well under 24 times as long (a quadratic cleaner: 64 times). Timed
    against itself, interleaved, fastest of 3 each, so a busy machine slows both sides alike."""
    small, long = _long_input(1), _long_input(8)
    assert clean_abstract(long)[0].startswith("x a b c more")
    t_small = t_long = float("inf")
    for _ in range(3):
        t_small, t_long = min(t_small, _seconds(small)), min(t_long, _seconds(long))
    assert t_long < 24 * t_small


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_cleaning_never_raises_and_is_tidy(raw):
    out = clean_text(raw)
    assert out == out.strip() and "  " not in out
    assert isinstance(latex_to_text(raw), str) and isinstance(clean_abstract(raw)[0], str)
