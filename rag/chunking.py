"""Records to chunks: token-aware, sentence-respecting pieces of each abstract, each with a header.

A chunk's embedded text is its header (title, first authors, year) plus its body. Bodies are cut
with llama-index's `SentenceSplitter` measured in tiktoken cl100k tokens, then checked against the
input window of the embedding model in use (`InputLimit`): MiniLM's 256 word pieces, counted with
its own tokenizer (the default), or a server model's configured limit in cl100k tokens. Any chunk
that would not fit is cut again, so no text is silently truncated by the model. Chunk ids are
`<paper id>#<n>`, stable for unchanged text; `Chunk.hash` changes whenever anything that is embedded or filtered on changes.

This module does not embed or store anything.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rag.bylines import byline
from rag.records import Record

MAX_WORD_PIECES = 256
HEADER_AUTHORS = 3


def use_bundled_tiktoken() -> None:
    """Point tiktoken at the vocabularies llama-index ships, so nothing is downloaded.

    Call it before tiktoken (or llama-index's `get_tokenizer`) first loads an encoding; a
    TIKTOKEN_CACHE_DIR the user set is kept.
    """
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        import llama_index.core

        os.environ["TIKTOKEN_CACHE_DIR"] = str(Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache")


@lru_cache(maxsize=1)
def tiktoken_encoder():
    use_bundled_tiktoken()
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


@lru_cache(maxsize=1)
def _word_piece_tokenizer():
    from rag.embeddings import load_tokenizer

    tok = load_tokenizer(max_length=100_000)
    tok.no_padding()
    return tok


def count_word_pieces(text: str) -> int:
    """Word pieces MiniLM sees for `text`, [CLS] and [SEP] included."""
    return len(_word_piece_tokenizer().encode(text).ids)


@dataclass(frozen=True, slots=True)
class InputLimit:
    """An embedding model's input window: at most `tokens` per text, as `count` (texts -> counts) measures."""

    tokens: int
    unit: str
    count: Callable[[list[str]], list[int]] = field(compare=False, repr=False)


def _word_pieces(texts: list[str]) -> list[int]:
    return [len(e.ids) for e in _word_piece_tokenizer().encode_batch(texts)]


def _cl100k_tokens(texts: list[str]) -> list[int]:
    encode = tiktoken_encoder().encode_ordinary  # not encode_ordinary_batch: it starts a thread pool per call
    return [len(encode(t)) for t in texts]


MINILM_LIMIT = InputLimit(MAX_WORD_PIECES, "MiniLM word pieces", _word_pieces)


def token_limit(tokens: int) -> InputLimit:
    """The window of a model known only by its limit: counted in cl100k tokens, the chunker's own measure."""
    return InputLimit(tokens, "cl100k tokens", _cl100k_tokens)


@lru_cache(maxsize=8)
def _splitter(chunk_tokens: int, overlap: int):
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(
        chunk_size=chunk_tokens, chunk_overlap=overlap, tokenizer=tiktoken_encoder().encode,
        include_metadata=False, include_prev_next_rel=False,
    )


@dataclass(slots=True)
class Chunk:
    """One piece of one paper: the passage text, the header it is embedded with, filter metadata."""

    id: str
    paper_id: str
    index: int
    text: str
    header: str
    metadata: dict = field(default_factory=dict)
    hash: str = ""

    @property
    def embed_text(self) -> str:
        return f"{self.header}\n{self.text}" if self.header else self.text


def author_line(authors: list[str], complete: bool) -> str:
    """The authors as a chunk header names them: the first HEADER_AUTHORS, "et al." for the rest."""
    return byline(authors, limit=HEADER_AUTHORS, complete=complete)


def header_for(record: Record) -> str:
    """'Title\\nFirst Author, Second Author et al. (2023)': what a reader needs to place a passage."""
    parts = []
    if record.title:
        parts.append(record.title)
    byline = author_line(record.authors, record.authors_complete)
    if record.year:
        byline = f"{byline} ({record.year})".strip()
    if byline:
        parts.append(byline)
    return "\n".join(parts)


def chunk_metadata(record: Record) -> dict:
    """Flat filter metadata for Chroma (lists of strings allowed; no None values)."""
    return {
        "paper_id": record.id,
        "title": record.title or "",
        "authors": list(record.authors) or [""],
        "year": record.year or 0,
        "date": record.date or "",
        "venue": record.venue or "",
        "categories": list(record.categories) or [""],
        "arxiv_id": record.arxiv_id or "",
    }


def _fit_header(header: str, limit: InputLimit) -> str:
    """A header so long it leaves under half the window for text is cut to its first line (the title)."""
    half = limit.tokens // 2
    if limit.count([header])[0] <= half:
        return header
    title = header.split("\n", 1)[0]
    words = title.split()
    while words and limit.count([" ".join(words)])[0] > half:
        words = words[: len(words) * 3 // 4]
    return " ".join(words)


def _split_bodies(header: str, body: str, chunk_tokens: int, overlap: int, limit: InputLimit) -> list[str]:
    """Cut `body` into pieces whose embedded text (header + piece) fits the model's window."""
    pieces = _splitter(chunk_tokens, overlap).split_text(body) or [body]
    if chunk_tokens <= 32:
        return pieces
    fitted: list[str] = []
    counts = limit.count([f"{header}\n{p}" if header else p for p in pieces])
    for piece, n in zip(pieces, counts):
        fitted.extend([piece] if n <= limit.tokens else
                      _split_bodies(header, piece, max(32, chunk_tokens * 2 // 3), overlap // 2, limit))
    return fitted


def chunk_record(record: Record, *, chunk_tokens: int = 160, overlap: int = 24,
                 limit: InputLimit = MINILM_LIMIT) -> list[Chunk]:
    """The chunks of one record, each fitting `limit` (the embedding model's window). A record without
    an abstract gets one chunk: its header."""
    header = _fit_header(header_for(record), limit)
    body = record.abstract or ""
    bodies = _split_bodies(header, body, chunk_tokens, overlap, limit) if body.strip() else [""]
    meta = chunk_metadata(record)
    chunks = []
    for i, text in enumerate(bodies):
        chunk = Chunk(id=f"{record.id}#{i}", paper_id=record.id, index=i, text=text or header,
                      header=header if text else "", metadata={**meta, "chunk_index": i})
        chunk.hash = chunk_hash(chunk)
        chunks.append(chunk)
    return chunks


def chunk_hash(chunk: Chunk) -> str:
    payload = json.dumps([chunk.text, chunk.header, chunk.metadata], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]
