"""The real local model fills one literature-table row: its JSON-schema-constrained reply parses
(llama.cpp turns the schema into a grammar) and the cells it states pass the check against the
record. One generation (seconds on two cores); the server is stopped afterwards."""

from __future__ import annotations

import json

import pytest

from rag.api import Assistant
from rag.ingest import ingest
from rag.settings import Settings

pytestmark = pytest.mark.slow
GRIFFIN = {"title": "Griffin: Mixing Gated Linear Recurrences with Local Attention for Efficient Language Models",
           "authors": ["Soham De"], "date": "2024-02-29",
           "abstract": "Recurrent neural networks (RNNs) have fast inference and scale efficiently on long sequences, "
                       "but they are difficult to train and hard to scale. We propose Hawk, an RNN with gated linear "
                       "recurrences, and Griffin, a hybrid model that mixes gated linear recurrences with local "
                       "attention. Griffin matches the performance of Llama-2 despite being trained on over 6 times "
                       "fewer tokens."}


def test_the_local_model_fills_a_row_that_parses_and_passes_the_check(tmp_path, local_model_file):
    (tmp_path / "griffin.jsonl").write_text(json.dumps(GRIFFIN) + "\n")
    ingest([tmp_path / "griffin.jsonl"], settings=Settings(data_dir=tmp_path / "data"), say=lambda *a: None)
    assistant = Assistant(Settings(data_dir=tmp_path / "data", backend="local", local_model_path=local_model_file))
    try:
        table = assistant.table("gated linear recurrences with local attention", "method, main result", limit=1)
    finally:
        assistant.chat_model.server.stop()
    (row,) = table.rows
    assert row.note == "" and table.model == "qwen2.5-coder-1.5b-instruct"
    assert any(c.stated for c in row.cells), [c.to_dict() for c in row.cells]
    assert all(c.score is not None for c in row.cells if c.stated)
