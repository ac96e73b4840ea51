"""CSV or TSV with a header row; columns are read by `rag.parsers.fields`.

The delimiter is the one of tab, comma, semicolon or bar that the header line uses most (a
`.tsv` file is always tab-separated). The header must name a title or abstract column; a file
whose first row does not is rejected as a whole, with the columns it found and the ones it
expected. Each bad row becomes an `InputError` with its 1-based line number.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from rag.errors import InputError
from rag.parsers.base import ParseResult, _logical_suffix
from rag.parsers.fields import has_core_key, record_from_fields

NAME = "csv"
SUFFIXES = {".csv", ".tsv"}
DELIMITERS = ("\t", ",", ";", "|")
_COLUMN_RE = re.compile(r"[\w .\-/()#]{1,40}")
EXPECTED = "title, authors, date, venue, categories, arxiv_id, abstract"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def _delimiter(path: Path, header: str) -> str:
    if _logical_suffix(path) == ".tsv":
        return "\t"
    counts = [(header.count(d), -i, d) for i, d in enumerate(DELIMITERS)]
    best = max(counts)
    return best[2] if best[0] > 0 else ","


def _header_cells(line: str, delimiter: str) -> list[str]:
    try:
        return [c.strip() for c in next(csv.reader([line], delimiter=delimiter))]
    except (csv.Error, StopIteration):
        return []


def sniff(path: Path, head: str) -> bool:
    """By suffix (.csv/.tsv, also .gz), or a first line of delimited cells naming a title/abstract column."""
    if _logical_suffix(path) in SUFFIXES:
        return True
    line = _first_line(head[:8192])
    delimiter = _delimiter(path, line)
    if delimiter not in line:
        return False
    cells = _header_cells(line, delimiter)
    return len(cells) >= 2 and has_core_key(cells) and all(_COLUMN_RE.fullmatch(c) for c in cells if c)


def parse(path: Path, text: str) -> ParseResult:
    result = ParseResult(layout=NAME)
    header_line = _first_line(text)
    delimiter = _delimiter(path, header_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    prev_line = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.errors.append(InputError(path, f"unreadable CSV row ({exc}); fix its quoting", line=prev_line + 1))
            prev_line = reader.line_num
            continue
        start, prev_line = prev_line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            if not has_core_key(header):
                found = ", ".join(repr(c) for c in header[:12] if c) or "none"
                result.errors.append(InputError(
                    path,
                    f"no header row with a title or abstract column (found columns: {found}); "
                    f"add a header row naming the columns, e.g. {EXPECTED}",
                    line=start,
                ))
                return result
            continue
        fields: dict[str, str] = {}
        for name, cell in zip(header, row):
            if name and name not in fields:
                fields[name] = cell
        try:
            result.records.append(record_from_fields(fields, path=path, line=start, layout=NAME))
        except InputError as err:
            result.errors.append(err)
    if header is None:
        result.errors.append(InputError(path, f"no header row found; add one naming the columns, e.g. {EXPECTED}"))
    return result
