"""The extractive backend: an answer built from the best evidence sentences, each cited. No LLM.

Sentences of the retrieved passages are scored by how many of the question's rarer content words
they contain (an IDF weight over the given passages), plus the passage's retrieval similarity.
The best few, at most two per paper, are returned verbatim with their keys. Deterministic and
instant; used when no model is available and in fast tests. It never paraphrases, so every
sentence it returns is supported by construction. It does not decide whether to abstain.

Listings ("What did X publish in 2021?") are built here too, for every backend: the papers the
filters matched, each with the sentence of its abstract that says what it does (`gist`).
"""

from __future__ import annotations

import math
import re

from rag.citations import split_sentences
from rag.questions import asks_for_quantity, figure_clause, filter_words, states_quantity
from rag.types import Passage

STOPWORDS = frozenset("""a about above after again all also am an and any are as at be because been before being
between both but by can could did do does doing done during each few for from had has have having he her here
his how i if in into is it its itself just me more most my no nor not of on once only or other our out over own
among according
paper papers propose proposes proposed publish published publications write wrote written same she should so some such than that the their them
then there these they this those through to too under until up very was we were what when where which while who
whom why will with work works would you your""".split())
# words that ask for a list of papers rather than about a topic
LISTING_WORDS = frozenset("""listed list lists collection category categories appeared appear appears dated authors
author co-author co-authored coauthored authored included include includes contain contains held
worked study studies studied topic topics research researched filed file files classified categorised categorized
tagged labelled labeled posted submitted announced indexed""".split())
# a sentence that says what its paper does: "We propose ...", then "This paper studies ..."
_SUBJECT = r"\b(?:we|this (?:paper|work|study|article|report))\s+(?:\w+\s+){0,2}?"
_GISTS = (re.compile(_SUBJECT + r"(?:propose|introduce|present|develop|design|build|formulate)", re.I),
          re.compile(_SUBJECT + r"(?:study|studie|investigate|analy[sz]e|examine|evaluate|describe|show|demonstrate"
                                r"|explore|address|tackle|focus|report|find|leverage)", re.I))
WORD_RE = re.compile(r"[a-z0-9][a-z0-9\-]*")


def content_words(text: str) -> set[str]:
    return {w for w in WORD_RE.findall(text.lower()) if w not in STOPWORDS and len(w) > 2}


def extractive_answer(question: str, passages: dict[int, Passage], *, max_sentences: int = 3) -> str:
    """Up to `max_sentences` cited evidence sentences, best first; '' when there is no passage. For a
    question that asks for a figure ("How many ...?"), the best sentence that gives one about what
    the asking clause names comes first (a two-part question, "How does X work, and how much faster
    is inference?", names many topic words that the other sentences share)."""
    if not passages:
        return ""
    figure = asks_for_quantity(question)
    q_words = content_words(question)
    units = [(key, i, s) for key, p in passages.items() for i, s in enumerate(split_sentences(p.text))]
    df: dict[str, int] = {}
    for _, _, s in units:
        for w in content_words(s):
            df[w] = df.get(w, 0) + 1
    n = len(units) or 1

    def score(key: int, index: int, sentence: str) -> float:
        overlap = sum(math.log(1 + n / df[w]) for w in content_words(sentence) & q_words)
        return overlap + 2.0 * passages[key].score - 0.05 * index

    ranked = sorted(units, key=lambda u: score(*u), reverse=True)
    # the best sentence giving a figure on what the figure clause names ("how much faster is inference"
    # -> "a speedup of 1.75x during inference") comes first, however many topic words the others share
    asked = content_words(figure_clause(question)) if figure else set()
    if asked and (given := next((u for u in ranked if content_words(u[2]) & asked
                                 and states_quantity(u[2], question)), None)):
        ranked.remove(given)
        ranked.insert(0, given)
    chosen, per_paper = [], {}
    for key, index, sentence in ranked:
        pid = passages[key].paper_id
        if per_paper.get(pid, 0) >= 2:
            continue
        chosen.append((key, index, sentence))
        per_paper[pid] = per_paper.get(pid, 0) + 1
        if len(chosen) == max_sentences:
            break
    return " ".join(cite(sentence, key) for key, _, sentence in chosen)


def is_listing_question(question: str, filters_applied: dict) -> bool:
    """True when a question is only about who/when/where ("What did John D. Co-Reyes publish in
    2021?", "Which cs.GT papers are in the collection?"): filters were detected in it and no topic
    words remain once the words that stated them are gone."""
    if not filters_applied.get("auto"):
        return False
    return not (content_words(filter_words(question, filters_applied)) - LISTING_WORDS)


def listing_answer(passages: dict[int, Passage], filters_applied: dict | None = None) -> str:
    """'The matching papers in the collection are: "Title A" (2021; John D. Co-Reyes) [1]; "Title B" [2].
    We propose ... [1]. This paper studies ... [2].': the papers the filters matched, with the year
    and the authors the question named, each cited, then each one's `gist` quoted (the text of a
    passage is its whole abstract when the chain hands in whole papers)."""
    wanted = [a.casefold() for a in (filters_applied or {}).get("authors", [])]

    def about(p: Passage) -> str:
        named = [a for a in p.authors if any(_same_author(a, w) for w in wanted)]
        bits = ([str(p.year)] if p.year else []) + ([", ".join(named)] if named else [])
        return f" ({'; '.join(bits)})" if bits else ""

    # a title in quotes: one that ends in "?" does not end the listing's sentence
    items = [f"{_quoted(p.title) if p.title else 'an untitled paper'}{about(p)} [{k}]" for k, p in passages.items()]
    matched = (filters_applied or {}).get("matched_papers")
    head = ("The matching papers in the collection are: " if not matched or matched <= len(items) else
            f"{matched} papers in the collection match; the {len(items)} closest are: ")
    gists = [cite(g, k) for k, p in passages.items() if (g := gist(p.text))]
    return " ".join([head + "; ".join(items) + ".", *gists])


def _quoted(title: str) -> str:
    return '"' + title.replace('"', "'") + '"'


def gist(text: str) -> str:
    """The sentence of an abstract that says what its paper does: the first that reads "we
    propose / introduce / ...", else the first that reads "this paper studies / we show / ...",
    else the first sentence ('' for no text). Quoted as it stands: supported by construction."""
    sentences = split_sentences(text or "")
    found = (s for pattern in _GISTS for s in sentences if pattern.search(s))
    return next(found, sentences[0] if sentences else "")


def _same_author(name: str, wanted: str) -> bool:
    """'John D. Co-Reyes' matches a filter for 'john d. co-reyes', or for the last name alone."""
    name = name.casefold()
    return name == wanted or (" " not in wanted.strip() and name.split()[-1:] == [wanted.strip()])


def cite(sentence: str, key: int) -> str:
    """'A claim.' -> 'A claim [1].'"""
    sentence = sentence.rstrip()
    if sentence[-1:] in ".!?":
        return f"{sentence[:-1]} [{key}]{sentence[-1]}"
    return f"{sentence} [{key}]."
