"""The front door: `ask()` for one question, `Assistant` for many (and for chat).

    from rag import ask
    answer = ask("Which paper proposes Griffin?")
    answer.citations[0].title

`Assistant` loads the store, the retriever and the model once and is safe to share between
threads: it keeps no per-question state. It also adds files to its store (`add_files`), says
what the collection can be filtered by (`facets`), lists the papers that match a query
(`search`) and builds literature tables (`table`, `table_stream`: a row per paper, a checked
cell per column). The UI and the eval harness are thin clients of it. This module wires parts
together; the work is done in `rag.retrieval`, `rag.answer`, `rag.search`, `rag.table`, `rag.llm`
and `rag.ingest`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rag.answer import AnswerChain
from rag.errors import IndexEmpty
from rag.settings import Settings, load_settings
from rag.types import Answer, Facets, Filters, PaperHits, StreamEvent

if TYPE_CHECKING:
    from rag.ingest import IngestReport
    from rag.table import Table

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


def paper_count(settings: Settings | None = None) -> int:
    """How many papers are indexed in the data directory of `settings` (0 before the first ingest)."""
    from rag.state import State

    settings = settings or load_settings()
    if not settings.state_path.exists():
        return 0
    state = State(settings.state_path)
    try:
        return state.paper_count()
    finally:
        state.close()


class Assistant:
    """Store, retriever and model, loaded once. `ask`, `stream`, `chat` and `chat_stream`."""

    def __init__(self, settings: Settings | None = None, *, retriever=None, chat_model=None, embedder=None,
                 store=None) -> None:
        """Each dependency not given is built from `settings` (default: the environment); `store`
        is the `rag.store.ChunkStore` a new retriever reads (ignored when `retriever` is given)."""
        from rag.embeddings import CachedEmbedder, EmbeddingCache, embedder_for
        from rag.llm import make_chat_model
        from rag.retrieval import Retriever

        self.settings = settings or load_settings()
        if retriever is None and paper_count(self.settings) == 0:
            raise IndexEmpty(f"no papers indexed in {self.settings.data_dir}; run: rag ingest PATH "
                             "(or rag ingest for the built-in sample)")
        model = embedder or embedder_for(self.settings)
        self.retriever = retriever or Retriever(self.settings, store=store, embedder=model)
        self.chat_model = chat_model if chat_model is not None else make_chat_model(self.settings)
        cache = CachedEmbedder(model, EmbeddingCache(self.settings.cache_dir / "embeddings.sqlite"))
        self.chain = AnswerChain(self.settings, self.retriever, self.chat_model, cache.embed)

    @property
    def model_name(self) -> str:
        """The model that writes the answers ("extractive" when none does)."""
        return self.chain.model_name

    def add_files(self, paths: Iterable[str | Path], *, say: Callable[[str], object] = print) -> IngestReport:
        """Ingest files and folders into this assistant's store (with its own store and embedder),
        then reload its retriever, so the next question finds their papers. No path, no change.
        `say` hears progress; a file that cannot be read is in the report, a store failure raises."""
        from rag.ingest import IngestReport, ingest

        paths = list(paths)
        if not paths:  # ingest() with no path means the sample corpus: not what "add nothing" asks
            return IngestReport()
        report = ingest(paths, settings=self.settings, say=say, store=self.retriever.store,
                        embedder=self.retriever.embedder)
        self.retriever.refresh()
        return report

    def facets(self) -> Facets:
        """What the collection can be filtered by: its authors, years and categories, and its paper count."""
        catalog = self.retriever.catalog
        authors = sorted(catalog.by_author, key=_last_name_first)
        return Facets(papers=len(catalog.papers), authors=authors, years=sorted(catalog.by_year),
                      categories=sorted(catalog.by_category))

    def search(self, query: str, *, filters: Filters | dict | None = None, limit: int = 10) -> PaperHits:
        """The `limit` papers that match `query`, best first, each with its sentence that matches best;
        no model is asked (`rag.search`). Empty, with `.reason`, when no paper matches."""
        from rag.search import search_papers

        return search_papers(query, self.chain, filters=Filters.from_dict(filters), limit=limit)

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

    def table(self, question: str, columns: str | Sequence[str], *, limit: int = 10,
              filters: Filters | dict | None = None) -> Table:
        """A literature table: one row per paper retrieval finds for `question` (at most `limit`, up
        to 50), one cell per column (up to 12; "task, method" or a list), each a phrase from that
        paper's record checked against it, or "not stated". Empty, with `reason`, when nothing fits."""
        *_, table = self.table_stream(question, columns, limit=limit, filters=filters)
        return table

    def table_stream(self, question: str, columns: str | Sequence[str], *, limit: int = 10,
                     filters: Filters | dict | None = None) -> Iterator[Table]:
        """`table` as it is built: the same `Table` after retrieval (no rows yet; `papers` lists the
        rows to come) and again after each row. Bad columns or limits raise at once."""
        from rag.table import RowFiller, TableMaker

        filler = RowFiller(self.settings, self.chat_model, self.chain.embed)
        maker = TableMaker(self.settings, self.retriever, filler, self.chain.evidence, self.model_name)
        return maker.stream(question, columns, limit=limit, filters=Filters.from_dict(filters))

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


def _last_name_first(name: str) -> tuple[str, str]:
    words = name.split()
    return (words[-1].casefold() if words else "", name.casefold())


_DEFAULT: dict[str, Assistant] = {}
_DEFAULT_LOCK = threading.Lock()


def ask(question: str, *, filters: Filters | dict | None = None, top_k: int | None = None,
        settings: Settings | None = None, retriever=None, chat_model=None, embedder=None, store=None) -> Answer:
    """Answer one question from the indexed collection, with checked citations.

    With only `settings` (default: the environment), the `Assistant` built for them is kept for the
    next call with the same settings. Given dependencies (see `Assistant`) are used as they are,
    in an `Assistant` made for this call: to ask many questions with them, make one yourself."""
    settings = settings or load_settings()
    given = {"retriever": retriever, "chat_model": chat_model, "embedder": embedder, "store": store}
    if any(v is not None for v in given.values()):
        return Assistant(settings, **given).ask(question, filters=filters, top_k=top_k)
    secret = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    key = settings.model_dump_json() + secret  # SecretStr dumps as stars: keep two keys apart
    with _DEFAULT_LOCK:
        if key not in _DEFAULT:
            _DEFAULT[key] = Assistant(settings)
        assistant = _DEFAULT[key]
    return assistant.ask(question, filters=filters, top_k=top_k)
