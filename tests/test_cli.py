"""The `rag` command as a user runs it: output shapes, exit statuses, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from fake_openai import fake_openai  # noqa: F401  (a fixture)
from rag.cli import main
from rag.records import RECORD_FIELDS


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_parse_prints_one_json_record_per_line_with_exactly_the_fields():
    result = run("parse")
    lines = result.output.strip().splitlines()
    assert result.exit_code == 0 and len(lines) == 45
    assert all(tuple(json.loads(line)) == RECORD_FIELDS for line in lines)


def test_parse_summary_counts_per_file():
    result = run("parse", "--summary")
    assert result.exit_code == 0
    assert "total: 48 records in 5 files, 3 duplicates merged, 45 unique papers" in result.output
    assert result.output.count("authorpage") == 2


def test_ingest_then_stats_json():
    assert run("ingest").exit_code == 0
    figures = json.loads(run("stats", "--json").output)
    assert figures["papers"] == 45 and figures["chunks"] == figures["chunks_in_chroma"] > 45


def test_ask_says_why_it_does_not_answer():
    assert run("ingest").exit_code == 0
    result = run("ask", "--backend", "extractive", "What is the boiling point of seawater on Mars in kelvin?")
    assert result.exit_code == 0
    assert "The collection does not answer this.\nWhy: No paper in the collection is close enough" in result.output
    filtered = run("ask", "--backend", "extractive", "--author", "Nobody Atall", "Which paper proposes Griffin?")
    assert "Why: No paper in the collection matches the filters." in filtered.output


def test_stats_on_an_empty_data_dir_says_zero():
    assert json.loads(run("stats", "--json").output)["papers"] == 0


def test_user_mistakes_give_one_line_and_status_1_without_traceback(tmp_path):
    (tmp_path / "prose.txt").write_text("Dear reader,\nthis is a letter, not a list of papers.\n")
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "parse", str(tmp_path / "prose.txt"),
                           str(tmp_path / "missing.bib")], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "prose.txt: no known layout" in proc.stderr and "missing.bib: no such file" in proc.stderr


def test_bad_setting_is_reported_not_raised(monkeypatch):
    monkeypatch.setenv("RAG_CHUNK_TOKENS", "lots")
    result = run("stats")
    assert result.exit_code == 1 and "RAG_CHUNK_TOKENS" in result.output


def test_chat_rejects_a_malformed_auth_and_a_busy_port():
    import socket

    result = run("chat", "--auth", "alice")
    assert result.exit_code == 1 and "--auth takes USER:PASSWORD" in result.output
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("chat", "--port", str(port))
    assert result.exit_code == 1
    assert f"cannot serve the chat UI on 127.0.0.1:{port}" in result.output and "--port N" in result.output
    assert "Traceback" not in result.output


def test_ask_says_when_the_answer_was_written_again_from_the_best_paper(fake_openai):
    assert run("ingest").exit_code == 0
    fake_openai.enqueue("RecurrentGemma uses the Griffin architecture, which combines linear recurrences with "
                        "local attention [2].")
    env = {"RAG_LLM_BASE_URL": fake_openai.base_url, "RAG_LLM_MODEL": "fake-model"}
    result = CliRunner().invoke(main, ["ask", "--backend", "openai", "Which paper proposes Griffin, a hybrid of "
                                       "gated linear recurrences and local attention?"], env=env)
    assert result.exit_code == 0 and len(fake_openai.requests) == 2
    assert "(written again from [1], the best-ranked paper" in result.output
    assert "[1] Griffin: Mixing Gated Linear Recurrences" in result.output
