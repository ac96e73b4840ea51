"""Literature tables: one row per retrieved paper, one checked cell per column.

    table = assistant.table("sparse training", ["task", "method", "main result"])
    table.rows[0].cell("method").text        # "Top-KAST" or NOT_STATED

A cell is a short phrase taken from its paper's record (title and abstract), or `NOT_STATED`.
With a chat model, one call per paper fills every column at once, constrained by a JSON schema
(`row_schema`: llama.cpp turns it into a grammar, so the reply always parses); without one,
`rag.phrases` picks each column's phrase. Either way every filled cell is checked against its own
paper's record with the check the answers use, the phrase citing the record as its one source: a
model's phrase by `rag.support.check_support`, a phrase code picked as code-built answers are
(`rag.support.check_quotes`: found word for word in one sentence of the record); and, since a cell
is taken from the record rather than written, every word of it (`rag.extractive.content_words`: 3+ letters, no stopwords; "improves"
is not "improve") must be a word of the record. A cell that fails is shown as
`NOT_STATED`, its phrase kept in `TableCell.rejected` for inspection only. A question whose retrieval
is too weak to answer (`min_evidence`, as for answers) or that its filters leave without papers
gives an empty table with the reason. `TableMaker.stream` yields the table as rows are done, so a
UI can show them as they come. Each row carries its paper's `Record` (for reference export, which
is left to others). This module does not retrieve (`rag.retrieval`) or render (`rag.table_format`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from rag.citations import defang, strip_keys
from rag.errors import ConfigError
from rag.extractive import content_words
from rag.phrases import MAX_WORDS, pick_phrases, trim_phrase
from rag.records import Record
from rag.support import SentenceCheck, check_quotes, check_support
from rag.types import ABSTAIN_REASONS, Filters, Passage

NOT_STATED = "not stated"
MAX_COLUMNS = 12
MAX_ROWS = 50
MAX_CHARS = 80  # longest phrase the schema lets a model write per cell (12 words fit)
_EMPTY = re.compile(r"^(?:not stated|not (?:mentioned|given|specified|reported)|none|n/?a|unknown|-+)?$", re.I)


@dataclass(slots=True)
class TableCell:
    """One column of one paper: the phrase shown (`text`), or NOT_STATED."""

    column: str
    text: str = NOT_STATED
    stated: bool = False
    score: float | None = None  # the support check's similarity, when a phrase was checked
    rejected: str = ""  # a phrase that failed the check: for inspection, never shown as a claim

    def to_dict(self) -> dict:
        return {"column": self.column, "text": self.text, "stated": self.stated, "score": self.score,
                "rejected": self.rejected}


@dataclass(slots=True)
class TableRow:
    """One paper and its cells, in the table's column order. `record` is the paper's whole record
    (for reference export); `to_dict` leaves it out."""

    paper_id: str
    title: str | None
    authors: list[str]
    year: int | None
    venue: str | None
    arxiv_id: str | None
    cells: list[TableCell]
    note: str = ""  # why a row has no model cells (e.g. the reply did not parse)
    record: Record | None = field(default=None, repr=False, compare=False)

    def cell(self, column: str) -> TableCell:
        return next(c for c in self.cells if c.column == column)

    def to_dict(self) -> dict:
        return {"paper_id": self.paper_id, "title": self.title, "authors": self.authors, "year": self.year,
                "venue": self.venue, "arxiv_id": self.arxiv_id, "cells": [c.to_dict() for c in self.cells],
                "note": self.note}


@dataclass(slots=True)
class Table:
    """Rows in retrieval order. While it is being built, `papers` lists every row to come."""

    question: str
    columns: list[str]
    rows: list[TableRow] = field(default_factory=list)
    papers: list[str] = field(default_factory=list)  # paper ids retrieval found, one row each
    reason: str | None = None  # why the table is empty, in words; None when it has rows
    filters_applied: dict = field(default_factory=dict)
    model: str = ""
    timings: dict = field(default_factory=dict)  # retrieval_ms, total_ms

    @property
    def done(self) -> bool:
        return len(self.rows) == len(self.papers)

    def to_dict(self) -> dict:
        return {"question": self.question, "columns": self.columns, "rows": [r.to_dict() for r in self.rows],
                "papers": self.papers, "reason": self.reason, "filters_applied": self.filters_applied,
                "model": self.model, "timings": self.timings}


def parse_columns(columns: str | Sequence[str]) -> list[str]:
    """Column names from "task, method" or a list: trimmed, repeats dropped; at least 1, at most MAX_COLUMNS."""
    names = columns.split(",") if isinstance(columns, str) else list(columns)
    out = list(dict.fromkeys(" ".join(str(n).split()) for n in names if str(n).strip()))
    if not out:
        raise ConfigError('no columns given; name them, comma-separated, e.g. "task, method, main result"')
    if len(out) > MAX_COLUMNS:
        raise ConfigError(f"{len(out)} columns asked for; a table has at most {MAX_COLUMNS}: drop some columns")
    return out


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_ROWS:
        raise ConfigError(f"{limit} rows asked for: a table has 1 to {MAX_ROWS} rows; ask for at most {MAX_ROWS}")
    return limit


def row_schema(columns: list[str]) -> dict:
    """The JSON schema of one row: every column a string of at most MAX_CHARS characters."""
    props = {c: {"type": "string", "maxLength": MAX_CHARS} for c in columns}
    return {"type": "object", "properties": props, "required": list(columns), "additionalProperties": False}


def parse_reply(text: str, columns: list[str]) -> dict[str, str | None] | None:
    """The model's phrases by column (None for "not stated" and for columns it left out); None when
    the reply is not a JSON object."""
    try:
        data = json.loads(text[text.find("{"): text.rfind("}") + 1] if "{" in text else text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    out = {}
    for column in columns:
        value = " ".join(strip_keys(str(data.get(column) or "")).split()).strip(" .;,\"'")
        if len(value) > MAX_CHARS - 4 and " " in value:  # at the schema's cap, likely cut mid-word: whole words only
            value = trim_phrase(value.rsplit(" ", 1)[0])
        out[column] = None if _EMPTY.match(value) else value
    return out


def record_passage(record: Record) -> Passage:
    """The record as the one source its cells are checked against: title and abstract, and the byline."""
    text = ". ".join(x for x in (record.title, record.abstract) if x)
    return Passage(paper_id=record.id, chunk_id=f"{record.id}#record", text=defang(" ".join(text.split())) or "",
                   title=record.title, authors=list(record.authors), year=record.year, venue=record.venue,
                   score=1.0, authors_complete=record.authors_complete, date=record.date,
                   categories=list(record.categories))


class RowFiller:
    """Fills one row per record (`row`): by the chat model when there is one, else extractively; then checks."""

    def __init__(self, settings, chat_model, embed: Callable) -> None:
        self.settings, self.chat_model, self.embed = settings, chat_model, embed

    def row(self, record: Record, columns: list[str]) -> TableRow:
        drafts, note = self._drafts(record, columns)
        return TableRow(paper_id=record.id, title=record.title, authors=list(record.authors), year=record.year,
                        venue=record.venue, arxiv_id=record.arxiv_id, cells=self.check(record, drafts), note=note,
                        record=record)

    def _drafts(self, record: Record, columns: list[str]) -> tuple[dict[str, str | None], str]:
        if self.chat_model is None:
            return pick_phrases(columns, record.title, record.abstract), ""
        reply = self.chat_model.complete(self.messages(record, columns), max_tokens=24 + 40 * len(columns),
                                         temperature=0.0, body={"response_format": {
                                             "type": "json_schema",
                                             "json_schema": {"name": "row", "strict": True,
                                                             "schema": row_schema(columns)}}})
        drafts = parse_reply(reply.text, columns)
        if drafts is None:
            return dict.fromkeys(columns), "the model's reply was not a JSON row; every cell is not stated"
        return drafts, ""

    @staticmethod
    def messages(record: Record, columns: list[str]) -> list[dict]:
        """The one user message of a row's call; columns before the paper, so every row of a table
        shares a prefix that llama.cpp's prompt cache keeps."""
        from rag.prompts import render

        prompt = render("table", max_words=MAX_WORDS, not_stated=NOT_STATED, columns=json.dumps(columns),
                        title=defang(record.title) or "(untitled)", abstract=defang(record.abstract) or "")
        return [{"role": "user", "content": prompt}]

    def check(self, record: Record, drafts: dict[str, str | None]) -> list[TableCell]:
        """Cells in column order: each draft phrase shown only if the support check passes and every
        word of it is a word of the record."""
        cells = {c: TableCell(c) for c in drafts}
        filled = {c: p for c, p in drafts.items() if p}
        if filled:
            source = record_passage(record)
            have = content_words(source.text)
            for (column, phrase), check in zip(filled.items(), self._support(list(filled.values()), source)):
                cell = cells[column]
                cell.score = round(check.score, 4)
                if check.supported and content_words(phrase) <= have:
                    cell.text, cell.stated = phrase, True
                else:
                    cell.rejected = phrase
        return list(cells.values())


    def _support(self, phrases: list[str], source: Passage) -> list[SentenceCheck]:
        """The answers' checks, each phrase citing the record as its one source: a model's phrases by
        `check_support`; phrases code picked (no model) by `check_quotes`, as the answers' quotes are,
        so only a phrase found word for word in one sentence of the record passes."""
        if self.chat_model is None:
            return [c if c.backing else SentenceCheck(c.sentence, c.keys, score=0.0) for c in
                    check_quotes([f"{p} [1]" for p in phrases], {1: source})]
        return check_support([f"{p} [1]" for p in phrases], {1: source}, self.embed,
                             threshold=self.settings.support_threshold)


