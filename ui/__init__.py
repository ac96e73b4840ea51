"""The chat window (`rag.ui`): a Gradio front end and a thin client of `rag.api.Assistant`.

    from rag.ui import launch
    launch()   # http://127.0.0.1:7860

`build_app(settings)` returns the `gradio.Blocks` without serving it. Gradio is imported only when
one of these is used, so `import rag` never pulls it in.
"""

from __future__ import annotations

__all__ = ["build_app", "launch"]


def __getattr__(name: str):
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
