"""What the chat window does when someone asks, clears, uploads files, or opens the page.

    events = respond(backend, "Which paper proposes Griffin?", [], [], "any", "any", "any")
    button, note = last_references(turns, "bibtex")   # the last answer's cited papers, as a file
    add_files(backend, demo, files)   # gradio's raw FileData dicts, checked by accepted_uploads

Each event handler is a module-level function whose first arguments are the app's `Backend` (and,
for uploads, the Blocks that took them), bound with `functools.partial` by `app.build_app`; the
rest are the values of the page's components, and they return the components' new values. The
`Backend` holds the app's one `rag.Assistant`, made on first need. Each answered turn keeps its
`Answer`, so its references can be downloaded. Answering, ingesting and the collection's facets are
the Assistant's, the HTML is `render.py`'s, the layout is `app.py`'s; the Papers and Table views'
events are `papers.py`'s and `tables.py`'s (sharing `make_filters` and `failed` from here).
"""

from __future__ import annotations

import ipaddress
import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import gradio as gr
from gradio import utils as gr_utils

from rag import Assistant, Facets, IndexEmpty, IngestReport, LLMError, RagError, Settings, ingest
from rag.ingest import file_sha256

from . import render
from .exports import download, write_export

log = logging.getLogger("rag.ui")

ANY = "any"
UPLOAD_TYPES = [".jsonl", ".json", ".gz", ".csv", ".tsv", ".bib", ".txt"]
STREAM_EVERY_S = 0.05  # at most ~20 screen updates a second while tokens stream


class Backend:
    """The one `Assistant` of an app, created on first need (an empty store has none until an upload)."""

    def __init__(self, settings: Settings, assistant: Assistant | None = None) -> None:
        self.settings = settings
        self._assistant = assistant
        self._lock = threading.Lock()

    def get(self) -> Assistant:
        """The Assistant; raises `IndexEmpty` (nothing indexed) or another `RagError`."""
        with self._lock:
            if self._assistant is None:
                self._assistant = Assistant(self.settings)
            return self._assistant

    def peek(self) -> Assistant | None:
        return self._assistant

    def facets(self) -> Facets:
        return self._assistant.facets() if self._assistant is not None else Facets()

    def model_name(self) -> str | None:
        return self._assistant.model_name if self._assistant is not None else None

    def add_files(self, paths: list[Path], *, say: Callable[[str], object]) -> IngestReport:
        """Into the Assistant's store; with no Assistant yet (an empty store), ingest, then make one."""
        if self._assistant is not None:
            return self._assistant.add_files(paths, say=say)
        report = ingest(paths, settings=self.settings, say=say)
        try:
            self.get()
        except RagError as exc:
            log.warning("after upload: %s", exc)
        return report


# ---------------------------------------------------------------- pure helpers (tested directly)

def describe_model(settings: Settings, model: str | None = None) -> dict:
    """Backend, model name, where it runs, and whether questions leave this machine."""
    if settings.backend == "extractive":
        return {"backend": "extractive", "model": "extractive (no LLM)", "remote": False,
                "where": "quotes the best evidence sentences, on this machine"}
    if settings.backend == "local":
        if not model:
            try:
                from rag.local_model import MODEL_NAME as model
            except Exception:  # the local extra is not installed: say so at the first question
                model = "bundled model"
        where = str(settings.local_model_path) if settings.local_model_path else "llama.cpp on this machine (127.0.0.1)"
        return {"backend": "local", "model": model, "remote": False, "where": where}
    url = settings.llm_base_url or "https://api.openai.com/v1"
    parsed = urlparse(url)
    host = parsed.hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    shown = f"{parsed.scheme}://{host}" + (f":{parsed.port}" if parsed.port else "") + (parsed.path or "")
    where = ("OpenAI-compatible server on this machine: " if loopback else
             "questions and passages are sent to ") + shown
    return {"backend": "openai", "model": model or settings.llm_model, "remote": not loopback, "where": where}


def _year(value) -> int | None:
    if value in (None, "", ANY):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def make_filters(authors, year_from, year_to, category) -> dict:
    """The side panel's values as `Filters` fields; "any" and empty mean no filter."""
    f: dict = {}
    if authors:
        f["authors"] = [a for a in ([authors] if isinstance(authors, str) else authors) if a]
    lo, hi = _year(year_from), _year(year_to)
    if lo and hi and lo > hi:
        lo, hi = hi, lo
    if lo:
        f["year_from"] = lo
    if hi:
        f["year_to"] = hi
    if category and category != ANY:
        f["categories"] = [category]
    return f


