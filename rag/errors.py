"""The project's exception tree. Every message names the fix.

    RagError
    ├── ConfigError          a setting is wrong or a component is not installed
    │   └── LocalServerError the local model server could not start
    ├── InputError           a file cannot be read or parsed (names the file and the line)
    ├── StoreError           the vector store is unreachable or inconsistent
    ├── IndexEmpty           nothing is indexed yet
    ├── EmbeddingError       the embedding server failed, or the model in use is not the store's
    └── LLMError             the model server failed: unreachable, refusing, too slow, or garbled

All are exported from `rag`, so a caller tells a model failure (`LLMError`) from a store failure
(`StoreError`) without importing a private module. Code below the CLI raises these; the CLI prints
them as one line and exits non-zero, so a user never sees a traceback for their own mistake.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class: anything the user can fix, with a message that says how."""


class ConfigError(RagError):
    """A setting is invalid, or a component it names is not installed."""


class LocalServerError(ConfigError):
    """The local model server could not start."""


class InputError(RagError):
    """A file could not be read or parsed.

    `path` and `line` (1-based, optional) say where; the message says why and what to do.
    """

    def __init__(self, path: str, reason: str, *, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


class StoreError(RagError):
    """The vector store could not be opened, reached or written."""


class IndexEmpty(RagError):
    """Nothing is indexed in the data directory yet."""


class EmbeddingError(RagError):
    """The embedding server could not be reached, refused the request, kept failing, ran out of time or
    sent vectors that do not fit (wrong count or dimension); or the embedding model in use is not the
    one that built the store. `done` holds the vectors of a failed call that did arrive (index -> vector),
    so a cache can keep them."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.done: dict = {}


class LLMError(RagError):
    """The model server could not be reached, refused the request, kept failing, sent something that
    is not a chat completion, or ran out of time."""
