"""A tolerant, hand-written BibTeX reader (no dependency).

Reads @article, @inproceedings, @misc and every other entry type; field values in {...} (nested
braces kept balanced), "..." or bare numbers/macros (`month = sep`), joined with `#`. @string
macros are expanded; @comment and @preamble are skipped; text outside entries is ignored.

Mapping to a `Record`:
    author      "Last, First and First Last and others" -> ["First Last", ...]; a trailing
                "and others" sets authors_complete False
    title, abstract   LaTeX accents ({\\"o}, \\'e, {\\ss}) become Unicode, markup and braces are
                removed (`rag.parsers.latex.strip_latex`, used for every field)
    date        year alone -> "YYYY"; year+month+day -> "YYYY-MM-DD"; year+month -> "YYYY"
                (a biblatex `date` field is used as given)
    venue       journal / journaltitle / booktitle
    arxiv_id    eprint when archivePrefix/eprinttype is arXiv (or the eprint looks like an arXiv
                id), else an arXiv id in the url, doi or journal field
    categories  primaryClass;  affiliations: affiliation(s);  keywords are ignored

An entry that cannot be read (unbalanced braces, a missing '=', no title or abstract) becomes an
`InputError` with the line it starts on; reading resumes at the next line opening an entry.
"""

from __future__ import annotations

import bisect
import re
from pathlib import Path

from rag.errors import InputError
from rag.parsers.base import ParseResult, _logical_suffix
from rag.parsers.common import squash
from rag.parsers.fields import record_from_fields
from rag.parsers.latex import strip_latex
from rag.parsers.names import flip_name
from rag.records import find_arxiv_id

NAME = "bibtex"
SUFFIXES = {".bib", ".bibtex"}
ENTRY_TYPES = (
    "article|inproceedings|conference|misc|book|booklet|inbook|incollection|phdthesis|mastersthesis|"
    "techreport|unpublished|manual|proceedings|online|electronic|report|thesis|software|dataset|"
    "preprint|collection|string|preamble|comment"
)
_SNIFF_RE = re.compile(rf"^[ \t]*@[ \t]*(?:{ENTRY_TYPES})[ \t]*[{{(]", re.I | re.M)
_ENTRY_RE = re.compile(r"@[ \t]*([A-Za-z][\w-]*)[ \t\r\n]*([{(])")
_LINE_ENTRY_RE = re.compile(r"^[ \t]*@[ \t]*[A-Za-z][\w-]*[ \t]*[{(]", re.M)
_WS_RE = re.compile(r"\s*")
_NAME_RE = re.compile(r"[^\s=,{}()\"#]+")
_BARE_RE = re.compile(r"[^\s,#{}()\"=]+")
_AND_RE = re.compile(r"\s+and\s+", re.I)

MONTH_MACROS = {
    m: name for m, name in zip(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        ["January", "February", "March", "April", "May", "June", "July", "August", "September",
         "October", "November", "December"])
}


def sniff(path: Path, head: str) -> bool:
    """By suffix (.bib/.bibtex, also .gz), or a line opening a known entry type such as '@article{'."""
    return _logical_suffix(path) in SUFFIXES or bool(_SNIFF_RE.search(head))


# ------------------------------------------------------------------ the scanner

class _BibError(Exception):
    pass


class _Entry:
    """Reads one entry body from `pos` up to (not past) `bound`."""

    def __init__(self, text: str, pos: int, bound: int, close: str, macros: dict[str, str]) -> None:
        self.text, self.pos, self.bound, self.close, self.macros = text, pos, bound, close, macros

    def ws(self) -> None:
        self.pos = _WS_RE.match(self.text, self.pos, self.bound).end()

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.bound else ""

    def braced(self) -> str:
        """A {...} value (pos at the opening brace), nested braces kept."""
        start = self.pos
        depth, i, text = 0, self.pos, self.text
        while i < self.bound:
            c = text[i]
            if c == "\\":
                i += 2
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    self.pos = i + 1
                    return text[start + 1:i]
            i += 1
        raise _BibError("unbalanced braces (a '{' is never closed)")

    def quoted(self) -> str:
        start = self.pos
        depth, i, text = 0, self.pos + 1, self.text
        while i < self.bound:
            c = text[i]
            if c == "\\":
                i += 2
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            elif c == '"' and depth <= 0:
                self.pos = i + 1
                return text[start + 1:i]
            i += 1
        raise _BibError('a "..." value is never closed')

    def macro(self, word: str) -> str:
        """A bare value: a number as is, an @string macro or month abbreviation expanded."""
        low = word.lower()
        if word.isdigit():
            return word
        if low in self.macros:
            return self.macros[low]
        if low[:3] in MONTH_MACROS and MONTH_MACROS[low[:3]].lower().startswith(low.rstrip(".")):
            return MONTH_MACROS[low[:3]]
        return word

    def value(self) -> str:
        parts = []
        while True:
            self.ws()
            c = self.peek()
            if c == "{":
                parts.append(self.braced())
            elif c == '"':
                parts.append(self.quoted())
            else:
                m = _BARE_RE.match(self.text, self.pos, self.bound)
                if not m:
                    raise _BibError(f"expected a value, found {c!r}" if c else "value missing at end of entry")
                self.pos = m.end()
                parts.append(self.macro(m.group(0)))
            self.ws()
            if self.peek() == "#":
                self.pos += 1
                continue
            return "".join(parts)

    def assignments(self, *, with_key: bool) -> tuple[str, dict[str, str]]:
        key = ""
        if with_key:
            m = re.compile(r"[^,=\s{}()]*").match(self.text, self.pos, self.bound)
            after = _WS_RE.match(self.text, m.end(), self.bound).end()
            if after < self.bound and self.text[after] in ",}" + self.close:
                key, self.pos = m.group(0), after
        fields: dict[str, str] = {}
        while True:
            self.ws()
            c = self.peek()
            if not c:
                raise _BibError(f"the entry is never closed with '{self.close}'")
            if c == self.close:
                self.pos += 1
                return key, fields
            if c == ",":
                self.pos += 1
                continue
            m = _NAME_RE.match(self.text, self.pos, self.bound)
            if not m:
                raise _BibError(f"unexpected {c!r} where a field name should be")
            name = m.group(0).lower()
            self.pos = m.end()
            self.ws()
            if self.peek() != "=":
                raise _BibError(f"expected '=' after field {m.group(0)!r}")
            self.pos += 1
            value = self.value()
            fields.setdefault(name, value)


