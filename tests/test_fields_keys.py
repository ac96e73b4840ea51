"""rag.parsers.fields: field names normalised once per distinct name and per set of names."""

from __future__ import annotations

from rag.parsers.fields import norm_key, normalise_keys


def test_norm_key_tells_equal_hashing_keys_apart():
    # True == 1 and hash(True) == hash(1): a cache keyed on the raw key would mix them up
    assert [norm_key(1), norm_key(True), norm_key(1.0), norm_key("1")] == ["1", "true", "1.0", "1"]
    assert norm_key(" Publication-Date ") == "publication_date"


def test_normalise_keys_returns_normal_rows_themselves():
    row = {"title": "T", "publication_date": "2024"}
    assert normalise_keys(row) is row
    assert normalise_keys(dict(row)) == row


def test_normalise_keys_renames_and_the_first_of_clashing_names_wins():
    assert normalise_keys({"Title": "A", "title": "B", "Pub Date": "2024"}) == {"title": "A", "pub_date": "2024"}
    assert normalise_keys({2024: "x", "abstract": "y"}) == {"2024": "x", "abstract": "y"}
