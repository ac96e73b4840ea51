"""Read files safely and hand each to the parser that recognises it.

Every failure a user can cause (not a regular file, empty, binary, not UTF-8, too large, unknown
layout, broken lines, a folder with no files) becomes an `InputError` in the `ParseResult`, never
an exception that stops the run: one bad file must not keep the others out of the store.
"""

from __future__ import annotations

import errno
import gzip
import importlib
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import InputError
from rag.records import Record

# Structured formats first: they are recognised by name and shape, pages by content.
PARSER_MODULES = (
    "rag.parsers.jsonl",
    "rag.parsers.csvfile",
    "rag.parsers.bibtex",
    "rag.parsers.catdate",
    "rag.parsers.seemore",
    "rag.parsers.authorpage",
    "rag.parsers.lastfirst",
)
SNIFF_CHARS = 64 * 1024
STRUCTURED_SUFFIXES = {".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".bib", ".bibtex"}


@dataclass
class ParseResult:
    """What one file gave: its records, its errors (file-level or per line), the layout used."""

    records: list[Record] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    layout: str | None = None


def _parsers():
    return [importlib.import_module(name) for name in PARSER_MODULES]


def _logical_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        return suffixes[-2] if len(suffixes) > 1 else ""
    return suffixes[-1] if suffixes else ""


class _FolderError(InputError):
    """An `InputError` about a whole folder; its message is the reason alone, which names the folder."""

    def __str__(self) -> str:
        return self.reason


def _no_files_error(folder: Path) -> _FolderError:
    return _FolderError(folder, f"no files found in {folder}; put paper files in it (.txt, .jsonl, .json, .csv, "
                               ".tsv, .bib, or any of them .gz) or give their paths; hidden files are skipped")


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _not_regular_error(path: Path, mode: int) -> InputError:
    return InputError(path, f"not a regular file ({_kind_of(mode)}), so it was not read; "
                            "save its contents to a file and give that path")


def _regular_file_error(path: Path) -> InputError | None:
    """None for a regular file (or a link to one); else the error saying what `path` is instead."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if path.is_symlink():
            return InputError(path, "symbolic link to nothing (broken, or a loop); fix or remove the link")
        if exc.errno == errno.ENOENT:
            return InputError(path, "no such file or folder; check the path")
        return InputError(path, f"cannot read file ({exc.strerror or exc}); check the path and permissions")
    return None if stat.S_ISREG(mode) else _not_regular_error(path, mode)


def read_text(path: Path, *, max_page_bytes: int) -> str:
    """Decode a file as UTF-8 text (gunzipping `.gz`), or raise `InputError` saying why not.

    Only a regular file is opened: a named pipe or a device would block or never end.
    """
    if (err := _regular_file_error(path)) is not None:
        raise err
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror or exc}); check the path and permissions") from None
    if path.suffix.lower() == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(path, f"not a valid gzip file ({exc}); re-download or decompress it") from None
    if not raw.strip():
        raise InputError(path, "file is empty; nothing to ingest")
    if b"\x00" in raw[:8192]:
        raise InputError(path, "binary file, not text; give a page (.txt), JSON/JSONL, CSV or BibTeX file")
    structured = _logical_suffix(path) in STRUCTURED_SUFFIXES
    if not structured and len(raw) > max_page_bytes:
        raise InputError(
            path,
            f"page is {len(raw) / 2**20:.1f} MB, over the {max_page_bytes / 2**20:.0f} MB limit for one page; "
            "split it, or raise RAG_MAX_PAGE_MB",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            path, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); convert it, e.g. iconv -f latin1 -t utf-8",
            line=line,
        ) from None
    return text.lstrip("\ufeff")


def parse_file(path: str | Path, *, max_page_bytes: int = 10 * 2**20) -> ParseResult:
    """Parse one file with the first parser that recognises it. Never raises for bad input."""
    path = Path(path)
    try:
        text = read_text(path, max_page_bytes=max_page_bytes)
    except InputError as err:
        return ParseResult(errors=[err])
    head = text[:SNIFF_CHARS]
    for parser in _parsers():
        if parser.sniff(path, head):
            try:
                result = parser.parse(path, text)
            except InputError as err:
                return ParseResult(errors=[err], layout=parser.NAME)
            result.layout = result.layout or parser.NAME
            if not result.records and not result.errors:
                result.errors.append(InputError(path, f"no paper records found in this {parser.NAME} file"))
            return result
    return ParseResult(errors=[InputError(
        path,
        "no known layout (not JSON/JSONL, CSV with a header, BibTeX, or one of the scraped page layouts); "
        "convert it to JSONL with title/authors/abstract fields",
    )])


def _folder_files(folder: Path) -> list[Path]:
    """The regular files under `folder`, sorted; hidden ones and anything else skipped."""
    out = []
    for child in sorted(folder.rglob("*")):
        rel = child.relative_to(folder)
        if child.is_file() and not any(part.startswith(".") for part in rel.parts):
            out.append(child)
    return out


def iter_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, InputError | None]]:
    """Expand folders (recursively, sorted, hidden files skipped) into files.

    Yields `(path, None)` for each file to read, or `(path, error)` for a path that cannot be
    read: missing, not a regular file (a named pipe is never opened), or a folder with no files.
    """
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files = _folder_files(p)
            if not files:
                yield p, _no_files_error(p)
            for child in files:
                yield child, None
        else:
            yield p, _regular_file_error(p)


def parse_paths(paths: Iterable[str | Path], *, max_page_bytes: int = 10 * 2**20) -> Iterator[tuple[Path, ParseResult]]:
    """Parse every file under `paths`, in order, one `ParseResult` per file."""
    for path, err in iter_files(paths):
        if err is not None:
            yield path, ParseResult(errors=[err])
        else:
            yield path, parse_file(path, max_page_bytes=max_page_bytes)
