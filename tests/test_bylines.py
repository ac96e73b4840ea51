"""One byline for every caller, and each caller's output byte-identical to what it built before
(the old builders are kept here as reference implementations: chunk text feeds the embeddings, so
the chunk header must not change by a byte)."""

from __future__ import annotations

import pytest

from rag.answer import format_source
from rag.bylines import byline
from rag.chunking import HEADER_AUTHORS, author_line, header_for
from rag.records import Record
from rag.types import Answer, Citation, Passage

AUTHORS = [[], [""], ["Ada Lovelace"], ["Ada Lovelace", "", "Alan Turing"], ["A", "B", "C"], ["A", "B", "C", "D"],
           [f"Author {i}" for i in range(9)], ["Zoë Ünal", "李 雷", "O'Neil [3]"]]
WHEN = [(None, None), (2023, None), (None, "NeurIPS"), (2023, "NeurIPS"), (0, "")]


def old_author_line(authors, complete):
    if not authors:
        return ""
    return ", ".join(authors[:3]) + (" et al." if len(authors) > 3 or not complete else "")


def old_card(authors, year, venue, limit=4):
    names = [a for a in authors if a]
    who = ", ".join(names[:limit]) + (" et al." if len(names) > limit else "") if names else "unknown authors"
    return " · ".join(x for x in [who, str(year) if year else "", venue or ""] if x)


def old_cli(authors, year, venue):
    who = ", ".join(authors[:3]) + (" et al." if len(authors) > 3 else "") if authors else "unknown authors"
    return who, ", ".join(str(x) for x in (year, venue) if x)


def test_the_example_in_the_docstring():
    assert byline(["Ada Lovelace", "Alan Turing"], limit=1, year=2023, venue="NeurIPS") == \
        "Ada Lovelace et al., 2023, NeurIPS"
    assert byline([], unknown="unknown authors", sep=" · ", year=2020) == "unknown authors · 2020"
    assert byline(["A"], complete=False) == "A et al."


@pytest.mark.parametrize("authors", AUTHORS)
@pytest.mark.parametrize("complete", [True, False])
def test_the_chunk_header_is_unchanged(authors, complete):
    assert author_line(authors, complete) == old_author_line(authors, complete)
    record = Record(id="p", title="T", authors=authors, date="2021-05-01", authors_complete=complete)
    assert header_for(record) == "\n".join(["T"] + [x for x in [f"{old_author_line(authors, complete)} (2021)".strip()]
                                                    if x])


@pytest.mark.parametrize("authors", AUTHORS)
@pytest.mark.parametrize("year, venue", WHEN)
def test_cards_and_cli_references_are_unchanged(authors, year, venue, capsys):
    from rag.cli import _print_answer
    from rag.ui.render import card_html, esc

    c = Citation(key=1, paper_id="p", title="T", authors=authors, year=year, venue=venue, passage="x.")
    assert f'<span class="rag-byline">{esc(old_card(authors, year, venue))}</span>' in card_html(c)
    _print_answer(Answer(question="q", text="x [1].", citations=[c]))
    who, where = old_cli(authors, year, venue)
    assert f"  [1] T - {who}" + (f" ({where})" if where else "") + "  [p]\n" in capsys.readouterr().out


@pytest.mark.parametrize("authors", AUTHORS)
@pytest.mark.parametrize("year, venue", WHEN)
def test_the_source_the_model_reads_is_unchanged(authors, year, venue):
    p = Passage(paper_id="p", chunk_id="p#0", text="Body.", title="T", authors=authors, year=year, venue=venue,
                score=1.0, authors_complete=len(authors) != 1)
    old = ", ".join(x for x in [old_author_line(authors, p.authors_complete), str(year or ""), venue or ""] if x)
    old = " ".join(old.split()).replace("[3]", "(3)") or "unknown authors"
    assert format_source(2, p) == f"[2] T ({old})\nBody."
    assert HEADER_AUTHORS == 3
