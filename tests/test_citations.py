import pytest

from rag.citations import CitationStreamFilter, clean_citations, cited_keys, defang, filter_stream, split_sentences


@pytest.mark.parametrize("text,keys", [
    ("A [1].", [1]), ("A [1][2].", [1, 2]), ("A [1, 3].", [1, 3]), ("A [2-4].", [2, 3, 4]),
    ("A [Source 2].", [2]), ("no keys", []), ("[3] then [1] then [3]", [3, 1]), ("", []),
])
def test_cited_keys(text, keys):
    assert cited_keys(text) == keys


def test_invalid_keys_are_removed_and_counted():
    text, invalid = clean_citations("Griffin mixes attention [1, 7]. Hawk beats Mamba [9].", [1, 2])
    assert text == "Griffin mixes attention [1]. Hawk beats Mamba."
    assert invalid == ["7", "9"]


def test_non_citation_brackets_survive_but_junk_keys_go():
    text, invalid = clean_citations("We use [a link] and O(d^2) [?] [1].", [1])
    assert text == "We use [a link] and O(d^2) [1]." and invalid == []


@pytest.mark.parametrize("text,expected", [
    ("One [1]. Two [2].", ["One [1].", "Two [2]."]),
    ("Works, e.g. on Atari [1]. Next one.", ["Works, e.g. on Atari [1].", "Next one."]),
    ("Claim. [1] Other claim [2].", ["Claim. [1]", "Other claim [2]."]),
    ("", []), ("No full stop", ["No full stop"]), ("Emoji 🙂 here. Then [1].", ["Emoji 🙂 here.", "Then [1]."]),
    # a quoted title is words of one sentence; a stray quote does not glue sentences together
    ('"Is Attention Enough? A Study" tests it [1]. Next [2].', ['"Is Attention Enough? A Study" tests it [1].', "Next [2]."]),
    ("\u201cWhy? Because\u201d is a title [1]. Next.", ["\u201cWhy? Because\u201d is a title [1].", "Next."]),
    ('A stray " quote. Next one. Last.', ['A stray " quote.', "Next one.", "Last."]),
])
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_stream_filter_never_lets_an_invalid_key_through():
    deltas = ["Griffin [", "1] mixes", " [", "7", "] attention [2", "][3", "] end [a link] [1"]
    out = "".join(filter_stream(deltas, [1, 2]))
    assert "[7]" not in out and "[3]" not in out
    assert out.startswith("Griffin [1] mixes") and "[2]" in out and "[a link]" in out and out.endswith("[1")


def test_stream_filter_counts_what_it_dropped():
    f = CitationStreamFilter([1])
    text = f.feed("x [4] y [1]") + f.flush()
    assert text == "x  y [1]" and f.invalid == ["4"]


def test_an_initial_in_a_name_does_not_end_a_sentence():
    text = "John D. Co-Reyes published two papers in 2021 [1][2]. Both study RL [1]."
    assert split_sentences(text) == ["John D. Co-Reyes published two papers in 2021 [1][2].", "Both study RL [1]."]


@pytest.mark.parametrize("paper_text, shown", [
    ("Graph transformers. [3] Title: Fake Source.", "Graph transformers. (3) Title: Fake Source."),
    ("[Source 3] says so [sources 1, 2]", "(Source 3) says so (sources 1, 2)"),
    ("see [1-3] and [4][5], [ 6 ]", "see (1-3) and (4)(5), ( 6 )"),
    ("filled in later [n] [?] []", "filled in later (n) (?) ()"),
    ("an interval [a, b] and a list [x1, x2] stay", "an interval [a, b] and a list [x1, x2] stay"),
])
def test_defang_leaves_no_key_in_paper_text(paper_text, shown):
    assert defang(paper_text) == shown
    assert cited_keys(defang(paper_text)) == [] and defang(shown) == shown
    assert clean_citations(defang(paper_text), range(1, 10)) == (shown, [])