class TableMaker:
    """Retrieval, then one `RowFiller` row per paper found. Shared by all threads of an `Assistant`."""

    def __init__(self, settings, retriever, filler: RowFiller, evidence: Callable, model: str) -> None:
        self.settings, self.retriever, self.filler, self.evidence, self.model = (
            settings, retriever, filler, evidence, model)

    def stream(self, question: str, columns: str | Sequence[str], *, limit: int = 10,
               filters: Filters | None = None) -> Iterator[Table]:
        """Checks the columns and limit now (a `ConfigError` names the fix), then yields the same
        `Table` after retrieval (no rows yet) and again after each row."""
        return self._rows(question, parse_columns(columns), check_limit(limit), filters)

    def _rows(self, question: str, columns: list[str], limit: int, filters: Filters | None) -> Iterator[Table]:
        started = time.perf_counter()
        found = self.retriever.search(question, filters=filters, top_k=limit)
        table = Table(question=question, columns=columns, filters_applied=dict(found.filters_applied), model=self.model)
        table.timings["retrieval_ms"] = _ms(started)
        records = self.retriever.catalog.papers
        if not found.passages:
            table.reason = ABSTAIN_REASONS["no_sources"]
        elif self.evidence(question, found) < self.settings.min_evidence:
            table.reason = ABSTAIN_REASONS["weak_evidence"]
        else:
            table.papers = [p.paper_id for p in found.passages if p.paper_id in records]
        yield table
        for paper_id in table.papers:
            table.rows.append(self.filler.row(records[paper_id], columns))
            table.timings["total_ms"] = _ms(started)
            yield table
        table.timings["total_ms"] = _ms(started)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)
