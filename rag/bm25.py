"""A BM25 keyword index over papers (one document per paper: title, authors, venue, abstract).

Built with `bm25s` and saved under `data_dir/bm25/<collection>@<store>/` beside a `papers.json`
sidecar that lists the paper ids in index order and a digest of (paper id, paper chunk hash)
pairs, the same hashes `rag.state` keeps, so a reader can tell whether the index matches the store
without reading the store. Tokens: lowercased, accents folded, split on non-alphanumerics, English
stopwords (bm25s' NLTK list) and 1-character tokens dropped, Porter-stemmed (nltk's pure-Python
stemmer, already installed with llama-index; it measured better on SciFact, see
`bench/retrieval.py`).

    build_bm25(settings, papers)             # at the end of an ingest that changed anything
    ensure_bm25(settings)                    # rebuild only when missing or out of step with the state
    index = BM25Index.load(settings)         # None when missing or unreadable
    index.search("gated linear recurrences", k=10, allowed={"2402.19427", ...})

Builds are atomic (written to a temporary folder, then swapped in under a lock), so a reader sees
the old index or the new one, never half of one. This module does not embed, filter on metadata
or fuse rankings: see `rag.retrieval`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.records import Record
from rag.settings import Settings

FORMAT = 1
SIDECAR = "papers.json"
_TOKEN_RE = re.compile(r"[a-z0-9]+")
STEM = True  # part of the index format: change FORMAT with it (the bench flips it to compare)


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS)


@lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer()


# raw word -> its token ("" = dropped), one table per stemming choice; grows to the vocabulary
_WORDS: dict[bool, dict[str, str]] = {True: {}, False: {}}
_WORDS_MAX = 2_000_000


def _word_token(word: str, stem: bool) -> str:
    if len(word) < 2 or word in _stopwords():
        return ""
    return _stemmer().stem(word) if stem else word


def tokenize(text: str, *, stem: bool | None = None) -> list[str]:
    """Index/query tokens of `text`: folded, split, stopwords and 1-letter tokens dropped, stemmed."""
    stem = STEM if stem is None else stem
    text = text.lower()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    words = _TOKEN_RE.findall(text)
    table = _WORDS[stem]
    new = {w: _word_token(w, stem) for w in set(words) if w not in table}
    if new and len(table) < _WORDS_MAX:
        table.update(new)
    elif new:  # the table is full: use the new words without keeping them
        return [t for w in words if (t := table.get(w) or new.get(w))]
    return [t for t in map(table.__getitem__, words) if t]


def paper_text(paper: Record) -> str:
    """The text BM25 sees for one paper."""
    parts = [paper.title or "", " ".join(a for a in paper.authors if a), paper.venue or "", paper.abstract or ""]
    return "\n".join(p for p in parts if p)


def bm25_digest(pairs: Iterable[tuple[str, str]]) -> str:
    """Digest of (paper id, paper chunk hash) pairs, order-free: equal digests, same papers."""
    h = hashlib.sha256(f"bm25-v{FORMAT}\n".encode())
    for pid, chash in sorted(pairs):
        h.update(f"{pid}\x00{chash}\n".encode())
    return h.hexdigest()[:32]


def state_digest(state) -> str:
    """The digest the index should carry for the papers a `rag.state.State` holds now."""
    return bm25_digest(state.db.execute("SELECT id, chunk_hash FROM papers"))


def index_dir(settings: Settings) -> Path:
    return settings.data_dir / "bm25" / settings.state_path.stem


@contextlib.contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".build.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def build_bm25(settings: Settings, papers: list[Record], *, digest: str | None = None) -> Path:
    """Index `papers` and swap the result into place atomically. Returns the index folder.

    `digest` defaults to the digest of the state at `settings.state_path`, which must describe
    exactly `papers` (true at the end of an ingest, and for `State.papers()`).
    """
    if digest is None:
        from rag.state import State

        state = State(settings.state_path)
        try:
            digest = state_digest(state)
        finally:
            state.close()
    index = BM25Index.build(papers, digest)
    final = index_dir(settings)
    with _build_lock(final.parent):
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
        os.chmod(tmp, 0o755)  # mkdtemp makes it owner-only
        try:
            index.save(tmp)
            old = None
            if final.exists():
                old = final.with_name(f"{tmp.name}.old")
                os.replace(final, old)
            os.replace(tmp, final)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final


def stored_digest(settings: Settings) -> str | None:
    """The digest of the saved index (read from its sidecar only), or None when there is none."""
    try:
        meta = json.loads((index_dir(settings) / SIDECAR).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta.get("digest") if meta.get("format") == FORMAT else None


def ensure_bm25(settings: Settings, state=None) -> bool:
    """Rebuild the index when it is missing or out of step with the state. True when it rebuilt."""
    from rag.state import State

    own = state is None
    state = state or State(settings.state_path)
    try:
        want = state_digest(state)
        if stored_digest(settings) == want:
            return False
        build_bm25(settings, state.papers(), digest=want)
        return True
    finally:
        if own:
            state.close()


class BM25Index:
    """A loaded index. Read-only, so one instance may serve many threads."""

    def __init__(self, model, ids: list[str], digest: str) -> None:
        self.model = model
        self.ids = ids
        self.digest = digest
        self.position = {pid: i for i, pid in enumerate(ids)}

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, papers: list[Record], digest: str = "") -> BM25Index:
        """An index of `papers` in memory (`save` writes it; `build_bm25` builds and saves)."""
        model = None
        if papers:
            import bm25s

            model = bm25s.BM25()
            model.index([tokenize(paper_text(p)) for p in papers], show_progress=False)
        return cls(model, [p.id for p in papers], digest)

    def save(self, folder: Path) -> None:
        if self.model is not None:
            self.model.save(str(folder), show_progress=False)
        sidecar = {"format": FORMAT, "digest": self.digest, "ids": self.ids, "built_at": time.time()}
        (folder / SIDECAR).write_text(json.dumps(sidecar), encoding="utf-8")

    def document_frequency(self, token: str) -> int:
        """Papers whose text holds `token` (an already tokenized form, see `tokenize`)."""
        tid = self.model.vocab_dict.get(token) if self.model is not None else None
        if tid is None:
            return 0
        indptr = self.model.scores["indptr"]
        return int(indptr[tid + 1] - indptr[tid])

    @classmethod
    def load(cls, settings: Settings) -> BM25Index | None:
        """The saved index, or None when there is none (or it cannot be read: rebuild it)."""
        folder = index_dir(settings)
        for attempt in range(3):  # a build may be swapping folders this very moment
            try:
                meta = json.loads((folder / SIDECAR).read_text(encoding="utf-8"))
                if meta.get("format") != FORMAT:
                    return None
                model = None
                if meta["ids"]:
                    import bm25s

                    model = bm25s.BM25.load(str(folder), show_progress=False)
                return cls(model, meta["ids"], meta["digest"])
            except (OSError, ValueError, KeyError):
                if attempt < 2:
                    time.sleep(0.05)
        return None

    def coverage(self, query: str, paper_id: str) -> float:
        """IDF-weighted share of the query's distinct terms that occur in the paper (0..1).

        A term no paper uses weighs the most, so 'Which paper proposes BERT?' covers little of
        any paper here, while 'Which paper proposes Griffin?' covers most of the Griffin paper.
        """
        terms = list(dict.fromkeys(tokenize(query)))
        pos = self.position.get(paper_id)
        if not terms or pos is None or self.model is None:
            return 0.0
        indptr, docs = self.model.scores["indptr"], self.model.scores["indices"]
        n = len(self.ids)
        total = found = 0.0
        for term in terms:
            tid = self.model.vocab_dict.get(term)
            df = 0 if tid is None else int(indptr[tid + 1] - indptr[tid])
            weight = math.log(1 + (n - df + 0.5) / (df + 0.5))
            total += weight
            if df and pos in docs[indptr[tid]:indptr[tid + 1]]:
                found += weight
        return found / total if total else 0.0

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every paper, in index order (zeros for a query with no known token)."""
        if self.model is None:
            return np.zeros(0, dtype=np.float32)
        tids = self.model.get_tokens_ids(tokenize(query))
        if not tids:
            return np.zeros(len(self.ids), dtype=np.float32)
        return self.model.get_scores_from_ids(tids)

    def search(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """Best `k` papers with a positive score, best first; only papers in `allowed` when given."""
        scores = self.scores(query)
        if not len(scores) or k <= 0:
            return []
        if allowed is not None:
            idx = np.sort(np.fromiter((self.position[p] for p in allowed if p in self.position), dtype=np.int64))
            sub = scores[idx]
        else:
            idx, sub = None, scores
        keep = np.flatnonzero(sub > 0)
        if len(keep) > k:
            keep = keep[np.argpartition(-sub[keep], k - 1)[:k]]
        keep = keep[np.lexsort((keep, -sub[keep]))]  # score desc, then index order: deterministic
        rows = keep if idx is None else idx[keep]
        return [(self.ids[i], float(scores[i])) for i in rows]
