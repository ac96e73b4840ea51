"""Numbers and names in normalised form, so one can tell a source's specific from a sentence's own.

Helpers for `rag.support.novel_terms`, which decides what counts as novel; this module only reads text:

* `fold`: lowercase, accents stripped, typographic dashes and apostrophes made plain.
* `numbers(text)`: each number with its value: digits ("10,000", "31,4" with a decimal comma, "1e-4"),
  scales ("10M", "2.8 billion", "1.3B-parameter"), number words ("twelve", "ten million",
  "fifty-seven", "two-fold", "twice"), multipliers ("2x", "6 times", "3.7-fold"; the value is the
  multiplier) and percentages ("45%" = "45 percent" = 45); with a time or memory unit when one follows
  ("3 days" = "72 hours"); ordinals ("37th") by their number. A number fused to a name ("Llama-2",
  "GPT-4", "A100") is part of the name.
* `Known(text)`: what a source text gives: word stems (the BM25 Porter stemmer, `rag.bm25.tokenize`,
  after British spellings are made American: "optimisation" = "optimization"), hyphens and spaces
  dropped ("pre-training" = "pre training" = "pretraining"), number values, and acronyms either way
  (`abbreviates`: "PPO" for "proximal policy optimization", "MoE" for "mixture-of-experts", "NeurIPS"
  for "neural information processing systems").
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rag.bm25 import tokenize

CONNECTORS = frozenset("a an and at by for from in of on the to via with".split())
SKIPPABLE = frozenset({"of", "on", "for"})  # may sit inside an expansion: "Conference on Machine Learning"
_SMALL = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
          "sixteen seventeen eighteen nineteen").split()
NUMBER_WORDS = {w: i for i, w in enumerate(_SMALL)} | {
    w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
_SCALES = {"hundred": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "bn": 1e9, "t": 1e12, "x": 1, "×": 1}
_MULTIPLIERS = {"twice": 2, "thrice": 3}
_TIME = {"ms": 1e-3, "millisecond": 1e-3, "second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600,
         "hr": 3600, "day": 86400, "week": 604800, "month": 2629800, "year": 31557600}
UNITS = {u: ("time", f) for u, f in _TIME.items()} | {
    u: ("bytes", f) for u, f in {"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}.items()}
_UNIT_RE = "|".join(sorted((u + "s?" for u in UNITS), key=len, reverse=True))

_DIGITS = re.compile(
    r"(?<![\w.,])(?<![a-z]-)(?P<num>\d+(?:[.,]\d+)*(?:e-?\d+)?)(?P<pct>\s*(?:%|percent\b|per cent\b))?"
    r"(?:(?P<suffix>bn|[kmbtx×])(?![a-z0-9])|(?:st|nd|rd|th)\b"
    r"|[\s-]*(?P<scale>hundred|thousand|million|billion|trillion)\b"
    r"|[\s-]*(?P<mult>fold|times)\b)?(?!\.?[a-z0-9])")
_WORDS = "|".join(list(NUMBER_WORDS) + list(_SCALES))
_SPELLED = re.compile(rf"\b(?:{_WORDS})(?:[\s-]+(?:and[\s-]+)?(?:{_WORDS}))*(?:(?P<mult>-?fold|\s+times)\b)?\b"
                      r"|\b(?P<x>twice|thrice)\b")
_UNIT_AFTER = re.compile(rf"[\s-]*(?P<unit>{_UNIT_RE})\b")
_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def fold(text: str) -> str:
    text = text.lower().translate(str.maketrans("\u2010\u2011\u2012\u2013\u2019\u2018", "----''"))
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text


def spell(word: str) -> str:
    """One spelling for British and American forms: -ise/-isation -> -ize, -our -> -or, -yse -> -yze."""
    word = re.sub(r"(?<=[a-z]{2})is(e|ed|es|ing|ation|ations|er|ers)$", r"iz\1", word)
    word = re.sub(r"(?<=[a-z]{3})our(s|ed|ing|al)?$", r"or\1", word)
    return re.sub(r"(?<=[a-z])ys(e|ed|es|ing)$", r"yz\1", word)


def stems(text: str) -> list[str]:
    return tokenize(re.sub(r"[a-z]+", lambda m: spell(m.group()), fold(text)))


@dataclass(frozen=True, slots=True)
class Number:
    text: str                            # as written: "0.0001", "45%", "twelve", "3 weeks"
    value: float                         # scaled: "2.8 billion" -> 2.8e9, "10M" -> 1e7
    bare: float                          # as written, unscaled: 2.8
    digits: int                          # significant digits written, for rounding
    unit: tuple[str, float] | None = None  # (dimension, value in base units) for "3 days" and the like
    spelled: bool = False
    scaled: bool = False                 # "ten million", "two-fold", "six times": a figure, not a count


def _parse_digits(num: str) -> tuple[float, int]:
    if "e" in num:
        mantissa = num.split("e")[0]
        return float(num), len(mantissa.replace(".", "").strip("0")) or 1
    if re.fullmatch(r"[1-9]\d{0,2}(,\d{3})+(\.\d+)?", num):
        num = num.replace(",", "")
    elif re.fullmatch(r"\d+,\d+", num):  # a decimal comma: "31,4"
        num = num.replace(",", ".")
    else:
        num = num.replace(",", "")
    if num.count(".") > 1:
        num = num.replace(".", "")
    digits = num.replace(".", "").lstrip("0")
    return float(num), len(digits if "." in num else digits.rstrip("0")) or 1


def _spelled_value(words: list[str]) -> float:
    total, current = 0.0, 0.0
    for w in words:
        if w in NUMBER_WORDS:
            current += NUMBER_WORDS[w]
        elif w == "hundred":
            current = (current or 1) * 100
        elif w in _SCALES:
            total, current = total + (current or 1) * _SCALES[w], 0.0
    return total + current


def _with_unit(text: str, end: int, value: float) -> tuple[tuple[str, float] | None, int]:
    m = _UNIT_AFTER.match(text, end)
    if not m:
        return None, end
    unit = m.group("unit")
    dim, factor = UNITS.get(unit) or UNITS[unit[:-1]]
    return (dim, value * factor), m.end()


def numbers(text: str) -> list[Number]:
    """The numbers in `text` (folded first), in order; see the module docstring."""
    text, found, spans = fold(text), [], []
    for m in _DIGITS.finditer(text):
        bare, digits = _parse_digits(m.group("num"))
        scale = _SUFFIX.get(m.group("suffix") or "") or _SCALES.get(m.group("scale") or "", 1)
        unit, end = _with_unit(text, m.end(), bare * scale)
        spans.append((m.start(), end))
        shown = m.group("num") + ("%" if (m.group("pct") or "").strip() == "%" else "")
        found.append(Number(text[m.start():end] if unit else shown, bare * scale, bare, digits, unit))
    for m in _SPELLED.finditer(text):
        if any(a <= m.start() < b for a, b in spans):  # "billion" in "2.8 billion"
            continue
        words = re.findall(r"[a-z]+", m.group(0))
        value = _MULTIPLIERS[m.group("x")] if m.group("x") else _spelled_value(words)
        unit, end = _with_unit(text, m.end(), value)
        scaled = bool(m.group("x") or m.group("mult") or set(words) & set(_SCALES))
        found.append(Number(text[m.start():end] if unit else m.group(0).strip(), value, value,
                            len(str(int(value)).rstrip("0")) or 1, unit, spelled=True, scaled=scaled))
    return found


def _round_sig(x: float, digits: int) -> float:
    return 0.0 if x == 0 else round(x, digits - 1 - math.floor(math.log10(abs(x))))


def same_number(claim: float, claim_digits: int, source: float, source_digits: int, fraction: bool = True) -> bool:
    """Equal, or the claim is the source rounded to fewer significant digits within 5% ("59%" for
    58.8%), where the source has a fraction (`fraction`: a count such as "41 games" is not rounded)."""
    if math.isclose(claim, source, rel_tol=1e-9, abs_tol=1e-12):
        return True
    return (fraction and math.isfinite(claim) and math.isfinite(source) and claim_digits < source_digits
            and abs(claim - source) <= 0.05 * abs(source)
            and math.isclose(_round_sig(source, claim_digits), claim, rel_tol=1e-9))


def abbreviates(letters: str, words: list[str], caps: list[bool] | None = None, *, whole: bool = True) -> bool:
    """Do `words` abbreviate to `letters`? Each word gives its first letter; a longer prefix only where
    `caps` (the case of each letter) shows the abbreviation going on in lowercase ("Neur" in NeurIPS;
    a single lowercase letter only in abbreviations of four or more: "Tr" in GTrXL), and the last
    word may give itself whole ("XL"). A stopword gives nothing, but a connector ("of", "in") may give
    its first letter when it opens the phrase hyphened ("in-context learning": ICL), or when the letter
    is lowercase or of unknown case ("o" in MoE); only "of", "on" and "for" may be skipped inside
    ("Conference on Machine Learning"). `whole`: every word must be used; otherwise a run of two or more
    words from the first will do."""
    n, m = len(letters), len(words)
    bound = [w.endswith("-") for w in words]  # "in-" of "in-context": hyphened to the next word
    words = [w.rstrip("-") for w in words]
    stop = [not tokenize(w) for w in words]

    @lru_cache(maxsize=None)
    def go(i: int, j: int) -> bool:
        if i == n:
            return j == m if whole else j >= 2
        if j == m:
            return False
        w = words[j]
        if w in SKIPPABLE and j > 0 and go(i, j + 1):
            return True
        if stop[j] and not (w in CONNECTORS and ((j == 0 and bound[j]) or caps is None or not caps[i])):
            return False
        for k in range(1, min(len(w), n - i) + 1):
            if w[:k] != letters[i:i + k]:
                break
            goes_on = caps is not None and not any(caps[i + 1:i + k]) and (k > 2 or n >= 4)
            itself = w == letters[i:i + k] and i + k == n
            if (k == 1 or goes_on or itself) and go(i + k, j + 1):
                return True
        return False

    return go(0, 0)


class Known:
    """What a source text gives, indexed for `rag.support.novel_terms`: build once per source text (`known`).
    Case is read only to tell abbreviations ("PPO", "MoE") from words; a lowercased text works too."""

    def __init__(self, text: str) -> None:
        self.abbreviations = _abbreviations(text)
        text = re.sub(r"'s\b", "", fold(text)).replace("'", "")
        words = _TOKEN.findall(text)
        joined = [w.replace("-", "") for w in words]
        self.forms = set(joined) | {p for w in words for p in w.split("-")}
        if not self.abbreviations:  # no capitals to go by (a lowercased text): any short word may be one
            self.abbreviations = {w: None for w in self.forms if w.isalpha() and 3 <= len(w) <= 8}
        self.forms |= {a + b for a, b in zip(joined, joined[1:])}
        self.stems = set(stems(text)) | set(tokenize(" ".join(spell(f) for f in self.forms)))
        self.segments = [[p for w in _TOKEN.findall(seg) for p in re.findall(r"[a-z0-9]+-?", w)]
                         for seg in re.split(r"[.,;:!?()\[\]\"/]+", text)]  # "in-context" -> "in-", "context"
        found = numbers(text)
        self.values = [(v, n.digits, n.bare % 1 != 0) for n in found for v in {n.value, n.bare}]
        self.quantities = [(n.unit, n.digits, n.bare % 1 != 0) for n in found if n.unit]

    def has_number(self, n: Number) -> bool:
        if n.unit:
            return any(dim == n.unit[0] and same_number(n.unit[1], n.digits, v, d, f)
                       for (dim, v), d, f in self.quantities)
        return any(same_number(n.value, n.digits, v, d, f) for v, d, f in self.values)

    def has_form(self, form: str) -> bool:
        return form in self.forms or (form.endswith("s") and form[:-1] in self.forms)

    def has_stems(self, word: str) -> bool:
        return all(s in self.stems for s in stems(word))

    def expands(self, letters: str, caps: list[bool]) -> bool:
        """Is `letters` (an acronym, with the case of each letter) spelt out somewhere in the text?"""
        return any(abbreviates(letters, seg[j:j + 2 * len(letters)], caps, whole=False)
                   for seg in self.segments for j, w in enumerate(seg) if w[:1] == letters[0])

    def abbreviation_of(self, words: list[str]) -> bool:
        """Does the text hold an abbreviation of `words` (a capitalised phrase: "Proximal Policy Optimization")?"""
        content = sum(w not in SKIPPABLE for w in words)
        return len(words) >= 2 and any(
            f[0] == words[0][0] and content <= len(f) and abbreviates(f, words, caps)
            for f, caps in self.abbreviations.items())


def _abbreviations(text: str) -> dict[str, list[bool] | None]:
    """The text's abbreviations (two or more capitals: "PPO", "MoE", "LLMs"), each with the case of each letter."""
    found: dict[str, list[bool] | None] = {}
    for word in re.findall(r"[^\W\d_]+", text):
        if len(word) > 2 and word[-1] == "s" and word[-2].isupper():
            word = word[:-1]
        caps = [c.isupper() for c in word]
        if sum(caps) >= 2 and len(word) <= 12:
            found[fold(word)] = caps
    return found


@lru_cache(maxsize=256)
def known(text: str) -> Known:
    return Known(text)