def choices(facets: Facets) -> tuple[list[str], list[str], list[str]]:
    """The filter dropdowns' choices: authors, years (with "any") and categories (with "any")."""
    return facets.authors, [ANY] + [str(y) for y in facets.years], [ANY] + facets.categories


def chat_history(turns: list[dict]) -> list[dict]:
    """The conversation as the Assistant reads it: answered turns only (errors are not context)."""
    out: list[dict] = []
    for t in turns:
        if t.get("text") is None:
            continue
        out += [{"role": "user", "content": t["message"]}, {"role": "assistant", "content": t["text"]}]
    return out


def display(turns: list[dict]) -> list[dict]:
    out: list[dict] = []
    for t in turns:
        out += [{"role": "user", "content": render.user_html(t["message"])},
                {"role": "assistant", "content": t["html"]}]
    return out


def error_turn(exc: BaseException, failure: str = "Could not answer") -> str:
    if isinstance(exc, LLMError):
        return render.error_html("The model did not answer", str(exc),
                                 "Check that the model server is running (see the Model panel), then ask again.")
    if isinstance(exc, IndexEmpty):
        return render.error_html("Nothing is indexed yet", str(exc),
                                 "Add paper files with the upload box in the side panel, then ask again.")
    if isinstance(exc, RagError):
        return render.error_html(failure, str(exc))
    return render.error_html("Unexpected error", f"{type(exc).__name__}: {exc}",
                             "The app is still running; ask again, or see the server log for details.")


def failed(exc: BaseException, doing: str, failure: str = "Could not answer") -> str:
    """An event's failure as a message for the page (`error_turn`, headed `failure` for a
    `RagError`); logged with its traceback unless it is a `RagError`, whose message already names
    the fix. Call it in an except block."""
    if not isinstance(exc, RagError):
        log.exception("%s failed", doing)
    return error_turn(exc, failure)


def accepted_uploads(files, uploaded: set[str], folder: str | Path) -> list[tuple[Path, str]]:
    """The files of an add-files request as (path, original name), if every one was uploaded through
    this app's page: its path is one gradio's upload route gave out (`uploaded`, the app's
    `upload_file_set`), it lies in gradio's upload folder, and its name has a type we read. Raises
    `RagError` naming the refused files otherwise, before anything is read or copied, so a client
    cannot name a server file (`{"path": "/etc/...", "meta": {"_type": "gradio.FileData"}}`)."""
    root = Path(folder).resolve()
    out, refused, wrong_type = [], [], []
    for f in files or []:
        path = f.get("path") if isinstance(f, dict) else None
        name = Path(str((f.get("orig_name") if isinstance(f, dict) else None) or path or f)).name
        real = Path(path).resolve() if isinstance(path, str) and path else None
        if real is None or path not in uploaded or not real.is_relative_to(root) or not real.is_file():
            refused.append(name)
        elif not name.lower().endswith(tuple(UPLOAD_TYPES)):
            wrong_type.append(name)
        else:
            out.append((real, name))
    if refused:
        raise RagError(f"refused {', '.join(refused)}: only files uploaded through this page can be added; "
                         "choose them with the Add papers box")
    if wrong_type:
        raise RagError(f"cannot read {', '.join(wrong_type)}: add {', '.join(UPLOAD_TYPES)} files")
    return out


def keep_uploads(accepted: list[tuple[Path, str]], folder: Path) -> list[tuple[Path, str]]:
    """Copy each accepted upload to FOLDER/<sha256 of its bytes, 16 hex>/<its name>; the copies, with
    their names. One folder per content: a later upload with the same name but other papers must
    not replace this file (ingest would then drop its papers); the same file again is a no-op."""
    kept = []
    for path, name in accepted:
        dest = folder / file_sha256(path)[:16] / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
        kept.append((dest, name))
    return kept


# ---------------------------------------------------------------- the event handlers

def collection_stats(backend: Backend) -> dict:
    from rag.stats import collect

    try:
        return collect(backend.settings)
    except Exception:  # a store that cannot be read: the catalog still knows the papers
        return {"papers": backend.facets().papers}


