"""Is each answer sentence supported by the passages it cites? An offline similarity check.

For every sentence, the citation keys are stripped and the sentence is embedded with the same
MiniLM model as retrieval; it is compared with each sentence of each cited passage (and with the
passage as a whole). The best cosine similarity is its support score; at or above the threshold it
counts as supported. A sentence that cites nothing is unsupported. Similarity alone passes a sentence
that names the right paper but adds a specific the paper never gives ("... uses Adam with a learning
rate of 0.0001 [1]"), so a sentence is also unsupported when it has a number or a name that nothing
it cites gives (passage, title, authors, venue, year): `novel_terms`. The same specific written
another way is not novel: a number by value ("three" = "3", "10M" = "ten million", "45%" = "45
percent", "31,4" = "31.4", "2x" = "two-fold", "3 days" = "72 hours", "59%" for 58.8%), a name by
stem, hyphenation, British or American spelling ("Pre-Training" = "pretraining", "Optimisation" =
"optimization"), or as an abbreviation either way ("PPO" = "proximal policy optimization",
"Mixture-of-Experts" = "MoE"); the normalising is in `rag.terms`. The question is not evidence and
is not read. This is a similarity check, not entailment: it catches invented and off-topic claims,
not subtle contradictions (a right number on the wrong thing, a lowercase word swapped). This module
does not change the answer; the chain decides what to do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rag import terms
from rag.citations import cited_keys, split_sentences, strip_keys
from rag.types import Passage


@dataclass(slots=True)
class SentenceCheck:
    sentence: str
    keys: list[int]
    score: float = 0.0
    supported: bool = False
    best_key: int | None = None
    supported_by: list[int] = field(default_factory=list)
    novel: list[str] = field(default_factory=list)  # numbers and names absent from every cited source


def check_support(
    sentences: Sequence[str], passages: dict[int, Passage], embed: Callable[[list[str]], np.ndarray],
    *, threshold: float,
) -> list[SentenceCheck]:
    """One `SentenceCheck` per sentence, in order. `passages` maps valid keys to what was given."""
    checks = [SentenceCheck(s, [k for k in cited_keys(s) if k in passages]) for s in sentences]
    cited = sorted({k for c in checks for k in c.keys})
    units: dict[int, list[str]] = {k: split_sentences(passages[k].text) + [passages[k].text] for k in cited}
    texts = list(dict.fromkeys([strip_keys(c.sentence) for c in checks] + [u for k in cited for u in units[k]]))
    if not texts:
        return checks
    vectors = dict(zip(texts, embed(texts)))
    for check in checks:
        claim = vectors[strip_keys(check.sentence)]
        for key in check.keys:
            score = max(float(claim @ vectors[u]) for u in units[key])
            if score >= threshold:
                check.supported_by.append(key)
            if score > check.score or check.best_key is None:
                check.score, check.best_key = score, key
        if check.keys:
            check.novel = novel_terms(check.sentence, [_known_text(passages[k]) for k in check.keys])
        check.supported = bool(check.supported_by) and not check.novel
    return checks


_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")


def _known_text(p: Passage) -> str:
    """Everything a passage gives as evidence (text, title, byline, venue, date with its month's
    name, arXiv categories with their names), case kept (it tells abbreviations from words); fields
    are kept apart so that no phrase or acronym spans two of them."""
    from rag.questions import CATEGORY_NAMES, MONTHS

    month = int(p.date[5:7]) if p.date and len(p.date) >= 7 and p.date[5:7].isdigit() else 0
    when = [str(p.year or ""), p.date or ""] + [m.capitalize() for m, i in MONTHS.items() if i == month]
    cats = [c for code in p.categories for c in (code, code.upper(), *(n.title() for n in CATEGORY_NAMES.get(code, ())),
                                                  *(["Computer Science"] if code.startswith("cs.") else []))]
    return " . ".join([p.text, p.title or "", ", ".join(p.authors), p.venue or "", *when, *cats])


def _base(word: str) -> str:
    return re.sub(r"'s?$", "", word)  # "Transformer's" -> "Transformer"


def _runs(claim: str) -> list[list[tuple[str, bool]]]:
    """The claim's words that may be names, as runs (phrases of capitalised words joined by spaces or
    connectors like "of"); each word with whether it opens the sentence. A lowercase word with a digit
    ("wav2vec", "top-2") is a run of its own; connectors inside a run are kept, marked by case."""
    runs: list[list[tuple[str, bool]]] = []
    run: list[tuple[str, bool]] = []
    pending: list[tuple[str, bool]] = []
    end = 0
    for i, m in enumerate(_WORD.finditer(claim.replace("\u2019", "'"))):
        word, joined = m.group(), not claim[end:m.start()].strip()
        end = m.end()
        if word[0].isupper():
            run = run + pending + [(word, i == 0)] if run and joined else [(word, i == 0)]
            if len(run) == 1:
                runs.append(run)
            else:
                runs[-1] = run
            pending = []
        elif run and joined and word in terms.CONNECTORS and len(pending) < 2:
            pending.append((word, False))
        else:
            run, pending = [], []
            if word[0].isalpha() and any(c.isdigit() for c in word):
                runs.append([(word, i == 0)])
    return runs


def _candidate(word: str, first: bool) -> bool:
    """Is this word checked at all? Names of 3+ characters (2 with a digit: "T5") past the first word,
    and a first word that is plainly a name (a capital or a digit past its first letter: "PPO", "GPT-4")."""
    base = _base(word)
    alnum = any(c.isdigit() for c in base) and any(c.isalpha() for c in base)  # "T5", "C4", "A100"
    if len(base) < (2 if alnum else 3) or all(p in terms.NUMBER_WORDS for p in terms.fold(base).split("-")):
        return False  # too short to tell, or a number in words ("Twelve"): see `terms.numbers`
    return not first or any(c.isupper() or c.isdigit() for c in base[1:])


def _known_word(word: str, have: terms.Known) -> bool:
    """A word the source gives: the same stems (any case, hyphenation, inflection, spelling), the same
    letters and digits ("CIFAR-10" = "cifar10"), or, for an acronym, its words spelt out."""
    base = terms.fold(_base(word)).replace("'", "")
    key = base.replace("-", "")
    if any(c.isdigit() for c in base):
        return have.has_form(key)
    if have.has_stems(base) or have.has_stems(key):
        return True
    letters = re.sub(r"[^A-Za-z]", "", _base(word))
    if len(letters) > 2 and letters[-1] == "s" and letters[-2].isupper():
        letters = letters[:-1]  # a plural: RNNs, LLMs
    caps = [c.isupper() for c in letters]
    return sum(caps) >= 2 and len(letters) <= 10 and (
        have.has_form(letters.lower()) or have.expands(letters.lower(), caps))


def _spelt_out(run: list[tuple[str, bool]], at: int, have: terms.Known) -> bool:
    """Is the run's word `at` part of a phrase (of up to 8 words) the source abbreviates ("Proximal
    Policy Optimization" where the source has only "PPO")?"""
    for a in range(max(0, at - 7), at + 1):
        for b in range(min(len(run), a + 8), at, -1):
            words = [p for w, _ in run[a:b] for p in re.findall(r"[a-z0-9]+-?", terms.fold(_base(w)))]
            if words and words[-1] not in terms.CONNECTORS and have.abbreviation_of(words):
                return True
    return False


def novel_terms(sentence: str, sources: Sequence[str]) -> list[str]:
    """The specifics in `sentence` that none of `sources` (texts; lowercased ones work too) gives, as
    written: numbers (by value: "three" = "3", "10M" = "ten million", "45%" = "45 percent", "3 days" =
    "72 hours"; a number in words only from ten on or with a scale or multiplier: "two models" is a
    count, "two-fold" a figure), then names: capitalised words past the first (and a first word that is
    plainly a name), words with a digit ("wav2vec"), each matched by stem, hyphenation, British or
    American spelling, or as an abbreviation either way. See `rag.terms`."""
    claim = strip_keys(sentence)
    have = terms.known(" . ".join(sources))
    missing = [n.text for n in terms.numbers(claim)
               if (not n.spelled or n.value >= 10 or n.scaled or n.unit) and not have.has_number(n)]
    for run in _runs(claim):
        for at, (word, first) in enumerate(run):
            if _candidate(word, first) and not _known_word(word, have) and not _spelt_out(run, at, have):
                missing.append(_base(word))
    return list(dict.fromkeys(missing))
