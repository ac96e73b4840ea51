"""Map a dict of loosely named fields (one JSON object, one CSV row) to a `Record`.

Shared by the JSON/JSONL, CSV and BibTeX parsers so every structured format reads the same
field names the same way:

    title         title, paper_title
    authors       authors, author, author_names, creators: a list of strings, a list of
                  {"name": ...} / {"given": ..., "family": ...} dicts, or one string joined by
                  " and ", ";" or "," ("Last, First" names are turned round)
    date          date, published, publication_date, pub_date, published_date, listing_date,
                  or year (+ month + day); a year with a month but no day stays "YYYY"
    venue         venue, journal, booktitle, conference, journal_ref
    categories    categories, category, primary_category, subjects (list or "a b" / "a, b")
    affiliations  affiliations, affiliation, institutions (list or "a; b")
    arxiv_id      arxiv_id, arxiv, eprint, id (only when it looks like an arXiv id), url/link/doi
                  (an arxiv.org address or 10.48550/arXiv.* DOI)
    abstract      abstract, summary, text, description

Nothing is invented: a field the input does not give stays empty. A row with neither a title
nor an abstract is reported as an `InputError` for its line, never a crash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from rag.errors import InputError
from rag.parsers.common import MONTHS, iso_date, parse_date, squash
from rag.parsers.latex import latex_to_text
from rag.parsers.names import flip_name, is_suffix, pair_last_first
from rag.parsers.text import join_teaser_cuts, strip_markdown_emphasis
from rag.records import ARXIV_ID_RE, INVISIBLE_CHARS, OLD_ARXIV_ID_RE, Record, Source, find_arxiv_id

TITLE_KEYS = ("title", "paper_title")
AUTHOR_KEYS = ("authors", "author", "author_names", "authors_list", "creators")
DATE_KEYS = ("date", "published", "publication_date", "pub_date", "published_date", "listing_date")
VENUE_KEYS = ("venue", "journal", "booktitle", "conference", "journal_ref")
CATEGORY_KEYS = ("categories", "category", "primary_category", "subjects")
AFFILIATION_KEYS = ("affiliations", "affiliation", "institutions")
ARXIV_KEYS = ("arxiv_id", "arxivid", "arxiv", "eprint")
URL_KEYS = ("url", "link", "abs_url", "pdf_url", "doi")
ABSTRACT_KEYS = ("abstract", "summary", "text", "description")

#: Column/field names that make a header row or object recognisable as a paper record.
CORE_KEYS = frozenset(TITLE_KEYS + ABSTRACT_KEYS)
KNOWN_KEYS = frozenset(
    TITLE_KEYS + AUTHOR_KEYS + DATE_KEYS + VENUE_KEYS + CATEGORY_KEYS + AFFILIATION_KEYS
    + ARXIV_KEYS + URL_KEYS + ABSTRACT_KEYS + ("id", "year", "month", "day")
)

_ARXIV_FULL_RE = re.compile(
    r"(?:arxiv:\s*)?(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?", re.I)
_ETAL_RE = re.compile(r"[\s,;]*\b(?:et\.?\s*al\.?|and\s+others|others)\s*$", re.I)
_ETAL_ITEM_RE = re.compile(r"^(?:et\.?\s*al\.?|others|and\s+others|\.\.\.|…)$", re.I)
_DANGLING_AND_RE = re.compile(r"^(?:and|&)\s+|\s+(?:and|&)$", re.I)
_AND_RE = re.compile(r"\s+(?:and|&)\s+|\s*&\s*", re.I)
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le", "dos", "das", "ter", "ten"}
_INITIALS_RE = re.compile(r"^(?:(?:[A-Z]\.[\s-]*)+|[A-Z]{1,3})$")
_YMD_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")
_LEADING_YEAR_RE = re.compile(r"^(\d{4})(?:$|[-/.]\d{1,2}$)")
_LIST_SPLIT_RE = re.compile(r"[,;]\s*|\s+")


def clean(text: str) -> str:
    """Titles and abstracts: LaTeX and markdown emphasis removed, whitespace collapsed.

    Idempotent, so a record written out and read back (a BibTeX export) keeps its text: text whose
    cleaning left new markup (an escaped brace now pairing up, `\\{x}` -> `{x}`) is cleaned again.
    The "(see more)" teaser join runs only on text holding such a marker in lower or upper case
    (its own check lower-cases the whole text, which is costly over 75k abstracts).
    """
    for _ in range(4):
        done = _clean_once(text)
        if done == text:
            break
        text = done
    return done


def _clean_once(text: str) -> str:
    text = tidy(text)  # first too, so the LaTeX handling sees the spacing the record keeps
    if "more)" in text or "MORE)" in text:
        text = join_teaser_cuts(text)
    return tidy(strip_markdown_emphasis(latex_to_text(text)))


# In names joined by NUL: separators, odd whitespace, invisible characters (a NUL inside a name
# is caught by counting them), or "and"/"others"/"et al." words.
_INVISIBLE_BUT_NUL = INVISIBLE_CHARS.replace("\x00-", "\x01-", 1)  # NUL is the separator there
_SUSPECT_CHARS_RE = re.compile(rf"[,;&]|[^\S ]|  | \x00|\x00 |\x00\x00|[{_INVISIBLE_BUT_NUL}]")
_SUSPECT_WORDS_RE = re.compile(r"(?:^|[ \x00])(?:[Aa]nd|AND|[Oo]thers|[Ee]t\.? ?al\.?)(?:$|[ \x00])")
_PLAIN_NAME_RE = re.compile(rf"[^,;&\s{INVISIBLE_CHARS}]+(?: [^,;&\s{INVISIBLE_CHARS}]+)*")


def tidy(text: str) -> str:
    """`squash`, with a fast path for text that is already tidy (most structured input): printable
    ASCII (no control character, NUL included) without doubled or outer spaces."""
    if text.isascii() and text.isprintable() and text[:1] != " " and text[-1:] != " " and "  " not in text:
        return text
    return squash(text)


def norm_key(key: object) -> str:
    """'Publication Date' -> 'publication_date'."""
    return _norm_name(str(key))


@lru_cache(maxsize=10_000)  # a few dozen distinct names, asked once per field of every row
def _norm_name(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _scalar(value: object) -> str | None:
    """A plain string from a scalar value (numbers included); None for empty or non-scalars."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        s = tidy(value)
        return s or None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):  # a one-element list around a scalar is common in exports
        for item in value:
            s = _scalar(item) if not isinstance(item, list) else None
            if s:
                return s
    return None


