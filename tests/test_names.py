"""rag.parsers.names: one way to turn 'Last, First' round, whichever parser meets the name."""

from __future__ import annotations

import pytest

from rag.parsers.bibtex import parse_bib_authors
from rag.parsers.fields import split_author_string
from rag.parsers.names import flip_name, is_suffix, pair_last_first, parse_last_first_line


@pytest.mark.parametrize("parts, expected", [
    ([], ""),
    (["Plato"], "Plato"),
    (["He", "Bobby"], "Bobby He"),
    (["van der Berg", "Jan"], "Jan van der Berg"),
    (["Smith", "Jr."], "Smith Jr."),
    (["Ford", "III"], "Ford III"),
    (["King", "Jr.", "Martin Luther"], "Martin Luther King Jr."),
    (["King", "", "Martin"], "Martin King"),
    (["", "Bobby"], "Bobby"),
    (["Müller", "Jörg"], "Jörg Müller"),
])
def test_flip_name(parts, expected):
    assert flip_name(parts) == expected


def test_pair_last_first_keeps_an_odd_last_part():
    assert pair_last_first(["He", "Bobby", "Noci", "L."]) == ["Bobby He", "L. Noci"]
    assert pair_last_first(["He", "Bobby", "Plato"]) == ["Bobby He", "Plato"]
    assert pair_last_first([]) == []


@pytest.mark.parametrize("part, expected", [("Jr.", True), ("jr", True), ("IV", True), ("Junior", False), ("J.", False)])
def test_is_suffix(part, expected):
    assert is_suffix(part) is expected


def test_every_format_turns_a_name_round_the_same_way():
    expected = ["Bobby He", "Harm van Seijen"]
    assert parse_bib_authors("He, Bobby and van Seijen, Harm") == (expected, True)
    assert split_author_string("He, Bobby; van Seijen, Harm") == (expected, True)
    assert split_author_string("He, Bobby and van Seijen, Harm") == (expected, True)
    assert parse_last_first_line("He, Bobby, van Seijen, Harm") == expected


def test_a_suffix_stays_after_the_surname_in_every_format():
    assert parse_bib_authors("Smith, Jr. and King, Jr., Martin")[0] == ["Smith Jr.", "Martin King Jr."]
    assert split_author_string("Smith, Jr.; Doe, Jane")[0] == ["Smith Jr.", "Jane Doe"]
    assert split_author_string("Smith, Jr.")[0] == ["Smith Jr."]
