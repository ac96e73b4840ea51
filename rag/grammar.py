"""Constrained answers: a llama.cpp grammar (GBNF) that lets the model write only the sentinel or
one to `max_sentences` sentences, each ending in keys of the sources it was given.

    body = {"grammar": answer_grammar([1, 2, 3])}   # sent with the chat request (`rag.answer`)

The server turns the grammar into a sampler constraint, so a key outside `keys`, a bare list, a
heading or a runaway fourth sentence cannot be written at all. What a sentence says is still the
model's; `rag.citations` and `rag.support` check it afterwards exactly as without a grammar. Only
llama.cpp servers read `grammar` (the bundled model's is one); this module builds the text and
talks to no server.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from rag.types import NO_ANSWER

def _literal(text: str) -> str:
    return json.dumps(text)  # GBNF string literals take JSON's escapes


def answer_grammar(keys: Iterable[int], *, max_sentences: int = 3, no_answer: str = NO_ANSWER) -> str:
    """GBNF for: `no_answer` exactly, or sentences of text (no brackets, no newlines) that each end
    in one or more `[k]` for k in `keys`, optionally followed by a full stop."""
    numbers = sorted({int(k) for k in keys})
    if not numbers:
        raise ValueError("a constrained answer needs at least one source key")
    key = " | ".join(_literal(str(k)) for k in numbers)
    more = max(0, max_sentences - 1)
    return "\n".join([
        "root ::= decline | answer",
        f"decline ::= {_literal(no_answer)}",
        f"answer ::= sentence (\" \" sentence){{0,{more}}}",
        "sentence ::= [^\\[\\]\\n ] [^\\[\\]\\n]* cites [.]?",
        "cites ::= \" \"? cite (cite){0,3}",
        "cite ::= \"[\" key \"]\"",
        f"key ::= {key}",
    ]) + "\n"
