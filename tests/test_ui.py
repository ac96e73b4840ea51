"""The chat window, scripted: the app served on 127.0.0.1 and driven through `gradio_client`.

One app (extractive backend) on a store that `launch()` fills with the sample corpus; a second app
with the openai backend against the fake server (its failures must show as chat messages); a third
on an empty store. Plus the pure rendering helpers, tested directly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from fake_openai import FakeOpenAI  # noqa: E402

from rag.settings import Settings  # noqa: E402
from rag.types import NO_ANSWER, Answer, Citation, SourceHit  # noqa: E402
from rag.ui import render  # noqa: E402
from rag.ui.app import build_app, describe_model, launch, make_filters  # noqa: E402
from netutil import free_port  # noqa: E402

GRIFFIN = "Griffin: Mixing Gated Linear Recurrences with Local Attention for Efficient Language Models"
# gradio's queue calls pandas 3 with options it deprecated: not ours to fix
pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]

NEW_TITLE = "Tidal Attention: Periodic Sparse Attention for Ocean Sensor Streams"


def client_for(demo):
    return gradio_client.Client(demo.local_url, verbose=False)


def ask(client, question: str, authors=None, year_from="any", year_to="any", category="any") -> str:
    """Ask in the client's session; the HTML of the last assistant message."""
    chat, box, _model = client.predict(question, authors or [], year_from, year_to, category, api_name="/ask")
    assert box == ""  # the input box is cleared
    last = chat[-1]
    assert last["role"] == "assistant"
    return "".join(part.get("text", "") for part in last["content"])


def card_titles(html: str) -> list[str]:
    return re.findall(r'<span class="rag-title">(.*?)</span>', html)


