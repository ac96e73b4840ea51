"""The extractive table backend: for each column, the phrase of a paper's record that best answers it.

    pick_phrases(["task", "method", "dataset"], title, abstract)   # {"task": "...", "dataset": None}

No model. A column whose words name a common kind (task, method, result, dataset, and their
synonyms: `KINDS`) is answered by the kind's patterns, each a cue and the words after it cut to a
phrase: "we propose X", "we show that X", "experiments on X datasets"; the task falls back to the
title, which names the paper's topic. Any other column ("limitations", "hardware") gets the clause
of the abstract that holds most of its words (by stem), else nothing. Every phrase is a verbatim
span of the record, at most `MAX_WORDS` words; None means the record does not say. This module
only picks; `rag.table` checks each phrase against the record and shows the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.citations import split_sentences
from rag.terms import stems

MAX_WORDS = 12
_SUBJECT = r"(?:we|this (?:paper|work|report)|our (?:work|paper|approach|method)|it)"
_ACTOR = r"\b(?:we|this (?:paper|work|report)|and)"
# where a phrase stops: the end of a clause, or a relative clause that explains rather than names
_STOP = re.compile(r"[.;:]|,\s*(?:which|where|while|whilst|and we|but|making|allowing|enabling)\b|\s+(?:which|whereby)\s")
_NAMED = re.compile(r"\b(?:[A-Z][\w-]*\d[\w-]*|[A-Z]{2,}[\w-]*|[A-Z][a-z]+[A-Z][\w-]*|[A-Z][a-z]{2,})\b")


@dataclass(frozen=True)
class Kind:
    """A common column: the words that name it, and patterns whose group `x` is its phrase."""

    names: frozenset[str]
    patterns: tuple[re.Pattern, ...]
    named: bool = False  # the phrase must name something (a capitalised or digit word): "ImageNet", "C4"
    title: bool = False  # the title answers when no pattern does


def _kind(names: str, *patterns: str, named: bool = False, title: bool = False) -> Kind:
    return Kind(frozenset(names.split()), tuple(re.compile(p, re.I) for p in patterns), named, title)


KINDS = (
    _kind("task problem goal topic question aim objective focus",
          r"\bproblem of (?P<x>.+)", r"\b(?:task|goal|aim) (?:is|of) (?P<x>.+)",
          _SUBJECT + r" (?:focus(?:es)? on|address(?:es)?|tackles?|consider|investigates?|stud(?:y|ies)|"
          r"explores?|examines?|reassess(?:es)?) (?P<x>.+)", title=True),
    _kind("method methods approach approaches technique model models architecture algorithm proposal "
          "contribution solution",
          _ACTOR + r"(?: \w+ly| also| first| then| therefore| further)? (?:propose|introduce|present|develop|design|"
          r"apply|provide|conduct)s? (?P<x>.+)",
          r"\b(?P<x>[^,.]{3,60}?),? (?:a|an) (?:novel |new )?(?:method|approach|technique|model|algorithm|"
          r"architecture|framework)\b"),
    _kind("result results finding findings outcome outcomes performance conclusion",
          r"(?:\b(?:we|and|results?|experiments?|evaluations?|findings?|this)(?: \w+ly| also| further)?|,) "
          r"(?:show|demonstrat|find|observe|reveal|discover|confirm|highlight|emphasi[sz]|suggest)\w* (?:that )?(?P<x>.+)",
          r"(?P<x>.+\b(?:outperform|surpass|exceed|match|achieve|comparabl)\w*\b.+)"),
    _kind("dataset datasets data benchmark benchmarks corpus corpora environment environments testbed",
          r"\b(?:on|using|with|from|in) (?:the |both )?(?P<x>(?:(?!\b(?:on|using|with|from|in) )[^.;]){2,80}? "
          r"(?:datasets?|benchmarks?|environments?|games|suites?|tasks))\b",
          r"\b(?:datasets?|benchmarks?|corpus|corpora)(?:,)? (?:such as |like |e\.g\.,? )\(?(?P<x>[^.;)]+)",
          r"(?P<x>(?:[A-Z][\w-]*\s){1,5}(?:Dataset|Benchmark|Corpus))\b",
          named=True),
)


def kind_of(column: str) -> Kind | None:
    """The common kind a column names ("main result" -> results), or None."""
    words = set(re.findall(r"[a-z]+", column.lower()))
    return next((k for k in KINDS if words & k.names), None)


def trim_phrase(span: str) -> str:
    """A span cut at the end of its clause and to `MAX_WORDS` words, without dangling connectors."""
    span = " ".join(_STOP.split(span, maxsplit=1)[0].split()[:MAX_WORDS])
    if span.count("(") > span.count(")"):  # cut inside a parenthesis: drop it, or close it when it is all
        span = span[:span.rfind("(")].rstrip() if len(span[:span.rfind("(")].split()) >= 2 else span + ")"
    words = span.strip(" ,\"'").split()
    while words and words[-1].lower().strip(",") in {"a", "an", "the", "and", "or", "of", "to", "in", "on", "with",
                                                      "for", "that", "by", "as"}:
        words.pop()
    return " ".join(words).rstrip(",")


def _by_kind(kind: Kind, sentences: list[str], title: str | None) -> str | None:
    if kind.title and title:
        head, _, tail = title.partition(": ")
        return trim_phrase(tail or head)
    for pattern in kind.patterns:
        for sentence in sentences:
            for m in pattern.finditer(sentence):
                phrase = trim_phrase(m.group("x"))
                ends = phrase.split()[:1] + phrase.split()[-2:]  # a name first, or just before the cue word
                if len(phrase.split()) >= (1 if kind.named else 2) and (
                        not kind.named or any(_NAMED.fullmatch(w.strip(",()")) for w in ends)):
                    return phrase
    return None


def _by_words(column: str, sentences: list[str]) -> str | None:
    """The clause holding most of the column's words (by stem); None when no clause holds any."""
    wanted = set(stems(column))
    best, best_hits = None, 0
    for sentence in sentences:
        for clause in re.split(r"[;:]\s+|,\s+(?=\w+\s)", sentence):
            hits = len(wanted & set(stems(clause)))
            if hits > best_hits and len(clause.split()) >= 2:
                best, best_hits = clause, hits
    return trim_phrase(best) if best else None


def pick_phrases(columns: list[str], title: str | None, abstract: str | None) -> dict[str, str | None]:
    """Each column's phrase from the record (see the module docstring); None when it does not say."""
    sentences = split_sentences(abstract or "")
    out = {}
    for column in columns:
        kind = kind_of(column)
        out[column] = _by_kind(kind, sentences, title) if kind else _by_words(column, sentences)
    return out