def _first(d: Mapping[str, object], keys: tuple[str, ...]) -> object:
    for k in keys:
        v = d.get(k)
        if v is not None and v != "" and v != []:
            return v
    return None


# ---------------------------------------------------------------- authors

def _looks_last_first(left: str, right: str) -> bool:
    """Whether 'left, right' is one name written 'Last, First' rather than two names."""
    lw, rw = left.split(), right.split()
    if not lw or not rw or is_suffix(right):
        return False
    return len(lw) == 1 or lw[0].lower() in _PARTICLES or bool(_INITIALS_RE.match(right))


def _split_commas(text: str) -> list[str]:
    """Names from a comma-separated piece: 'Smith, John' is one name, 'A B, C D' two."""
    parts = [squash(p) for p in text.split(",")]
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return parts
    if len(parts) == 2:
        left, right = parts
        return [flip_name(parts)] if is_suffix(right) or _looks_last_first(left, right) else parts
    if len(parts) % 2 == 0 and all(len(p.split()) == 1 or _INITIALS_RE.match(p) for p in parts):
        # 'He, Bobby, Noci, Lorenzo' / 'Smith, J., Doe, K.': Last, First pairs
        return pair_last_first(parts)
    return parts


def split_author_string(text: str) -> tuple[list[str], bool]:
    """Names from one string, and whether the list is complete (no trailing 'et al.'/'others')."""
    text = _DANGLING_AND_RE.sub("", squash(text))
    complete = True
    stripped = _ETAL_RE.sub("", text)
    if stripped != text:
        complete = False
        text = stripped.rstrip(" ,;")
    if not text:
        return [], complete
    if ";" in text:
        pieces = [squash(p) for p in text.split(";")]
        names = []
        for p in pieces:
            if p.count(",") > 1:
                names.extend(_split_commas(p))
            elif p:  # one name: a comma in it is 'Last, First'
                names.append(flip_name([squash(x) for x in p.split(",")]))
        return names, complete
    if _AND_RE.search(text):
        names = []
        for p in _AND_RE.split(text):
            p = squash(p)
            if p.endswith(","):  # 'A, B, and C': an Oxford-comma list, not 'Last, First'
                names.extend(q for q in (squash(x) for x in p.split(",")) if q)
            elif p.strip(" ,"):
                names.extend(_split_commas(p.strip(" ,")))
        return names, complete
    return _split_commas(text), complete


