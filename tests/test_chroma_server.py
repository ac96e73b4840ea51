"""Server mode against a real `chroma run` on 127.0.0.1, started by the test."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from netutil import free_port
from rag.errors import StoreError
from rag.ingest import ingest
from rag.settings import load_settings
from rag.stats import collect
from rag.store import ChunkStore


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    proc = subprocess.Popen([chroma, "run", "--path", str(tmp_path_factory.mktemp("chroma-server")),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma run did not answer its heartbeat within 60 s")
    yield port
    proc.terminate()
    proc.wait(timeout=20)


@pytest.mark.slow
def test_ingest_into_a_chroma_server_is_idempotent(chroma_server, monkeypatch):
    monkeypatch.setenv("RAG_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("RAG_CHROMA_PORT", str(chroma_server))
    settings = load_settings()
    first = ingest(settings=settings, say=lambda *a: None)
    second = ingest(settings=settings, say=lambda *a: None)
    assert first.papers == 45 and first.chunks_added > 45
    assert second.chunks_added == second.embedded == 0
    assert ChunkStore(settings).count() == first.chunks_added
    figures = collect(settings)
    assert figures["papers"] == 45 and figures["chunks_in_chroma"] == first.chunks_added
    assert "chroma server 127.0.0.1" in figures["store"]


def test_unreachable_server_is_a_store_error_naming_the_fix(monkeypatch):
    monkeypatch.setenv("RAG_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("RAG_CHROMA_PORT", str(free_port()))
    with pytest.raises(StoreError, match="chroma run"):
        ChunkStore(load_settings())
