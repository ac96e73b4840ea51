"""What a question says about its own filters: authors, years, months, arXiv categories, venues.

    found, kinds = detect_filters("Which cs.CV papers were listed in May 2025?", catalog.authors,
                                  categories=catalog.by_category, venues=catalog.by_venue)
    found.categories, found.months, kinds      # ["cs.CV"], ["2025-05"], ["categories", "months"]

Authors: a full name of the collection (middle initials optional), or a distinctive last name
alone. Years: "in 2021", "after 2020", "between 2018 and 2020", "dated 2024", "2023 papers". Months: a month
name with its year ("listed in January 2026", "March 2025"). Categories: an arXiv code the
collection uses ("cs.GR"), or its name where the question speaks of papers of that kind
("graphics papers", "papers in computer vision"). Venues: a venue the collection knows, named
in full or by its usual acronym ("at ICML", "in NeurIPS"); arXiv itself is not a venue filter.
Only values the collection holds become filters (a detected filter that matches no paper is
reported by retrieval, never an error). This module only reads questions; `rag.retrieval`
resolves and applies the filters.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from functools import lru_cache

from rag.citations import CITE_RE
from rag.records import normalise_text
from rag.terms import NUMBER_WORDS, numbers
from rag.types import Filters

# ---------------------------------------------------------------- authors

def _name_tokens(name: str) -> list[str]:
    return normalise_text(name).split()


def _last_name(name: str) -> str:
    """'John D. Co-Reyes' -> 'co reyes': the last written word of the name, normalised."""
    words = name.split()
    return normalise_text(words[-1]) if words else ""


def author_matches(query: str | list[str], name: str | list[str]) -> bool:
    """True when `query` names `name`: its words appear in order in the name (a one-letter word
    may stand for a first name), ending with the name's last word. 'Co-Reyes', 'john co reyes'
    and 'J. Co-Reyes' all match 'John D. Co-Reyes'; 'John' alone does not."""
    q = _name_tokens(query) if isinstance(query, str) else query
    n = _name_tokens(name) if isinstance(name, str) else name
    if not q or not n or q[-1] != n[-1]:
        return False
    i = 0
    for word in n:
        if i < len(q) and (word == q[i] or (len(q[i]) == 1 and word[0] == q[i] and i < len(q) - 1)):
            i += 1
    return i == len(q)


class AuthorIndex:
    """The collection's author names, looked up by last name."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted({n for n in names if n and n.strip()})
        self.tokens = {n: _name_tokens(n) for n in self.names}
        self.by_last: dict[str, list[str]] = defaultdict(list)
        self.by_last_word: dict[str, list[str]] = defaultdict(list)
        for n in self.names:
            if self.tokens[n]:
                self.by_last[_last_name(n)].append(n)
                self.by_last_word[self.tokens[n][-1]].append(n)

    def resolve(self, query: str) -> list[str]:
        """Every collection name `query` names (see `author_matches`)."""
        q = _name_tokens(query)
        if not q:
            return []
        return [n for n in self.by_last_word.get(q[-1], []) if author_matches(q, self.tokens[n])]


def _as_index(known: Iterable[str] | AuthorIndex) -> AuthorIndex:
    return known if isinstance(known, AuthorIndex) else AuthorIndex(known)


def _opens_sentence(before: str) -> bool:
    """True when a word written after `before` starts a sentence (nothing before it, or a sentence
    mark or opening quote/bracket just before): its capital is grammar, not a name's."""
    before = before.rstrip()
    return not before or before[-1] in ".?!:;\"'("


def _typed_initials(question: str) -> set[str]:
    """Letters the question writes as an initial: a capital standing alone, with a full stop ("A.
    Way") or inside a sentence ("by J Smith"). A lowercase one-letter word ("a way to simulate") and
    a capital that starts a sentence ("A way to ...") are English, not initials."""
    out = set()
    for m in re.finditer(r"(?<![\w'])([A-Z])(\.)?(?![\w'])", question):
        if m.group(2) or not _opens_sentence(question[: m.start()]):
            out.add(m.group(1).lower())
    return out


