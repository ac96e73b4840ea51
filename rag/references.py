"""Paper records out as references: BibTeX, RIS and CSL-JSON, under stable citation keys.

    text = format_references(records, "bibtex")     # or "ris", "csl-json"
    keys = citation_keys(records)                   # ["pascanu2024griffin", "pascanu2024griffina", ...]

An entry carries what its record knows and nothing more: the title, every author in the format's
own name syntax (BibTeX "Last, First and ...", RIS "Last, First", CSL family and given), "and
others" (BibTeX) or a note (RIS, CSL) only when the record says its author list is incomplete,
the year and the date, the venue, the arXiv id (BibTeX eprint with archivePrefix, RIS AN, CSL
number), the categories as keywords, the abstract. The entry type follows the venue: a
conference-like venue makes a conference paper, any other venue a journal article (arXiv too, as
most exporters write it; CSL calls that one a preprint), no venue a misc entry.

A citation key is the first author's family name, the year and the first title word, folded to
ASCII (`pascanu2024griffin`): the same record gets the same key in every run. Records of one
export sharing a key get `a`, `b`, ... after it, in the order of their ids. BibTeX values are
written by `rag.parsers.latex.escape_latex`, so the project's own BibTeX reader gives back every
field it exported; names are split by `rag.parsers.names.name_parts`.
This module only formats: finding the records is the caller's (`Answer.papers`, `rag.search`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from rag.errors import ConfigError
from rag.parsers.latex import escape_latex
from rag.parsers.names import name_parts
from rag.records import Record, find_arxiv_id, normalise_text

FORMATS = ("bibtex", "ris", "csl-json")
INCOMPLETE_NOTE = "The source lists only some of the authors."

_KEY_STOPWORDS = frozenset("""a an the on of in for to and with from by at is are via do does can how what when why
who which we our toward towards into beyond using""".split())
_CONFERENCE_RE = re.compile(
    r"\b(?:proceedings|conference|workshop|symposium|congress|meeting|neurips|nips|icml|iclr|cvpr|iccv|eccv|"
    r"acl|emnlp|naacl|coling|aaai|ijcai|kdd|sigir|corl|icra|iros|uai|aistats|colt|icassp|interspeech)\b", re.I)
_GROUP_RE = re.compile(r"\b(?:collaboration|consortium|team|group|committee)\b", re.I)
_AND_RE = re.compile(r"\band\b", re.I)
_DATE_RE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_ARXIV_CATEGORY_RE = re.compile(r"[a-z-]+(?:\.[A-Za-z-]+)?")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def choose_format(fmt: str, allowed: Sequence[str] = FORMATS, *, what: str = "reference format") -> str:
    """`fmt` as one of `allowed` (case and spaces ignored), or a `ConfigError` naming the choices."""
    wanted = (fmt or "").strip().lower()
    if wanted not in allowed:
        raise ConfigError(f"unknown {what} {fmt!r}; use one of: {', '.join(allowed)}")
    return wanted


def format_references(records: Iterable[Record], fmt: str = "bibtex") -> str:
    """The records (each paper once, in the order given) as BibTeX, RIS or CSL-JSON text."""
    fmt = choose_format(fmt)
    unique = list({r.id or id(r): r for r in records}.values())
    keys = citation_keys(unique)
    if fmt == "csl-json":
        return json.dumps([csl_item(r, k) for r, k in zip(unique, keys)], indent=2, ensure_ascii=False) + "\n"
    entry = bibtex_entry if fmt == "bibtex" else ris_entry
    return "".join(entry(r, k) + "\n" for r, k in zip(unique, keys))


# ---------------------------------------------------------------- keys

def _ascii(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", normalise_text(text))


def _family(name: str) -> str:
    parts = name_parts(name)
    if parts and not _GROUP_RE.search(name):
        return parts[1]
    words = [w for w in name.split(",")[0].split() if w.lower() not in _KEY_STOPWORDS]
    return words[0] if words else ""


def key_base(r: Record) -> str:
    """'pascanu2024griffin': first author's family name, year, first title word (each if known)."""
    family = _ascii(_family(r.authors[0])) if r.authors else ""
    word = next((w for w in map(_ascii, (r.title or "").split()) if w and w not in _KEY_STOPWORDS), "")
    return family + (str(r.year) if r.year else "") + word or "paper"


def _suffix(n: int) -> str:
    """0 -> 'a', 25 -> 'z', 26 -> 'aa'."""
    out = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        out = chr(ord("a") + rest) + out
    return out


def citation_keys(records: Sequence[Record]) -> list[str]:
    """One key per record, unique among them; a record's key depends only on it and its namesakes."""
    bases = [key_base(r) for r in records]
    keys, used = [""] * len(records), set()
    for i in sorted(range(len(records)), key=lambda i: (bases[i], records[i].id)):
        key, n = bases[i], 0
        while key in used:
            key, n = bases[i] + _suffix(n), n + 1
        used.add(key)
        keys[i] = key
    return keys


# ---------------------------------------------------------------- what every format needs

def _kind(r: Record) -> str:
    """'conference', 'preprint' (an arXiv venue), 'journal' (any other venue) or 'misc' (none)."""
    if not r.venue:
        return "misc"
    if _CONFERENCE_RE.search(r.venue):
        return "conference"
    return "preprint" if normalise_text(r.venue).startswith("arxiv") else "journal"


def _date(r: Record) -> tuple[int, ...]:
    """(year,), (year, month) or (year, month, day) as the record's date gives them; () for none."""
    m = _DATE_RE.fullmatch(r.date or "")
    return tuple(int(x) for x in m.groups() if x) if m else ((r.year,) if r.year else ())


