"""The chat window: a Gradio front end, a thin client of `rag.Assistant`.

    from rag.ui.app import build_app, launch
    launch()                                   # http://127.0.0.1:7860, the sample indexed if the store is empty
    demo = build_app(settings); demo.launch()  # or mount/launch it yourself

Three views in tabs on the left, and a side panel whose filters apply to all three: filters, the
collection (paper count, an upload box that adds files with `Assistant.add_files`), and the model
in use. Chat: streamed answers, each ending with source cards that show the cited passage with
the supporting sentence highlighted and buttons that copy or save its BibTeX, and under it the last
answer's references as a file. Papers: `Assistant.search` as a table, sorted by score or year,
exported as a file. Table: `Assistant.table_stream`, row by row, exported as a file. This module
lays the page out and wires its events to `handlers.py` (chat, uploads, the side panel),
`papers.py` and `tables.py`, which call the Assistant; retrieval, prompting and checking are all
done by the Assistant, the HTML by `render.py`, the CSS and script by `style.py`. Analytics are
off (see the package) and nothing but 127.0.0.1 is contacted.
"""

from __future__ import annotations

import logging
import threading
from functools import partial

import gradio as gr

from rag import RagError, Settings, load_settings
from rag.references import FORMATS as REFERENCE_FORMATS

from . import handlers, papers, render, style, tables
from .handlers import ANY, UPLOAD_TYPES, Backend, accepted_uploads, describe_model, make_filters

log = logging.getLogger("rag.ui")

__all__ = ["ChatWindow", "accepted_uploads", "build_app", "describe_model", "launch", "make_filters"]

TITLE = "Paper QA"
INTRO = (f"# {TITLE}\nAnswers from the indexed papers only: every claim cites its paper, and you can read "
         "the passage behind each citation. When the papers do not answer, it says so.")
THEME = gr.themes.Soft(primary_hue="indigo", neutral_hue="slate",
                       font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
                       font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])


class ChatWindow(gr.Blocks):
    """The app's Blocks: gradio 6 takes theme, CSS and scripts as `launch()` arguments, and this
    `launch()` passes the app's unless told others, so a plain `build_app(...).launch()` looks and
    works like `rag chat`."""

    def launch(self, *args, theme=None, css=None, js=None, **kwargs):
        return super().launch(*args, theme=THEME if theme is None else theme, css=style.CSS if css is None else css,
                              js=style.JS if js is None else js, **kwargs)


def _conversation():
    """The chat column: the conversation, the input box, Ask and New chat."""
    chatbot = gr.Chatbot(
        label="Conversation", elem_id="rag-chat", height="68vh", min_height=420, show_label=False,
        latex_delimiters=[], feedback_options=None, buttons=["copy"], autoscroll=True,
        placeholder="**Ask about the papers in the collection.**<br>Each answer ends with its "
        "references; open a card to read the cited passage. Follow-up questions use the conversation.",
    )
    with gr.Row():
        message = gr.Textbox(placeholder="Ask a question, e.g. Which paper proposes Griffin?", show_label=False,
                             scale=6, lines=1, max_lines=4, autofocus=True, elem_id="rag-input", submit_btn=False)
        send = gr.Button("Ask", variant="primary", scale=1, min_width=90, elem_id="rag-send")
        new = gr.Button("New chat", variant="secondary", scale=1, min_width=110, elem_id="rag-clear")
    return chatbot, message, send, new


def _filters(backend: Backend):
    """The Filters accordion: [authors, year from, year to, category] and the Clear filters button."""
    authors, years, cats = handlers.choices(backend.facets())
    with gr.Accordion("Filters", open=True):
        author_dd = gr.Dropdown(choices=authors, value=[], multiselect=True, label="Authors",
                                info="papers by any of them; empty = any author", elem_id="rag-authors")
        with gr.Row():
            year_from = gr.Dropdown(choices=years, value=ANY, label="From year", min_width=100, elem_id="rag-year-from")
            year_to = gr.Dropdown(choices=years, value=ANY, label="To year", min_width=100, elem_id="rag-year-to")
        category_dd = gr.Dropdown(choices=cats, value=ANY, label="Category", elem_id="rag-category")
        reset = gr.Button("Clear filters", size="sm", variant="secondary")
    return [author_dd, year_from, year_to, category_dd], reset