def _name_from_dict(d: Mapping) -> str | None:
    for k in ("name", "full_name", "fullname", "display_name", "literal"):
        s = _scalar(d.get(k))
        if s:
            return s
    given = _scalar(d.get("given") or d.get("first") or d.get("first_name") or d.get("forename"))
    family = _scalar(d.get("family") or d.get("last") or d.get("last_name") or d.get("surname"))
    name = " ".join(p for p in (given, family) if p)
    return name or None


def parse_authors(value: object) -> tuple[list[str], bool]:
    """(names, complete) from a list of strings or dicts, or one joined string."""
    if value is None:
        return [], True
    if isinstance(value, str):
        return split_author_string(value)
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        s = _scalar(value)
        return ([s], True) if s else ([], True)
    if value and all(type(item) is str for item in value):
        joined = "\x00".join(value)
        if (joined[:1] != " " and joined[-1:] != " " and joined[:1] != "\x00" and joined[-1:] != "\x00"
                and joined.count("\x00") == len(value) - 1
                and not _SUSPECT_CHARS_RE.search(joined) and not _SUSPECT_WORDS_RE.search(joined)):
            return list(value), True  # fast path: a list of tidy single names
    names: list[str] = []
    complete = True
    for item in value:
        if isinstance(item, dict):
            name = _name_from_dict(item)
            if name:
                names.append(name)
        elif isinstance(item, str):
            if _PLAIN_NAME_RE.fullmatch(item) and not _SUSPECT_WORDS_RE.search(item):
                names.append(item)  # fast path: one tidy name
                continue
            s = squash(item)
            if not s:
                continue
            if _ETAL_ITEM_RE.match(s):
                complete = False
                continue
            more, ok = split_author_string(s)
            complete = complete and ok
            names.extend(more)
        else:
            s = _scalar(item)
            if s:
                names.append(s)
    return [n for n in names if n], complete


# ---------------------------------------------------------------- other fields

