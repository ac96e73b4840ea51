"""The answer chain: question -> retrieval -> numbered sources -> model -> checked `Answer`.

Code, not the model, owns the citations: sources are numbered here, keys the model invents are
removed and counted (`invalid_citations`), and every sentence is checked against the passages it
cites (`rag.support`). The chain abstains, with no citations, when retrieval evidence is weak
(`min_evidence`), when the model says the sentinel, or when no sentence of the answer is supported
by its citations (the answer is withheld rather than shown), or when the question asks for a figure
("How many ...?") and no supported sentence gives one. Sentences that are unsupported in an
otherwise supported answer stay in the text and are listed in `unsupported_sentences`. A draft
that cites only lower-ranked sources, never [1], the paper retrieval ranked first, is written once
more from that paper alone (`refocus`): a supported answer replaces it, or comes before it for a
question about papers in the plural; a draft citing a paper whose title names more of the question
than [1]'s is left alone.

Paper text is data: source passages are framed as data in the prompt, and everything in a title,
abstract, author or venue that would read as a key is `defang`ed, so nothing a paper says can add
a key, for any backend. Only keys a model wrote count as `invalid_citations`.
An answer carries its cited papers' records (`Answer.papers`), so it can give its references.
This module does not retrieve (`rag.retrieval`) or talk HTTP (`rag.llm`).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from functools import lru_cache

import numpy as np

from rag.bm25 import tokenize
from rag.bylines import byline
from rag.chunking import HEADER_AUTHORS
from rag.citations import clean_citations, cited_keys, defang, filter_stream, split_sentences, strip_keys
from rag.context import compact_passages
from rag.evidence import evidence_score
from rag.extractive import cite, extractive_answer, is_listing_question, listing_answer
from rag.grammar import answer_grammar
from rag.prompts import examples, render
from rag.questions import asks_for_detail, asks_for_quantity, asks_for_several, states_quantity
from rag.support import SentenceCheck, check_quotes, check_support
from rag.types import NO_ANSWER, Answer, Citation, Filters, Passage, StreamEvent

MAX_SENTENCES = 3
WITHHELD = "[withheld: the sentence repeated the assistant's own instructions]"
# "Yes, the collection does answer this.": a sentence about the sources, not from them
_META = re.compile(r"^\W*(?:yes|no)?\W*(?:the\s+)?(?:collection|sources?|papers?)\s+(?:does|do|did)\s+(?:not\s+)?"
                   r"(?:answer|address|cover)\b[^.!?]*[.!?]?(?:\s*\[\d+\])*\W*$", re.I)
_SENTINEL_CORE = re.compile(r"(collection|sources) (does|do) not answer (this|the question)", re.I)


def format_source(key: int, p: Passage, *, author_limit: int | None = HEADER_AUTHORS) -> str:
    """One numbered source as the model reads it (its byline naming `author_limit` authors; None for
    all, as code reads a source). Each field is one line and `defang`ed (retrieval already did; again
    here, since any Passage may be handed in), so no paper text can pose as a key."""
    who = byline(p.authors, limit=author_limit, complete=p.authors_complete, year=p.year, venue=p.venue)
    return render("source", key=key, title=_field(p.title) or "Untitled", byline=_field(who) or "unknown authors",
                  passage=_field(p.text))


def _field(text: str | None) -> str:
    return defang(" ".join((text or "").split()))


def close_to_best(passages: dict[int, Passage], sources, share: float) -> dict[int, Passage]:
    """The passages whose paper's fused score is at least `share` of the best one's, numbered again
    from 1 (0 = all): the writer of an answer reads, and can cite, only these."""
    fused = {s.paper_id: s.score for s in sources}
    best = max(fused.values(), default=0.0)
    if best <= 0 or share <= 0:
        return dict(passages)
    kept = [p for p in passages.values() if fused.get(p.paper_id, best) >= share * best]
    return {i + 1: p for i, p in enumerate(kept)}


def build_messages(question: str, passages: dict[int, Passage]) -> list[dict]:
    """System prompt, the worked examples (both fixed, so llama.cpp's prompt cache keeps them), then
    the numbered sources and the question."""
    sources = "\n\n".join(format_source(k, p) for k, p in passages.items())
    return _fixed_prefix() + [{"role": "user", "content": render("answer", sources=sources, question=question.strip())}]


def _fixed_prefix() -> list[dict]:
    system = render("system", no_answer=NO_ANSWER, max_sentences=MAX_SENTENCES)
    return [{"role": "system", "content": system}] + examples(no_answer=NO_ANSWER)


def _shingles(text: str, n: int = 6) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@lru_cache(maxsize=1)
def _system_shingles() -> frozenset[tuple[str, ...]]:
    return frozenset(_shingles(render("system", no_answer=NO_ANSWER, max_sentences=MAX_SENTENCES)))


def leaks_instructions(sentence: str) -> bool:
    """True when a sentence repeats six or more consecutive words of the system prompt."""
    return not _system_shingles().isdisjoint(_shingles(sentence))


def is_abstention(text: str) -> bool:
    return bool(_SENTINEL_CORE.search(text)) or not text.strip()


def decline_probability(completion) -> float | None:
    """How sure the model was of declining: the probability of the first tokens that spell the
    sentinel's first two words ("The collection"), from the logprobs the server reported; None when
    it did not decline or reported none."""
    if not completion.logprobs or not completion.text.startswith(NO_ANSWER.split()[0]) or not is_abstention(
            completion.text):
        return None
    words, spelled, total = " ".join(NO_ANSWER.split()[:2]), "", 0.0
    for token, logprob, _ in completion.logprobs:
        spelled += token
        total += logprob
        if len(spelled.strip()) >= len(words):
            return math.exp(total) if spelled.strip().startswith(words) else None
    return None


def _trim_runaway(text: str) -> str:
    """Keep whole sentences only, at most MAX_SENTENCES + 1: a cut-off answer never ends mid-claim."""
    sentences = split_sentences(text)
    if sentences and not re.search(r"[.!?](\s*\[\d+\])*$", sentences[-1]):
        sentences = sentences[:-1] or sentences
    return " ".join(sentences[: MAX_SENTENCES + 1])


class AnswerChain:
    """Turns retrieved passages into a checked answer with one backend (an LLM, or extractive)."""

    def __init__(self, settings, retriever, chat_model, embed) -> None:
        self.settings = settings
        self.retriever = retriever
        self.chat_model = chat_model
        self.embed = embed

    @property
    def model_name(self) -> str:
        return self.chat_model.name if self.chat_model else "extractive"

    def stream(self, question: str, *, filters: Filters | None = None, top_k: int | None = None,
               retrieval_query: str | None = None) -> Iterator[StreamEvent]:
        started = time.perf_counter()
        found = self.retriever.search(retrieval_query or question, filters=filters, top_k=top_k)
        answer = Answer(question=question, text="", sources=found.sources, filters_applied=found.filters_applied,
                        model=self.model_name)
        answer.timings = {"retrieval_ms": round((time.perf_counter() - started) * 1000, 1)}
        passages = {i + 1: p for i, p in enumerate(found.passages)}
        answer.timings["evidence"] = round(self.evidence(question, found), 3)
        if not passages or answer.timings["evidence"] < self.settings.min_evidence:
            yield from self._finish(answer, NO_ANSWER, {}, started, reason="weak_evidence" if passages else "no_sources")
            return
        passages = self.retriever.whole_papers(passages)  # the answer may sit in any chunk of a paper
        if is_listing_question(question, found.filters_applied):  # the filters found the papers: code lists them
            yield from self._by_code(answer, listing_answer(passages, found.filters_applied), passages, started)
            return
        figure = asks_for_quantity(question)
        if self.chat_model is None:
            passages = close_to_best(passages, found.sources, self.settings.quote_min_share)
            yield from self._by_code(answer, extractive_answer(question, passages, max_sentences=3), passages, started,
                                     wants_figure=figure)
            return
        whole, passages = passages, self._model_sources(question, passages, found.sources)
        raw = yield from self._write(answer, question, passages, started)
        if self.settings.refocus and self._skips_best(question, raw, passages):
            raw, passages = yield from self._refocus(answer, question, raw, passages, whole[1], started)
        if self.settings.quote_rescue and is_abstention(clean_citations(raw, passages)[0]) and not asks_for_detail(
                question):
            # the model declined a question its closest papers match: show their best sentences, quoted,
            # when one of them is about the question (else the decline stands)
            quotes = close_to_best(whole, found.sources, self.settings.quote_min_share)
            text = extractive_answer(question, quotes, max_sentences=2)
            if self._about(question, text):
                answer.quoted = True
                yield StreamEvent("reset")
                yield from self._by_code(answer, text, quotes, started)
                return
        yield from self._finish(answer, raw, passages, started, wants_figure=figure)

    def _about(self, question: str, text: str) -> bool:
        """True when some sentence of `text` (citation keys stripped) has a cosine similarity with the
        question of at least `quote_min_similarity`."""
        sentences = [bare for s in split_sentences(text) if (bare := strip_keys(s)).strip()]
        if not sentences:
            return False
        vectors = np.asarray(self.embed([question, *sentences]), dtype=np.float32)
        return float(np.max(vectors[1:] @ vectors[0])) >= self.settings.quote_min_similarity

    def _write(self, answer: Answer, question: str, passages: dict[int, Passage], started: float):
        """Ask the model with these sources, streaming its (citation-filtered) tokens; returns its raw
        text, cut to whole sentences when it ran out of tokens. Records what it read in `answer.context`."""
        answer.context = {k: format_source(k, p) for k, p in passages.items()}
        result = self.chat_model.stream(build_messages(question, passages), max_tokens=self.settings.max_answer_tokens,
                                        temperature=self.settings.temperature, **self._constraint(passages))
        for delta in filter_stream(result, passages):
            if "first_token_ms" not in answer.timings:
                answer.timings["first_token_ms"] = round((time.perf_counter() - started) * 1000, 1)
            yield StreamEvent("token", text=delta)
        completion = result.completion
        answer.usage = dict(completion.usage or {})
        answer.model = completion.model or self.model_name
        if (sure := decline_probability(completion)) is not None:
            answer.timings["decline_p"] = round(sure, 4)  # kept for calibration; it did not separate (BENCHMARKS)
        return _trim_runaway(completion.text) if completion.finish_reason == "length" else completion.text

    def _refocus(self, answer: Answer, question: str, raw: str, passages: dict[int, Passage], best: Passage,
                 started: float):
        """The first draft cited only lower-ranked sources: ask again with the best-ranked paper alone
        (within the whole source budget). When some sentence of that answer is supported, it replaces
        the draft (kept in `answer.replaced_draft`), or, for a question about papers in the plural,
        comes before the draft's sentences ([1] is the same paper in both); else the draft stands.
        Returns the (raw text, sources) to finish with."""
        focus = compact_passages(question, {1: best}, self.embed, budget=self.settings.source_tokens)
        tick, usage = time.perf_counter(), answer.usage
        yield StreamEvent("reset")
        second = yield from self._write(answer, question, focus, started)
        answer.timings["refocus_ms"] = round((time.perf_counter() - tick) * 1000, 1)
        draft = clean_citations(raw, passages)[0]
        if self._holds(second, focus):
            if not asks_for_several(question):
                answer.replaced_draft = draft
                return second, focus
            both = dict(sorted({**passages, 1: focus[1]}.items()))
            answer.context = {k: format_source(k, p) for k, p in both.items()}
            yield StreamEvent("token", text=" " + draft)
            return f"{second.strip()} {draft}", both
        answer.usage = usage  # the best paper alone does not answer: the draft stands, as first written
        answer.timings.pop("decline_p", None)
        answer.context = {k: format_source(k, p) for k, p in passages.items()}
        yield StreamEvent("reset")
        yield StreamEvent("token", text=draft)
        return raw, passages

    @staticmethod
    def _skips_best(question: str, raw: str, passages: dict[int, Passage]) -> bool:
        """True when a draft cites sources but not [1], the paper retrieval ranked first, among several
        (measured on three question sets: such drafts cited a neighbour of the paper asked about), and
        no source it cites has a title naming more of the question's words than [1]'s does: "Which
        paper proposes Griffin?" answered from "Griffin: ..." [2] stands, whatever ranked first."""
        keys = set(cited_keys(clean_citations(raw, passages)[0]))
        if len(passages) < 2 or not keys or 1 in keys:
            return False
        asked = set(tokenize(question))
        named = {k: len(asked & set(tokenize(passages[k].title or ""))) for k in keys | {1}}  # keys are given ones
        return max(named[k] for k in keys) <= named[1]

    def _holds(self, raw: str, passages: dict[int, Passage]) -> bool:
        """True when a model's draft is an answer some cited sentence of which passes the support check."""
        text = clean_citations(raw, passages)[0]
        return not is_abstention(text) and any(c.supported for c in self._checked(text, passages, False)[2])

    def _checked(self, text: str, passages: dict[int, Passage],
                 by_code: bool) -> tuple[str, list[int], list[SentenceCheck]]:
        """A draft's sentences checked against what they cite, after code cited those a model left
        without a key: (text, keys code added, one check per sentence; none when nothing is cited)."""
        text, added = (text, []) if by_code else self._cite_uncited(text, passages)
        return text, added, self._check(split_sentences(text), passages, by_code) if cited_keys(text) else []

    def _constraint(self, passages: dict[int, Passage]) -> dict:
        """The grammar request field when it is on and the model reads grammars (`rag.grammar`), else nothing."""
        if not (self.settings.answer_grammar and getattr(self.chat_model, "reads_grammar", False)):
            return {}
        return {"body": {"grammar": answer_grammar(passages, max_sentences=MAX_SENTENCES)}}

    def _by_code(self, answer: Answer, text: str, passages: dict[int, Passage], started: float,
                 wants_figure: bool = False) -> Iterator[StreamEvent]:
        """An answer no model wrote (a listing, or extractive quotes): shown at once, checked as quotes.
        Code reads every author of a source (a listing names those the question asked about), so
        the context records them all."""
        answer.context = {k: format_source(k, p, author_limit=None) for k, p in passages.items()}
        answer.timings.setdefault("first_token_ms", round((time.perf_counter() - started) * 1000, 1))
        yield StreamEvent("token", text=text)
        yield from self._finish(answer, text, passages, started, by_code=True, wants_figure=wants_figure)

    def warm_up(self) -> None:
        """Start the model (a local server loads) and let it read the fixed prompt prefix once, so the
        first question pays only for its own sources. Nothing to do for the extractive backend."""
        if self.chat_model is not None:
            probe = _fixed_prefix() + [{"role": "user", "content": render("answer", sources="", question="warm-up")}]
            if hasattr(self.chat_model, "prime"):  # the local model: restores a saved cache when it can
                self.chat_model.prime(probe)
            else:
                self.chat_model.complete(probe, max_tokens=1, temperature=0.0)

    def _model_sources(self, question: str, passages: dict[int, Passage], sources) -> dict[int, Passage]:
        """What the LLM reads: sources scoring at least `source_min_share` of the best (numbered again
        from 1), each cut to its share of `source_tokens` (see `rag.context`)."""
        passages = close_to_best(passages, sources, self.settings.source_min_share)
        return compact_passages(question, passages, self.embed, budget=self.settings.source_tokens)

    def evidence(self, question: str, found) -> float:
        """Evidence score of a retrieval (see `rag.evidence`); papers matched by a detected filter count fully."""
        if found.passages and found.filters_applied.get("auto"):
            return 1.0
        return evidence_score(question, found.passages, self.retriever.catalog.bm25)

    def _finish(self, answer: Answer, raw: str, passages: dict[int, Passage], started: float, *,
                by_code: bool = False, reason: str | None = None, wants_figure: bool = False) -> Iterator[StreamEvent]:
        """Clean the keys, check every sentence, and answer or abstain with a reason: `reason` when
        the chain decided before any writing; else `model_declined` (the sentinel, or nothing),
        `unsupported` (no cited, supported sentence) or, when the question asks for a figure
        (`wants_figure`), `no_quantity` (no supported sentence gives one); a withheld draft is kept
        in `withheld`."""
        text, invalid = clean_citations(raw, passages)
        answer.invalid_citations = [] if by_code else invalid  # only a model invents keys
        leaked = [s for s in split_sentences(text) if leaks_instructions(s)]
        if leaked:  # a source asked for the prompt, or the model wandered: never show it
            text = " ".join(s for s in split_sentences(text) if s not in leaked)
        if not by_code and not is_abstention(text):
            text = " ".join(s for s in split_sentences(text) if not _META.match(s))
        if reason or not passages:
            self._abstain(answer, reason or "no_sources")
        elif is_abstention(text):
            self._abstain(answer, "model_declined")
        else:
            text, answer.added_citations, checks = self._checked(text, passages, by_code)
            if not any(c.supported for c in checks):
                self._abstain(answer, "unsupported", draft=text)
            elif wants_figure and not states_quantity(" ".join(c.sentence for c in checks if c.supported),
                                                      answer.question):
                # "How many GPUs ...?" answered with what the paper does: on topic, but not an answer
                self._abstain(answer, "no_quantity", draft=text)
            else:
                answer.text = text
                answer.unsupported_sentences = [c.sentence for c in checks if not c.supported]
                answer.unsupported_sentences += [WITHHELD] * len(leaked)
                answer.citations = self._citations(checks, passages)
                answer.papers = self.cited_papers(answer.citations)
        answer.timings["total_ms"] = round((time.perf_counter() - started) * 1000, 1)
        answer.timings.setdefault("first_token_ms", answer.timings["total_ms"])
        yield StreamEvent("answer", answer=answer)

    def _cite_uncited(self, text: str, passages: dict[int, Passage]) -> tuple[str, list[int]]:
        """A sentence the model left without a key gets the key of the best-ranked source that passes
        the same support check as any citation (a small model often states what its source says and
        forgets the [n]); sources are numbered by relevance to the question, so among the sources
        that support it, the first is the one the question is about. Returns the text and the keys added."""
        sentences = split_sentences(text)
        bare = [i for i, s in enumerate(sentences) if not cited_keys(s)]
        if not bare:
            return text, []
        every = "".join(f"[{k}]" for k in passages)
        trial = check_support([cite(sentences[i], 0).replace("[0]", every) for i in bare], passages, self.embed,
                              threshold=self.settings.support_threshold)
        added = []
        for i, probe in zip(bare, trial):
            for key in sorted(probe.supported_by):
                candidate = cite(sentences[i], key)
                if check_support([candidate], passages, self.embed,
                                 threshold=self.settings.support_threshold)[0].supported:
                    sentences[i] = candidate
                    added.append(key)
                    break
        return (" ".join(sentences), added) if added else (text, [])

    def _check(self, sentences: list[str], passages: dict[int, Passage], by_code: bool) -> list[SentenceCheck]:
        if by_code:  # a listing or extractive quotes: each sentence is built from the passages it cites
            return check_quotes(sentences, passages)
        return check_support(sentences, passages, self.embed, threshold=self.settings.support_threshold)

    @staticmethod
    def _abstain(answer: Answer, reason: str, draft: str = "") -> None:
        answer.text, answer.abstained, answer.citations, answer.unsupported_sentences = NO_ANSWER, True, [], []
        answer.abstain_reason, answer.withheld = reason, draft

    @staticmethod
    def _citations(checks, passages: dict[int, Passage]) -> list[Citation]:
        out: dict[int, Citation] = {}
        for check in checks:
            for key in check.keys:
                p = passages[key]
                cite = out.setdefault(key, Citation(key=key, paper_id=p.paper_id, title=p.title, authors=p.authors,
                                                    year=p.year, venue=p.venue, passage=p.text))
                if key in check.supported_by:
                    cite.supported_sentences.append(check.sentence)
                    if check.backing.get(key) and check.backing[key] not in cite.backing_sentences:
                        cite.backing_sentences.append(check.backing[key])
        return [out[k] for k in sorted(out)]

    def cited_papers(self, citations: list[Citation]) -> list:
        """The records of the cited papers, in key order, as the collection holds them (for `Answer.references`)."""
        papers = self.retriever.catalog.papers
        return [papers[c.paper_id] for c in citations if c.paper_id in papers]

    def run(self, question: str, **kwargs) -> Answer:
        for event in self.stream(question, **kwargs):
            if event.kind == "answer":
                return event.answer
        raise AssertionError("the answer stream ended without an answer")
