"""paper-rag: question answering over scientific paper records, with verified citations.

    from rag import ask
    answer = ask("Which paper proposes Griffin?")
    print(answer.text, [c.title for c in answer.citations])

    from rag import Assistant, ingest, load_settings
    report = ingest(["papers/"], settings=load_settings())    # an IngestReport
    hits = Assistant().search("state space models")            # PaperHits; hits.export("bibtex")
    answer.references("bibtex")                                # the cited papers; also "ris", "csl-json"

Everything a library user calls is here (`__all__`); the modules behind it are the implementation.
Data flows one way, `Record -> Chunk -> Passage -> Answer`:

    files --rag.parsers--> Record (rag/records.py) --rag.dedupe--> merged Records
          --rag.chunking--> Chunk --rag.embeddings + rag.store (Chroma), rag.bm25--> the indexes
          --rag.retrieval--> Passage (rag/types.py) --rag.answer (a model or extractive)--> Answer (rag/types.py)

`rag.ingest` runs the first half, `rag.api.Assistant` the second; `rag.cli`, `rag.ui` and `rag.eval` are
the three front doors over them.
"""

import sys as _sys
from types import ModuleType as _ModuleType

from rag.errors import (
    ConfigError,
    EmbeddingError,
    IndexEmpty,
    InputError,
    LLMError,
    LocalServerError,
    RagError,
    StoreError,
)
from rag.types import (
    NO_ANSWER,
    Answer,
    Citation,
    Facets,
    Filters,
    FiltersApplied,
    PaperHit,
    PaperHits,
    Passage,
    SourceHit,
    StreamEvent,
    Timings,
    Usage,
)

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "Assistant",
    "Citation",
    "ConfigError",
    "EmbeddingError",
    "Facets",
    "Filters",
    "FiltersApplied",
    "IndexEmpty",
    "IngestReport",
    "InputError",
    "LLMError",
    "LocalServerError",
    "NOT_STATED",
    "NO_ANSWER",
    "PaperHit",
    "PaperHits",
    "Passage",
    "RagError",
    "Settings",
    "SourceHit",
    "StoreError",
    "StreamEvent",
    "Table",
    "TableCell",
    "TableRow",
    "Timings",
    "Usage",
    "ask",
    "format_references",
    "ingest",
    "load_settings",
    "paper_count",
]

# The rest pull in pydantic or the retrieval stack: loaded on first use, so `import rag` (and `rag --help`) stay light
_LAZY = {"ask": "rag.api", "Assistant": "rag.api", "paper_count": "rag.api", "ingest": "rag.ingest",
         "IngestReport": "rag.ingest", "Settings": "rag.settings", "load_settings": "rag.settings",
         "format_references": "rag.references",
         "NOT_STATED": "rag.table", "Table": "rag.table", "TableCell": "rag.table", "TableRow": "rag.table"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rag' has no attribute {name!r}")


class _Package(_ModuleType):
    """`rag.ingest` is the function: importing the submodule `rag.ingest` must not replace it."""

    def __setattr__(self, name: str, value) -> None:
        if name == "ingest" and isinstance(value, _ModuleType):
            return  # the module stays reachable as sys.modules["rag.ingest"] and by `from rag.ingest import ...`
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
