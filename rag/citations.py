"""Citation keys in answer text: find them, check them against the keys given, strip invalid ones.

The model cites `[n]`; code decides what `n` means. Paper text never does: `defang` rewrites
anything in it that would read as a key before it is shown to a model or a user. A key that was not among the numbered sources
is removed from the text and counted, so it can never reach a user. `CitationStreamFilter` does
the same to a token stream: it holds back a `[` until it knows whether a valid key follows.
Sentence splitting lives here too, since citations are judged per sentence.
This module does not judge whether a citation is *supported* (see `rag.support`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# [1], [1, 2], [1][2], [1-3], [Source 1]
CITE_RE = re.compile(r"\[\s*(?:sources?\s*)?(\d+(?:\s*(?:[,;]|-|–)\s*\d+)*)\s*\]", re.I)
_SENT_END_RE = re.compile(r"(?<=[.!?])(?:\s*(?:\[[^\]]*\]))*\s+(?=[A-Z0-9\"“(])")
_PLACEHOLDER_RE = re.compile(r"\[\s*(?:\?+|n|x|k|#|citation needed|sources?\s*\??)?\s*\]", re.I)
_KEYLIKE_RE = re.compile(CITE_RE.pattern + "|" + _PLACEHOLDER_RE.pattern, re.I)
_ABBREV_RE = re.compile(r"\b(?:e\.g|i\.e|et al|cf|vs|Fig|Eq|approx|resp)\.$|(?-i:(?:^|\s)[A-Z]\.)$", re.I)


def keys_in(group: str) -> list[int]:
    """'1, 3-5' -> [1, 3, 4, 5] (ranges capped at 20 keys)."""
    keys: list[int] = []
    for part in re.split(r"\s*[,;]\s*", group):
        if m := re.fullmatch(r"(\d+)\s*[-–]\s*(\d+)", part):
            lo, hi = int(m[1]), int(m[2])
            keys.extend(range(lo, min(hi, lo + 19) + 1))
        elif part.strip().isdigit():
            keys.append(int(part))
    return keys


def cited_keys(text: str) -> list[int]:
    """Every key cited in `text`, in order of first appearance."""
    seen: list[int] = []
    for m in CITE_RE.finditer(text):
        seen.extend(k for k in keys_in(m[1]) if k not in seen)
    return seen


def clean_citations(text: str, valid: Iterable[int]) -> tuple[str, list[str]]:
    """Rewrite every citation as `[n]` markers of valid keys; return the text and the invalid keys removed."""
    valid = set(valid)
    invalid: list[str] = []

    def fix(m: re.Match) -> str:
        keys = keys_in(m[1])
        invalid.extend(str(k) for k in keys if k not in valid)
        return "".join(f"[{k}]" for k in dict.fromkeys(k for k in keys if k in valid))

    cleaned = CITE_RE.sub(fix, text)
    cleaned = _PLACEHOLDER_RE.sub("", cleaned)  # "[?]", "[n]", "[]": keys the model did not fill in
    return re.sub(r"[ \t]+([.,;:])", r"\1", re.sub(r"[ \t]{2,}", " ", cleaned)).strip(), invalid


def defang(text: str | None) -> str | None:
    """Paper text as data: every bracket group that would read as a citation key ("[3]", "[1, 2]",
    "[Source 3]", "[n]", "[?]") gets parentheses instead ("(3)", "(Source 3)"), so no title,
    abstract, author or venue can carry a key into a prompt, an answer or a card. Idempotent."""
    if not text:
        return text
    return _KEYLIKE_RE.sub(lambda m: "(" + m[0][1:-1] + ")", text)


def split_sentences(text: str) -> list[str]:
    """Sentences with their trailing citations attached ("A [1]. B [2]." -> two sentences)."""
    text = " ".join(text.split())
    if not text:
        return []
    parts, start = [], 0
    for m in _SENT_END_RE.finditer(text):
        candidate = text[start:m.start()].rstrip()
        if _ABBREV_RE.search(re.sub(r"(\s*\[[^\]]*\])+$", "", candidate)) or _in_quotes(candidate, text, m.end()):
            continue
        # a citation group right after the full stop belongs to this sentence
        tail = re.match(r"(?:\s*\[[^\]]*\])+", text[m.start():])
        end = m.start() + (tail.end() if tail else 0)
        parts.append(text[start:end].strip())
        start = end
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _in_quotes(before: str, text: str, after: int) -> bool:
    """True when a sentence end falls inside a double-quoted span that closes soon after (a quoted
    title such as "Is Attention Enough? A Study" is one sentence's words, not two sentences)."""
    opened = before.count('"') % 2 == 1 or before.count("\u201c") > before.count("\u201d")
    return opened and bool(re.search(r'["\u201d]', text[after:after + 300]))


def strip_keys(sentence: str) -> str:
    """'Griffin mixes recurrences [1]?' -> 'Griffin mixes recurrences?': every key out, and no space
    left before the end mark a key stood before (`rag.extractive.cite` puts keys there)."""
    return re.sub(r" ([.!?])", r"\1", " ".join(CITE_RE.sub(" ", sentence).split()))


class CitationStreamFilter:
    """Pass streamed text through, dropping citation keys that were not given to the model."""

    def __init__(self, valid: Iterable[int]) -> None:
        self.valid = set(valid)
        self.held = ""
        self.invalid: list[str] = []

    def feed(self, delta: str) -> str:
        out = []
        for ch in delta:
            if self.held:
                self.held += ch
                if ch == "]" or len(self.held) > 24 or (ch == "[" and len(self.held) > 1):
                    out.append(self._release())
            elif ch == "[":
                self.held = ch
            else:
                out.append(ch)
        return "".join(out)

    def _release(self) -> str:
        held, self.held = self.held, ""
        if held.endswith("[") and len(held) > 1:  # a new bracket opened: release the old text, hold the new
            self.held = "["
            held = held[:-1]
        if CITE_RE.fullmatch(held):
            cleaned, invalid = clean_citations(held, self.valid)
            self.invalid.extend(invalid)
            return cleaned
        return held

    def flush(self) -> str:
        return self._release() if self.held else ""


def filter_stream(deltas: Iterable[str], valid: Iterable[int]) -> Iterator[str]:
    f = CitationStreamFilter(valid)
    for d in deltas:
        if out := f.feed(d):
            yield out
    if tail := f.flush():
        yield tail
