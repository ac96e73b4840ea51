"""The chat window (`rag.ui`): a Gradio front end and a thin client of `rag.Assistant`.

    from rag.ui import launch
    launch()   # http://127.0.0.1:7860

`build_app(settings)` returns the `gradio.Blocks` without serving it. Gradio is imported only when
one of these is used, so `import rag` never pulls it in; before it is, this package turns its
analytics and the Hugging Face hub's telemetry off. `app.py` is the layout and wiring,
`handlers.py` what the chat's events do, `papers.py` and `tables.py` those of the Papers and Table
views, `exports.py` the files they offer, `render.py` the HTML, `style.py` the CSS and script.
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported, by any module of this package
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

__all__ = ["build_app", "launch"]


def __getattr__(name: str):
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