def detect_authors(question: str, known: Iterable[str] | AuthorIndex,
                   is_common: Callable[[str], bool] | None = None) -> list[str]:
    """Collection authors the question names: a full name (middle initials optional; an initial
    only when written as one, a capital letter), or a distinctive last name alone: >= 4 letters, one collection author only, and not a word the
    collection's text uses (`is_common(last_name)`, e.g. 'Power' or 'Long'), nor written after
    another capitalised word that cannot be that author's first name ("the Sistine Chapel" is not
    Laetitia Chapel's; "Yoshua Bengio" may be Y. Bengio's)."""
    index = _as_index(known)
    q = normalise_text(question).split()
    initials = _typed_initials(question)
    proper = _proper_words(question, len(q))
    found: list[str] = []
    named: set[int] = set()  # word positions inside a full name found so far ("Bobby" of "Bobby He")
    for j in range(len(q), 0, -1):
        for i in range(max(0, j - 3), j):
            names = index.by_last.get(" ".join(q[i:j]))
            if not names or named.intersection(range(i, j)):
                continue
            full, start = _longest_naming(q, i, j, names, index, initials)
            last = " ".join(q[i:j])
            if full:
                found.extend(full)
                named.update(range(start, j))
            elif (len(names) == 1 and len(last.replace(" ", "")) >= 4
                  and not (is_common and is_common(last))
                  and not (i > 0 and proper[i - 1]
                           and q[i - 1][0] not in _first_initials(index.tokens[names[0]], last))):
                found.append(names[0])
    return list(dict.fromkeys(found))


def _proper_words(question: str, n: int) -> list[bool]:
    """For each normalised word of the question: True when it comes from a capitalised word that
    does not start a sentence (a proper noun's word: "Sistine" in "the Sistine Chapel")."""
    out, prev = [], ""
    for word in question.split():
        tokens = normalise_text(word).split()
        cap = word[:1].isupper() and not _opens_sentence(prev)
        out.extend([cap] * len(tokens))
        prev = word if tokens or not prev else prev
    return out if len(out) == n else [False] * n


def _first_initials(tokens: list[str], last: str) -> set[str]:
    """The first letters of a name's words before its last name."""
    return {w[0] for w in tokens[: len(tokens) - len(last.split())]}


def _longest_naming(q: list[str], i: int, j: int, names: list[str], index: AuthorIndex,
                    initials: set[str]) -> tuple[list[str], int]:
    """The collection names the longest written name ending at q[i:j] (up to four words before the
    last name) matches, and where that name starts: "Peter J. Liu" is Peter J. Liu only, not every
    J. Liu of the collection, though "J. Liu" alone still names them all."""
    for s in range(max(0, i - 4), i):
        if all(len(w) > 1 or w in initials for w in q[s:i]):
            full = [n for n in names if author_matches(q[s:j], index.tokens[n])]
            if full:
                return full, s
    return [], i


# ---------------------------------------------------------------- years

_Y = r"(?<![\w.])(19\d\d|20\d\d|2100)(?![\d]|\.\d)"
_RANGE_RES = [
    re.compile(rf"\bbetween\s+{_Y}\s+and\s+{_Y}", re.I),
    re.compile(rf"\bfrom\s+{_Y}\s+(?:to|until|till|through|thru)\s+{_Y}", re.I),
    re.compile(rf"{_Y}\s*(?:-|–|—|to)\s*{_Y}", re.I),
]
_FROM_RES = [  # (pattern, offset added to the year)
    (re.compile(rf"\b(?:in\s+or\s+after|on\s+or\s+after)\s+{_Y}", re.I), 0),
    (re.compile(rf"\bafter\s+{_Y}", re.I), 1),
    (re.compile(rf"\b(?:since|starting(?:\s+in|\s+from)?)\s+{_Y}", re.I), 0),
    (re.compile(rf"\bfrom\s+{_Y}\s+(?:on\b|onwards?\b|forwards?\b|and\s+later\b)", re.I), 0),
    (re.compile(rf"{_Y}\s+(?:or|and)\s+(?:later|after)\b", re.I), 0),
]
_TO_RES = [
    (re.compile(rf"\b(?:in\s+or\s+before|on\s+or\s+before)\s+{_Y}", re.I), 0),
    (re.compile(rf"\b(?:before|prior\s+to)\s+{_Y}", re.I), -1),
    (re.compile(rf"\b(?:until|till|up\s+to|through)\s+{_Y}", re.I), 0),
    (re.compile(rf"{_Y}\s+(?:or|and)\s+(?:earlier|before)\b", re.I), 0),
]
_EXACT_RE = re.compile(rf"\b(?:in|during|from|published|of|dated)\s+{_Y}", re.I)
_YEAR_PAPERS_RE = re.compile(rf"{_Y}\s+(?:papers?|works?|articles?|publications?|preprints?)\b", re.I)  # "2023 papers"


