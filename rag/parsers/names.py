"""Person names: recognise them, and turn names written 'Last, First' round.

Every parser that meets a 'Last, First' name turns it round with `flip_name` (one name) or
`pair_last_first` (a run of 'Last, First, Last, First' parts), so BibTeX, JSON/CSV author
strings and the scraped pages agree on the result:

    flip_name(["He", "Bobby"])                        -> 'Bobby He'
    flip_name(["Smith", "Jr."])                       -> 'Smith Jr.'  (a suffix is not a first name)
    flip_name(["King", "Jr.", "Martin Luther"])       -> 'Martin Luther King Jr.'  (BibTeX 'Last, Jr, First')
    pair_last_first(["He", "Bobby", "Noci", "L."])    -> ['Bobby He', 'L. Noci']

and the way back, for the exports that write names in parts (`rag.references`):

    name_parts('Harm van Seijen')                     -> ('Harm', 'van Seijen', '')
    name_parts('Martin Luther King Jr.')              -> ('Martin Luther', 'King', 'Jr.')

The recognisers (`is_person_name`, `is_name_part`, `parse_name_list`, `parse_last_first_line`)
decide whether page text is a byline at all.

What it does not do: split an author string on 'and' or ';' (the parsers know their format:
`rag.parsers.fields`, `rag.parsers.bibtex`), remove markup from names, or guess whether an
ambiguous 'A, B' is one name or two (the caller decides and says so). Pure functions; they take
any string and never raise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.parsers.common import squash

#: Name suffixes: written after the surname in reading order, never taken for a first name.
SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})


def is_suffix(part: str) -> bool:
    """'Jr.', 'III' -> True: a name suffix, not a first name."""
    return part.lower() in SUFFIXES


def flip_name(parts: Sequence[str]) -> str:
    """One name from the comma-separated parts it was written in, in reading order.

    ['Last'] stays; ['Last', 'First'] -> 'First Last', but ['Last', 'Jr.'] -> 'Last Jr.';
    ['Last', 'Jr', 'First', ...] (BibTeX's third form) -> 'First Last Jr ...'. Blank parts are skipped.
    """
    if len(parts) == 2:
        last, first = parts
        parts = [last, first] if is_suffix(first) else [first, last]
    elif len(parts) >= 3:
        parts = [parts[2], parts[0], parts[1], *parts[3:]]
    return " ".join(p for p in parts if p)


def pair_last_first(parts: Sequence[str]) -> list[str]:
    """['He', 'Bobby', 'Noci', 'Lorenzo'] -> ['Bobby He', 'Lorenzo Noci']; an odd last part stays as is."""
    return [flip_name(parts[i: i + 2]) for i in range(0, len(parts), 2)]


# ---------------------------------------------------------------------------------------------
# Recognising names in page text

_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "dos", "das", "du",
              "la", "le", "bin", "ibn", "al", "el", "ter", "ten", "zu", "y", "e"}


def name_parts(name: str) -> tuple[str, str, str] | None:
    """(given, family, suffix) of a name in reading order, such that `flip_name([family, given])`
    (or `[family, suffix, given]`) gives the name back; the family keeps its lowercase particles
    ('van Seijen'). A one-word name is all family. None when no split gives it back (a comma in it,
    or a given name that reads as a suffix): such a name is written whole."""
    words = name.split()
    if not words or "," in name:
        return None
    suffix = words.pop() if len(words) > 1 and is_suffix(words[-1]) else ""
    start = len(words) - 1
    while start > 1 and words[start - 1] in _PARTICLES:
        start -= 1
    given, family = " ".join(words[:start]), " ".join(words[start:])
    if (suffix and not given) or is_suffix(given):
        return None
    return given, family, suffix
_INITIALS_RE = re.compile(r"(?:[^\W\d_]\.-?){1,3}")
_CAMEL_PREFIX_RE = re.compile(r"(?:Mc|Mac|O'|O’|D'|D’|De|Di|La|Le|Van)[A-ZÀ-Þ]")


def _is_capitalised_word(tok: str, *, allow_camel: bool) -> bool:
    for piece in tok.split("-"):
        letters = piece.replace("'", "").replace("’", "")
        if not letters or not letters.isalpha() or not piece[0].isupper():
            return False
        tail = letters[1:]
        if tail and tail.isupper():
            return False  # an acronym such as "ML", not a name
        if any(c.isupper() for c in tail) and not (allow_camel or _CAMEL_PREFIX_RE.match(piece)):
            return False
    return True


def _is_name_token(tok: str, *, allow_camel: bool) -> bool:
    if _INITIALS_RE.fullmatch(tok):
        return tok[0].isupper()
    return _is_capitalised_word(tok, allow_camel=allow_camel)


def is_name_part(text: str) -> bool:
    """One side of 'Last, First': 'van Seijen', 'Vinayagam Babu', 'Siddhant M.'."""
    tokens = text.split()
    if not 1 <= len(tokens) <= 4:
        return False
    ok = [t in _PARTICLES or _is_name_token(t, allow_camel=i == 0) for i, t in enumerate(tokens)]
    return all(ok) and any(t not in _PARTICLES for t in tokens)


def is_person_name(text: str) -> bool:
    """A 'First [Middle] Last' name of 2-6 tokens: 'John D. Co-Reyes', 'YuXuan Liu'.

    camelCase is accepted only in the first token, so a title word glued to a name
    ('LabJohn Smith') does not pass as part of one.
    """
    tokens = text.split()
    if not 2 <= len(tokens) <= 6 or tokens[0] in _PARTICLES:
        return False
    if tokens[-1] in _PARTICLES or _INITIALS_RE.fullmatch(tokens[-1]):
        return False
    return all(t in _PARTICLES or _is_name_token(t, allow_camel=i == 0) for i, t in enumerate(tokens))


def parse_name_list(text: str) -> list[str] | None:
    """'A B, C D' -> ['A B', 'C D'] when every comma-separated item is a person name, else None."""
    names = [squash(p) for p in text.split(",")]
    if not names or not all(is_person_name(n) for n in names):
        return None
    return names


def parse_last_first_line(line: str) -> list[str] | None:
    """'He, Bobby, van Seijen, Harm' -> ['Bobby He', 'Harm van Seijen'], or None if not such a line."""
    parts = [squash(p) for p in line.split(",")]
    if len(parts) < 2 or len(parts) % 2 or not all(is_name_part(p) for p in parts):
        return None
    return pair_last_first(parts)
