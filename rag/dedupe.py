"""Merge records that describe the same paper.

When two records are the same paper
    - they share an arXiv id; or
    - their titles are equal after `rag.records.normalise_text` (case, accents, punctuation,
      spacing and invisible characters such as zero-width spaces, soft hyphens or NUL ignored); or
    - one or both have no title, and their abstracts match: the first 200 normalised
      characters are equal, or one normalised abstract of at least 100 characters is a prefix
      of the other (a truncated copy of the same abstract).
  Matches chain: if A matches B and B matches C, all three are one paper (union-find).

What the merged record keeps (the union of what each copy knew; nothing is invented)
    title         the first non-empty one
    authors       a complete list beats an incomplete ("et al.") one, then the longer list,
                  then the first; authors_complete is True when a complete list was taken
    date          the most precise (YYYY-MM-DD over YYYY), else the first
    venue         the first that is not arXiv (a conference or journal beats arXiv), else the first
    categories, affiliations   ordered unions
    arxiv_id      the first non-empty one
    abstract      the longest from a source that is not truncated, else the longest
    sources       all, in order
  The id is recomputed from the merged fields, so a merged record with an arXiv id is keyed by it.

Cost is O(n): every rule is a dictionary lookup on a key; only records sharing their first 100
normalised abstract characters are compared with each other.
"""

from __future__ import annotations

import re
from collections import defaultdict

from rag.records import Record, normalise_text, record_id

ABSTRACT_KEY_CHARS = 200
PREFIX_MIN_CHARS = 100
_RAW_SLICE = 600  # raw characters normalised for an abstract key (enough for 200 normalised ones)
_ASCII_PUNCT_RE = re.compile(r"[^\w\s]")


def _norm(text: str) -> str:
    """`normalise_text`, with a fast path for printable ASCII text that gives the same result."""
    if text.isascii() and text.isprintable():
        return " ".join(_ASCII_PUNCT_RE.sub(" ", text.lower()).split())
    return normalise_text(text)


def _abstract_key(abstract: str | None) -> str:
    """The normalised abstract, cut to 200 characters (exact when it is shorter than that)."""
    if not abstract:
        return ""
    key = _norm(abstract[:_RAW_SLICE])
    if len(key) < ABSTRACT_KEY_CHARS and len(abstract) > _RAW_SLICE:
        key = _norm(abstract)
    return key[:ABSTRACT_KEY_CHARS]


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the earlier record stays the root, so groups keep first-seen order
            if ra < rb:
                self.parent[rb] = ra
            else:
                self.parent[ra] = rb


def _link_by(uf: _UnionFind, keys: dict[str, int], key: str, i: int) -> None:
    first = keys.setdefault(key, i)
    if first != i:
        uf.union(first, i)


def _group(records: list[Record]) -> list[list[int]]:
    n = len(records)
    uf = _UnionFind(n)
    by_arxiv: dict[str, int] = {}
    by_title: dict[str, int] = {}
    titled = [False] * n
    abstract_keys: list[str] = [""] * n
    for i, r in enumerate(records):
        if r.arxiv_id:
            _link_by(uf, by_arxiv, r.arxiv_id.strip().lower(), i)
        t = _norm(r.title) if r.title else ""
        if t:
            titled[i] = True
            _link_by(uf, by_title, t, i)
        abstract_keys[i] = _abstract_key(r.abstract)

    # abstract rule: only links a pair where at least one record has no title
    by_prefix: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for i, key in enumerate(abstract_keys):
        if key:
            by_prefix[key[:PREFIX_MIN_CHARS]].setdefault(key, []).append(i)
    for prefix, exact in by_prefix.items():
        if len(exact) == 1 and len(next(iter(exact.values()))) == 1:
            continue
        for members in exact.values():
            _link_untitled(uf, members, titled)
        if len(prefix) < PREFIX_MIN_CHARS or len(exact) == 1:
            continue  # short abstracts match only when equal
        # sorted, every key that has `k` as a prefix follows `k` contiguously
        keys = sorted(exact)
        for pos, short in enumerate(keys):
            for longer in keys[pos + 1:]:
                if not longer.startswith(short):
                    break
                _link_prefix(uf, exact[short], exact[longer], titled)

    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(uf.find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def _link_untitled(uf: _UnionFind, members: list[int], titled: list[bool]) -> None:
    """Link every member of an equal-abstract group to an untitled one (if there is any)."""
    anchor = next((i for i in members if not titled[i]), None)
    if anchor is None:
        return
    for i in members:
        uf.union(anchor, i)


def _link_prefix(uf: _UnionFind, a: list[int], b: list[int], titled: list[bool]) -> None:
    """Link two equal-abstract groups where one abstract is a prefix of the other.

    Each group is already linked inside when it has an untitled member, so linking that member
    to every record of the other group covers every allowed pair.
    """
    anchor = next((i for i in a if not titled[i]), None)
    others = b
    if anchor is None:
        anchor, others = next((i for i in b if not titled[i]), None), a
    if anchor is None:
        return
    for i in others:
        uf.union(anchor, i)


def _precision(date: str | None) -> int:
    return len(date) if date else 0


def _is_arxiv_venue(venue: str) -> bool:
    v = venue.strip().lower()
    return v.startswith("arxiv") or v in ("corr", "arxiv.org") or v.startswith("corr ")


def _ordered_union(lists) -> list[str]:
    seen: dict[str, None] = {}
    for items in lists:
        for x in items:
            seen.setdefault(x, None)
    return list(seen)


def merge_group(group: list[Record]) -> Record:
    """One record holding what every copy in `group` knew (see the module docstring)."""
    if len(group) == 1:
        return group[0]
    title = next((r.title for r in group if r.title and r.title.strip()), None)

    with_authors = [r for r in group if r.authors]
    if with_authors:
        # max() keeps the first of equal candidates
        best = max(with_authors, key=lambda r: (r.authors_complete, len(r.authors)))
        authors, complete = list(best.authors), best.authors_complete
    else:
        authors, complete = [], all(r.authors_complete for r in group)

    date = None
    for r in group:
        if _precision(r.date) > _precision(date):
            date = r.date

    venues = [r.venue for r in group if r.venue]
    venue = next((v for v in venues if not _is_arxiv_venue(v)), venues[0] if venues else None)

    abstracts = [r for r in group if r.abstract]
    full = [r for r in abstracts if not r.truncated]
    pool = full or abstracts
    abstract = max(pool, key=lambda r: len(r.abstract)).abstract if pool else None

    arxiv_id = next((r.arxiv_id for r in group if r.arxiv_id), None)
    return Record(
        title=title,
        authors=authors,
        authors_complete=complete,
        date=date,
        venue=venue,
        categories=_ordered_union(r.categories for r in group),
        affiliations=_ordered_union(r.affiliations for r in group),
        arxiv_id=arxiv_id,
        abstract=abstract,
        sources=[s for r in group for s in r.sources],
        id=record_id(arxiv_id, title, abstract),
    )


def merge_records(records: list[Record]) -> tuple[list[Record], int]:
    """Unique records in first-seen order, and how many duplicates were merged into them."""
    records = list(records)
    merged = [merge_group([records[i] for i in g]) for g in _group(records)]
    return merged, len(records) - len(merged)