def detect_years(question: str) -> tuple[int | None, int | None]:
    """(year_from, year_to) stated in the question: 'in 2021', 'after 2020', 'before 2019',
    'since 2021', 'between 2018 and 2020', '2018-2020', 'Which 2023 papers ...'. (None, None) when there is none."""
    for rx in _RANGE_RES:
        m = rx.search(question)
        if m:
            a, b = sorted((int(m.group(1)), int(m.group(2))))
            return a, b
    lo = next((int(m.group(1)) + off for rx, off in _FROM_RES if (m := rx.search(question))), None)
    hi = next((int(m.group(1)) + off for rx, off in _TO_RES if (m := rx.search(question))), None)
    if lo is None and hi is None:
        m = _EXACT_RE.search(question) or _YEAR_PAPERS_RE.search(question)
        # "trained on 2048 papers" is a count: a year as an adjective is one that has begun
        if m and (m.re is _EXACT_RE or int(m.group(1)) <= date.today().year):
            return int(m.group(1)), int(m.group(1))
    return lo, hi


# ---------------------------------------------------------------- months

MONTHS = {m: i + 1 for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july", "august",
                                          "september", "october", "november", "december"])}
_MONTH_RE = re.compile(r"\b(" + "|".join(list(MONTHS) + [m[:3] for m in MONTHS if m != "may"] + ["sept"]) +
                       r")\.?,?\s+(?:of\s+)?(19\d\d|20\d\d)\b", re.I)


def detect_months(question: str) -> list[str]:
    """'listed in March 2025' -> ['2025-03'] (a month needs its year: 'in March' alone is not a filter)."""
    out = []
    for m in _MONTH_RE.finditer(question):
        name = m.group(1).lower()
        number = MONTHS.get(name) or next(i for full, i in MONTHS.items() if full.startswith(name))
        out.append(f"{m.group(2)}-{number:02d}")
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------- categories

# arXiv category names, as a question may say them; only codes the collection uses become filters
CATEGORY_NAMES: dict[str, tuple[str, ...]] = {
    "cs.AI": ("artificial intelligence",), "cs.AR": ("hardware architecture",),
    "cs.CC": ("computational complexity",), "cs.CE": ("computational engineering",),
    "cs.CG": ("computational geometry",), "cs.CL": ("computation and language", "computational linguistics",
                                                   "natural language processing", "nlp"),
    "cs.CR": ("cryptography", "security"), "cs.CV": ("computer vision", "vision"),
    "cs.CY": ("computers and society",), "cs.DB": ("databases", "database"),
    "cs.DC": ("distributed computing", "parallel computing"), "cs.DL": ("digital libraries",),
    "cs.DM": ("discrete mathematics",), "cs.DS": ("data structures", "algorithms"),
    "cs.FL": ("formal languages",), "cs.GR": ("graphics", "computer graphics"), "cs.GT": ("game theory",),
    "cs.HC": ("human-computer interaction", "hci"), "cs.IR": ("information retrieval",),
    "cs.IT": ("information theory",), "cs.LG": ("machine learning",), "cs.LO": ("logic in computer science",),
    "cs.MA": ("multiagent systems", "multi-agent systems"), "cs.MM": ("multimedia",),
    "cs.NE": ("neural and evolutionary computing", "evolutionary computing"), "cs.NI": ("networking",),
    "cs.PL": ("programming languages",), "cs.RO": ("robotics",), "cs.SD": ("sound",),
    "cs.SE": ("software engineering",), "cs.SI": ("social and information networks",),
    "cs.SY": ("systems and control",), "eess.AS": ("audio and speech processing",),
    "eess.IV": ("image and video processing",), "eess.SP": ("signal processing",), "stat.ML": (),
}
_CODE_RE = re.compile(r"\b([a-z]{2,8}(?:-[a-z]{2})?\.[A-Z]{2})\b", re.I)
_KIND = r"(?:papers?|articles?|preprints?|works?|category|section|listings?)"


