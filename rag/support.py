"""Is each answer sentence supported by the passages it cites? An offline similarity check.

For every sentence, the citation keys are stripped and the sentence is embedded with the same
MiniLM model as retrieval; it is compared with each sentence of each cited passage (and with the
passage as a whole). The best cosine similarity is its support score; at or above the threshold it
counts as supported, and the passage sentence closest to it is kept as its backing (what the UI
marks). A sentence that cites nothing is unsupported. Similarity alone passes a sentence
that names the right paper but adds a specific the paper never gives ("... uses Adam with a learning
rate of 0.0001 [1]"), so a sentence is also unsupported when it has a number or a name that nothing
it cites gives (passage, title, authors, venue, year): `novel_terms`. The same specific written
another way is not novel: a number by value ("three" = "3", "10M" = "ten million", "45%" = "45
percent", "31,4" = "31.4", "2x" = "two-fold", "3 days" = "72 hours", "59%" for 58.8%), a name by
stem, hyphenation, British or American spelling ("Pre-Training" = "pretraining", "Optimisation" =
"optimization"), or as an abbreviation either way ("PPO" = "proximal policy optimization",
"Mixture-of-Experts" = "MoE"); the normalising is in `rag.terms`. The question is not evidence and
is not read. This is a similarity check, not entailment: it catches invented and off-topic claims,
not subtle contradictions (a right number on the wrong thing, a lowercase word swapped).

One scorer, `check_claims`, serves every caller: the answer chain over the passages it gave
(`check_support`; sentences code quoted are supported as quotes, `check_quotes`) and the eval's
similarity judge over the sources as the model read them (`text_evidence`). This module does not
change the answer; the chain decides what to do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
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
    backing: dict[int, str] = field(default_factory=dict)  # key -> the sentence of that source closest to the claim


@dataclass(frozen=True, slots=True)
class Evidence:
    """One source as the check reads it: a claim is compared by cosine with each of its `sentences`
    and with the `whole` text; `known` is everything it gives, for `novel_terms`."""

    sentences: tuple[str, ...]
    whole: str
    known: str


def passage_evidence(p: Passage) -> Evidence:
    """A passage the chain gave: its text, and as known its text, title, authors, venue and dates."""
    return Evidence(tuple(split_sentences(p.text)), p.text, _known_text(p))


def text_evidence(text: str) -> Evidence:
    """A source given as text, such as the eval's premise (sources as the model read them, a title
    and byline line then the passage: `rag.answer.format_source`): each line split into sentences.
    Citation keys are labels, not evidence: they are dropped."""
    lines = [line for line in (strip_keys(raw) for raw in text.splitlines()) if line]
    return Evidence(tuple(s for line in lines for s in split_sentences(line)), "\n".join(lines), "\n".join(lines))


def check_claims(claims: Sequence[tuple[str, Sequence[int]]], evidence: Mapping[int, Evidence],
                 embed: Callable[[list[str]], np.ndarray], *, threshold: float) -> list[SentenceCheck]:
    """The support scorer, for the answer chain (`check_support`) and the eval's similarity judge:
    one `SentenceCheck` per (sentence, keys it cites), in order; keys missing from `evidence` are
    dropped. A key supports the sentence when its best cosine reaches `threshold`; the sentence is
    supported when some key does and no specific of it is missing from all its keys (`novel_terms`)."""
    checks = [SentenceCheck(s, [k for k in dict.fromkeys(keys) if k in evidence]) for s, keys in claims]
    cited = sorted({k for c in checks for k in c.keys})
    units = {k: [*evidence[k].sentences, evidence[k].whole] for k in cited}
    texts = list(dict.fromkeys([strip_keys(c.sentence) for c in checks] + [u for k in cited for u in units[k]]))
    if not texts:
        return checks
    vectors = dict(zip(texts, embed(texts)))
    for check in checks:
        claim = vectors[strip_keys(check.sentence)]
        for key in check.keys:
            scores = {u: float(claim @ vectors[u]) for u in units[key]}
            score = max(scores.values())
            if evidence[key].sentences:
                check.backing[key] = max(evidence[key].sentences, key=scores.__getitem__)
            if score >= threshold:
                check.supported_by.append(key)
            if score > check.score or check.best_key is None:
                check.score, check.best_key = score, key
        if check.keys:
            check.novel = novel_terms(check.sentence, [evidence[k].known for k in check.keys])
        check.supported = bool(check.supported_by) and not check.novel
    return checks


def check_support(
    sentences: Sequence[str], passages: dict[int, Passage], embed: Callable[[list[str]], np.ndarray],
    *, threshold: float,
) -> list[SentenceCheck]:
    """One `SentenceCheck` per sentence, in order. `passages` maps valid keys to what was given."""
    claims = [(s, cited_keys(s)) for s in sentences]
    cited = sorted({k for _, keys in claims for k in keys if k in passages})
    return check_claims(claims, {k: passage_evidence(passages[k]) for k in cited}, embed, threshold=threshold)


def check_quotes(sentences: Sequence[str], passages: dict[int, Passage]) -> list[SentenceCheck]:
    """Sentences code built from the passages they cite (a listing, extractive quotes): supported as
    built; the passage sentence each one quotes is its backing. Sentences citing no given key are left out."""
    checks = []
    for s in sentences:
        if keys := [k for k in cited_keys(s) if k in passages]:
            backing = {k: b for k in keys if (b := quoted(s, passages[k]))}
            checks.append(SentenceCheck(s, keys, score=1.0, supported=True, best_key=keys[0], supported_by=keys,
                                        backing=backing))
    return checks


def quoted(sentence: str, p: Passage) -> str | None:
    """The first sentence of `p` that holds `sentence` word for word (keys and end mark aside), or None."""
    quote = strip_keys(sentence).rstrip(".!? ")
    return next((s for s in split_sentences(p.text) if quote and quote in s), None)


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
