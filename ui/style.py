"""The page's looks and its one script: `CSS` (given to `launch(css=...)`) and `JS` (`launch(js=...)`).

The CSS styles the HTML that `render.py` writes (answers, source cards, abstentions, errors, the
Papers and Table views); the script makes the answers' "Copy BibTeX" and "Download .bib" buttons
work, copying with the Clipboard API, else by selection, else by showing the text to copy by hand.
Nothing here is loaded from outside the page. The HTML itself is `render.py`'s, the layout `app.py`'s.
"""

from __future__ import annotations

CSS = """
.gradio-container { max-width: 1400px !important; margin: 0 auto; }
#rag-header h1 { font-size: 1.45rem; margin: 0.2rem 0 0 0; }
#rag-header p { margin: 0.1rem 0 0.4rem 0; color: var(--body-text-color-subdued); }
#rag-side .rag-section { font-weight: 600; font-size: 0.95rem; margin: 0.2rem 0; }
.rag-answer, .rag-abstain, .rag-error, .rag-streaming { line-height: 1.55; }
.rag-text { font-size: 1rem; }
.rag-cite { color: var(--color-accent); font-weight: 600; cursor: help; margin-left: 1px; }
mark.rag-unsupported { background: #fff3b0; color: inherit; border-bottom: 2px dotted #c99a00; padding: 0 2px; }
.dark mark.rag-unsupported { background: #5c4a00; }
.rag-warn { margin-top: 0.5rem; font-size: 0.88rem; color: #8a6100; background: #fff9db; border-left: 3px solid #e0b400;
  padding: 0.3rem 0.6rem; border-radius: 4px; }
.dark .rag-warn { color: #ffe08a; background: #3a3000; }
.rag-refs { margin-top: 0.8rem; border-top: 1px solid var(--border-color-primary); padding-top: 0.5rem; }
.rag-refs-title { font-size: 0.78rem; text-transform: uppercase; letter-spacing: 0.06em; font-weight: 600;
  color: var(--body-text-color-subdued); margin-bottom: 0.35rem; }
details.rag-card { border: 1px solid var(--border-color-primary); border-radius: 8px; margin: 0.4rem 0;
  background: var(--background-fill-secondary); }
details.rag-card > summary { list-style: none; display: flex; gap: 0.6rem; padding: 0.55rem 0.7rem; cursor: pointer; }
details.rag-card > summary::-webkit-details-marker { display: none; }
.rag-key { flex: none; display: inline-flex; align-items: center; justify-content: center; min-width: 1.6rem; height: 1.6rem;
  border-radius: 50%; background: var(--color-accent); color: white; font-weight: 700; font-size: 0.85rem; }
.rag-card-head { display: flex; flex-direction: column; gap: 0.1rem; min-width: 0; }
.rag-title { font-weight: 650; }
.rag-byline { font-size: 0.86rem; color: var(--body-text-color-subdued); }
.rag-quote { font-size: 0.9rem; font-style: italic; margin-top: 0.15rem; }
.rag-more { font-size: 0.78rem; color: var(--color-accent); margin-top: 0.15rem; }
details.rag-card[open] .rag-more { display: none; }
.rag-passage { margin: 0 0.7rem 0.4rem 2.9rem; padding: 0.5rem 0.7rem; font-size: 0.9rem; border-left: 3px solid var(--color-accent);
  background: var(--background-fill-primary); border-radius: 0 6px 6px 0; }
mark.rag-hl { background: #d8ecff; color: inherit; padding: 0 2px; border-radius: 2px; }
.dark mark.rag-hl { background: #1d3b5c; }
.rag-card-meta { margin: 0 0.7rem 0.5rem 2.9rem; font-size: 0.78rem; color: var(--body-text-color-subdued); }
.rag-quoted { margin-top: 0.4rem; font-size: 0.86rem; font-style: italic; color: var(--body-text-color-subdued); }
.rag-footer, .rag-readas { margin-top: 0.5rem; font-size: 0.78rem; color: var(--body-text-color-subdued); }
.rag-readas { margin-top: 0.1rem; font-style: italic; }
.rag-abstain { background: var(--background-fill-secondary); border: 1px dashed var(--border-color-primary);
  border-radius: 8px; padding: 0.6rem 0.8rem; color: var(--body-text-color-subdued); }
.rag-abstain-head { display: flex; align-items: center; gap: 0.5rem; font-weight: 600; }
.rag-abstain-icon { font-size: 1.2rem; opacity: 0.7; }
.rag-abstain-body, .rag-abstain-near { font-size: 0.88rem; margin-top: 0.3rem; }
.rag-error { background: #fdecec; border-left: 4px solid #d93025; border-radius: 6px; padding: 0.5rem 0.8rem; color: #7a1c15; }
.dark .rag-error { background: #3b1512; color: #ffb4ab; }
.rag-error-head { font-weight: 700; }
.rag-error-msg { font-size: 0.9rem; font-family: var(--font-mono); white-space: pre-wrap; word-break: break-word; }
.rag-error-hint { font-size: 0.88rem; margin-top: 0.3rem; }
.rag-pending { color: var(--body-text-color-subdued); font-style: italic; }
.rag-caret { animation: rag-blink 1s steps(2) infinite; color: var(--color-accent); }
@keyframes rag-blink { 50% { opacity: 0; } }
.rag-upload { font-size: 0.86rem; padding: 0.4rem 0.6rem; border-radius: 6px; border-left: 3px solid #2e7d32;
  background: var(--background-fill-secondary); }
.rag-upload-partial { border-left-color: #e0a800; }
.rag-upload-bad { border-left-color: #d93025; }
.rag-upload-errors ul { margin: 0.2rem 0 0 1rem; padding: 0; }
.rag-upload-errors li { word-break: break-word; }
.rag-model-where { font-size: 0.82rem; color: var(--body-text-color-subdued); word-break: break-all; }
.rag-badge { font-size: 0.72rem; padding: 1px 7px; border-radius: 10px; font-weight: 600; margin-left: 0.3rem; }
.rag-local { background: #e3f4e5; color: #1f6b2a; }
.rag-remote { background: #fff1d6; color: #8a5300; }
#rag-count { font-size: 0.95rem; }
#rag-upload-help, #rag-upload-help * { font-size: 0.8rem !important; color: var(--body-text-color-subdued); }
.rag-refs-actions { display: flex; flex-wrap: wrap; gap: 0.4rem; margin: 0.1rem 0 0.3rem 0; }
.rag-refs-actions button { font-size: 0.78rem; padding: 2px 10px; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-primary); color: inherit; }
.rag-refs-actions button:hover { border-color: var(--color-accent); color: var(--color-accent); }
pre.rag-bibtex { display: none; }
pre.rag-bibtex.rag-shown { display: block; flex-basis: 100%; max-height: 12rem; overflow: auto; font-size: 0.75rem;
  white-space: pre-wrap; user-select: all; }
.rag-refs-note, .rag-progress, .rag-hits-summary { font-size: 0.85rem; color: var(--body-text-color-subdued); }
.rag-progress { font-weight: 600; }
table.rag-hits, table.rag-table { width: 100%; border-collapse: collapse; font-size: 0.88rem; }
table.rag-hits th, table.rag-table th { text-align: left; font-weight: 600; font-size: 0.8rem;
  color: var(--body-text-color-subdued); border-bottom: 2px solid var(--border-color-primary); padding: 0.35rem 0.5rem; }
table.rag-hits td, table.rag-table td { vertical-align: top; padding: 0.4rem 0.5rem;
  border-bottom: 1px solid var(--border-color-primary); }
.rag-hit-title { font-weight: 600; }
.rag-hit-sentence { font-style: italic; }
.rag-hit-rank, .rag-hit-score, .rag-hit-year { white-space: nowrap; font-variant-numeric: tabular-nums; }
table.rag-table td.not-stated { color: var(--body-text-color-subdued); font-style: italic; opacity: 0.7; }
table.rag-table td small { color: var(--body-text-color-subdued); }
.rag-table-wrap { overflow-x: auto; }
"""