def detect_categories(question: str, known: Iterable[str]) -> list[str]:
    """Known arXiv categories the question names: by code ("cs.GR"), or by name next to a word for
    papers ("graphics papers", "papers in computer vision", "the robotics category")."""
    by_fold = {k.casefold(): k for k in known}
    found = [by_fold[m.group(1).casefold()] for m in _CODE_RE.finditer(question) if m.group(1).casefold() in by_fold]
    q = question.casefold()
    for code, names in CATEGORY_NAMES.items():
        if code.casefold() not in by_fold:
            continue
        for name in names:
            n = re.escape(name)
            if re.search(rf"\b{n}\s+{_KIND}\b|\b{_KIND}\s+(?:in|on|from|under|about)\s+(?:the\s+)?{n}\b", q):
                found.append(by_fold[code.casefold()])
    return list(dict.fromkeys(found))


# ---------------------------------------------------------------- venues

VENUE_ACRONYMS = {
    "icml": "international conference on machine learning", "iclr": "international conference on learning representations",
    "neurips": "neural information processing systems", "nips": "neural information processing systems",
    "cvpr": "computer vision and pattern recognition", "iccv": "international conference on computer vision",
    "eccv": "european conference on computer vision", "acl": "association for computational linguistics",
    "emnlp": "empirical methods in natural language processing", "aaai": "aaai conference on artificial intelligence",
    "ijcai": "international joint conference on artificial intelligence", "corl": "conference on robot learning",
    "icra": "international conference on robotics and automation", "kdd": "knowledge discovery and data mining",
}


def detect_venue(question: str, known: Iterable[str]) -> str | None:
    """A known venue the question names, in full or by acronym; returned as the words to match
    (a case-insensitive substring of the venue). arXiv is where papers are listed, not a venue filter."""
    q = " ".join(question.casefold().split())
    venues = [v for v in known if v and v.casefold() != "arxiv"]
    for v in sorted(venues, key=len, reverse=True):
        if " ".join(v.casefold().split()) in q:
            return v
    for acronym, words in VENUE_ACRONYMS.items():
        if re.search(rf"\b{acronym}\b", q):
            for v in venues:
                if re.search(rf"\b{acronym}\b", v.casefold()):
                    return acronym.upper() if acronym != "neurips" else "NeurIPS"
                if words in v.casefold():
                    return words
    return None


# ---------------------------------------------------------------- all of them

def detect_filters(question: str, known_authors: Iterable[str] | AuthorIndex,
                   is_common: Callable[[str], bool] | None = None, *, categories: Iterable[str] = (),
                   venues: Iterable[str] = ()) -> tuple[Filters, list[str]]:
    """The filters stated in the question, and which kinds were found
    ("authors", "year", "months", "categories", "venue")."""
    found = Filters()
    kinds: list[str] = []
    authors = detect_authors(question, known_authors, is_common)
    if authors:
        found.authors = authors
        kinds.append("authors")
    lo, hi = detect_years(question)
    if lo is not None or hi is not None:
        found.year_from, found.year_to = lo, hi
        kinds.append("year")
    if months := detect_months(question):
        found.months = months
        kinds.append("months")
    if cats := detect_categories(question, categories):
        found.categories = cats
        kinds.append("categories")
    if venue := detect_venue(question, venues):
        found.venue = venue
        kinds.append("venue")
    return found, kinds


def filter_words(question: str, applied: dict) -> str:
    """The question without the words that stated its filters (names, years, months, categories,
    venues): what is left says whether it asks about a topic too."""
    rest = question.lower()
    for name in applied.get("authors", []):
        for part in name.lower().split():
            rest = rest.replace(part, " ")
    rest = _MONTH_RE.sub(" ", rest) if applied.get("months") else rest
    for code in applied.get("categories", []):
        rest = re.sub(rf"\b{re.escape(code.lower())}\b", " ", rest)
        for name in CATEGORY_NAMES.get(code, ()):
            rest = re.sub(rf"\b{re.escape(name)}\b", " ", rest)
    if applied.get("venue"):
        rest = rest.replace(applied["venue"].lower(), " ")
        rest = re.sub(r"\b(" + "|".join(VENUE_ACRONYMS) + r")\b", " ", rest)
    return re.sub(r"\b(1[89]|20)\d\d\b|'s\b", " ", rest)