def parse_any_date(value: object) -> str | None:
    """ISO date, or 'YYYY' when only a year (or a year and month) is given; None if unreadable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value) if 1000 <= value <= 2999 else None
    s = _scalar(value)
    if not s:
        return None
    got = parse_date(s)
    if got:
        return got
    if m := _YMD_RE.match(s):
        return iso_date(int(m[1]), int(m[2]), int(m[3]))
    if (m := _LEADING_YEAR_RE.match(s)) and 1000 <= int(m[1]) <= 2999:
        return m[1]
    return None


def _month_number(value: object) -> int | None:
    s = _scalar(value)
    if not s:
        return None
    if s.isdigit():
        n = int(s)
        return n if 1 <= n <= 12 else None
    return MONTHS.get(s[:3].lower())


def date_from_parts(year: object, month: object = None, day: object = None) -> str | None:
    """'YYYY-MM-DD' when year, month and day are all given and valid, else 'YYYY' (or None)."""
    y = _scalar(year)
    if not y or not (y.isdigit() and len(y) == 4 and 1000 <= int(y) <= 2999):
        return parse_any_date(y)
    m, d = _month_number(month), _scalar(day)
    if m and d and d.isdigit():
        return iso_date(int(y), m, int(d)) or y
    return y


def _string_list(value: object, *, split: re.Pattern | None) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, dict):
            s = _name_from_dict(item)
            pieces = [s] if s else []
        elif isinstance(item, str):
            pieces = split.split(item) if split is not None and not isinstance(value, list) else [item]
        else:
            s = _scalar(item)
            pieces = [s] if s else []
        for p in pieces:
            p = squash(p) if p else ""
            if p and p not in out:
                out.append(p)
    return out


def arxiv_id_from(d: Mapping[str, object]) -> str | None:
    """The arXiv id from the id-like fields, without its version; None when there is none."""
    for k in ARXIV_KEYS:
        s = _scalar(d.get(k))
        if s and (found := find_arxiv_id(s)):
            return found
    s = _scalar(d.get("id"))
    if s and (m := _ARXIV_FULL_RE.fullmatch(s)):
        return m.group(1)
    for k in URL_KEYS:
        s = _scalar(d.get(k))
        if s and "arxiv" in s.lower():
            s = re.sub(r"(?i)arxiv\.(?=\d)", "arXiv:", s)  # 10.48550/arXiv.2301.00001
            m = ARXIV_ID_RE.search(s) or OLD_ARXIV_ID_RE.search(s)
            if m:
                return m.group(1)
    return None


# ---------------------------------------------------------------- the record

_AFFILIATION_SPLIT_RE = re.compile(r"\s*[;|]\s*")


@lru_cache(maxsize=1_000)
def _normal_names(keys: tuple) -> bool:
    """Whether every field name in `keys` is already normal (asked once per set of names)."""
    return all(isinstance(k, str) and norm_key(k) == k for k in keys)


def normalise_keys(d: Mapping) -> Mapping[str, object]:
    """Field names lower-cased with '_' for spaces/hyphens; the first of clashing names wins.

    Returns `d` itself when its names are already normal (remembered per set of names, so
    75k rows with the same keys pay for the check once).
    """
    if _normal_names(tuple(d)):
        return d
    out: dict[str, object] = {}
    for k, v in d.items():
        nk = norm_key(k)
        if nk not in out:
            out[nk] = v
    return out


def _text_field(d: Mapping[str, object], keys: tuple[str, ...]) -> str | None:
    """The first non-blank of `keys`, cleaned (markup removed, whitespace collapsed)."""
    for k in keys:
        v = d.get(k)
        if v is None:
            continue
        if not isinstance(v, str):
            v = _scalar(v)
            if not v:
                continue
        elif not v or v.isspace():
            continue
        out = clean(v)
        if out:
            return out
    return None


def record_from_fields(fields: Mapping, *, path: str | Path, line: int | None, layout: str) -> Record:
    """Build a `Record` from loosely named fields, or raise `InputError` for this line."""
    d = normalise_keys(fields)
    title = _text_field(d, TITLE_KEYS)
    abstract = _text_field(d, ABSTRACT_KEYS)
    if not title and not abstract:
        raise InputError(
            path,
            "no title or abstract; give each record a \"title\" or \"abstract\" field",
            line=line,
        )
    authors, complete = parse_authors(_first(d, AUTHOR_KEYS))
    flag = d.get("authors_complete")
    if isinstance(flag, bool):
        complete = complete and flag
    date = None
    for k in DATE_KEYS:
        v = d.get(k)
        if v is not None and (date := parse_any_date(v)):
            break
    if not date and d.get("year") is not None:
        date = date_from_parts(d.get("year"), d.get("month"), d.get("day"))
    return Record(
        title=title,
        authors=authors,
        authors_complete=complete,
        date=date,
        venue=_scalar(_first(d, VENUE_KEYS)),
        categories=_string_list(_first(d, CATEGORY_KEYS), split=_LIST_SPLIT_RE),
        affiliations=_string_list(_first(d, AFFILIATION_KEYS), split=_AFFILIATION_SPLIT_RE),
        arxiv_id=arxiv_id_from(d),
        abstract=abstract,
        sources=[Source(file=str(path), line=line, layout=layout, truncated=d.get("truncated") is True)],
    )


def has_core_key(keys) -> bool:
    """Whether any of `keys` names a title or abstract field."""
    return any(norm_key(k) in CORE_KEYS for k in keys)

