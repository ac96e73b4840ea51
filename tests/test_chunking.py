import pytest

from rag.chunking import MAX_WORD_PIECES, chunk_record, count_word_pieces, header_for
from rag.records import Record

LONG = " ".join(f"Sentence {i} studies plasticity loss in deep reinforcement learning agents." for i in range(80))


def make(**kw):
    base = dict(title="Griffin: Mixing Gated Linear Recurrences", authors=["Soham De", "Samuel L. Smith", "Anushan Fernando", "Aleksandar Botev"],
                date="2024-02-29", abstract="We propose Hawk and Griffin.")
    return Record(**{**base, **kw})


def test_header_has_title_first_authors_and_year():
    assert header_for(make()) == "Griffin: Mixing Gated Linear Recurrences\nSoham De, Samuel L. Smith, Anushan Fernando et al. (2024)"


def test_header_without_title_or_authors_is_just_the_year():
    assert header_for(make(title=None, authors=[], abstract="x")) == "(2024)"


@pytest.mark.parametrize("abstract", [LONG, "ünïcödé 🙂 " * 400, "a" * 5000, "word " * 1000])
def test_every_chunk_fits_the_model_window(abstract):
    chunks = chunk_record(make(abstract=abstract))
    assert len(chunks) > 1
    assert all(count_word_pieces(c.embed_text) <= MAX_WORD_PIECES for c in chunks)


def test_chunks_cover_the_abstract_in_order():
    chunks = chunk_record(make(abstract=LONG))
    assert chunks[0].text.startswith("Sentence 0 ")
    assert chunks[-1].text.endswith("Sentence 79 studies plasticity loss in deep reinforcement learning agents.")
    assert [c.id for c in chunks] == [f"{chunks[0].paper_id}#{i}" for i in range(len(chunks))]


def test_chunk_carries_filter_metadata():
    meta = chunk_record(make(categories=["cs.LG"], venue="ICML"))[0].metadata
    assert meta["authors"][0] == "Soham De" and meta["year"] == 2024
    assert meta["venue"] == "ICML" and meta["categories"] == ["cs.LG"] and meta["chunk_index"] == 0


def test_hash_is_stable_and_changes_with_content():
    a, b = chunk_record(make())[0], chunk_record(make())[0]
    changed = chunk_record(make(abstract="We propose Hawk, and Griffin."))[0]
    assert a.hash == b.hash and a.id == changed.id and a.hash != changed.hash


def test_record_without_abstract_gets_one_header_chunk():
    chunks = chunk_record(make(abstract=None))
    assert len(chunks) == 1 and chunks[0].text.startswith("Griffin")
