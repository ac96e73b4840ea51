"""HTML for the chat window: answers with their source cards and reference buttons, abstentions,
errors, upload reports, and the Papers view's list of hits.

Pure functions of `rag` values (Answer, Citation, PaperHits, IngestReport, ...) to HTML strings;
no gradio, no retrieval. Everything that comes from papers or users is escaped here, so the chat
can render the result as-is. A literature table's own HTML is `rag.table_format`'s (framed here);
the CSS and the script behind the buttons are `style.py`'s. Keys and sentences are read with
`rag.citations`; which passage sentence backs a claim is the support check's finding
(`Citation.backing_sentences`), not guessed here.
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
TRY_AGAIN = "Try other words, loosen the filters, or add papers in the side panel."


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
        parts.append(f'<div class="rag-refs"><div class="rag-refs-title">References</div>{reference_actions(answer)}')
        parts.extend(card_html(c) for c in sorted(answer.citations, key=lambda c: c.key))
        parts.append("</div>")
    parts.append(footer_html(answer, asked))
    parts.append("</div>")
    return _one_line("".join(parts))


def reference_actions(answer: Answer) -> str:
    """"Copy BibTeX" and "Download .bib" for the answer's cited papers (`Answer.references`), their
    text beside them in a <pre> the CSS hides; `style.JS` does the copying. (The chat's sanitizer
    keeps buttons, classes and <pre>, not textareas or data attributes.) Newlines and indents are
    character references, so the one-line HTML the chat needs still holds the entries as written."""
    bib = answer.references("bibtex")
    if not bib:
        return ""
    kept = esc(bib).replace("\n", "&#10;").replace("  ", "&#32;&#32;")
    return ('<div class="rag-refs-actions">'
            '<button type="button" class="rag-copy-bib" title="Copy the cited papers as BibTeX">Copy BibTeX</button>'
            '<button type="button" class="rag-save-bib" title="Save the cited papers as references.bib">'
            f'Download .bib</button><pre class="rag-bibtex">{kept}</pre></div>')


def refs_note_html(answer: Answer | None, papers: int, asked: str = "") -> str:
    """Beside the download of the last answer's references: which question's (`asked`, as typed)
    they are, or why there are none."""
    if answer is None:
        text = "Ask a question: the papers its answer cites can be downloaded here."
    elif not papers:
        text = ("The last answer did not answer (" + abstain_words(answer.abstain_reason).rstrip(".") +
                "), so it cites no paper and has no references." if answer.abstained else
                "The last answer cites no paper, so it has no references.")
    else:
        text = f"{papers} paper{'s' if papers != 1 else ''} cited in the answer to “{asked or answer.question}”."
    return f'<div class="rag-refs-note">{esc(text)}</div>'


def abstention_html(answer: Answer, asked: str | None = None) -> str:
    near = [s.title for s in answer.sources if s.title][:3]
    closest = ("<div class=\"rag-abstain-near\">Closest papers, not cited: " +
               "; ".join(f"<i>{esc(t)}</i>" for t in near) + "</div>") if near else ""
    return _one_line(
        '<div class="rag-abstain"><div class="rag-abstain-head"><span class="rag-abstain-icon">∅</span>'
        f'<span class="rag-sentinel">{esc(NO_ANSWER)}</span></div>'
        f'<div class="rag-abstain-body" data-reason="{esc(answer.abstain_reason or "")}">'
        f"{esc(abstain_words(answer.abstain_reason))} {TRY_AGAIN}</div>"
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


# ---------------------------------------------------------------- the Papers and Table views

HIT_AUTHORS = 3


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def _nothing_html(head: str, why: str) -> str:
    return _one_line(
        f'<div class="rag-abstain rag-nothing"><div class="rag-abstain-head"><span class="rag-abstain-icon">∅</span>'
        f'<span>{esc(head)}</span></div><div class="rag-abstain-body">{esc(_sentence_case(why))}. {TRY_AGAIN}'
        "</div></div>")


def _hit_row(h) -> str:
    authors = byline(h.authors, limit=HIT_AUTHORS, complete=h.record.authors_complete, unknown="unknown")
    return (f'<tr data-paper="{esc(h.paper_id)}"><td class="rag-hit-rank">{h.rank}</td>'
            f'<td class="rag-hit-title">{esc(h.title or "(untitled)")}</td>'
            f'<td class="rag-hit-year">{h.year or "–"}</td>'
            f"<td>{esc(authors)}</td><td>{esc(h.venue or '')}</td><td class=\"rag-hit-sentence\">{esc(h.sentence)}</td>"
            f'<td class="rag-hit-score">{h.score:.3f}</td></tr>')


def hits_html(hits, by: str = "score") -> str:
    """A search's `PaperHits` as a table (rank, title, year, first authors, venue, matching sentence,
    score) in the order given, or, when it found nothing, its reason in words."""
    if not hits:
        return _nothing_html("No papers found", hits.reason or "no paper in the collection matches the query")
    order = "year, newest first" if by == "year" else "score, best first"
    summary = f"{len(hits)} paper{'s' if len(hits) != 1 else ''}, sorted by {order}"
    if filters := _filters_line(hits.filters_applied):
        summary += " · " + filters
    head = "".join(f"<th>{h}</th>" for h in ("#", "title", "year", "authors", "venue", "matching sentence", "score"))
    return _one_line(f'<div class="rag-hits-summary">{esc(summary)}</div><table class="rag-hits"><thead><tr>{head}'
                     f'</tr></thead><tbody>{"".join(_hit_row(h) for h in hits)}</tbody></table>')


def table_html(formatted: str) -> str:
    """A literature table as `rag.table_format` writes it in HTML, in the view's frame."""
    return f'<div class="rag-table-wrap">{formatted}</div>'


def table_empty_html(reason: str) -> str:
    return _nothing_html("No rows", reason)


def progress_html(text: str) -> str:
    return f'<div class="rag-progress">{esc(text)}</div>'


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
