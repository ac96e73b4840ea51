"""paper-rag: question answering over scientific paper records, with verified citations.

    from rag import ask
    answer = ask("Which paper proposes Griffin?")
    print(answer.text, [c.title for c in answer.citations])
"""

from rag.errors import ConfigError, IndexEmpty, InputError, RagError, StoreError
from rag.types import NO_ANSWER, Answer, Citation, Filters, Passage, SourceHit

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "Assistant",
    "Citation",
    "ConfigError",
    "Filters",
    "IndexEmpty",
    "InputError",
    "NO_ANSWER",
    "Passage",
    "RagError",
    "SourceHit",
    "StoreError",
    "ask",
]


def __getattr__(name: str):
    # ask and Assistant pull in the retrieval stack: load it on first use, so `import rag` stays light
    if name in ("ask", "Assistant"):
        from rag import api

        return getattr(api, name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
