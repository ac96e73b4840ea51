"""rag.chunking.use_bundled_tiktoken: the one tiktoken set-up, for the chunker and the eval baseline."""

from __future__ import annotations

import os
from pathlib import Path

from rag.chunking import tiktoken_encoder, use_bundled_tiktoken


def test_points_tiktoken_at_llama_index_s_bundled_vocabularies(monkeypatch):
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    use_bundled_tiktoken()
    folder = Path(os.environ["TIKTOKEN_CACHE_DIR"])
    assert folder.parts[-2:] == ("_static", "tiktoken_cache")
    assert any(folder.iterdir())


def test_keeps_a_cache_dir_the_user_set(monkeypatch, tmp_path):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    use_bundled_tiktoken()
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(tmp_path)


def test_the_eval_baseline_s_tokenizer_is_the_same_offline_cl100k():
    from llama_index.core.utils import get_tokenizer

    use_bundled_tiktoken()
    text = "offline tokenizer check, with ünïcode"
    assert get_tokenizer()(text) == tiktoken_encoder().encode(text)