def _skip_group(text: str, pos: int, bound: int, close: str) -> int:
    """Position after the group opened just before `pos` (or `bound` if it never closes)."""
    opener = "{" if close == "}" else "("
    depth = 1
    for i in range(pos, bound):
        c = text[i]
        if c == opener:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
    return bound


# ------------------------------------------------------------------ entries to records

def _split_names(raw: str) -> list[str]:
    """Split an author field on 'and' outside braces."""
    names, depth, last = [], 0, 0
    depth_at = []
    for c in raw:
        depth_at.append(depth)
        if c == "{":
            depth += 1
        elif c == "}":
            depth = max(0, depth - 1)
    for m in _AND_RE.finditer(raw):
        if depth_at[m.start()] == 0:
            names.append(raw[last:m.start()])
            last = m.end()
    names.append(raw[last:])
    return [n for n in (squash(x) for x in names) if n]


def _split_top_commas(name: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for c in name:
        if c == "{":
            depth += 1
        elif c == "}":
            depth = max(0, depth - 1)
        if c == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return [p for p in (squash(p) for p in parts)]


def parse_bib_authors(raw: str) -> tuple[list[str], bool]:
    """'Last, First and First Last and others' -> (['First Last', 'First Last'], False)."""
    names, complete = [], True
    for name in _split_names(raw):
        full = strip_latex(flip_name(_split_top_commas(name)))  # 'von Last, First' / 'von Last, Jr, First'
        if full.lower() in ("others", "et al.", "et al"):
            complete = False
        elif full:
            names.append(full)
    return names, complete


def _record(path: Path, line: int, etype: str, key: str, f: dict[str, str]):
    d: dict[str, object] = {}
    for name in ("title", "abstract", "booktitle", "year", "month", "day", "date"):
        if name in f:
            d[name] = strip_latex(f[name])
    journal = f.get("journal") or f.get("journaltitle")
    if journal:
        d["journal"] = strip_latex(journal)
    archive = (f.get("archiveprefix") or f.get("eprinttype") or "").strip("{} ").lower()
    arxiv = None
    if f.get("eprint") and (archive in ("", "arxiv")):
        arxiv = find_arxiv_id(f["eprint"])
    for name in ("url", "doi", "journal", "note", "howpublished"):
        if arxiv:
            break
        v = f.get(name) or ""
        if "arxiv" in v.lower():
            arxiv = find_arxiv_id(re.sub(r"(?i)arxiv\.(?=\d)", "arXiv:", v))
    if arxiv:
        d["arxiv_id"] = arxiv
    if f.get("primaryclass"):
        d["categories"] = strip_latex(f["primaryclass"])
    aff = f.get("affiliations") or f.get("affiliation")
    if aff:
        d["affiliations"] = [strip_latex(a) for a in _split_names(aff)]
    rec = record_from_fields(d, path=path, line=line, layout=NAME)
    if "author" in f:
        rec.authors, rec.authors_complete = parse_bib_authors(f["author"])
    elif "editor" in f and etype in ("book", "proceedings", "collection"):
        rec.authors, rec.authors_complete = parse_bib_authors(f["editor"])
    return rec


def parse(path: Path, text: str) -> ParseResult:
    result = ParseResult(layout=NAME)
    macros: dict[str, str] = {}
    line_starts = [m.start() for m in _LINE_ENTRY_RE.finditer(text)]
    pos, n = 0, len(text)
    line, counted = 1, 0
    while True:
        m = _ENTRY_RE.search(text, pos)
        if not m:
            break
        line += text.count("\n", counted, m.start())
        counted = m.start()
        # an entry may not run past the next line that opens an entry (so a broken one stops there)
        idx = bisect.bisect_right(line_starts, m.start())
        bound = line_starts[idx] if idx < len(line_starts) else n
        etype = m.group(1).lower()
        close = "}" if m.group(2) == "{" else ")"
        if etype in ("comment", "preamble"):
            pos = _skip_group(text, m.end(), bound, close)
            continue
        entry = _Entry(text, m.end(), bound, close, macros)
        try:
            if etype == "string":
                _, assigned = entry.assignments(with_key=False)
                macros.update({k: v for k, v in assigned.items()})
            else:
                key, fields = entry.assignments(with_key=True)
                try:
                    result.records.append(_record(path, line, etype, key, fields))
                except InputError as err:
                    what = f"@{etype}{{{key}" if key else f"@{etype}"
                    result.errors.append(InputError(path, f"BibTeX entry {what}: {err.reason}", line=line))
            pos = entry.pos
        except _BibError as exc:
            what = f"@{etype}"
            km = re.match(r"[^,=\s{}()]+", text[m.end():bound])
            if km and etype != "string":
                what += "{" + km.group(0)
            result.errors.append(InputError(
                path, f"broken BibTeX entry {what}: {exc}; fix it (the other entries were read)", line=line))
            pos = bound
    return result
