"""Text cleaning shared by the scraped-page parsers: markup, teaser cuts, PDF artefacts, categories.

What it does:
- turns markup into plain text: LaTeX with `rag.parsers.latex.latex_to_text` (`$\\textit{x}$` ->
  "x", `70\\%` -> "70%"), markdown emphasis here (`*safe*` -> "safe");
- joins words a site cut in two with a "… (see more)" teaser ("m… (see more)ode" -> "mode");
- removes PDF-extraction artefacts (an "A BSTRACT" heading, an affiliation footnote carrying an
  arXiv id) and, only in text that showed such artefacts, rejoins split capitals ("Y et" -> "Yet");
- maps arXiv subject names and codes to category ids ("Machine Learning" / "LG" -> "cs.LG").

Whitespace collapsing and the removal of invisible characters (zero-width spaces, soft hyphens,
NUL: "Atten\\u00adtion" -> "Attention") are `rag.parsers.common.squash`, which every cleaner here
and in `rag.parsers.fields` ends with.

What it does not do: decide where records start or end, parse dates (see `rag.parsers.common`),
or recognise person names and 'Last, First' bylines (see `rag.parsers.names`).
Every function is pure, takes any string and never raises.
"""

from __future__ import annotations

import re

from rag.parsers.common import squash
from rag.parsers.latex import latex_to_text

# ---------------------------------------------------------------------------------------------
# "… (see more)" teaser cuts

_TEASER_RE = re.compile(r"(?:…|\.{3})?[ \t]{0,3}\((?:see|read|show) more\)", re.I)
_TERMINAL_RE = re.compile(r"[.!?。！？][\"'”’)\]]*$")


def join_teaser_cuts(text: str) -> str:
    """Remove "… (see more)" markers, joining the two halves of a word the teaser cut.

    'failure m… (see more)ode' -> 'failure mode'; a space on either side of the marker is kept
    as one space ('word… (see more) next' -> 'word next').
    """
    if "more)" not in text.lower():
        return text
    parts, pos = [], 0
    for m in _TEASER_RE.finditer(text):
        head, after = text[pos: m.start()], text[m.end(): m.end() + 1]
        spaced = head[-1:].isspace() or after.isspace()
        parts.append(head.rstrip() + (" " if spaced and after and not after.isspace() else ""))
        pos = m.end()
    parts.append(text[pos:])
    return "".join(parts)


def has_teaser_cut(text: str) -> bool:
    return bool(_TEASER_RE.search(text))


def ends_mid_text(text: str | None) -> bool:
    """True when `text` stops without sentence-final punctuation (a cut page or teaser)."""
    s = (text or "").rstrip()
    return bool(s) and (s.endswith(("…", "...")) or not _TERMINAL_RE.search(s))


# ---------------------------------------------------------------------------------------------
# Markup: LaTeX (`rag.parsers.latex`) and markdown emphasis

_EMPHASIS_RE = re.compile(r"(?<![\w*\\])(\*{1,2})(?=[^\s*])([^*\n]{1,300}?)(?<=[^\s*])\1(?![\w*])")


def strip_markdown_emphasis(text: str) -> str:
    """'*provably safe*' and '**bold**' -> their words; a lone or spaced '*' stays."""
    return _EMPHASIS_RE.sub(r"\2", text) if "*" in text else text


def clean_text(text: str | None) -> str:
    """Teaser cuts joined, markup removed, whitespace collapsed. Use for titles and abstracts."""
    if not text:
        return ""
    text = join_teaser_cuts(text)
    text = strip_markdown_emphasis(latex_to_text(text))
    return squash(text)


# ---------------------------------------------------------------------------------------------
# PDF-extraction artefacts

_HEADING_RE = re.compile(r"^\s*(?:A\s+BSTRACT|ABSTRACT(?=\s+[A-Z])|Abstract\s*[:.—–-])[\s:.—–-]*")
# A PDF arXiv stamp: "1 arXiv:1910.06764v1" (footnote number) or "arXiv:1910.06764v1 [cs.LG] 13 Oct 2019".
# A plain citation ("see arXiv:2101.00001") has neither a version nor a footnote mark.
_ARXIV_STAMP_RE = re.compile(
    r"(?:(?<=\s)(\d{1,2})\s{1,3})?arXiv:\s?(\d{4}\.\d{4,5})v\d+"
    r"(\s*\[[\w.\-]+\])?(?:\s+\d{1,2}\s+[A-Z][a-z]{2}\s+\d{4})?"
)
_SPLIT_CAPITAL_RE = re.compile(r"(?<![\w-])([B-HJ-Z]) ([a-z]+)\b")
_AFFILIATION_WORDS = re.compile(
    r"\b(?:University|Universit[éyà]|Institute|Institut|Department|Dept|Laborator(?:y|ies)|Lab|Labs|"
    r"School|College|Faculty|Center|Centre|Research|Inc|Corporation|DeepMind|Google|Microsoft|Meta|"
    r"OpenAI|Mila|Academy)\b"
)
_CONNECTORS = {"and", "of", "for", "the", "at", "&", "de", "du", "des", "la", "in", "und", "für"}


def _is_affiliation_token(tok: str, *, last: bool) -> bool:
    core = tok.rstrip(",;.") if last else tok.rstrip(",;")
    if not core or (not last and core.endswith(".")):
        return False
    return core.lower() in _CONNECTORS or core[0].isupper()