# ---------------------------------------------------------------- what kind of answer

_DETAIL_RE = re.compile(
    r"\bhow\s+(?:many|much|long|large|big|fast|often|deep|wide)\b|"
    r"\b(?:what|which)\b[^?]{0,60}?\b(?:learning[- ]rates?|batch[- ]sizes?|optimi[sz]ers?|discount factors?|"
    r"hyper-?parameters?|epochs?|steps|seeds?|hardware|gpus?|tpus?|chips|temperature|weight decay|dropout|"
    r"sizes?|numbers?|amounts?|counts?|values?|rates?|percentages?|scores?)\b", re.I)


def asks_for_detail(question: str) -> bool:
    """True when the question asks for a quantity or a training setting ("How many GPUs ...?",
    "What learning rate ...?"): a passage on the right topic is not an answer to it."""
    return bool(_DETAIL_RE.search(question))


# a clause that asks for a figure: "How many GPUs ...?", "..., and for how many steps?", "What score ...?"
_QUANTITY_RE = re.compile(
    r"(?:^|[,;:(]\s*|\b(?:and|or|but)\s+)\W*(?:(?:by|for|in|to|at|on|with|of|over)\s+)?"
    r"how\s+(?:many|much|long|large|big|far|fast|often)\b|^\W*(?:what|which)\s+(?:score|number|percentage|count|amount)\b",
    re.I)
_BIG_O = re.compile(r"\bO\([^)]{1,20}\)")


_SEVERAL_RE = re.compile(r"\b(?:papers|works|studies|articles|publications|preprints)\b", re.I)


def asks_for_several(question: str) -> bool:
    """True when the question asks about papers in the plural ("Which papers ...?", "papers that ..."):
    its answer may cite several sources."""
    return bool(_SEVERAL_RE.search(question))


_CLAUSE_END = re.compile(r"[,;?]|\b(?:and|or|but)\s+(?:which|what|how|who|where|when|why)\b", re.I)


def figure_clause(question: str) -> str:
    """The words of the clause that asks for a figure ("..., and how much faster is inference?" ->
    "faster is inference"); '' when no clause does."""
    m = _QUANTITY_RE.search(question)
    if not m:
        return ""
    rest = question[m.end():]
    end = _CLAUSE_END.search(rest)
    return rest[: end.start() if end else len(rest)].strip()


def asks_for_quantity(question: str) -> bool:
    """True when a clause of the question asks for a figure ("How many GPUs ...?", "..., and by how
    much?", "What score ...?"); not for a phrase that only mentions one ("papers that decide how
    many tokens to keep")."""
    return bool(_QUANTITY_RE.search(question))


# a ratio, not a count: "6 times fewer tokens", "a 1.75x speedup", "45%", "two-fold"
_RATIO_RE = re.compile(r"(?:\d+(?:[.,]\d+)?|\b(?:" + "|".join(NUMBER_WORDS) + r"))\s*"
                       r"(?:x\b|\u00d7|times\b|-?fold\b|%|percent\b|percentage\s+points?\b)", re.I)


def asks_for_count(question: str) -> bool:
    """True when the figure asked for is a count ("How many GPUs ...?"), which a ratio does not
    answer; not for "how many times", nor for "how much", "how fast", "what score"."""
    m = _QUANTITY_RE.search(question)
    return bool(m and m.group().lower().rstrip().endswith("many") and
                not question[m.end():].lstrip().lower().startswith("times"))


def states_quantity(answer: str, question: str) -> bool:
    """True when the answer gives a figure the question does not already give (a number, written
    in digits or words, or an O(...) bound); citation keys are not figures. For a question that asks
    for a count, a ratio ("6 times fewer tokens", "45%", "two-fold") is not one."""
    text = CITE_RE.sub(" ", answer)
    asked = _figures(question)
    count = asks_for_count(question)
    if count:
        text = _RATIO_RE.sub(" ", text)
    return bool(_BIG_O.search(text)) or any(n.value not in asked for n in numbers(text))


@lru_cache(maxsize=64)
def _figures(question: str) -> frozenset[float]:
    """The values of the numbers a question gives (read once per question: the extractive backend
    asks `states_quantity` of every candidate sentence)."""
    return frozenset(n.value for n in numbers(question))