# Run once when the page loads (`launch(js=...)`): the answers' "Copy BibTeX" and "Download .bib"
# buttons, by one listener on the document, so answers rendered later need nothing of their own.
JS = """
() => {
  const show = (button, text) => {
    button.dataset.label = button.dataset.label || button.textContent;
    button.dataset.done = text;
    button.textContent = text;
    setTimeout(() => { button.textContent = button.dataset.label; }, 2500);
  };
  const byHand = (pre) => {
    pre.classList.add("rag-shown");
    const range = document.createRange();
    range.selectNodeContents(pre);
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
  };
  const copyBySelection = (text) => {
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok;
  };
  const save = (text, name) => {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], {type: "application/x-bibtex;charset=utf-8"}));
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  };
  document.addEventListener("click", (event) => {
    const button = event.target.closest(".rag-copy-bib, .rag-save-bib");
    if (!button) return;
    const pre = button.parentElement.querySelector("pre.rag-bibtex");
    if (!pre) return;
    const text = pre.textContent;
    if (button.classList.contains("rag-save-bib")) {
      save(text, "references.bib");
      return;
    }
    const fallback = () => {
      if (copyBySelection(text)) { show(button, "Copied"); } else { byHand(pre); show(button, "Press Ctrl+C"); }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(() => show(button, "Copied"), fallback);
    } else {
      fallback();
    }
  });
}
"""