def model_panel(backend: Backend, model: str | None = None) -> str:
    d = describe_model(backend.settings, model or backend.model_name())
    return render.model_md(d["backend"], d["model"], d["where"], d["remote"])


def side_panel(backend: Backend) -> tuple:
    """On page load: the paper count, the filter choices (authors, years twice, categories), the model."""
    authors, years, cats = choices(backend.facets())
    return (render.collection_md(collection_stats(backend)),
            gr.Dropdown(choices=authors), gr.Dropdown(choices=years), gr.Dropdown(choices=years),
            gr.Dropdown(choices=cats), model_panel(backend))


def respond(backend: Backend, message, turns, authors, year_from, year_to, category):
    """Ask: the conversation as the tokens stream in, then with the checked answer (or the error)."""
    turns = list(turns or [])
    message = (message or "").strip()
    if not message:
        yield display(turns), turns, "", gr.skip()
        return
    turn = {"message": message, "html": render.streaming_html(""), "text": None}
    turns.append(turn)
    yield display(turns), turns, "", gr.skip()
    model = gr.skip()
    try:
        events = backend.get().chat_stream(chat_history(turns[:-1]), message,
                                           filters=make_filters(authors, year_from, year_to, category))
        partial, shown, answer = "", 0.0, None
        for event in events:
            if event.kind == "token":
                partial += event.text
                if time.monotonic() - shown >= STREAM_EVERY_S:
                    turn["html"] = render.streaming_html(partial)
                    shown = time.monotonic()
                    yield display(turns), turns, "", gr.skip()
            elif event.kind == "reset":  # the model is asked again: its first tokens are void
                partial = ""
            elif event.kind == "answer":
                answer = event.answer
        if answer is None:
            raise RagError("the answer stream ended without an answer; ask again")
        turn["html"] = render.answer_html(answer, asked=message)
        turn["text"] = answer.text
        turn["answer"] = answer  # for the download of the last answer's references
        model = model_panel(backend, answer.model)
    except Exception as exc:  # every failure is a chat message; the app stays up
        turn["html"] = failed(exc, f"answering {message!r}")
    yield display(turns), turns, "", model


def last_references(turns, fmt):
    """The download of the last answered turn's references as `fmt` (bibtex, ris, csl-json), and a
    note saying which question they answer, or why there are none."""
    turn = next((t for t in reversed(turns or []) if t.get("answer") is not None), None)
    if turn is None:
        return download(None, "No answer yet"), render.refs_note_html(None, 0)
    answer, asked = turn["answer"], turn["message"]
    text = answer.references(fmt) if answer.citations else ""
    if not text:
        return download(None, "No references"), render.refs_note_html(answer, 0, asked)
    path = write_export(text, "references " + asked, fmt)
    papers = len({c.paper_id for c in answer.citations})
    return download(path, f"Download {path.suffix}"), render.refs_note_html(answer, papers, asked)


def clear():
    """New chat: no conversation, no history, an empty input box."""
    return [], [], ""


def reset_filters():
    """Clear filters: no author, any year, any category."""
    return [], ANY, ANY, ANY


def add_files(backend: Backend, demo: gr.Blocks, files, progress=gr.Progress()):
    """Runs with gradio's preprocessing off: `files` are the request's raw FileData dicts, checked
    by `accepted_uploads` against `demo.upload_file_set` before anything is read or copied.
    Returns the upload report, the paper count and filter choices, and an emptied upload box."""
    if not files:
        return (render.error_html("No file", "choose one or more files to add"), *side_panel(backend)[:5], None)
    try:
        accepted = accepted_uploads(files, demo.upload_file_set, gr_utils.get_upload_folder())
        progress(0.05, desc=f"copying {len(accepted)} file(s)")
        kept = keep_uploads(accepted, backend.settings.data_dir / "uploads")
        before = collection_stats(backend).get("papers", 0)
        progress(0.2, desc=f"reading, embedding and indexing {len(kept)} file(s)")
        report = backend.add_files([dest for dest, _ in kept], say=lambda m: progress(0.2, desc=m))
    except RagError as exc:
        return (render.error_html("Could not add the files", str(exc)), *side_panel(backend)[:5], None)
    progress(1.0, desc="done")
    names = {key: name for dest, name in kept for key in (str(dest), str(dest.resolve()))}
    return (render.upload_html(report, names, before), *side_panel(backend)[:5], None)
