"""`rag ingest`: files in, store reconciled. Parse -> merge -> chunk -> embed -> upsert, resumable.

Ingest is declarative: the store should hold the chunks of the merged records of every file ever
ingested. Each run re-parses only files whose bytes changed, merges all records (so a paper seen
on two pages is one paper), and writes only the difference: new and changed chunks are upserted,
chunks of papers that changed shape or disappeared are deleted, unchanged ones are not touched
(and unchanged text is never re-embedded, thanks to the embedding cache). Bookkeeping is
write-ahead (see `rag.state`), so a run killed at any point is completed by the next one.

Papers are written in batches (16 papers, then twice as many each time up to 256), and each
batch's chunks are embedded in the background while the previous batch is stored, so an embedding
server is kept busy while chunking and Chroma upserts go on. The store must have been built by the
embedding model in use (`rag.store.ChunkStore.check_model`); that is checked, and a server asked
for its dimension, before any file is read. Chunks fit the model's own window (`input_limit`).

A file that fails to parse keeps whatever it contributed before: bad input never loses stored data.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rag.chunking import Chunk, chunk_record
from rag.errors import InputError, StoreError
from rag.records import Record
from rag.settings import Settings

SAMPLE_DIR = Path(__file__).parent / "sample"
PAPER_BATCH = 256


@dataclass
class IngestReport:
    """What one ingest did. `ok` is False when any file or line could not be read."""

    files_read: int = 0
    files_unchanged: int = 0
    records: int = 0
    duplicates_merged: int = 0
    papers: int = 0
    chunks_added: int = 0
    chunks_updated: int = 0
    chunks_unchanged: int = 0
    chunks_deleted: int = 0
    embedded: int = 0
    embed_seconds: float = 0.0
    errors: list[InputError] = field(default_factory=list)
    seconds: float = 0.0
    skipped: list[InputError] = field(default_factory=list)  # the first error of each path that gave nothing

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def files_skipped(self) -> list[InputError]:
        """One error per path that gave no record: missing, unreadable, or every record rejected
        (whether or not its error names a line). Records such a file gave before are kept."""
        return self.skipped

    def skip(self, errors: list[InputError]) -> None:
        self.errors.extend(errors)
        if errors:
            self.skipped.append(errors[0])

    def to_dict(self) -> dict:
        return {
            "files_read": self.files_read, "files_unchanged": self.files_unchanged, "records": self.records,
            "duplicates_merged": self.duplicates_merged, "papers": self.papers,
            "chunks_added": self.chunks_added, "chunks_updated": self.chunks_updated,
            "chunks_unchanged": self.chunks_unchanged, "chunks_deleted": self.chunks_deleted,
            "embedded": self.embedded, "embed_seconds": round(self.embed_seconds, 2),
            "seconds": round(self.seconds, 2), "files_skipped": len(self.skipped),
            "errors": [str(e) for e in self.errors],
        }


def file_sha256(*paths: Path) -> str:
    """sha256 of a file's bytes (of several files', one after the other), read in 1 MiB blocks."""
    h = hashlib.sha256()
    for path in paths:
        with Path(path).open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _paper_hash(record: Record, settings: Settings, model_id: str) -> str:
    """Changes whenever anything that goes into this paper's chunks changes."""
    d = record.to_dict()
    d.pop("sources")
    d["_chunking"] = [settings.chunk_tokens, settings.chunk_overlap, model_id]
    return hashlib.sha256(json.dumps(d, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


@contextlib.contextmanager
def ingest_lock(settings: Settings, *, say=print) -> Iterator[None]:
    """One writer per data directory: a second `rag ingest` waits for the first."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / ".ingest.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"another rag ingest is writing to {settings.data_dir}; waiting for it to finish...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _progress(total: int, desc: str, unit: str, show: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not show or None, file=sys.stderr,
                dynamic_ncols=True, leave=False)


class Ingestor:
    """Reconciles the store with the files it is given. Holds the state DB, the store and the embedder."""

    def __init__(self, settings: Settings, *, store=None, embedder=None, progress: bool = False) -> None:
        from rag.chunking import MINILM_LIMIT
        from rag.embeddings import CachedEmbedder, EmbeddingCache, embedder_for
        from rag.state import State
        from rag.store import ChunkStore

        self.settings = settings
        self.progress = progress
        model = embedder or embedder_for(settings)
        self.store = store or ChunkStore(settings, check_model=False)
        self._check_model(model)
        self.limit = getattr(model, "input_limit", MINILM_LIMIT)
        self.state = State(settings.state_path)
        self.embedder = CachedEmbedder(model, EmbeddingCache(settings.cache_dir / "embeddings.sqlite"))
        self._recorded = False

    def _check_model(self, model) -> None:
        """The store's model must be `model`; a server takes the store's dimension, then is asked for its own."""
        from rag.embeddings import model_info

        built = self.store.check_model(model_info(model))
        if built is not None and built.dim and getattr(model, "dim", 0) is None:
            model.dim = built.dim
        if hasattr(model, "probe"):
            model.probe()

    def close(self) -> None:
        self.state.close()
        self.embedder.cache.close()

    # step 1: files -> stored raw records
    def read_files(self, paths: Iterable[str | Path], report: IngestReport) -> None:
        from rag.parsers import iter_files, parse_file

        files = list(iter_files(paths))
        bar = _progress(len(files), "reading", "file", self.progress and len(files) > 1)
        for path, missing in files:
            bar.update(1)
            if missing is not None:
                report.skip([missing])
                continue
            key = str(path.resolve())
            try:
                sha = file_sha256(path)
            except OSError as exc:
                report.skip([InputError(path, f"cannot read file ({exc.strerror}); check permissions")])
                continue
            if self.state.file_sha(key) == sha:
                report.files_unchanged += 1
                continue
            result = parse_file(path, max_page_bytes=self.settings.max_page_bytes)
            if not result.records:
                report.skip(result.errors)  # nothing usable: keep what this file gave before, if anything
                continue
            report.errors.extend(result.errors)
            report.files_read += 1
            report.records += len(result.records)
            records = result.records
            if result.errors:  # partly broken: keep earlier records of lines that now fail
                records = self._keep_previous(key, records)
            self.state.put_file(key, sha, result.layout, records)
        bar.close()

    def _keep_previous(self, key: str, records: list[Record]) -> list[Record]:
        from rag.state import decode_records

        row = self.state.db.execute("SELECT records FROM files WHERE path = ?", (key,)).fetchone()
        if not row:
            return records
        ids = {r.id for r in records}
        return records + [r for r in decode_records(row[0]) if r.id not in ids]

    # step 2: stored raw records -> merged papers -> chunks in the store
    def reconcile(self, report: IngestReport) -> None:
        from rag.dedupe import merge_records

        raw = self.state.all_file_records()
        papers, merged = merge_records(raw)
        report.duplicates_merged = merged
        model_id = self.embedder.model_id  # and the model's window, when it is not MiniLM's (existing hashes stay)
        if self.limit.unit != "MiniLM word pieces":
            model_id += f"/{self.limit.tokens} {self.limit.unit}"
        stored = self.state.paper_hashes()
        rows = self.state.chunk_rows()
        wanted = {p.id: p for p in papers}

        gone = [pid for pid in set(stored) | set(rows) if pid not in wanted]
        self._delete_papers(gone, rows, report)

        todo: list[tuple[Record, str, str]] = []  # (paper, its hash, its JSON)
        refresh: list[tuple[str, str, str]] = []
        for paper in papers:
            h = _paper_hash(paper, self.settings, model_id)
            record_json = json.dumps(paper.to_dict(), ensure_ascii=False)
            old = stored.get(paper.id)
            pending = any(not committed for _, _, committed in rows.get(paper.id, []))
            if old and old[0] == h and not pending:
                report.chunks_unchanged += len(rows.get(paper.id, []))
                if old[1] != record_json:
                    refresh.append((paper.id, h, record_json))
            else:
                todo.append((paper, h, record_json))
        if refresh:
            self.state.put_papers(refresh)
        self._write(todo, rows, report)
        report.papers = len(papers)

    def _delete_papers(self, paper_ids: list[str], rows: dict, report: IngestReport) -> None:
        if not paper_ids:
            return
        ids = [cid for pid in paper_ids for cid, _, _ in rows.get(pid, [])]
        self.state.intend([(cid, pid, "") for pid in paper_ids for cid, _, _ in rows.get(pid, [])])
        self.store.delete(ids)
        self.state.commit_chunks([], ids, [])
        self.state.delete_papers(paper_ids)
        report.chunks_deleted += len(ids)

    def _write(self, todo: list[tuple[Record, str, str]], rows: dict, report: IngestReport) -> None:
        """Plan a batch (chunks, intents), start embedding it, then store the batch before it."""
        if not todo:
            return
        bar = _progress(0, "embedding", "chunk", self.progress)
        pool = ThreadPoolExecutor(2, thread_name_prefix="rag-ingest")  # two batches' embeddings may overlap
        pending: tuple[_Batch, Future | None] | None = None
        try:
            for start, end in batch_bounds(len(todo)):
                batch = self._plan(todo[start:end], rows, report)
                bar.total += len(batch.upsert)
                bar.refresh()
                self.state.intend(batch.intents)  # before anything of this batch can reach Chroma
                texts = [c.embed_text for c in batch.upsert]
                future = pool.submit(self.embedder.embed, texts, progress=bar.update) if texts else None
                if pending:
                    self._store(*pending, report)
                pending = (batch, future)
            if pending:
                self._store(*pending, report)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            bar.close()

    def _plan(self, papers: list[tuple[Record, str, str]], rows: dict, report: IngestReport) -> _Batch:
        """What writing these papers takes: chunks to upsert, chunk ids to delete, the intents to record."""
        batch = _Batch(papers)
        for paper, *_ in papers:
            chunks = chunk_record(paper, chunk_tokens=self.settings.chunk_tokens, overlap=self.settings.chunk_overlap,
                                  limit=self.limit)
            old = {cid: (h, committed) for cid, h, committed in rows.get(paper.id, [])}
            new_ids = {c.id for c in chunks}
            for c in chunks:
                before = old.get(c.id)
                if before and before == (c.hash, 1):
                    report.chunks_unchanged += 1
                    continue
                if before and before[0] and before[1]:
                    report.chunks_updated += 1
                else:
                    report.chunks_added += 1
                batch.upsert.append(c)
                batch.intents.append((c.id, c.paper_id, c.hash))
            stale = [cid for cid in old if cid not in new_ids]
            batch.delete.extend(stale)
            batch.intents.extend((cid, paper.id, "") for cid in stale)
            report.chunks_deleted += len(stale)
        return batch

    def _store(self, batch: _Batch, future: Future | None, report: IngestReport) -> None:
        """Wait for the batch's vectors, write them and the deletions, then mark it all committed."""
        if future is not None:
            vectors = future.result()
            if not self._recorded:  # the first write says which model (and dimension) built the store
                self.store.record_model(self.embedder.info)
                self._recorded = True
            self.store.upsert(batch.upsert, vectors)
        if batch.delete:
            self.store.delete(batch.delete)
        paper_rows = [(p.id, h, record_json) for p, h, record_json in batch.papers]
        self.state.commit_chunks([c.id for c in batch.upsert], batch.delete, paper_rows)


def batch_bounds(n: int, first: int = 16) -> Iterator[tuple[int, int]]:
    """Batches of papers: small at first, so the embedder starts while the rest is chunked, then
    doubling up to PAPER_BATCH."""
    start, size = 0, first
    while start < n:
        yield start, min(start + size, n)
        start, size = start + size, min(size * 2, PAPER_BATCH)


@dataclass
class _Batch:
    """One batch of papers to write."""

    papers: list[tuple[Record, str, str]]  # (paper, hash, JSON)
    upsert: list[Chunk] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    intents: list[tuple[str, str, str]] = field(default_factory=list)


def ingest(paths: Iterable[str | Path] | None = None, *, settings: Settings | None = None,
           progress: bool = False, say=print, store=None, embedder=None) -> IngestReport:
    """Ingest files and folders (default: the built-in sample corpus) into the store."""
    from rag.bm25 import ensure_bm25, state_digest
    from rag.retrieval import committed_chunks
    from rag.settings import load_settings
    from rag.vectors import ChunkMatrix

    settings = settings or load_settings()
    paths = list(paths) if paths else [SAMPLE_DIR]
    report = IngestReport()
    started = time.perf_counter()
    with ingest_lock(settings, say=say):
        ingestor = Ingestor(settings, store=store, embedder=embedder, progress=progress)
        try:
            ingestor.read_files(paths, report)
            ingestor.reconcile(report)
            report.embedded, report.embed_seconds = ingestor.embedder.misses, ingestor.embedder.model_seconds
            ensure_bm25(settings, ingestor.state)  # keep the BM25 index in step with the store
            # and the in-memory search's vector file, so the first question does not read Chroma for it
            ChunkMatrix.load(settings, ingestor.store, committed_chunks(ingestor.state), state_digest(ingestor.state))
        except StoreError:
            raise
        except Exception as exc:
            if exc.__class__.__module__.startswith("chromadb"):
                raise StoreError(f"the Chroma store failed while writing ({exc}); run rag ingest again "
                                 "to resume, nothing already stored is lost") from None
            raise
        finally:
            ingestor.close()
    report.seconds = time.perf_counter() - started
    return report