def _person(name: str) -> tuple[str, str, str] | None:
    """A name's (given, family, suffix), or None for a name to write whole (a group, a comma, 'and')."""
    if _GROUP_RE.search(name) or _AND_RE.search(name):
        return None
    return name_parts(name)


def _primary_class(r: Record) -> str | None:
    first = r.categories[0] if r.categories else ""
    return first if _ARXIV_CATEGORY_RE.fullmatch(first) else None


# ---------------------------------------------------------------- BibTeX

def _bib_name(name: str) -> str:
    parts = _person(name)
    if parts is None:
        return "{" + escape_latex(name) + "}"
    given, family, suffix = (escape_latex(p) for p in parts)
    if not given:
        return family
    return f"{family}, {suffix}, {given}" if suffix else f"{family}, {given}"


def bibtex_entry(r: Record, key: str) -> str:
    """One @article / @inproceedings / @misc entry; the title in double braces keeps its capitals."""
    kind = _kind(r)
    entry_type = {"conference": "inproceedings", "misc": "misc"}.get(kind, "article")
    names = [_bib_name(a) for a in r.authors] + ([] if r.authors_complete or not r.authors else ["others"])
    date = _date(r)
    month = _MONTHS[date[1] - 1] if len(date) > 1 and 1 <= date[1] <= 12 else ""
    fields = [("author", " and ".join(names)), ("title", "{" + escape_latex(r.title) + "}" if r.title else ""),
              ("booktitle" if kind == "conference" else "journal", escape_latex(r.venue or "")),
              ("year", str(date[0]) if date else ""), ("month", month), ("date", r.date if len(date) > 1 else "")]
    if r.arxiv_id:
        fields += [("eprint", r.arxiv_id), ("archivePrefix", "arXiv"), ("primaryClass", _primary_class(r) or "")]
    fields += [("keywords", escape_latex(", ".join(r.categories))), ("abstract", escape_latex(r.abstract or ""))]
    # the month as the standard macro (jan ... dec), bare, which every BibTeX style knows
    lines = [f"  {name} = {value}" if name == "month" else f"  {name} = {{{value}}}" for name, value in fields if value]
    return f"@{entry_type}{{{key},\n" + ",\n".join(lines) + "\n}\n"


# ---------------------------------------------------------------- RIS

def _ris_name(name: str) -> str:
    parts = _person(name)
    if parts is None or not parts[0]:
        return name
    given, family, suffix = parts
    return f"{family}, {given}, {suffix}" if suffix else f"{family}, {given}"


def ris_entry(r: Record, key: str) -> str:
    """One RIS record (TY ... ER); every value on one line."""
    kind = _kind(r)
    date = _date(r)
    tags = [("TY", {"conference": "CPAPER", "misc": "GEN"}.get(kind, "JOUR")), ("ID", key), ("TI", r.title or "")]
    tags += [("AU", _ris_name(a)) for a in r.authors]
    tags += [("PY", str(date[0]) if date else ""), ("T2", r.venue or "")]
    if len(date) > 1:
        tags.append(("DA", f"{date[0]:04d}/{date[1]:02d}/{date[2]:02d}/" if len(date) > 2 else
                     f"{date[0]:04d}/{date[1]:02d}//"))
    tags += [("AB", r.abstract or "")] + [("KW", c) for c in r.categories]
    if r.arxiv_id:
        tags += [("AN", f"arXiv:{r.arxiv_id}"), ("DB", "arXiv")]
    if r.authors and not r.authors_complete:
        tags.append(("N1", INCOMPLETE_NOTE))
    return "".join(f"{tag}  - {' '.join(value.split())}\n" for tag, value in tags if value) + "ER  - \n"


# ---------------------------------------------------------------- CSL-JSON

def _csl_name(name: str) -> dict:
    parts = _person(name)
    if parts is None:
        return {"literal": name}
    given, family, suffix = parts
    out: dict[str, str] = {}
    particle, _, rest = family.partition(" ")
    if rest and particle.islower():  # 'van Seijen': CSL keeps the particle apart
        out["non-dropping-particle"], family = particle, rest
    out["family"] = family
    if given:
        out["given"] = given
    if suffix:
        out["suffix"] = suffix
    return out


def csl_item(r: Record, key: str) -> dict:
    """One CSL-JSON item (CSL 1.0.2 input data), with only the variables the record gives."""
    kind = _kind(r)
    types = {"conference": "paper-conference", "journal": "article-journal", "preprint": "article"}
    item: dict = {"id": key, "citation-key": key, "type": types.get(kind, "article" if r.arxiv_id else "document")}
    if r.title:
        item["title"] = r.title
    if r.authors:
        item["author"] = [_csl_name(a) for a in r.authors]
    if date := _date(r):
        item["issued"] = {"date-parts": [list(date)]}
    if r.venue:
        item["publisher" if kind == "preprint" else "container-title"] = r.venue
    if r.arxiv_id:
        item["number"] = f"arXiv:{r.arxiv_id}"
    if r.categories:
        item["keyword"] = ", ".join(r.categories)
    if r.abstract:
        item["abstract"] = r.abstract
    if r.authors and not r.authors_complete:
        item["note"] = INCOMPLETE_NOTE
    return item


def record_from_citation(citation) -> Record:
    """What a `Citation` itself tells of its paper, as a record (for an answer that carries no records)."""
    arxiv = citation.paper_id if find_arxiv_id(citation.paper_id) == citation.paper_id else None
    return Record(title=citation.title, authors=list(citation.authors), date=str(citation.year) if citation.year else None,
                  venue=citation.venue, arxiv_id=arxiv, id=citation.paper_id)
