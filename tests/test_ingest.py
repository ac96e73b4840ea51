"""Ingest against a real Chroma on a temp dir: idempotence, replacement, bad input, merging, kill -9."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import SEEDS
from rag.ingest import ingest
from rag.settings import load_settings
from rag.state import State
from rag.store import ChunkStore


def store_ids(settings) -> list[str]:
    return ChunkStore(settings).collection.get(include=[])["ids"]


def quiet(*_a, **_k):
    pass


@pytest.fixture
def settings():
    return load_settings()


@pytest.fixture
def seeds(tmp_path):
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    return folder


def test_sample_corpus_gives_45_papers(settings):
    report = ingest(settings=settings, say=quiet)
    assert report.ok, report.errors
    assert report.papers == 45 and report.duplicates_merged == 3
    assert report.chunks_added == ChunkStore(settings).count() > 45


def test_second_ingest_changes_nothing(settings, seeds):
    first = ingest([seeds], settings=settings, say=quiet)
    ids_before = sorted(store_ids(settings))
    second = ingest([seeds], settings=settings, say=quiet)
    assert (second.files_read, second.files_unchanged) == (0, 5)
    assert (second.chunks_added, second.chunks_updated, second.chunks_deleted, second.embedded) == (0, 0, 0, 0)
    assert second.chunks_unchanged == first.chunks_added
    assert sorted(store_ids(settings)) == ids_before


def test_touched_but_identical_file_is_reparsed_without_writes(settings, seeds):
    ingest([seeds], settings=settings, say=quiet)
    page = next(seeds.glob("000_*"))
    page.write_text(page.read_text() + "\n")
    report = ingest([seeds], settings=settings, say=quiet)
    assert report.files_read == 1
    assert (report.chunks_added, report.chunks_updated, report.embedded) == (0, 0, 0)


def test_changed_record_replaces_its_chunks(settings, seeds):
    ingest([seeds], settings=settings, say=quiet)
    page = next(seeds.glob("000_*"))
    text = page.read_text()
    page.write_text(text.replace("We will make our code and data publicly available.", "Code is released."))
    report = ingest([seeds], settings=settings, say=quiet)
    assert report.chunks_updated >= 1 and report.chunks_added == 0
    docs = ChunkStore(settings).collection.get(include=["documents"])["documents"]
    assert any("Code is released." in d for d in docs)
    assert not any("We will make our code and data publicly available." in d for d in docs)
    assert len(docs) == State(settings.state_path).chunk_count()


def test_bad_files_are_reported_and_the_rest_ingested(settings, seeds, tmp_path):
    ingest([seeds], settings=settings, say=quiet)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_text("")
    (bad / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    (bad / "latin1.txt").write_bytes("Caf\xe9 au lait\n".encode("latin-1"))
    (bad / "good.jsonl").write_text(json.dumps({"title": "A new paper on sparse training", "abstract": "We study sparsity."}) + "\n{broken\n")
    report = ingest([bad, tmp_path / "missing.txt"], settings=settings, say=quiet)
    assert not report.ok
    messages = "\n".join(str(e) for e in report.errors)
    for name in ("empty.txt", "image.png", "latin1.txt", "good.jsonl:2", "missing.txt"):
        assert name in messages
    assert report.papers == 46  # the 45 already stored are kept, and the good record is added


def test_a_file_that_breaks_keeps_what_it_gave_before(settings, tmp_path):
    page = tmp_path / "papers.jsonl"
    page.write_text(json.dumps({"title": "Sparse training at scale", "abstract": "We train sparse networks."}) + "\n")
    assert ingest([page], settings=settings, say=quiet).papers == 1
    page.write_bytes(b"\xff\xfe not utf-8 any more")
    report = ingest([page], settings=settings, say=quiet)
    assert not report.ok and report.papers == 1 and ChunkStore(settings).count() == 1


def test_same_paper_in_two_files_becomes_one_record_with_the_union(settings, tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps(
        {"title": "Top-KAST: Top-K Always Sparse Training", "authors": ["Siddhant M. Jayakumar"],
         "abstract": "Sparse neural networks are becoming increasingly important."}) + "\n")
    (tmp_path / "b.csv").write_text("title,arxiv_id,date\nTop-KAST: Top-K Always Sparse Training,2106.03517,2021-06-07\n")
    ingest([tmp_path / "a.jsonl"], settings=settings, say=quiet)
    report = ingest([tmp_path / "b.csv"], settings=settings, say=quiet)
    papers = State(settings.state_path).papers()
    assert report.papers == 1 and papers[0].id == "2106.03517"
    assert papers[0].date == "2021-06-07" and papers[0].authors == ["Siddhant M. Jayakumar"]
    assert {c.split("#")[0] for c in store_ids(settings)} == {"2106.03517"}


def write_arxiv_subset(arxiv_path, dest, n):
    with gzip.open(arxiv_path, "rt") as src, open(dest, "w") as out:
        for i, line in zip(range(n), src):
            out.write(line)


@pytest.mark.slow
def test_kill_9_mid_ingest_is_completed_without_duplicates_or_loss(settings, tmp_path, arxiv_path):
    subset = tmp_path / "subset.jsonl"
    write_arxiv_subset(arxiv_path, subset, 200)
    env = {**os.environ, "RAG_DATA_DIR": str(settings.data_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest", str(subset)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_file = settings.state_path
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
        if state_file.exists() and State(state_file).chunk_count() >= 100:  # part-way: the first batches stored, the rest not
            break
    assert proc.poll() is None, "ingest finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    report = ingest([subset], settings=settings, say=quiet)
    ids = store_ids(settings)
    assert report.ok and report.papers == 200
    assert len(ids) == len(set(ids)) == State(state_file).chunk_count()
    assert {i.split("#")[0] for i in ids} == {p.id for p in State(state_file).papers()}
    again = ingest([subset], settings=settings, say=quiet)
    assert (again.chunks_added, again.chunks_updated, again.embedded) == (0, 0, 0)


def test_llama_index_chroma_vector_store_reads_our_chunks_back(settings):
    from llama_index.core.vector_stores.types import VectorStoreQuery

    from rag.embeddings import get_embedder

    ingest(settings=settings, say=quiet)
    query = get_embedder().embed_query("gated linear recurrences with local attention").tolist()
    result = ChunkStore(settings).vector_store().query(VectorStoreQuery(query_embedding=query, similarity_top_k=3))
    assert len(result.nodes) == 3 and all(n.metadata["paper_id"] == n.node_id.split("#")[0] for n in result.nodes)
    assert "Griffin" in result.nodes[0].metadata["title"] + result.nodes[1].metadata["title"]
