"""rag.parsers.latex: one LaTeX-to-text pipeline, lenient for pages and JSON, thorough for BibTeX."""

from __future__ import annotations

import pytest

from rag.parsers.fields import clean
from rag.parsers.latex import latex_to_text, latex_to_unicode, strip_latex
from rag.parsers.text import clean_text


@pytest.mark.parametrize("raw, expected", [
    ("", ""),
    ("plain", "plain"),
    ('M{\\"u}ller', "Müller"),
    ("Jos\\'e", "José"),
    ("Garc{\\'\\i}a", "García"),
    ("{\\ss}", "ß"),
    ("Dvo\\v{r}\\'ak", "Dvořák"),
    ("Fran\\c{c}ois", "François"),
    ("\\textit{x}", "\\textit{x}"),  # markup is not an accent: left for latex_to_text
])
def test_latex_to_unicode(raw, expected):
    assert latex_to_unicode(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("", ""),
    ("{BERT} and {Deep {Nested}} Models for $\\alpha$-Nets", "BERT and Deep Nested Models for α-Nets"),
    ("\\emph{Fast} --- and \\LaTeX{} 40\\% less", "Fast — and 40% less"),
    ("pages 1--2, a~b", "pages 1–2, a b"),
    ("{1, 2, 3} \\relax ok", "1, 2, 3 ok"),
    ("Caf\\'e \\& {\\o}l", "Café & øl"),
])
def test_strip_latex_removes_every_command_and_brace(raw, expected):
    assert strip_latex(raw) == expected


@pytest.mark.parametrize("raw", ["$\\alpha$-Nets", "70\\% of \\textit{x}", "$\\frac{a}{b}$", "\\cite{k} done"])
def test_bibtex_pages_and_json_share_the_markup_rules(raw):
    assert strip_latex(raw) == clean_text(raw) == clean(raw) == " ".join(latex_to_text(raw).split())


def test_latex_to_text_leaves_what_it_does_not_know():
    assert latex_to_text("{1, 2} and \\foo and O(d^2)") == "{1, 2} and \\foo and O(d^2)"
    assert strip_latex("{1, 2} and \\foo and O(d^2)") == "1, 2 and and O(d^2)"
