"""`rag doctor`: check the installation and say what to fix, one line per check.

    for check in run_checks(settings): print(check.status, check.name, check.detail, check.fix)

Checks, in order: the embedding model (the bundled one and its tokenizer, or one request to the
embedding server), the bundled tiktoken and sentence-splitter data, the local model's 22 parts
(present, size, sha256), the assembled model file, the llama.cpp runtime (and, unless `quick`, a
one-token generation through a real server start), the data directory, and the store (papers,
chunks in Chroma, BM25 index in step, and the embedding model that built it, which must be the one
in use). A check is "ok", "warn" (works, but something is worth knowing) or "fail" (a command will
not work until it is fixed).
Reads only, except that the full run may assemble the local model once, as first use would.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.errors import RagError


@dataclass
class Check:
    name: str
    status: str  # "ok" | "warn" | "fail"
    detail: str
    fix: str = ""


def _embedding(settings) -> Check:
    from rag.embeddings import TOKENIZER_PATH, embedder_for, model_info

    if not TOKENIZER_PATH.is_file():
        return Check("embedding model", "fail", f"tokenizer file missing: {TOKENIZER_PATH}",
                     "reinstall: pip install --force-reinstall paper-rag")
    started = time.perf_counter()
    embedder = embedder_for(settings)
    vec = embedder.embed(["doctor check"])
    ms = (time.perf_counter() - started) * 1000
    if settings.embed_base_url is None:
        return Check("embedding model", "ok", f"{settings.embed_model} int8 ONNX, {vec.shape[1]} dims ({ms:.0f} ms)")
    limit = embedder.input_limit
    return Check("embedding model", "ok", f"{model_info(embedder).describe()}, inputs up to {limit.tokens} "
                 f"{limit.unit} ({ms:.0f} ms for one text)")


def _text_data(settings) -> Check:
    import llama_index.core

    static = Path(llama_index.core.__file__).parent / "_static"
    missing = [name for name in ("tiktoken_cache", "nltk_cache") if not (static / name).is_dir()]
    if missing:
        return Check("tokenizer caches", "fail", f"llama-index is missing {', '.join(missing)} in {static}",
                     "reinstall: pip install --force-reinstall llama-index-core==0.14.25")
    from rag.chunking import tiktoken_encoder

    n = len(tiktoken_encoder().encode("offline tokenizer check"))
    return Check("tokenizer caches", "ok", f"tiktoken cl100k_base and nltk punkt bundled with llama-index ({n} tokens)")


def _parts(settings, quick: bool) -> Check:
    from rag.local_model import PARTS, TOTAL_BYTES, check_parts, problem_fixes

    if settings.local_model_path:
        return Check("local model parts", "ok", "not needed: RAG_LOCAL_MODEL_PATH is set")
    problems = check_parts(hash_them=not quick)
    if problems:
        status = "warn" if settings.backend != "local" else "fail"
        fixes = problem_fixes(problems)
        return Check("local model parts", status, "; ".join(w for w, _ in fixes), "; ".join(f for _, f in fixes))
    how = "sizes checked" if quick else "sha256 of each checked"
    return Check("local model parts", "ok", f"{len(PARTS)} parts installed, {TOTAL_BYTES / 1e9:.2f} GB, {how}")


def _model_file(settings, quick: bool) -> Check:
    from rag.local_model import SHA256, check_parts, ensure_model, model_file, verify_file

    path = model_file(settings)
    if settings.local_model_path:
        ok = Path(path).expanduser().is_file()
        return Check("local model file", "ok" if ok else "fail", str(path),
                     "" if ok else "fix RAG_LOCAL_MODEL_PATH, or unset it to use the bundled model")
    if not path.is_file():
        if check_parts(hash_them=False) or quick:
            return Check("local model file", "warn", f"not assembled yet: {path}", "it is assembled on first use")
        ensure_model(settings)
        return Check("local model file", "ok", f"assembled now and verified: {path}")
    if not quick and not verify_file(path):
        return Check("local model file", "fail", f"{path} does not match sha256 {SHA256[:12]}...",
                     f"delete it (rm '{path}') and run rag doctor again: it is reassembled from the parts")
    size = path.stat().st_size / 1e9
    return Check("local model file", "ok", f"{path} ({size:.2f} GB{', sha256 verified' if not quick else ''})")


def _runtime(settings, quick: bool) -> Check:
    from rag.local_server import runtime_available

    if not runtime_available():
        status = "fail" if settings.backend == "local" else "warn"
        return Check("local runtime", status, "xllamacpp (llama.cpp) is not installed",
                     "pip install 'paper-rag[local]'")
    from importlib.metadata import version

    detail = f"xllamacpp {version('xllamacpp')}"
    if quick:
        return Check("local runtime", "ok", detail + " (server not started: --quick)")
    from rag.llm import LocalChatModel

    started = time.perf_counter()
    model = LocalChatModel(settings)
    try:
        model.warm_up()
        load_s = time.perf_counter() - started
        done = model.complete([{"role": "user", "content": "Reply with the word: ready"}], max_tokens=4)
    finally:
        model.server.stop()
    return Check("local runtime", "ok", f"{detail}; server loaded in {load_s:.1f} s on 127.0.0.1, "
                 f"test reply {done.text.strip()[:20]!r} in {done.total_ms / 1000:.1f} s")


def _data_dir(settings) -> Check:
    folder = Path(settings.data_dir)
    probe = folder if folder.exists() else next((p for p in folder.absolute().parents if p.exists()), Path("/"))
    if not os.access(probe, os.W_OK):
        return Check("data directory", "fail", f"{folder} is not writable", "set RAG_DATA_DIR to a writable folder")
    return Check("data directory", "ok", f"{folder.absolute()}" + ("" if folder.exists() else " (created on first use)"))


def _store(settings) -> Check:
    from rag.bm25 import state_digest, stored_digest
    from rag.embeddings import expected_model
    from rag.state import State
    from rag.store import ChunkStore

    if not settings.state_path.exists():
        return Check("store", "warn", "nothing indexed yet", "rag ingest PATH (or rag ingest for the built-in sample)")
    state = State(settings.state_path)
    try:
        papers, chunks, digest = state.paper_count(), state.chunk_count(), state_digest(state)
    finally:
        state.close()
    store = ChunkStore(settings, check_model=False)
    in_chroma, built, wanted = store.count(), store.embedding_model(), expected_model(settings)
    if built is not None and not built.same_space(wanted):
        return Check("store", "fail", f"built with {built.describe()}, but the settings ask for {wanted.describe()}",
                     "point RAG_EMBED_MODEL (and RAG_EMBED_BASE_URL) at the store's model, or ingest into a new "
                     "collection: RAG_COLLECTION=NAME rag ingest PATH")
    if in_chroma != chunks:
        return Check("store", "fail", f"{chunks} chunks recorded but {in_chroma} in Chroma",
                     "rag ingest again with the same paths: it repairs the store")
    if stored_digest(settings) != digest:
        return Check("store", "fail", "the BM25 index is out of step with the store",
                     "rag ingest again with the same paths: it rebuilds the index")
    from rag.vectors import dense_search

    model = f", built with {built.describe()}" if built else ""
    return Check("store", "ok", f"{papers} papers, {chunks} chunks in Chroma, BM25 index in step{model}; "
                 f"{dense_search(settings, chunks, digest)}")


def run_checks(settings, *, quick: bool = False) -> Iterator[Check]:
    steps: list[tuple[str, Callable[[], Check]]] = [
        ("embedding model", lambda: _embedding(settings)),
        ("tokenizer caches", lambda: _text_data(settings)),
        ("local model parts", lambda: _parts(settings, quick)),
        ("local model file", lambda: _model_file(settings, quick)),
        ("local runtime", lambda: _runtime(settings, quick)),
        ("data directory", lambda: _data_dir(settings)),
        ("store", lambda: _store(settings)),
    ]
    for name, step in steps:
        try:
            yield step()
        except RagError as exc:
            yield Check(name, "fail", str(exc))  # its message names the fix
