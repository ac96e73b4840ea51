"""The chat window: a Gradio front end, a thin client of `rag.api.Assistant`.

    from rag.ui.app import build_app, launch
    launch()                                   # http://127.0.0.1:7860, the sample indexed if the store is empty
    demo = build_app(settings); demo.launch()  # or mount/launch it yourself

A conversation on the left (streamed answers, each ending with source cards that show the cited
passage with the supporting sentence highlighted), and a side panel: filters, the collection (paper
count, an upload box that runs `rag.ingest.ingest`), and the model in use. Retrieval, prompting and
checking are all done by `Assistant`; this module only calls it and renders what it returns
(see `render.py`). Analytics are off and nothing but 127.0.0.1 is contacted.
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported, anywhere
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import hashlib  # noqa: E402
import ipaddress  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

import gradio as gr  # noqa: E402
from gradio import utils as gr_utils  # noqa: E402

from rag.errors import IndexEmpty, RagError  # noqa: E402
from rag.settings import Settings, load_settings  # noqa: E402

from . import render  # noqa: E402

log = logging.getLogger("rag.ui")

ANY = "any"
UPLOAD_TYPES = [".jsonl", ".json", ".gz", ".csv", ".tsv", ".bib", ".txt"]
STREAM_EVERY_S = 0.05  # at most ~20 screen updates a second while tokens stream
TITLE = "Paper QA"


class Backend:
    """The one `Assistant` of an app, created on first need (an empty store has none until an upload)."""

    def __init__(self, settings: Settings, assistant=None) -> None:
        self.settings = settings
        self._assistant = assistant
        self._lock = threading.Lock()

    def get(self):
        """The Assistant; raises `IndexEmpty` (nothing indexed) or another `RagError`."""
        with self._lock:
            if self._assistant is None:
                from rag.api import Assistant

                self._assistant = Assistant(self.settings)
            return self._assistant

    def peek(self):
        return self._assistant

    def catalog(self):
        a = self._assistant
        return a.retriever.catalog if a is not None else None

    def model_name(self) -> str | None:
        a = self._assistant
        return getattr(getattr(a, "chain", None), "model_name", None) if a is not None else None


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


def error_turn(exc: BaseException) -> str:
    from rag.llm import LLMError

    if isinstance(exc, LLMError):
        return render.error_html("The model did not answer", str(exc),
                                 "Check that the model server is running (see the Model panel), then ask again.")
    if isinstance(exc, IndexEmpty):
        return render.error_html("Nothing is indexed yet", str(exc),
                                 "Add paper files with the upload box in the side panel, then ask again.")
    if isinstance(exc, RagError):
        return render.error_html("Could not answer", str(exc))
    return render.error_html("Unexpected error", f"{type(exc).__name__}: {exc}",
                             "The app is still running; ask again, or see the server log for details.")


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


def _collection_stats(settings: Settings, backend: Backend) -> dict:
    from rag.stats import collect

    try:
        return collect(settings)
    except Exception:  # a store that cannot be read: the catalog still knows the papers
        cat = backend.catalog()
        return {"papers": len(cat.papers) if cat else 0}


def _choices(backend: Backend) -> tuple[list[str], list[str], list[str]]:
    cat = backend.catalog()
    if cat is None:
        return [], [ANY], [ANY]
    authors = sorted(cat.by_author, key=lambda a: (a.split()[-1].casefold() if a.split() else "", a.casefold()))
    years = [ANY] + [str(y) for y in sorted({p.year for p in cat.papers.values() if p.year})]
    cats = [ANY] + sorted(cat.by_category)
    return authors, years, cats


# ---------------------------------------------------------------- the app

def build_app(settings: Settings | None = None, assistant=None) -> gr.Blocks:
    """The chat window for `settings` (default: the environment), or around an existing Assistant."""
    if settings is None:
        settings = assistant.settings if assistant is not None else load_settings()
    backend = Backend(settings, assistant)
    if assistant is None:
        try:
            backend.get()
        except RagError as exc:  # shown in the chat when someone asks; the page still opens
            log.warning("no assistant yet: %s", exc)

    def model_panel(model: str | None = None) -> str:
        d = describe_model(settings, model or backend.model_name())
        return render.model_md(d["backend"], d["model"], d["where"], d["remote"])

    def side_panel():
        authors, years, cats = _choices(backend)
        return (render.collection_md(_collection_stats(settings, backend)),
                gr.Dropdown(choices=authors), gr.Dropdown(choices=years), gr.Dropdown(choices=years),
                gr.Dropdown(choices=cats), model_panel())

    # -- handlers
    def respond(message, turns, authors, year_from, year_to, category):
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
            assistant = backend.get()
            events = assistant.chat_stream(chat_history(turns[:-1]), message,
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
            model = model_panel(answer.model)
        except Exception as exc:  # every failure is a chat message; the app stays up
            if not isinstance(exc, RagError):
                log.exception("answering %r failed", message)
            turn["html"] = error_turn(exc)
        yield display(turns), turns, "", model

    def clear():
        return [], [], ""

    def add_files(files, progress=gr.Progress()):
        """Runs with gradio's preprocessing off: `files` are the request's raw FileData dicts, checked
        by `accepted_uploads` before gradio or this function reads or copies anything."""
        from rag.ingest import ingest

        if not files:
            return (render.error_html("No file", "choose one or more files to add"), *side_panel()[:5], None)
        try:
            paths = accepted_uploads(files, demo.upload_file_set, gr_utils.get_upload_folder())
        except RagError as exc:
            return (render.error_html("Could not add the files", str(exc)), *side_panel()[:5], None)
        progress(0.05, desc=f"copying {len(paths)} file(s)")
        uploads = settings.data_dir / "uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        names: dict[str, str] = {}
        copies = []
        for p, name in paths:
            # one folder per content: a later upload with the same name but other papers must not
            # replace this file (ingest would then drop its papers); the same file again is a no-op
            digest = hashlib.sha256(p.read_bytes()).hexdigest()[:16]
            dest = uploads / digest / name
            dest.parent.mkdir(exist_ok=True)
            shutil.copyfile(p, dest)
            copies.append(dest)
            names[str(dest)] = names[str(dest.resolve())] = name
        before = _collection_stats(settings, backend).get("papers", 0)
        progress(0.2, desc=f"reading, embedding and indexing {len(copies)} file(s)")
        a = backend.peek()
        kwargs = {"store": a.retriever.store, "embedder": a.retriever.embedder} if a is not None else {}
        try:
            report = ingest(copies, settings=settings, say=lambda m: progress(0.2, desc=m), **kwargs)
        except RagError as exc:
            return (render.error_html("Could not add the files", str(exc)), *side_panel()[:5], None)
        progress(0.9, desc="reloading the index")
        try:
            if a is not None:
                a.retriever.refresh()
            else:
                backend.get()
        except RagError as exc:
            log.warning("after upload: %s", exc)
        progress(1.0, desc="done")
        return (render.upload_html(report, names, before), *side_panel()[:5], None)

    # -- layout
    theme = gr.themes.Soft(primary_hue="indigo", neutral_hue="slate",
                           font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
                           font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])
    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_height=False) as demo:
        turns_state = gr.State([])
        with gr.Row(elem_id="rag-header"):
            gr.Markdown(f"# {TITLE}\nAnswers from the indexed papers only: every claim cites its paper, "
                        "and you can read the passage behind each citation. When the papers do not "
                        "answer, it says so.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=480):
                chatbot = gr.Chatbot(
                    label="Conversation", elem_id="rag-chat", height="68vh", min_height=420, show_label=False,
                    latex_delimiters=[], feedback_options=None, buttons=["copy"], autoscroll=True,
                    placeholder="**Ask about the papers in the collection.**<br>Each answer ends with its "
                    "references; open a card to read the cited passage. Follow-up questions use the conversation.",
                )
                with gr.Row():
                    message = gr.Textbox(placeholder="Ask a question, e.g. Which paper proposes Griffin?",
                                         show_label=False, scale=6, lines=1, max_lines=4, autofocus=True,
                                         elem_id="rag-input", submit_btn=False)
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=90, elem_id="rag-send")
                    new = gr.Button("New chat", variant="secondary", scale=1, min_width=110, elem_id="rag-clear")
            with gr.Column(scale=1, min_width=300, elem_id="rag-side"):
                authors, years, cats = _choices(backend)
                with gr.Accordion("Filters", open=True):
                    author_dd = gr.Dropdown(choices=authors, value=[], multiselect=True, label="Authors",
                                            info="papers by any of them; empty = any author", elem_id="rag-authors")
                    with gr.Row():
                        year_from = gr.Dropdown(choices=years, value=ANY, label="From year", min_width=100,
                                                elem_id="rag-year-from")
                        year_to = gr.Dropdown(choices=years, value=ANY, label="To year", min_width=100,
                                              elem_id="rag-year-to")
                    category_dd = gr.Dropdown(choices=cats, value=ANY, label="Category", elem_id="rag-category")
                    reset = gr.Button("Clear filters", size="sm", variant="secondary")
                with gr.Accordion("Collection", open=True):
                    count = gr.Markdown(render.collection_md(_collection_stats(settings, backend)),
                                        elem_id="rag-count")
                    files = gr.File(label="Add papers", file_count="multiple", file_types=UPLOAD_TYPES,
                                    height=150, elem_id="rag-upload")
                    gr.Markdown("JSONL or JSON, CSV/TSV, BibTeX, arXiv metadata, scraped pages (.txt); "
                                ".gz allowed. A paper seen twice is merged.", elem_id="rag-upload-help")
                    upload_status = gr.HTML("", elem_id="rag-upload-status")
                with gr.Accordion("Model", open=True):
                    model_box = gr.HTML(model_panel(), elem_id="rag-model")

        ask_inputs = [message, turns_state, author_dd, year_from, year_to, category_dd]
        ask_outputs = [chatbot, turns_state, message, model_box]
        message.submit(respond, ask_inputs, ask_outputs, api_name="ask")
        send.click(respond, ask_inputs, ask_outputs, api_name=False)
        # the API page documents /ask only; what else the page calls stays callable but unadvertised
        new.click(clear, None, [chatbot, turns_state, message], api_name="clear", api_visibility="undocumented")
        reset.click(lambda: ([], ANY, ANY, ANY), None, [author_dd, year_from, year_to, category_dd],
                    api_name=False)
        side_outputs = [count, author_dd, year_from, year_to, category_dd]
        files.upload(add_files, [files], [upload_status, *side_outputs, files], api_name="add_files",
                     concurrency_limit=1, preprocess=False, api_visibility="undocumented")
        demo.load(side_panel, None, [*side_outputs, model_box], api_name="collection", api_visibility="undocumented")

    # gradio 6 takes theme and css in launch(); keep them on the Blocks so a plain demo.launch() has them too
    demo._deprecated_theme = theme
    demo._deprecated_css = render.CSS
    demo.rag_backend = backend
    return demo


def launch(settings: Settings | None = None, *, host: str = "127.0.0.1", port: int = 7860,
           auth: tuple[str, str] | None = None, open_browser: bool = False, block: bool = True,
           say=print) -> gr.Blocks:
    """Index the built-in sample if the store is empty, then serve the chat window on host:port.

    Returns the running Blocks (its `local_url` is the address); with `block=False` it returns at once.
    """
    from rag.stats import collect

    settings = settings or load_settings()
    if collect(settings)["papers"] == 0:
        from rag.ingest import ingest

        say(f"nothing is indexed in {settings.data_dir} yet: indexing the built-in sample corpus first...")
        report = ingest(settings=settings, say=say)
        say(f"indexed {report.papers} papers from the sample in {report.seconds:.1f}s")
    demo = build_app(settings)
    assistant = demo.rag_backend.peek()
    if assistant is not None and settings.backend != "extractive":
        # start the model now, so the first question does not wait for it; failures show when asked
        threading.Thread(target=_warm_up, args=(assistant,), daemon=True, name="rag-warm-up").start()
    demo.queue(default_concurrency_limit=2)
    demo.launch(server_name=host, server_port=port, auth=auth, inbrowser=open_browser, prevent_thread_lock=True,
                share=False, ssr_mode=False, quiet=True, enable_monitoring=False, show_error=True,
                max_file_size="500mb", theme=demo._deprecated_theme, css=render.CSS)
    say(f"chat UI at {demo.local_url} (Ctrl+C to stop)")
    if block:
        try:
            demo.block_thread()
        except KeyboardInterrupt:
            pass
        finally:
            demo.close()
    return demo


def _warm_up(assistant) -> None:
    try:
        assistant.warm_up()
    except Exception as exc:  # reported again, in the chat, at the first question
        log.warning("could not start the model: %s", exc)


if __name__ == "__main__":
    launch()
