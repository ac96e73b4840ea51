"""Turn files into `Record`s: pick a parser per file, read it safely, report what went wrong.

Each parser module exposes:

    NAME: str                                 the layout's name (shown in `sources` and summaries)
    def sniff(path: Path, head: str) -> bool  True when this parser recognises the file
    def parse(path: Path, text: str) -> ParseResult

`sniff` sees the file name and its first 64 KiB of decoded text. Structured parsers (JSON,
CSV, BibTeX) are tried before the scraped-page layouts. This package does not deduplicate
(see `rag.dedupe`) and does not touch the store.
"""

from __future__ import annotations

from rag.parsers.base import ParseResult, parse_file, parse_paths, iter_files

__all__ = ["ParseResult", "iter_files", "parse_file", "parse_paths"]