def _collection(backend: Backend):
    """The Collection accordion: the paper count, the upload box and the upload report."""
    with gr.Accordion("Collection", open=True):
        count = gr.Markdown(render.collection_md(handlers.collection_stats(backend)), elem_id="rag-count")
        files = gr.File(label="Add papers", file_count="multiple", file_types=UPLOAD_TYPES, height=150,
                        elem_id="rag-upload")
        gr.Markdown("JSONL or JSON, CSV/TSV, BibTeX, arXiv metadata, scraped pages (.txt); .gz allowed. "
                    "A paper seen twice is merged.", elem_id="rag-upload-help")
        status = gr.HTML("", elem_id="rag-upload-status")
    return count, files, status


def _last_references():
    """Under the chat: the last answer's references as a file, in the format chosen."""
    with gr.Row(equal_height=True, elem_id="rag-last-refs"):
        fmt = gr.Dropdown(choices=list(REFERENCE_FORMATS), value="bibtex", label="References of the last answer",
                          scale=2, min_width=200, elem_id="rag-refs-format")
        button = gr.DownloadButton("No answer yet", interactive=False, size="md", scale=1, min_width=160,
                                   elem_id="rag-refs-download")
    note = gr.HTML(render.refs_note_html(None, 0), elem_id="rag-refs-note")
    return fmt, button, note


def _papers_view():
    """The Papers tab: [query, search, limit, sort, export format, download, results, the hits' state]."""
    gr.Markdown("The papers that match, best first, each with its sentence closest to the words; no model is "
                "asked. The side panel's filters apply.", elem_id="rag-papers-help")
    with gr.Row():
        query = gr.Textbox(placeholder="Words to look for, e.g. linear recurrences with local attention",
                           show_label=False, scale=6, lines=1, elem_id="rag-papers-query", submit_btn=False)
        go = gr.Button("Search", variant="primary", scale=1, min_width=90, elem_id="rag-papers-search")
    with gr.Row(equal_height=True):
        limit = gr.Slider(1, 50, value=papers.DEFAULT_LIMIT, step=1, label="Papers", elem_id="rag-papers-limit")
        sort = gr.Radio(list(papers.SORTS), value="score", label="Sort by", elem_id="rag-papers-sort")
        fmt = gr.Dropdown(list(papers.FORMATS), value="bibtex", label="Export as", elem_id="rag-papers-format")
        button = gr.DownloadButton("Nothing to export", interactive=False, size="md", elem_id="rag-papers-download")
    results = gr.HTML("", elem_id="rag-papers-results")
    return query, go, limit, sort, fmt, button, results, gr.State(None)


def _table_view():
    """The Table tab: [question, columns, rows, build, progress, table, export format, downloads, the table's state]."""
    gr.Markdown("One row per paper found for the question, one cell per column: a phrase from that paper's "
                "record, checked against it, or *not stated*. Rows appear as they are done; the side panel's "
                "filters apply.", elem_id="rag-table-help")
    question = gr.Textbox(label="Question", placeholder="What the papers are about, e.g. sparse training", lines=1,
                          elem_id="rag-table-question", submit_btn=False)
    with gr.Row(equal_height=True):
        columns = gr.Textbox(value=tables.DEFAULT_COLUMNS, label="Columns", info="comma-separated, at most 12",
                             scale=4, elem_id="rag-table-columns")
        limit = gr.Number(value=tables.DEFAULT_LIMIT, precision=0, label="Rows", info="at most 50", scale=1,
                          min_width=110, elem_id="rag-table-limit")
        go = gr.Button("Build table", variant="primary", scale=1, min_width=120, elem_id="rag-table-build")
    progress = gr.HTML("", elem_id="rag-table-progress")
    result = gr.HTML("", elem_id="rag-table-result")
    with gr.Row(equal_height=True):
        fmt = gr.Dropdown(list(tables.FORMATS), value="md", label="Export as", elem_id="rag-table-format")
        button = gr.DownloadButton("Nothing to export", interactive=False, size="md", elem_id="rag-table-download")
        bib = gr.DownloadButton("No references", interactive=False, size="md", elem_id="rag-table-bib")
    return question, columns, limit, go, progress, result, fmt, button, bib, gr.State(None)


