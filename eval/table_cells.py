"""Literature-table cells scored against hand labels (`eval/datasets/table-cells.jsonl`), as pure functions.

The rule is the one written down with the labels (eval/datasets/README.md, "table-cells.jsonl"):
words are `rag.extractive.content_words`; a shown phrase is *in the record* when each of its words
is a word of the paper's title or abstract; it *answers the column* when it has at most
`MAX_WORDS` words and holds at least half the words of one acceptable phrase; a cell is *right*
when its label is null and it shows "not stated", or when it answers the column and is in the
record. This module only scores; `bench/table.py` builds the rows and prints the figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from rag.extractive import content_words

MAX_WORDS = 20


def load_labels(path: Path) -> list[dict]:
    """The labelled papers: {"paper_id", "title", "cells": {column: [phrases] or None}}, in file order."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def in_record(phrase: str, record_text: str) -> bool:
    return content_words(phrase) <= content_words(record_text)


def answers(phrase: str, gold: list[str]) -> bool:
    words = content_words(phrase)
    return len(phrase.split()) <= MAX_WORDS and any(
        len(content_words(g) & words) >= 0.5 * len(content_words(g)) for g in gold)


def right(shown: str | None, gold: list[str] | None, record_text: str) -> bool:
    """Is one cell right? `shown` is the phrase shown, None for "not stated"."""
    if shown is None or gold is None:
        return shown is None and gold is None
    return answers(shown, gold) and in_record(shown, record_text)


def score(cells: Iterable[tuple[str, str | None, list[str] | None, str]]) -> dict:
    """Figures over cells given as (column, shown or None, gold or None, record text)."""
    cells = list(cells)
    verdicts = [(col, shown, gold, right(shown, gold, text), shown is not None and not in_record(shown, text))
                for col, shown, gold, text in cells]
    blank = [v for v in verdicts if v[1] is None]
    columns = list(dict.fromkeys(v[0] for v in verdicts))
    return {
        "cells": len(verdicts),
        "right": sum(v[3] for v in verdicts),
        "accuracy": _share(sum(v[3] for v in verdicts), len(verdicts)),
        "by_column": {c: _share(sum(v[3] for v in verdicts if v[0] == c), sum(v[0] == c for v in verdicts))
                      for c in columns},
        "not_stated_shown": len(blank),
        "not_stated_right": sum(v[2] is None for v in blank),
        "not_stated_precision": _share(sum(v[2] is None for v in blank), len(blank)),
        "labelled_not_stated": sum(v[2] is None for v in verdicts),
        "shown_not_in_record": sum(v[4] for v in verdicts),
    }


def _share(n: int, total: int) -> float | None:
    return round(n / total, 3) if total else None
