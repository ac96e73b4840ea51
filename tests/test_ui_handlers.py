"""The chat window's handlers and its Blocks, without a browser: uploads kept by content, the
first upload into an empty store, the side panel, and the theme, CSS and script a plain launch() gets."""

from __future__ import annotations

import json
import warnings

import pytest

pytest.importorskip("gradio")

from rag.ingest import file_sha256  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.ui import handlers, style  # noqa: E402
from rag.ui.app import THEME, build_app  # noqa: E402
from netutil import free_port  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
PAPER = {"title": "Tidal Attention for Ocean Sensor Streams", "authors": ["Marina Okonkwo"], "date": "2024-01-01",
         "categories": ["cs.LG"], "abstract": "We introduce tidal attention, a periodic sparse attention pattern."}


def test_keep_uploads_copies_each_content_into_its_own_folder(tmp_path):
    one, other = tmp_path / "a" / "papers.jsonl", tmp_path / "b" / "papers.jsonl"
    for path, text in ((one, "first\n"), (other, "second\n")):
        path.parent.mkdir()
        path.write_text(text)
    folder = tmp_path / "uploads"
    kept = handlers.keep_uploads([(one, "papers.jsonl"), (other, "papers.jsonl")], folder)
    assert [dest.read_text() for dest, _ in kept] == ["first\n", "second\n"]  # same name, both kept
    assert kept[0][0] == folder / file_sha256(one)[:16] / "papers.jsonl"
    assert handlers.keep_uploads([(one, "papers.jsonl")], folder) == kept[:1]  # the same file again: the same copy
    assert len(list(folder.iterdir())) == 2


def test_the_first_upload_into_an_empty_store_makes_the_assistant(tmp_path):
    backend = handlers.Backend(Settings(data_dir=tmp_path / "rag-data", backend="extractive"))
    assert backend.peek() is None and backend.facets().papers == 0
    paper = tmp_path / "one.jsonl"
    paper.write_text(json.dumps(PAPER) + "\n")
    report = backend.add_files([paper], say=lambda *a: None)
    assert report.papers == 1 and backend.peek() is not None
    assert backend.facets().authors == ["Marina Okonkwo"] and backend.model_name() == "extractive"


def test_side_panel_of_an_empty_store_offers_no_filters(tmp_path):
    backend = handlers.Backend(Settings(data_dir=tmp_path / "rag-data", backend="extractive"))
    count, authors, year_from, year_to, category, model = handlers.side_panel(backend)
    assert "No papers indexed yet" in count and "extractive" in model
    assert authors.choices == [] and [c[0] for c in year_from.choices] == [handlers.ANY]
    assert [c[0] for c in category.choices] == [handlers.ANY]


def test_an_empty_question_changes_nothing(tmp_path):
    backend = handlers.Backend(Settings(data_dir=tmp_path / "rag-data", backend="extractive"))
    outputs = list(handlers.respond(backend, "   ", [], [], "any", "any", "any"))
    assert len(outputs) == 1 and outputs[0][:3] == ([], [], "")


def test_a_plain_launch_has_the_apps_theme_css_and_script_without_deprecated_arguments(tmp_path):
    demo = build_app(Settings(data_dir=tmp_path / "rag-data", backend="extractive"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # gradio warns when theme/css go to the constructor
        demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                    ssr_mode=False)
    try:
        assert demo.css == style.CSS and demo.theme is THEME and demo.js == style.JS
    finally:
        demo.close()
