"""The chat window in a real browser: headless Chromium (Debian's) driven by Playwright.

Opens the page, asks, waits for the streamed answer, opens the citation card, copies the answer's
BibTeX and downloads its references, asks a question the papers do not answer, searches in the
Papers view (sorted by year, exported as BibTeX), builds a table in the Table view and watches its
rows come, uploads a file and watches the paper count grow. Downloads and the clipboard are read
back and parsed with the project's BibTeX reader. Screenshots go to tests/artifacts/ (ui.png: an
answer with its source card open; ui-references.png, ui-papers.png, ui-table.png: the new views;
ui-upload.png: after the upload).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("gradio")
sync_api = pytest.importorskip("playwright.sync_api")

from rag.parsers import bibtex  # noqa: E402
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
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            context.grant_permissions(["clipboard-read", "clipboard-write"])  # the answers' Copy BibTeX
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


def _bib_titles(text: str) -> list[str]:
    return [r.title for r in bibtex.parse(Path("export.bib"), text).records]


def _download(page, button):
    """What clicking `button` (a locator) downloads."""
    with page.expect_download() as info:
        button.click()
    return info.value


def test_copy_the_bibtex_of_an_answer_and_download_its_references(page):
    page.click("#rag-clear")  # a new chat: the question is not read as a follow-up, the last references go
    page.wait_for_function("() => !document.querySelector('#rag-chat .rag-answer')"
                           " && document.querySelector('#rag-refs-note').innerText.includes('Ask a question')")
    _ask(page, "Which paper proposes Griffin?")
    answer = page.locator("#rag-chat .rag-answer").last
    assert not answer.locator("pre.rag-bibtex").is_visible()  # the copied text is not shown
    answer.locator(".rag-copy-bib").click()
    page.wait_for_function("() => [...document.querySelectorAll('#rag-chat .rag-copy-bib')].pop().dataset.done")
    assert answer.locator(".rag-copy-bib").evaluate("b => b.dataset.done") == "Copied"
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("@") and GRIFFIN in _bib_titles(copied)
    saved = _download(page, answer.locator(".rag-save-bib"))
    assert saved.suggested_filename == "references.bib" and Path(saved.path()).read_text() == copied
    page.wait_for_function("() => document.querySelector('#rag-refs-note').innerText.includes('Griffin')")
    refs = _download(page, page.locator("#rag-refs-download"))
    assert refs.suggested_filename.endswith(".bib") and Path(refs.path()).read_text() == copied
    page.locator("#rag-last-refs").scroll_into_view_if_needed()
    _shot(page, "ui-references.png")


def test_abstention_looks_different(page):
    _ask(page, "Which paper studies protein folding with AlphaFold?")
    box = page.locator("#rag-chat .rag-abstain").last
    assert "The collection does not answer this." in box.inner_text()
    assert box.locator(".rag-card").count() == 0
    answer_bg = page.locator("#rag-chat .rag-card").first.evaluate("e => getComputedStyle(e).borderStyle")
    abstain_border = box.evaluate("e => getComputedStyle(e).borderStyle")
    assert abstain_border == "dashed" and answer_bg != abstain_border
    assert box.locator(".rag-copy-bib").count() == 0  # nothing cited, nothing to copy
    page.wait_for_function("() => document.querySelector('#rag-refs-note').innerText.includes('no references')")
    assert page.locator("#rag-refs-download").is_disabled()
    _shot(page, "ui-abstain.png")


def test_papers_view_search_sort_by_year_and_export_bibtex(page):
    page.get_by_role("tab", name="Papers").click()
    page.fill("#rag-papers-query textarea", "Griffin")
    page.keyboard.press("Enter")
    rows = page.locator("#rag-papers-results table.rag-hits tbody tr")
    rows.first.wait_for()
    assert rows.first.locator(".rag-hit-title").inner_text() == GRIFFIN
    page.locator("#rag-papers-sort label", has_text="year").click()
    page.wait_for_function("() => document.querySelector('#rag-papers-results').innerText.includes('sorted by year')")
    years = [None if y == "–" else int(y) for y in rows.locator(".rag-hit-year").all_inner_texts()]
    known = [y for y in years if y is not None]
    assert known and known == sorted(known, reverse=True) and years == known + [None] * (len(years) - len(known))
    shown = rows.locator(".rag-hit-title").all_inner_texts()
    assert shown[0] != GRIFFIN and GRIFFIN in shown  # Griffin's record has no year: after the dated papers
    saved = _download(page, page.locator("#rag-papers-download"))
    assert saved.suggested_filename == "papers-griffin.bib"
    assert _bib_titles(Path(saved.path()).read_text()) == [t.replace("(untitled)", "") or None for t in shown]
    _shot(page, "ui-papers.png")


def test_table_view_shows_rows_as_they_are_done(page):
    page.get_by_role("tab", name="Table").click()
    page.fill("#rag-table-question textarea", "sparse training")
    page.fill("#rag-table-columns textarea", "task, method")
    page.fill("#rag-table-limit input", "3")
    # every text the progress note shows, as the page shows it
    page.evaluate("""() => { window.ragNotes = []; const note = document.querySelector('#rag-table-progress');
        new MutationObserver(() => window.ragNotes.push(note.innerText.trim()))
            .observe(note, {subtree: true, childList: true, characterData: true}); }""")
    page.click("#rag-table-build")
    page.wait_for_function("() => document.querySelector('#rag-table-progress').innerText.includes('done')")
    notes = page.evaluate("window.ragNotes")
    assert "1 of 3 papers" in notes and "2 of 3 papers" in notes  # rows came one by one
    rows = page.locator("#rag-table-result table.rag-table tbody tr")
    assert rows.count() == 3 and page.locator("#rag-table-result th").all_inner_texts()[2:] == ["task", "method"]
    filled = page.locator("#rag-table-result tbody td:nth-child(n+3):not(.not-stated)")
    assert filled.count() > 0 and "Top-KAST, a method" in " ".join(filled.all_inner_texts())
    for cell in page.locator("#rag-table-result td.not-stated").all():  # greyed, in words
        assert cell.inner_text() == "not stated" and cell.evaluate("e => getComputedStyle(e).fontStyle") == "italic"
    assert "Top-KAST: Top-K Always Sparse Training" in page.locator("#rag-table-result").inner_text()
    saved = _download(page, page.locator("#rag-table-bib"))
    assert "Top-KAST: Top-K Always Sparse Training" in _bib_titles(Path(saved.path()).read_text())
    _shot(page, "ui-table.png")
    page.get_by_role("tab", name="Chat").click()


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

