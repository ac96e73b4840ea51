"""HTML for the chat window: answers with their source cards, abstentions, errors, upload reports.

Pure functions of `rag` values (Answer, Citation, IngestReport, ...) to HTML strings; no gradio,
no retrieval. Everything that comes from papers or users is escaped here, so the chat can render
the result as-is. Keys and sentences are read with `rag.citations`; which passage sentence backs a
claim is the support check's finding (`Citation.backing_sentences`), not guessed here.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from pathlib import Path

from rag.bylines import byline
from rag.citations import CITE_RE, keys_in, split_sentences, strip_keys
from rag.types import NO_ANSWER, Answer, Citation, abstain_words

CARD_AUTHORS = 4


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _one_line(text: str) -> str:
    """The chat renders Markdown around our HTML: a blank line or an indented line would end the block."""
    return " ".join(text.split())


def highlight_passage(passage: str, backing: Iterable[str]) -> str:
    """The passage, escaped, with the sentences that back the answer in <mark>: those the support
    check found (`Citation.backing_sentences`), nothing guessed here."""
    marked = {" ".join(b.split()) for b in backing}
    return " ".join(f'<mark class="rag-hl">{esc(s)}</mark>' if s in marked else esc(s)
                    for s in split_sentences(passage))


def _cite_links(escaped: str, titles: dict[int, str]) -> str:
    def repl(m: re.Match) -> str:
        keys = keys_in(m[1])
        if not keys or not all(k in titles for k in keys):
            return m.group(0)
        return "".join(f'<sup class="rag-cite" title="{esc(titles[k])}">[{k}]</sup>' for k in keys)

    return CITE_RE.sub(repl, escaped)


def _card_byline(c: Citation) -> str:
    names = [a for a in c.authors if a]
    return byline(names, limit=CARD_AUTHORS, year=c.year, venue=c.venue, sep=" · ", unknown="unknown authors")


def card_html(c: Citation) -> str:
    title = c.title or "Untitled"
    quotes = [strip_keys(s) for s in c.supported_sentences if strip_keys(s)]
    # the answer's own sentence (a paraphrase for an LLM), so not shown as a quotation of the paper
    quote = f'<span class="rag-quote"><b>cited for:</b> {esc(quotes[0])}</span>' if quotes else ""
    all_authors = ", ".join(a for a in c.authors if a) or "unknown"
    return (
        f'<details class="rag-card" data-key="{c.key}" data-paper="{esc(c.paper_id)}">'
        f'<summary><span class="rag-key">{c.key}</span><span class="rag-card-head">'
        f'<span class="rag-title">{esc(title)}</span>'
        f'<span class="rag-byline">{esc(_card_byline(c))}</span>{quote}'
        f'<span class="rag-more">show the passage</span></span></summary>'
        f'<div class="rag-passage">{highlight_passage(c.passage, c.backing_sentences)}</div>'
        f'<div class="rag-card-meta">authors: {esc(all_authors)} · paper id {esc(c.paper_id)}</div>'
        "</details>"
    )


def _filters_line(applied: dict) -> str:
    if not applied:
        return ""
    auto = set(applied.get("auto") or [])
    parts = []
    if applied.get("authors"):
        parts.append("author " + ", ".join(applied["authors"]) + (" (from the question)" if "authors" in auto else ""))
    lo, hi = applied.get("year_from"), applied.get("year_to")
    if lo or hi:
        years = str(lo) if lo == hi else f"{lo or '…'}–{hi or '…'}"
        parts.append("year " + years + (" (from the question)" if "year" in auto else ""))
    if applied.get("months"):
        parts.append("listed " + ", ".join(applied["months"]) + (" (from the question)" if "months" in auto else ""))
    if applied.get("venue"):
        parts.append(f"venue {applied['venue']}" + (" (from the question)" if "venue" in auto else ""))
    if applied.get("categories"):
        parts.append("category " + ", ".join(applied["categories"]) + (" (from the question)" if "categories" in auto
                                                                       else ""))
    if not parts:
        return ""
    matched = applied.get("matched_papers")
    return "filters: " + "; ".join(parts) + (f" ({matched} papers match)" if matched is not None else "")


def footer_html(answer: Answer, asked: str | None = None) -> str:
    bits = [answer.model or "model"]
    total = answer.timings.get("total_ms")
    if total is not None:
        bits.append(f"{total / 1000:.1f} s" if total >= 1000 else f"{total:.0f} ms")
    filters = _filters_line(answer.filters_applied)
    if filters:
        bits.append(filters)
    if answer.invalid_citations:
        bits.append(f"{len(answer.invalid_citations)} citation key(s) the model was not given were removed")
    line = f'<div class="rag-footer">{esc(" · ".join(bits))}</div>'
    if asked is not None and " ".join(answer.question.split()) != " ".join(asked.split()):
        line += f'<div class="rag-readas">read as: “{esc(answer.question)}”</div>'
    return line


def answer_html(answer: Answer, asked: str | None = None) -> str:
    """An answer with its citations linked, unsupported sentences marked, and one card per reference."""
    if answer.abstained or answer.text.strip() == NO_ANSWER:
        return abstention_html(answer, asked)
    text = esc(answer.text)
    for sentence in answer.unsupported_sentences:
        s = esc(sentence.strip())
        if s and s in text:
            text = text.replace(s, f'<mark class="rag-unsupported" title="No cited passage supports this sentence">'
                                   f"{s}</mark>", 1)
    titles = {c.key: c.title or "Untitled" for c in answer.citations}
    text = _cite_links(text, titles)
    parts = [f'<div class="rag-answer"><div class="rag-text">{text}</div>']
    if answer.quoted:
        parts.append('<div class="rag-quoted">Quoted from the closest papers: the model did not write an answer, '
                     "so these are their own sentences.</div>")
    if answer.unsupported_sentences:
        n = len(answer.unsupported_sentences)
        parts.append('<div class="rag-warn">⚠ The highlighted sentence' + (" is" if n == 1 else "s are") +
                     " not supported by the passage" + ("" if n == 1 else "s") +
                     " cited; check before relying on " + ("it" if n == 1 else "them") + ".</div>")
    if answer.citations:
        parts.append('<div class="rag-refs"><div class="rag-refs-title">References</div>')
        parts.extend(card_html(c) for c in sorted(answer.citations, key=lambda c: c.key))
        parts.append("</div>")
    parts.append(footer_html(answer, asked))
    parts.append("</div>")
    return _one_line("".join(parts))


def abstention_html(answer: Answer, asked: str | None = None) -> str:
    near = [s.title for s in answer.sources if s.title][:3]
    closest = ("<div class=\"rag-abstain-near\">Closest papers, not cited: " +
               "; ".join(f"<i>{esc(t)}</i>" for t in near) + "</div>") if near else ""
    return _one_line(
        '<div class="rag-abstain"><div class="rag-abstain-head"><span class="rag-abstain-icon">∅</span>'
        f'<span class="rag-sentinel">{esc(NO_ANSWER)}</span></div>'
        f'<div class="rag-abstain-body" data-reason="{esc(answer.abstain_reason or "")}">'
        f"{esc(abstain_words(answer.abstain_reason))} Try other words, loosen the filters, or add papers in the side panel.</div>"
        f"{closest}{footer_html(answer, asked)}</div>"
    )


def streaming_html(text: str) -> str:
    if not text:
        return '<div class="rag-pending">searching the papers…</div>'
    return _one_line(f'<div class="rag-streaming">{esc(text)}<span class="rag-caret">▍</span></div>')


def error_html(title: str, message: str, hint: str = "") -> str:
    hint_html = f'<div class="rag-error-hint">{esc(hint)}</div>' if hint else ""
    return _one_line(f'<div class="rag-error"><div class="rag-error-head">⚠ {esc(title)}</div>'
                     f'<div class="rag-error-msg">{esc(message)}</div>{hint_html}</div>')


def user_html(message: str) -> str:
    return esc(message)


# ---------------------------------------------------------------- side panel

def collection_md(stats: dict) -> str:
    n = stats.get("papers", 0)
    if not n:
        return "**No papers indexed yet.** Add files below (JSONL, CSV, BibTeX, arXiv metadata or scraped pages)."
    line = f"**{n} papers** · {stats.get('chunks', 0)} passages"
    if stats.get("years") and stats["years"] != "-":
        line += f" · {stats['years'].replace('-', '–')}"
    return line


def upload_html(report, names: dict[str, str], papers_before: int) -> str:
    """The ingest report of an upload: counts, then each file's errors (file, line, reason)."""
    grown = report.papers - papers_before
    files = report.files_read + report.files_unchanged
    head = (f"{report.files_read} file(s) read" + (f", {report.files_unchanged} unchanged" if report.files_unchanged
                                                    else "") +
            f"; {report.records} record(s); {report.papers} papers in the collection "
            f"({'+' if grown >= 0 else ''}{grown}) in {report.seconds:.1f} s")
    rows = []
    for e in report.errors:
        name = names.get(str(getattr(e, "path", "")), Path(str(getattr(e, "path", "?"))).name)
        where = f"{name}, line {e.line}" if getattr(e, "line", None) else name
        rows.append(f'<li><b>{esc(where)}</b>: {esc(getattr(e, "reason", str(e)))}</li>')
    kind = "rag-upload-ok" if not report.errors else ("rag-upload-partial" if files else "rag-upload-bad")
    errors = (f'<div class="rag-upload-errors">{len(report.errors)} problem(s):<ul>{"".join(rows)}</ul></div>'
              if rows else "")
    return _one_line(f'<div class="rag-upload {kind}"><div>{esc(head)}</div>{errors}</div>')


