"""JSON Lines, a JSON array of objects, or one JSON object holding a list of them.

Accepted shapes:

    {"title": ..., "abstract": ...}            one object per line (JSON Lines / NDJSON)
    [{"title": ...}, {"title": ...}]           an array of objects (pretty-printed or not); when
                                               it ends on its first line and more lines follow,
                                               the file is JSON Lines: each line an array or object
    {"records": [...]}                         an object with a list under records/papers/items
                                               (also data/results/entries)

Field names are read by `rag.parsers.fields`. A line that is not valid JSON, or an object with
neither a title nor an abstract, becomes an `InputError` with its 1-based line number; every
other line is still read. `.gz` files arrive here already decompressed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rag.errors import InputError
from rag.parsers.base import ParseResult, _logical_suffix
from rag.parsers.fields import has_core_key, record_from_fields

NAME = "jsonl"
SUFFIXES = {".json", ".jsonl", ".ndjson"}
CONTAINER_KEYS = ("records", "papers", "items", "data", "results", "entries")

_CONTENT_RE = re.compile(r"\s*(?:\{\s*(?:\"|\})|\[\s*(?:\{|\]))")
_WS_RE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def sniff(path: Path, head: str) -> bool:
    """By suffix (.json/.jsonl/.ndjson, also .gz), or content opening like a JSON object/array."""
    return _logical_suffix(path) in SUFFIXES or bool(_CONTENT_RE.match(head))


def _kind(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "true/false", type(None): "null"}.get(
        type(value), "number")


class _Reader:
    """Collects records and per-line errors for one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.result = ParseResult(layout=NAME)

    def error(self, reason: str, line: int | None) -> None:
        self.result.errors.append(InputError(self.path, reason, line=line))

    def add(self, value: object, line: int | None, *, nested: bool = False) -> None:
        if isinstance(value, dict):
            if not nested and not has_core_key(value):
                for key in CONTAINER_KEYS:
                    inner = value.get(key)
                    if isinstance(inner, list) and (not inner or isinstance(inner[0], dict)):
                        for item in inner:
                            self.add(item, line, nested=True)
                        return
            try:
                self.result.records.append(record_from_fields(value, path=self.path, line=line, layout=NAME))
            except InputError as err:
                self.result.errors.append(err)
        elif isinstance(value, list) and not nested and value and all(isinstance(v, dict) for v in value):
            for item in value:
                self.add(item, line, nested=True)
        else:
            self.error(f"expected a JSON object with title/abstract fields, got {_kind(value)}", line)


def _parse_array(reader: _Reader, text: str, start: int) -> None:
    """Read `[obj, obj, ...]` element by element so each record knows its line."""
    pos = start + 1
    line = text.count("\n", 0, pos) + 1
    counted = pos
    n = len(text)
    while True:
        pos = _WS_RE.match(text, pos).end()
        if pos < n and text[pos] == "]":
            pos += 1
            break
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            value, pos = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            reader.error(f"invalid JSON: {exc.msg} (column {exc.colno}); the rest of the array was not read",
                         exc.lineno)
            return
        reader.add(value, line, nested=True)
        pos = _WS_RE.match(text, pos).end()
        if pos < n and text[pos] == ",":
            pos += 1
            continue
        if pos < n and text[pos] == "]":
            pos += 1
            break
        line += text.count("\n", counted, pos)
        counted = pos
        where = "end of file" if pos >= n else repr(text[pos])
        reader.error(f"invalid JSON: expected ',' or ']' in the array, found {where}; "
                     "the rest of the array was not read", line)
        return
    rest = _WS_RE.match(text, pos).end()
    if rest < n:
        reader.error("invalid JSON: extra text after the closing ']'; it was not read",
                     text.count("\n", 0, rest) + 1)


def _parse_lines(reader: _Reader, text: str) -> None:
    """JSON Lines: one value per line; a bad line is an error for that line only."""
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            value = _DECODER.decode(line)
        except json.JSONDecodeError as exc:
            msg = "extra text after the object; put one object per line" if exc.msg == "Extra data" else exc.msg
            reader.error(f"invalid JSON: {msg} (column {exc.colno}); fix or remove this line", number)
            continue
        except RecursionError:
            reader.error("invalid JSON: nested too deeply; fix or remove this line", number)
            continue
        reader.add(value, number)


def _parse_stream(reader: _Reader, text: str, pos: int) -> None:
    """Pretty-printed objects one after another; after a broken one, resume at the next line opening '{'."""
    n = len(text)
    line, counted = 1, 0
    while True:
        pos = _WS_RE.match(text, pos).end()
        if pos >= n:
            return
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            value, pos = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            reader.error(f"invalid JSON in the object starting here: {exc.msg} "
                         f"(line {exc.lineno}, column {exc.colno}); fix it", line)
            nxt = text.find("\n{", pos + 1)
            if nxt < 0:
                return
            pos = nxt + 1
            continue
        except RecursionError:
            reader.error("invalid JSON: nested too deeply; the rest of the file was not read", line)
            return
        reader.add(value, line)


def _is_array_line(text: str, start: int) -> bool:
    """True when the array opening at `start` is whole on its line and more lines follow: JSON
    Lines whose lines hold arrays (or objects), read line by line rather than as one array."""
    first_nl = text.find("\n", start)
    if first_nl < 0 or not text[first_nl:].strip():
        return False
    try:
        _DECODER.decode(text[start:first_nl].strip())
    except (json.JSONDecodeError, RecursionError):
        return False
    return True


def parse(path: Path, text: str) -> ParseResult:
    reader = _Reader(path)
    start = _WS_RE.match(text).end()
    if start >= len(text):
        return reader.result
    if text[start] == "[":
        if _is_array_line(text, start):
            _parse_lines(reader, text)
            return reader.result
        try:
            _parse_array(reader, text, start)
        except RecursionError:
            reader.error("invalid JSON: nested too deeply; the rest of the array was not read",
                         text.count("\n", 0, start) + 1)
        return reader.result
    first_nl = text.find("\n", start)
    try:
        value, end = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        broken_first_line = first_nl < 0 or exc.pos <= first_nl
        opener_alone = text[start:first_nl if first_nl >= 0 else len(text)].strip() == "{"
        if broken_first_line or not opener_alone:
            _parse_lines(reader, text)
        else:
            _parse_stream(reader, text, start)
        return reader.result
    except RecursionError:
        _parse_lines(reader, text)
        return reader.result
    if not text[end:].strip():  # the whole file is one value
        reader.add(value, text.count("\n", 0, start) + 1)
    elif first_nl < 0 or end <= first_nl:
        _parse_lines(reader, text)
    else:
        _parse_stream(reader, text, start)
    return reader.result
