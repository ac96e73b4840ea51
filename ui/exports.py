"""Files the page offers for download: export text written to a file named for its format.

    path = write_export(hits.export("bibtex"), "papers griffin", "bibtex")   # .../papers-griffin.bib
    button = download(path, "Download .bib")                                  # the DownloadButton's new value

Each file goes to this process's export folder (a fresh temporary directory), under a folder named
for the SHA-256 of its text: the same export asked for twice is one file, and two sessions never
write over each other's. gradio serves it from its own cache (the temporary directory is a place
it serves from). The text itself is made elsewhere (`PaperHits.export`, `Answer.references`,
`rag.table_format`, `rag.format_references`); this module only names, writes and offers it.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tempfile
from pathlib import Path

import gradio as gr

SUFFIXES = {"bibtex": ".bib", "ris": ".ris", "csl-json": ".json", "csv": ".csv", "jsonl": ".jsonl", "md": ".md",
            "html": ".html"}
STEM_CHARS = 48


@functools.cache
def export_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="rag-exports-"))


def file_stem(text: str) -> str:
    """'Papers: Griffin & co.' -> 'papers-griffin-co': lowercase words and digits joined by '-'."""
    stem = "-".join(re.findall(r"[a-z0-9]+", text.lower()))[:STEM_CHARS].strip("-")
    return stem or "export"


def write_export(text: str, name: str, fmt: str) -> Path:
    """`text` in a file called `file_stem(name)` plus the suffix of `fmt` (one of SUFFIXES)."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    path = export_folder() / digest / (file_stem(name) + SUFFIXES[fmt])
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(text, encoding="utf-8")
    return path


def download(path: Path | None, label: str) -> gr.DownloadButton:
    """The new state of a DownloadButton: offering `path`, or (None) greyed out with `label` saying why."""
    return gr.DownloadButton(label=label, value=str(path) if path else None, interactive=path is not None)