def _wire_chat(backend: Backend, chat, filters, model_box, turns) -> None:
    """Ask (the one documented endpoint, /ask), New chat, and the last answer's references after each."""
    chatbot, message, send, new, refs_fmt, refs_button, refs_note = chat
    respond = partial(handlers.respond, backend)
    ask_inputs, ask_outputs = [message, turns, *filters], [chatbot, turns, message, model_box]
    refs = (handlers.last_references, [turns, refs_fmt], [refs_button, refs_note])
    message.submit(respond, ask_inputs, ask_outputs, api_name="ask").then(*refs, api_name=False)
    send.click(respond, ask_inputs, ask_outputs, api_name=False).then(*refs, api_name=False)
    # the API page documents /ask only; what else the page calls stays callable but unadvertised
    new.click(handlers.clear, None, [chatbot, turns, message], api_name="clear",
              api_visibility="undocumented").then(*refs, api_name=False)
    refs_fmt.change(*refs, api_name=False)


def _wire_views(backend: Backend, papers_view, table_view, filters) -> None:
    """The Papers and Table tabs: search, sort and export; build (streamed) and export."""
    query, go, limit, sort, fmt, button, results, hits = papers_view
    search = partial(papers.search, backend)
    for event in (query.submit, go.click):
        event(search, [query, limit, sort, fmt, *filters], [hits, results, button], api_name=False)
    sort.change(papers.resort, [hits, sort, fmt], [results, button], api_name=False)
    fmt.change(papers.export, [hits, sort, fmt], [button], api_name=False)
    question, columns, rows, build, progress, result, table_fmt, table_button, bib, table = table_view
    make = partial(tables.build, backend)
    for event in (question.submit, build.click):
        event(make, [question, columns, rows, table_fmt, *filters], [table, progress, result, table_button, bib],
              api_name=False)
    table_fmt.change(tables.export, [table, table_fmt], [table_button], api_name=False)


def build_app(settings: Settings | None = None, assistant=None) -> ChatWindow:
    """The chat window for `settings` (default: the environment), or around an existing Assistant."""
    if settings is None:
        settings = assistant.settings if assistant is not None else load_settings()
    backend = Backend(settings, assistant)
    if assistant is None:
        try:
            backend.get()
        except RagError as exc:  # shown in the chat when someone asks; the page still opens
            log.warning("no assistant yet: %s", exc)
    with ChatWindow(title=TITLE, analytics_enabled=False, fill_height=False) as demo:
        turns = gr.State([])
        with gr.Row(elem_id="rag-header"):
            gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=480):
                with gr.Tabs(elem_id="rag-views"):
                    with gr.Tab("Chat", id="chat", elem_id="rag-tab-chat"):
                        chat = (*_conversation(), *_last_references())
                    with gr.Tab("Papers", id="papers", elem_id="rag-tab-papers"):
                        papers_view = _papers_view()
                    with gr.Tab("Table", id="table", elem_id="rag-tab-table"):
                        table_view = _table_view()
            with gr.Column(scale=1, min_width=300, elem_id="rag-side"):
                filters, reset = _filters(backend)
                count, files, status = _collection(backend)
                with gr.Accordion("Model", open=True):
                    model_box = gr.HTML(handlers.model_panel(backend), elem_id="rag-model")

        _wire_chat(backend, chat, filters, model_box, turns)
        _wire_views(backend, papers_view, table_view, filters)
        reset.click(handlers.reset_filters, None, filters, api_name=False)
        side = [count, *filters]
        files.upload(partial(handlers.add_files, backend, demo), [files], [status, *side, files], api_name="add_files",
                     concurrency_limit=1, preprocess=False, api_visibility="undocumented")
        demo.load(partial(handlers.side_panel, backend), None, [*side, model_box], api_name="collection",
                  api_visibility="undocumented")
    demo.rag_backend = backend
    return demo


def launch(settings: Settings | None = None, *, host: str = "127.0.0.1", port: int = 7860,
           auth: tuple[str, str] | None = None, open_browser: bool = False, block: bool = True,
           say=print) -> ChatWindow:
    """Index the built-in sample if the store is empty, then serve the chat window on host:port.

    Returns the running Blocks (its `local_url` is the address); with `block=False` it returns at once.
    """
    from rag.stats import collect

    settings = settings or load_settings()
    if collect(settings)["papers"] == 0:
        from rag import ingest

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
                max_file_size="500mb")
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