def model_md(backend: str, model: str, where: str, remote: bool) -> str:
    badge = ('<span class="rag-badge rag-remote">remote</span>' if remote
             else '<span class="rag-badge rag-local">local</span>')
    return _one_line(f'<div class="rag-model"><div><b>{esc(model)}</b> {badge}</div>'
                     f'<div class="rag-model-where">backend {esc(backend)} · {esc(where)}</div></div>')


CSS = """
.gradio-container { max-width: 1400px !important; margin: 0 auto; }
#rag-header h1 { font-size: 1.45rem; margin: 0.2rem 0 0 0; }
#rag-header p { margin: 0.1rem 0 0.4rem 0; color: var(--body-text-color-subdued); }
#rag-side .rag-section { font-weight: 600; font-size: 0.95rem; margin: 0.2rem 0; }
.rag-answer, .rag-abstain, .rag-error, .rag-streaming { line-height: 1.55; }
.rag-text { font-size: 1rem; }
.rag-cite { color: var(--color-accent); font-weight: 600; cursor: help; margin-left: 1px; }
mark.rag-unsupported { background: #fff3b0; color: inherit; border-bottom: 2px dotted #c99a00; padding: 0 2px; }
.dark mark.rag-unsupported { background: #5c4a00; }
.rag-warn { margin-top: 0.5rem; font-size: 0.88rem; color: #8a6100; background: #fff9db; border-left: 3px solid #e0b400;
  padding: 0.3rem 0.6rem; border-radius: 4px; }
.dark .rag-warn { color: #ffe08a; background: #3a3000; }
.rag-refs { margin-top: 0.8rem; border-top: 1px solid var(--border-color-primary); padding-top: 0.5rem; }
.rag-refs-title { font-size: 0.78rem; text-transform: uppercase; letter-spacing: 0.06em; font-weight: 600;
  color: var(--body-text-color-subdued); margin-bottom: 0.35rem; }
details.rag-card { border: 1px solid var(--border-color-primary); border-radius: 8px; margin: 0.4rem 0;
  background: var(--background-fill-secondary); }
details.rag-card > summary { list-style: none; display: flex; gap: 0.6rem; padding: 0.55rem 0.7rem; cursor: pointer; }
details.rag-card > summary::-webkit-details-marker { display: none; }
.rag-key { flex: none; display: inline-flex; align-items: center; justify-content: center; min-width: 1.6rem; height: 1.6rem;
  border-radius: 50%; background: var(--color-accent); color: white; font-weight: 700; font-size: 0.85rem; }
.rag-card-head { display: flex; flex-direction: column; gap: 0.1rem; min-width: 0; }
.rag-title { font-weight: 650; }
.rag-byline { font-size: 0.86rem; color: var(--body-text-color-subdued); }
.rag-quote { font-size: 0.9rem; font-style: italic; margin-top: 0.15rem; }
.rag-more { font-size: 0.78rem; color: var(--color-accent); margin-top: 0.15rem; }
details.rag-card[open] .rag-more { display: none; }
.rag-passage { margin: 0 0.7rem 0.4rem 2.9rem; padding: 0.5rem 0.7rem; font-size: 0.9rem; border-left: 3px solid var(--color-accent);
  background: var(--background-fill-primary); border-radius: 0 6px 6px 0; }
mark.rag-hl { background: #d8ecff; color: inherit; padding: 0 2px; border-radius: 2px; }
.dark mark.rag-hl { background: #1d3b5c; }
.rag-card-meta { margin: 0 0.7rem 0.5rem 2.9rem; font-size: 0.78rem; color: var(--body-text-color-subdued); }
.rag-quoted { margin-top: 0.4rem; font-size: 0.86rem; font-style: italic; color: var(--body-text-color-subdued); }
.rag-footer, .rag-readas { margin-top: 0.5rem; font-size: 0.78rem; color: var(--body-text-color-subdued); }
.rag-readas { margin-top: 0.1rem; font-style: italic; }
.rag-abstain { background: var(--background-fill-secondary); border: 1px dashed var(--border-color-primary);
  border-radius: 8px; padding: 0.6rem 0.8rem; color: var(--body-text-color-subdued); }
.rag-abstain-head { display: flex; align-items: center; gap: 0.5rem; font-weight: 600; }
.rag-abstain-icon { font-size: 1.2rem; opacity: 0.7; }
.rag-abstain-body, .rag-abstain-near { font-size: 0.88rem; margin-top: 0.3rem; }
.rag-error { background: #fdecec; border-left: 4px solid #d93025; border-radius: 6px; padding: 0.5rem 0.8rem; color: #7a1c15; }
.dark .rag-error { background: #3b1512; color: #ffb4ab; }
.rag-error-head { font-weight: 700; }
.rag-error-msg { font-size: 0.9rem; font-family: var(--font-mono); white-space: pre-wrap; word-break: break-word; }
.rag-error-hint { font-size: 0.88rem; margin-top: 0.3rem; }
.rag-pending { color: var(--body-text-color-subdued); font-style: italic; }
.rag-caret { animation: rag-blink 1s steps(2) infinite; color: var(--color-accent); }
@keyframes rag-blink { 50% { opacity: 0; } }
.rag-upload { font-size: 0.86rem; padding: 0.4rem 0.6rem; border-radius: 6px; border-left: 3px solid #2e7d32;
  background: var(--background-fill-secondary); }
.rag-upload-partial { border-left-color: #e0a800; }
.rag-upload-bad { border-left-color: #d93025; }
.rag-upload-errors ul { margin: 0.2rem 0 0 1rem; padding: 0; }
.rag-upload-errors li { word-break: break-word; }
.rag-model-where { font-size: 0.82rem; color: var(--body-text-color-subdued); word-break: break-all; }
.rag-badge { font-size: 0.72rem; padding: 1px 7px; border-radius: 10px; font-weight: 600; margin-left: 0.3rem; }
.rag-local { background: #e3f4e5; color: #1f6b2a; }
.rag-remote { background: #fff1d6; color: #8a5300; }
#rag-count { font-size: 0.95rem; }
#rag-upload-help, #rag-upload-help * { font-size: 0.8rem !important; color: var(--body-text-color-subdued); }
"""
