"""Ingest through an embedding server (issue 16): it is kept busy, and an ingest stopped by the server
dying or by `kill -9` loses nothing and duplicates nothing; the next run embeds only what is missing.
Real Chroma, the real CLI in a child process, the fake embeddings server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from fake_embeddings import FakeEmbeddings

from rag.errors import EmbeddingError
from rag.ingest import PAPER_BATCH, ingest
from rag.settings import Settings
from rag.state import State
from rag.store import ChunkStore

WORDS = "sparse dense graph protein vision speech robot agent kernel tensor quantum market".split()
N = 2 * PAPER_BATCH + 88  # several batches of papers
PROBE = "dimension probe"


def quiet(*_):
    pass


@pytest.fixture
def corpus(tmp_path):
    """N one-chunk papers, each with words of its own."""
    path = tmp_path / "corpus.jsonl"
    with path.open("w") as out:
        for i in range(N):
            a, b = WORDS[i % 12], WORDS[(i // 12) % 12]
            out.write(json.dumps({"title": f"Study {i} of {a} {b} systems",
                                  "abstract": f"We examine {a} methods for {b} data, case {i}."}) + "\n")
    return path


def settings_for(fake: FakeEmbeddings, **kwargs) -> Settings:
    return Settings(embed_base_url=fake.base_url, embed_model="fake-embed", **kwargs)


def assert_complete(settings: Settings) -> None:
    """Every paper in the store once, state and Chroma agreeing."""
    ids = list(ChunkStore(settings).chunk_hashes())
    state = State(settings.state_path)
    assert len(ids) == len(set(ids)) == state.chunk_count() == N
    assert {i.split("#")[0] for i in ids} == {p.id for p in state.papers()}


def test_ingest_keeps_the_server_busy_with_requests_in_flight(corpus):
    with FakeEmbeddings() as fake:
        fake.service_time(0.01)
        report = ingest([corpus], settings=settings_for(fake, embed_concurrency=3), say=quiet)
    assert report.ok and report.embedded == N and fake.max_in_flight == 3


def test_a_server_that_dies_mid_ingest_loses_nothing_and_the_rerun_embeds_only_the_rest(corpus):
    with FakeEmbeddings() as fake:
        port, settings = fake._port, settings_for(fake, embed_max_retries=1)
        fake.service_time(0.01)

        def kill_when_busy():
            while len(fake.texts) < PAPER_BATCH + 60:
                time.sleep(0.005)
            fake.die()

        threading.Thread(target=kill_when_busy, daemon=True).start()
        with pytest.raises(EmbeddingError, match="cannot reach the embedding server"):
            ingest([corpus], settings=settings, say=quiet)
        first = [t for t in fake.texts if t != PROBE]
    assert 0 < State(settings.state_path).chunk_count() < N
    with FakeEmbeddings(port=port) as again:
        report = ingest([corpus], settings=settings, say=quiet)
        second = [t for t in again.texts if t != PROBE]
    assert report.ok and report.papers == N
    assert_complete(settings)
    assert not set(first) & set(second) and len(first) + len(second) == N  # nothing embedded twice


@pytest.mark.slow
def test_kill_9_mid_ingest_through_a_server_is_completed_without_duplicates_or_loss(corpus, data_dir):
    with FakeEmbeddings() as fake:
        settings = settings_for(fake)
        fake.service_time(0.3)  # 8 texts a request, 4 at once: about 6 s of embedding
        env = {**os.environ, "RAG_DATA_DIR": str(data_dir), "RAG_EMBED_BASE_URL": fake.base_url,
               "RAG_EMBED_MODEL": "fake-embed"}
        proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest", str(corpus)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
            if settings.state_path.exists() and State(settings.state_path).chunk_count() >= PAPER_BATCH:
                break
        assert proc.poll() is None, "ingest finished before it could be interrupted"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert State(settings.state_path).chunk_count() < N
        fake.service_time(0.0)
        report = ingest([corpus], settings=settings, say=quiet)
        assert report.ok and report.papers == N
        assert_complete(settings)
        again = ingest([corpus], settings=settings, say=quiet)
    assert (again.chunks_added, again.chunks_updated, again.embedded) == (0, 0, 0)
