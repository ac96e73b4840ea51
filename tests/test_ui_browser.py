"""The chat window in a real browser: headless Chromium (Debian's) driven by Playwright.

Opens the page, asks, waits for the streamed answer, opens the citation card, asks a question the
papers do not answer, uploads a file and watches the paper count grow. Screenshots go to
tests/artifacts/ (ui.png: an answer with its source card open; ui-upload.png: after the upload).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("gradio")
sync_api = pytest.importorskip("playwright.sync_api")

from rag.ui.app import launch  # noqa: E402
from netutil import free_port  # noqa: E402

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).parent / "artifacts"
GRIFFIN = "Griffin: Mixing Gated Linear Recurrences with Local Attention for Efficient Language Models"
NEW_TITLE = "Tidal Attention: Periodic Sparse Attention for Ocean Sensor Streams"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from rag.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("ui-browser") / "rag-data", backend="extractive")
    demo = launch(settings, port=free_port(), block=False, say=lambda *a: None)
    yield demo
    demo.close()


@pytest.fixture(scope="module")
def page(app):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing; install it with: apt-get install -y chromium")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            # nothing but the app itself: any other request would be a leak (fonts, analytics, CDNs)
            outside: list[str] = []

            def route(r):
                host = r.request.url.split("/")[2] if "://" in r.request.url else ""
                if r.request.url.startswith(("data:", "blob:")) or host.split(":")[0] in ("127.0.0.1", "localhost"):
                    return r.continue_()
                outside.append(r.request.url)
                return r.abort()

            context.route("**/*", route)
            pg = context.new_page()
            pg.set_default_timeout(TIMEOUT_MS)
            pg.outside = outside
            pg.goto(app.local_url)
            pg.wait_for_selector("#rag-input textarea")
            yield pg
        finally:
            browser.close()


def _ask(page, question: str) -> None:
    before = page.locator("#rag-chat .rag-answer, #rag-chat .rag-abstain, #rag-chat .rag-error").count()
    page.fill("#rag-input textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#rag-chat .rag-answer, #rag-chat .rag-abstain, #rag-chat .rag-error')"
        ".length > n", arg=before)


def _shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_ask_read_the_streamed_answer_and_open_its_source_card(page):
    assert "45 papers" in page.locator("#rag-count").inner_text()
    _ask(page, "Which paper proposes Griffin?")
    answer = page.locator("#rag-chat .rag-answer").last
    assert "Griffin" in answer.locator(".rag-text").inner_text()
    titles = answer.locator(".rag-card .rag-title").all_inner_texts()
    assert GRIFFIN in titles
    card = answer.locator(".rag-card", has_text=GRIFFIN)
    passage = card.locator(".rag-passage")
    assert not passage.is_visible()  # closed until asked for
    card.locator("summary").click()
    passage.wait_for(state="visible")
    assert "We propose Hawk" in passage.locator("mark.rag-hl").inner_text()
    card.scroll_into_view_if_needed()
    # the page is styled: the card is a bordered box, the highlight has a background
    bg = passage.locator("mark.rag-hl").evaluate("e => getComputedStyle(e).backgroundColor")
    assert bg not in ("rgba(0, 0, 0, 0)", "transparent")
    page.locator("#rag-chat .rag-answer").last.evaluate("e => e.scrollIntoView({block: 'start'})")
    _shot(page, "ui.png")


def test_abstention_looks_different(page):
    _ask(page, "Which paper studies protein folding with AlphaFold?")
    box = page.locator("#rag-chat .rag-abstain").last
    assert "The collection does not answer this." in box.inner_text()
    assert box.locator(".rag-card").count() == 0
    answer_bg = page.locator("#rag-chat .rag-card").first.evaluate("e => getComputedStyle(e).borderStyle")
    abstain_border = box.evaluate("e => getComputedStyle(e).borderStyle")
    assert abstain_border == "dashed" and answer_bg != abstain_border
    _shot(page, "ui-abstain.png")


def test_upload_a_file_and_the_paper_count_grows(page, tmp_path):
    paper = tmp_path / "tidal.jsonl"
    paper.write_text(json.dumps({
        "title": NEW_TITLE, "authors": ["Marina Okonkwo", "Lars Vendelbo"], "date": "2024-01-01",
        "abstract": "We introduce tidal attention, a periodic sparse attention pattern for long streams of ocean "
                    "sensor readings.",
    }) + "\n")
    page.locator("#rag-upload input[type=file]").set_input_files(str(paper))
    page.wait_for_function("() => document.querySelector('#rag-count').innerText.includes('46 papers')")
    assert "(+1)" in page.locator("#rag-upload-status").inner_text()
    page.click("#rag-clear")  # a new chat: the next question is not read as a follow-up
    page.wait_for_function("() => !document.querySelector('#rag-chat .rag-abstain')")
    _ask(page, "What is tidal attention?")
    assert NEW_TITLE in page.locator("#rag-chat .rag-answer").last.locator(".rag-title").all_inner_texts()
    shot = _shot(page, "ui-upload.png")
    assert shot.stat().st_size > 10_000
    assert page.outside == []  # the page loaded nothing from outside 127.0.0.1