def papers_in(text: str) -> int:
    m = re.search(r"\*\*(\d+) papers\*\*", text)
    return int(m.group(1)) if m else 0


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """`launch()` on an empty store: it indexes the sample first and says so, then serves."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("ui") / "rag-data", backend="extractive")
    said: list[str] = []
    demo = launch(settings, port=free_port(), block=False, say=said.append)
    demo.said = said
    yield demo
    demo.close()


# ---------------------------------------------------------------- the extractive app

def test_launch_indexes_the_sample_when_empty_and_prints_the_address(app):
    text = "\n".join(app.said)
    assert "indexing the built-in sample" in text
    assert re.search(r"indexed \d+ papers", text)
    assert app.local_url.startswith("http://127.0.0.1:")
    assert app.local_url in text


def test_answer_ends_with_source_cards_and_highlighted_passages(app):
    html = ask(client_for(app), "Which paper proposes Griffin?")
    assert 'class="rag-answer"' in html and "rag-abstain" not in html
    assert GRIFFIN in card_titles(html)
    assert '<sup class="rag-cite"' in html  # [n] in the text links to its paper (title on hover)
    card = html[html.index(GRIFFIN):]
    assert "Razvan Pascanu" in card and "arXiv" in card  # byline: authors, year, venue
    assert '<mark class="rag-hl">We propose Hawk' in card  # the cited sentence, highlighted in its passage
    assert "References" in html and "extractive" in html  # footer names the model


def test_abstention_is_rendered_as_an_abstention(app):
    html = ask(client_for(app), "Which paper studies protein folding with AlphaFold?")
    assert 'class="rag-abstain"' in html
    assert render.esc(NO_ANSWER) in html
    assert "rag-card" not in html and "rag-cite" not in html
    assert "Closest papers, not cited" in html
    assert 'data-reason="weak_evidence"' in html and "close enough to the question" in html


def test_a_quoted_answer_says_it_is_quoted():
    html = render.answer_html(_answer(quoted=True))
    assert "Quoted from the closest papers" in html and 'class="rag-answer"' in html
    assert "Quoted from the closest papers" not in render.answer_html(_answer())


@pytest.mark.parametrize("reason, words", [
    ("model_declined", "The papers found do not state this."),
    ("unsupported", "An answer was drafted but could not be checked against its sources"),
    ("no_sources", "No paper in the collection matches the filters."),
    ("no_quantity", "An answer was drafted but it does not give the figure the question asks for"),
])
def test_the_grey_box_says_why_there_is_no_answer(reason, words):
    html = render.answer_html(_answer(text=NO_ANSWER, abstained=True, citations=[], unsupported_sentences=[],
                                      abstain_reason=reason, withheld="Cats rule the world [1]."))
    assert words in html and f'data-reason="{reason}"' in html
    assert "Cats rule" not in html  # a withheld draft is never shown as an answer


def test_follow_up_uses_the_conversation(app):
    alone = ask(client_for(app), "and who are its authors?")
    assert "rag-abstain" in alone  # without history the follow-up means nothing

    chat = client_for(app)  # one session: the app keeps its history
    ask(chat, "Which paper proposes Griffin?")
    html = ask(chat, "and who are its authors?")
    assert GRIFFIN in card_titles(html)
    assert "read as: “Which paper proposes Griffin? and who are its authors?”" in html

    chat.predict(api_name="/clear")  # a new chat forgets it
    assert "rag-abstain" in ask(chat, "and who are its authors?")


def test_side_panel_filters_are_applied(app):
    html = ask(client_for(app), "Which reinforcement learning papers are there?",
               authors=["John D. Co-Reyes"], year_from="2021", year_to="2021")
    assert "filters: author John D. Co-Reyes; year 2021" in html
    assert "Evolving Reinforcement Learning Algorithms" in card_titles(html)


def test_model_panel_says_which_model_and_that_it_is_local(app):
    count, _authors, _lo, _hi, _cat, model = client_for(app).predict(api_name="/collection")
    assert papers_in(count) >= 45
    assert "extractive" in model and "rag-local" in model


def test_upload_grows_the_collection_and_reports_a_bad_file(app, tmp_path):
    good = tmp_path / "new-papers.jsonl"
    good.write_text(json.dumps({
        "title": NEW_TITLE, "authors": ["Marina Okonkwo", "Lars Vendelbo"], "date": "2024-01-01",
        "categories": ["cs.LG"],
        "abstract": "We introduce tidal attention, a periodic sparse attention pattern for long streams of ocean "
                    "sensor readings. Tidal attention attends to positions one tidal period apart and cuts memory "
                    "use by an order of magnitude on buoy data.",
    }) + "\n")
    bad = tmp_path / "notes.txt"
    bad.write_text("just some notes\nnothing that looks like a paper page at all\n")
    client = client_for(app)
    before = papers_in(client.predict(api_name="/collection")[0])

    status, count, *_ = client.predict([gradio_client.handle_file(str(good)), gradio_client.handle_file(str(bad))],
                                       api_name="/add_files")
    assert papers_in(count) == before + 1
    assert "rag-upload-partial" in status and "(+1)" in status
    assert "notes.txt" in status and "1 problem(s)" in status  # the per-file error, by the file's own name
    assert "new-papers.jsonl" not in status

    html = ask(client, "What is tidal attention?")  # the new paper is searchable at once
    assert NEW_TITLE in card_titles(html)
    assert "Marina Okonkwo" in html and "2024" in html


def test_a_second_upload_with_the_same_file_name_adds_and_keeps_the_first(app, tmp_path):
    """Two different files both called papers.jsonl: both papers stay; the same file again adds nothing."""
    client = client_for(app)
    before = papers_in(client.predict(api_name="/collection")[0])
    first, second = tmp_path / "a" / "papers.jsonl", tmp_path / "b" / "papers.jsonl"
    for path, title in ((first, "Kelp Forest Graphs for Coastal Sensing"), (second, "Glacier Flow Transformers")):
        path.parent.mkdir()
        path.write_text(json.dumps({"title": title, "authors": ["Ana Ruiz"], "date": "2023-05-01",
                                    "abstract": f"We present {title.lower()}, a method for environmental "
                                                "monitoring with learned models on sparse sensor data."}) + "\n")
    _, count, *_ = client.predict([gradio_client.handle_file(str(first))], api_name="/add_files")
    assert papers_in(count) == before + 1
    _, count, *_ = client.predict([gradio_client.handle_file(str(second))], api_name="/add_files")
    assert papers_in(count) == before + 2  # the first file's paper was not replaced
    _, count, *_ = client.predict([gradio_client.handle_file(str(first))], api_name="/add_files")
    assert papers_in(count) == before + 2


def _call_raw(demo, api_name: str, data: list) -> str:
    """Call an endpoint as any HTTP client can: the JSON names a path, nothing is uploaded first
    (gradio_client would upload a local file itself, which is a real upload)."""
    import httpx

    url = demo.local_url.rstrip("/")
    r = httpx.post(f"{url}/gradio_api/call/{api_name}", json={"data": data}, timeout=30)
    r.raise_for_status()
    return httpx.get(f"{url}/gradio_api/call/{api_name}/{r.json()['event_id']}", timeout=60).text


def test_add_files_refuses_server_files_a_client_names(app, tmp_path):
    """Only files uploaded through this app's page are read: not a server file named in the request,
    not a file in gradio's shared upload folder that this app never received (another app's upload)."""
    from gradio import utils as gr_utils

    secret = {"title": "Quokka Telemetry From The Server Disk", "authors": ["Nobody Here"], "date": "2024-01-01",
              "abstract": "The secret quokka telemetry abstract exists only on the server."}
    outside = tmp_path / "server-file.jsonl"
    outside.write_text(json.dumps(secret) + "\n")
    foreign = Path(gr_utils.get_upload_folder()) / f"not-from-this-app-{tmp_path.name}" / "other.jsonl"
    foreign.parent.mkdir(parents=True, exist_ok=True)
    foreign.write_text(json.dumps(secret) + "\n")
    uploads = app.rag_backend.settings.data_dir / "uploads"
    copied_before = sorted(uploads.rglob("*")) if uploads.exists() else []
    before = papers_in(client_for(app).predict(api_name="/collection")[0])
    try:
        for path in (outside, foreign, Path("/etc/passwd")):
            out = _call_raw(app, "add_files", [[{"path": str(path), "meta": {"_type": "gradio.FileData"}}]])
            assert "event: complete" in out or "event: error" in out, out
            assert "quokka" not in out.lower() and "root:" not in out
            if "event: complete" in out:  # refused by the app: one line naming the fix
                assert "only files uploaded through this page" in out
        assert papers_in(client_for(app).predict(api_name="/collection")[0]) == before
        assert (sorted(uploads.rglob("*")) if uploads.exists() else []) == copied_before  # nothing copied
        assert "Quokka" not in ask(client_for(app), "What is the quokka telemetry abstract?")
    finally:
        foreign.unlink()
        foreign.parent.rmdir()


def test_accepted_uploads_takes_only_this_apps_uploads(tmp_path):
    from rag.errors import RagError
    from rag.ui.app import accepted_uploads

    folder = tmp_path / "gradio"
    (folder / "h1").mkdir(parents=True)
    mine, other, bad_type = folder / "h1" / "papers.jsonl", folder / "h1" / "else.jsonl", folder / "h1" / "run.sh"
    for f in (mine, other, bad_type):
        f.write_text("{}\n")
    uploaded = {str(mine), str(bad_type), str(tmp_path / "elsewhere.jsonl")}
    assert accepted_uploads([{"path": str(mine), "orig_name": "papers.jsonl"}], uploaded, folder) == \
        [(mine.resolve(), "papers.jsonl")]
    for refused in ([{"path": str(other)}], [{"path": str(tmp_path / "elsewhere.jsonl")}],
                    [{"path": str(folder / "h1" / ".." / "h1" / "else.jsonl")}], ["/etc/passwd"], [{"path": None}]):
        with pytest.raises(RagError, match="only files uploaded through this page"):
            accepted_uploads(refused, uploaded, folder)
    with pytest.raises(RagError, match="cannot read run.sh"):
        accepted_uploads([{"path": str(bad_type)}], uploaded, folder)


def test_the_api_page_lists_only_the_question_endpoint(app):
    api = client_for(app).view_api(return_format="dict", print_info=False)
    assert sorted(api["named_endpoints"]) == ["/ask"] and not api["unnamed_endpoints"]


# ---------------------------------------------------------------- failures are chat messages

@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


def test_model_errors_show_in_the_chat_and_the_app_keeps_answering(app, fake):
    settings = Settings(data_dir=app.rag_backend.settings.data_dir, backend="openai", llm_base_url=fake.base_url,
                        llm_model="fake-model", llm_max_retries=0, llm_timeout=5)
    demo = build_app(settings)
    demo.queue().launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                        ssr_mode=False)
    try:
        fake.fail_next(1, 503)
        html = ask(client_for(demo), "Which paper proposes Griffin?")
        assert 'class="rag-error"' in html and "The model did not answer" in html

        job = client_for(demo).submit("Which paper proposes Griffin?", [], "any", "any", "any", api_name="/ask")
        job.result()  # the server is back, and the answer streams in
        steps = ["".join(p["text"] for p in out[0][-1]["content"]) for out in job.outputs() if out[0]]
        partial = [s for s in steps if 'class="rag-streaming"' in s]
        assert partial  # shown while the tokens came, before the checked answer replaced it
        html = steps[-1]
        assert 'class="rag-answer"' in html and GRIFFIN in card_titles(html)
        model = client_for(demo).predict(api_name="/collection")[-1]
        assert "fake-model" in model and "on this machine" in model and "rag-local" in model

        fake.stop()  # the model server is down
        html = ask(client_for(demo), "Which paper proposes Griffin?")
        assert 'class="rag-error"' in html and "The model did not answer" in html
        assert papers_in(client_for(demo).predict(api_name="/collection")[0]) >= 45  # still serving
    finally:
        demo.close()


def test_empty_store_says_so_in_the_chat_until_files_are_added(tmp_path):
    settings = Settings(data_dir=tmp_path / "empty", backend="extractive")
    demo = build_app(settings)
    demo.queue().launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                        ssr_mode=False)
    try:
        client = client_for(demo)
        html = ask(client, "Which paper proposes Griffin?")
        assert "Nothing is indexed yet" in html and "rag-error" in html
        assert "No papers indexed yet" in client.predict(api_name="/collection")[0]

        paper = tmp_path / "one.jsonl"
        paper.write_text(json.dumps({"title": NEW_TITLE, "authors": ["Marina Okonkwo"], "date": "2024-01-01",
                                     "abstract": "We introduce tidal attention, a periodic sparse attention "
                                                 "pattern for ocean sensor streams."}) + "\n")
        status, count, *_ = client.predict([gradio_client.handle_file(str(paper))], api_name="/add_files")
        assert papers_in(count) == 1 and "rag-upload-ok" in status
        assert NEW_TITLE in card_titles(ask(client, "What is tidal attention?"))
    finally:
        demo.close()


# ---------------------------------------------------------------- rendering, directly

def _answer(**kw) -> Answer:
    c = Citation(key=1, paper_id="p1", title="A <b>Bold</b> Title", authors=["Ada Lovelace", "Alan Turing"],
                 year=2023, venue="NeurIPS", passage="First sentence here. Engines compute numbers quickly. Last one.",
                 supported_sentences=["Engines compute numbers quickly [1]."],
                 backing_sentences=["Engines compute numbers quickly."])
    base = dict(question="q", text="Engines compute numbers quickly [1]. Cats rule the world [1].", citations=[c],
                sources=[SourceHit("p1", "A <b>Bold</b> Title", [], 2023, None, 1.0)],
                unsupported_sentences=["Cats rule the world [1]."], model="m")
    base.update(kw)
    return Answer(**base)


def test_render_marks_unsupported_sentences_and_escapes_paper_text():
    html = render.answer_html(_answer())
    assert '<mark class="rag-unsupported"' in html and "Cats rule the world" in html
    assert "not supported by the passage cited" in html
    assert "<b>Bold</b>" not in html and "A &lt;b&gt;Bold&lt;/b&gt; Title" in html
    assert '<mark class="rag-hl">Engines compute numbers quickly.</mark>' in html
    assert "Ada Lovelace, Alan Turing · 2023 · NeurIPS" in html
    assert "\n" not in html  # one line: the chat's Markdown cannot break the HTML apart


def test_render_abstention_and_errors_look_different_from_answers():
    abstain = render.answer_html(_answer(text=NO_ANSWER, abstained=True, citations=[], unsupported_sentences=[]))
    assert "rag-abstain" in abstain and "rag-answer" not in abstain and "rag-card" not in abstain
    error = render.error_html("The model did not answer", "<script>x</script>")
    assert "rag-error" in error and "<script>" not in error


def test_highlight_marks_the_sentence_the_check_found_for_a_paraphrased_claim():
    from rag.embeddings import get_embedder
    from rag.support import check_support
    from rag.types import Passage

    passage = "Griffin mixes recurrences with attention. It is fast."
    check = check_support(["The model mixes recurrences with local attention [2]."],
                          {2: Passage("p", "p#0", passage, None, [], None, None, 1.0)}, get_embedder().embed,
                          threshold=0.5)[0]
    out = render.highlight_passage(passage, [check.backing[2]])
    assert out.startswith('<mark class="rag-hl">Griffin mixes recurrences with attention.</mark>')
    assert render.highlight_passage(passage, []).count("rag-hl") == 0  # nothing found, nothing guessed


def test_filters_from_the_side_panel():
    assert make_filters([], "any", "any", "any") == {}
    assert make_filters(["A B"], "2022", "2020", "cs.LG") == {"authors": ["A B"], "year_from": 2020,
                                                             "year_to": 2022, "categories": ["cs.LG"]}


def test_model_description_local_or_remote(tmp_path):
    remote = describe_model(Settings(data_dir=tmp_path, backend="openai", llm_base_url="https://llm.example.org/v1"))
    assert remote["remote"] and "llm.example.org" in remote["where"]
    assert not describe_model(Settings(data_dir=tmp_path, backend="openai",
                                       llm_base_url="http://localhost:8080/v1"))["remote"]
    assert describe_model(Settings(data_dir=tmp_path, backend="openai"))["remote"]  # OpenAI itself
    assert not describe_model(Settings(data_dir=tmp_path, backend="local"))["remote"]
