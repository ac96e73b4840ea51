"""The front door: `ask()` for one question, `Assistant` for many (and for chat).

    from rag import ask
    answer = ask("Which paper proposes Griffin?")
    answer.citations[0].title

`Assistant` loads the store, the retriever and the model once and is safe to share between
threads: it keeps no per-question state. The UI and the eval harness are thin clients of it.
This module wires parts together; the work is done in `rag.retrieval`, `rag.answer`, `rag.llm`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence

from rag.answer import AnswerChain, StreamEvent
from rag.errors import IndexEmpty
from rag.settings import Settings, load_settings
from rag.types import Answer, Filters

_FOLLOW_UP = re.compile(r"^(and|but|also|what about|how about|which of)\b|\b(those|these|them|they|it|that one|ones)\b",
                        re.I)


def _messages(history: Sequence) -> list[dict]:
    """History as OpenAI-style dicts, from dicts or (user, assistant) pairs."""
    out: list[dict] = []
    for turn in history or []:
        if isinstance(turn, dict):
            out.append({"role": turn["role"], "content": str(turn["content"])})
        else:
            user, bot = turn
            out += [{"role": "user", "content": str(user)}] + ([{"role": "assistant", "content": str(bot)}] if bot else [])
    return out


def _paper_count(settings: Settings) -> int:
    from rag.state import State

    if not settings.state_path.exists():
        return 0
    state = State(settings.state_path)
    try:
        return state.paper_count()
    finally:
        state.close()


class Assistant:
    """Store, retriever and model, loaded once. `ask`, `stream`, `chat` and `chat_stream`."""

    def __init__(self, settings: Settings | None = None, *, retriever=None, chat_model=None, embedder=None) -> None:
        from rag.embeddings import CachedEmbedder, EmbeddingCache, get_embedder
        from rag.llm import make_chat_model
        from rag.retrieval import Retriever

        self.settings = settings or load_settings()
        if retriever is None and _paper_count(self.settings) == 0:
            raise IndexEmpty(f"no papers indexed in {self.settings.data_dir}; run: rag ingest PATH "
                             "(or rag ingest for the built-in sample)")
        model = embedder or get_embedder(self.settings.embed_model, threads=self.settings.embed_threads,
                                         batch_size=self.settings.embed_batch_size)
        self.retriever = retriever or Retriever(self.settings, embedder=model)
        self.chat_model = chat_model if chat_model is not None else make_chat_model(self.settings)
        cache = CachedEmbedder(model, EmbeddingCache(self.settings.cache_dir / "embeddings.sqlite"))
        self.chain = AnswerChain(self.settings, self.retriever, self.chat_model, cache.embed)

    def warm_up(self) -> None:
        """Load the model now (and, for a local model, read the fixed prompt prefix into its cache)."""
        self.chain.warm_up()

    def ask(self, question: str, *, filters: Filters | dict | None = None, top_k: int | None = None) -> Answer:
        return self.chain.run(question, filters=Filters.from_dict(filters), top_k=top_k)

    def stream(self, question: str, *, filters: Filters | dict | None = None,
               top_k: int | None = None) -> Iterator[StreamEvent]:
        """Tokens as they come (citation keys already checked), then one final "answer" event."""
        return self.chain.stream(question, filters=Filters.from_dict(filters), top_k=top_k)

    def chat(self, history: Sequence, message: str, **kwargs) -> Answer:
        for event in self.chat_stream(history, message, **kwargs):
            if event.kind == "answer":
                return event.answer
        raise AssertionError("the answer stream ended without an answer")

    def chat_stream(self, history: Sequence, message: str, *, filters: Filters | dict | None = None,
                    top_k: int | None = None) -> Iterator[StreamEvent]:
        """A follow-up question answered in the context of `history` (condensed to a standalone question)."""
        question = self.condense(history, message)
        return self.chain.stream(question, filters=Filters.from_dict(filters), top_k=top_k)

    def condense(self, history: Sequence, message: str) -> str:
        """The follow-up as a standalone question: by the model when there is one, else by rule."""
        turns = _messages(history)
        users = [t["content"] for t in turns if t["role"] == "user"]
        if not users:
            return message
        if self.chat_model is not None:
            from rag.prompts import render

            transcript = "\n".join(f"{t['role']}: {t['content'][:400]}" for t in turns[-6:])
            prompt = render("condense", history=transcript, question=message)
            text = self.chat_model.complete([{"role": "user", "content": prompt}], max_tokens=80,
                                            temperature=0.0).text.strip()
            return text.splitlines()[0].strip() if text else message
        return f"{users[-1]} {message}" if _FOLLOW_UP.search(message) or len(message.split()) < 5 else message


_DEFAULT: dict[str, Assistant] = {}
_DEFAULT_LOCK = threading.Lock()


def ask(question: str, *, filters: Filters | dict | None = None, top_k: int | None = None,
        settings: Settings | None = None) -> Answer:
    """Answer one question from the indexed collection, with checked citations."""
    settings = settings or load_settings()
    secret = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    key = settings.model_dump_json() + secret  # SecretStr dumps as stars: keep two keys apart
    with _DEFAULT_LOCK:
        if key not in _DEFAULT:
            _DEFAULT[key] = Assistant(settings)
        assistant = _DEFAULT[key]
    return assistant.ask(question, filters=filters, top_k=top_k)