def _affiliation_start(before: str) -> int:
    """Start offset of a capitalised affiliation phrase ending `before` (len(before) if none)."""
    tokens = list(re.finditer(r"\S+", before))
    start = len(tokens)
    for i in range(len(tokens) - 1, -1, -1):
        if not _is_affiliation_token(tokens[i].group(0), last=i == len(tokens) - 1):
            break
        start = i
    while start < len(tokens) and tokens[start].group(0).lower() in _CONNECTORS:
        start += 1
    if start >= len(tokens):
        return len(before)
    phrase = before[tokens[start].start():]
    return tokens[start].start() if _AFFILIATION_WORDS.search(phrase) else len(before)


def _join_split_capitals(text: str) -> str:
    """'Y et' -> 'Yet' where the capital does not follow a lowercase word ('type B cells' stays)."""
    def repl(m: re.Match) -> str:
        j = m.start() - 1
        while j >= 0 and text[j].isspace():
            j -= 1
        if j >= 0 and text[j].isalpha() and text[j].islower():
            return m.group(0)
        if m.group(2) == "et" and text[m.end(): m.end() + 4].strip().startswith("al"):
            return m.group(0)
        return m.group(1) + m.group(2)

    return _SPLIT_CAPITAL_RE.sub(repl, text)


def _find_arxiv_stamp(text: str) -> re.Match | None:
    if "arXiv:" not in text:
        return None
    for m in _ARXIV_STAMP_RE.finditer(text):
        if m.group(1) or m.group(3):
            return m
    return None


def _remove_arxiv_footnote(text: str) -> tuple[str, str | None]:
    m = _find_arxiv_stamp(text)
    if not m:
        return text, None
    before = text[: m.start()].rstrip()
    cut = _affiliation_start(before)
    return before[:cut].rstrip() + " " + text[m.end():].lstrip(), m.group(2)


def strip_pdf_artefacts(text: str) -> tuple[str, str | None]:
    """Drop an abstract heading and an arXiv footnote; return (text, arXiv id found or None).

    Split capitals ("Y et") are rejoined only when the text showed one of these artefacts.
    """
    if not text:
        return "", None
    stripped = _HEADING_RE.sub("", text, count=1)
    artefacts = stripped != text or _find_arxiv_stamp(stripped) is not None
    if not artefacts:
        return text, None
    stripped = _join_split_capitals(stripped)
    stripped, arxiv_id = _remove_arxiv_footnote(stripped)
    return squash(stripped), arxiv_id


def clean_abstract(text: str | None) -> tuple[str, str | None]:
    """`clean_text` after PDF-artefact removal; returns (abstract, arXiv id from a footnote)."""
    stripped, arxiv_id = strip_pdf_artefacts(text or "")
    return clean_text(stripped), arxiv_id


# ---------------------------------------------------------------------------------------------
# arXiv categories

ARXIV_CS_SUBJECTS = {
    "Artificial Intelligence": "cs.AI", "Hardware Architecture": "cs.AR",
    "Computational Complexity": "cs.CC", "Computational Engineering, Finance, and Science": "cs.CE",
    "Computational Geometry": "cs.CG", "Computation and Language": "cs.CL",
    "Cryptography and Security": "cs.CR", "Computer Vision and Pattern Recognition": "cs.CV",
    "Computers and Society": "cs.CY", "Databases": "cs.DB",
    "Distributed, Parallel, and Cluster Computing": "cs.DC", "Digital Libraries": "cs.DL",
    "Discrete Mathematics": "cs.DM", "Data Structures and Algorithms": "cs.DS",
    "Emerging Technologies": "cs.ET", "Formal Languages and Automata Theory": "cs.FL",
    "General Literature": "cs.GL", "Graphics": "cs.GR", "Computer Science and Game Theory": "cs.GT",
    "Human-Computer Interaction": "cs.HC", "Information Retrieval": "cs.IR",
    "Information Theory": "cs.IT", "Machine Learning": "cs.LG", "Logic in Computer Science": "cs.LO",
    "Multiagent Systems": "cs.MA", "Multimedia": "cs.MM", "Mathematical Software": "cs.MS",
    "Numerical Analysis": "cs.NA", "Neural and Evolutionary Computing": "cs.NE",
    "Networking and Internet Architecture": "cs.NI", "Other Computer Science": "cs.OH",
    "Operating Systems": "cs.OS", "Performance": "cs.PF", "Programming Languages": "cs.PL",
    "Robotics": "cs.RO", "Symbolic Computation": "cs.SC", "Sound": "cs.SD",
    "Software Engineering": "cs.SE", "Social and Information Networks": "cs.SI",
    "Systems and Control": "cs.SY",
}
_SUBJECT_CODES = {squash(name).lower(): code for name, code in ARXIV_CS_SUBJECTS.items()}
_SHORT_CODES = {code.split(".")[1]: code for code in ARXIV_CS_SUBJECTS.values()} | {"ML": "stat.ML"}
_SUBJECT_SPLIT_RE = re.compile(r"\s*(?:;|\||/|·)\s*")


def subject_categories(subjects: str | None) -> list[str]:
    """'Machine Learning' -> ['cs.LG']; several subjects split on ';' '|' '/'; unknown ones dropped."""
    if not subjects:
        return []
    whole = _SUBJECT_CODES.get(squash(subjects).lower().rstrip("."))
    if whole:
        return [whole]
    codes = [_SUBJECT_CODES.get(squash(s).lower()) for s in _SUBJECT_SPLIT_RE.split(subjects)]
    return list(dict.fromkeys(c for c in codes if c))


def category_from_code(code: str | None) -> str | None:
    """'LG' -> 'cs.LG', 'cs.RO' -> 'cs.RO'; an unknown bare code -> None (never guessed)."""
    if not code:
        return None
    if "." in code:
        return code
    return _SHORT_CODES.get(code)
