"""What the store holds, kept beside it in SQLite so an ingest can be resumed, repeated or diffed.

Tables:
    files   one row per ingested file: its sha256 and the records its parser gave (zlib JSON)
    papers  one row per merged paper: its record JSON and the hash of everything chunked from it
    chunks  one row per chunk written (or about to be written) to Chroma, with its content hash

Chunk rows are written *before* Chroma is touched (`committed = 0`) and marked committed after,
so after a crash (even kill -9) every chunk that might be in Chroma is known here, and the next
ingest redoes the uncommitted ones. Chroma upserts and deletes are idempotent, so redoing is safe.
This module stores bookkeeping only; it does not parse, embed or talk to Chroma.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterable
from pathlib import Path

from rag.records import Record

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, layout TEXT, n_records INTEGER NOT NULL,
    records BLOB NOT NULL, ingested_at TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS papers (id TEXT PRIMARY KEY, chunk_hash TEXT NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, paper_id TEXT NOT NULL, hash TEXT NOT NULL, committed INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_paper ON chunks (paper_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def encode_records(records: Iterable[Record]) -> bytes:
    return zlib.compress(json.dumps([r.to_dict() for r in records], ensure_ascii=False).encode(), 3)


def decode_records(blob: bytes) -> list[Record]:
    return [Record.from_dict(d) for d in json.loads(zlib.decompress(blob))]


class State:
    """The ingest bookkeeping database under the data directory."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # files
    def file_sha(self, path: str) -> str | None:
        row = self.db.execute("SELECT sha256 FROM files WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None

    def put_file(self, path: str, sha256: str, layout: str | None, records: list[Record]) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO files (path, sha256, layout, n_records, records) VALUES (?, ?, ?, ?, ?)",
                (path, sha256, layout, len(records), encode_records(records)),
            )

    def all_file_records(self) -> list[Record]:
        out: list[Record] = []
        for (blob,) in self.db.execute("SELECT records FROM files ORDER BY rowid"):
            out.extend(decode_records(blob))
        return out

    def file_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM files").fetchone()[0]

    # papers
    def paper_hashes(self) -> dict[str, tuple[str, str]]:
        """paper id -> (chunk hash, record JSON)."""
        return {pid: (h, rec) for pid, h, rec in self.db.execute("SELECT id, chunk_hash, record FROM papers")}

    def papers(self) -> list[Record]:
        return [Record.from_dict(json.loads(r)) for (r,) in self.db.execute("SELECT record FROM papers ORDER BY rowid")]

    def paper_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM papers").fetchone()[0]

    def put_papers(self, rows: list[tuple[str, str, str]]) -> None:
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO papers (id, chunk_hash, record) VALUES (?, ?, ?)", rows)

    def delete_papers(self, ids: list[str]) -> None:
        with self.db:
            self.db.executemany("DELETE FROM papers WHERE id = ?", [(i,) for i in ids])

    # chunks (write-ahead)
    def chunk_rows(self) -> dict[str, list[tuple[str, str, int]]]:
        """paper id -> [(chunk id, hash, committed)]."""
        out: dict[str, list[tuple[str, str, int]]] = {}
        for cid, pid, h, committed in self.db.execute("SELECT id, paper_id, hash, committed FROM chunks"):
            out.setdefault(pid, []).append((cid, h, committed))
        return out

    def chunk_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM chunks WHERE committed = 1").fetchone()[0]

    def intend(self, rows: list[tuple[str, str, str]]) -> None:
        """Record (chunk id, paper id, hash) as about to be written (or deleted, with hash '')."""
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO chunks (id, paper_id, hash, committed) VALUES (?, ?, ?, 0)", rows
            )

    def commit_chunks(self, written: list[str], deleted: list[str], papers: list[tuple[str, str, str]]) -> None:
        """Mark chunks as in Chroma, forget deleted ones, and record their papers: one transaction."""
        with self.db:
            self.db.executemany("UPDATE chunks SET committed = 1 WHERE id = ?", [(i,) for i in written])
            self.db.executemany("DELETE FROM chunks WHERE id = ?", [(i,) for i in deleted])
            self.db.executemany("INSERT OR REPLACE INTO papers (id, chunk_hash, record) VALUES (?, ?, ?)", papers)

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
