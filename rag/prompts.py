"""Prompt templates: files in `prompts/` with named `{slots}`, rendered strictly.

`render("answer", sources=..., question=...)` fails loudly (`ConfigError`) when a slot is missing
or unknown, so a renamed slot can never silently produce a broken prompt. Values are inserted
once and never re-parsed, so braces inside paper text are safe. This module does not choose
what goes into a prompt (see `rag.answer`).
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

from rag.errors import ConfigError

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
if not PROMPTS_DIR.is_dir():  # installed as a wheel: the prompts travel inside the package
    PROMPTS_DIR = Path(__file__).resolve().parent / "_prompts"


@lru_cache(maxsize=None)
def template(name: str) -> str:
    path = PROMPTS_DIR / f"{name}.txt"
    try:
        return path.read_text(encoding="utf-8").strip("\n")
    except OSError:
        raise ConfigError(f"prompt file {path} is missing; reinstall the package or restore prompts/{name}.txt") from None


def slots(name: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template(name)) if field}


def render(name: str, **values: object) -> str:
    """The template `name` with every slot filled; a missing or unknown slot is an error."""
    wanted = slots(name)
    missing, unknown = wanted - values.keys(), values.keys() - wanted
    if missing or unknown:
        raise ConfigError(f"prompt {name!r}: missing slots {sorted(missing)}, unknown slots {sorted(unknown)}")
    return template(name).format(**{k: str(v) for k, v in values.items()})


def examples(**values: object) -> list[dict]:
    """The worked examples in `prompts/examples.txt` as chat turns: blocks that start with a line
    `### user` or `### assistant`, each rendered like a template."""
    turns, role, lines = [], None, []
    for line in template("examples").splitlines() + ["### end"]:
        if line.startswith("### "):
            if role is not None:
                text = "\n".join(lines).strip()
                turns.append({"role": role, "content": text.format(**{k: str(v) for k, v in values.items()})})
            role, lines = line[4:].strip(), []
            if role not in ("user", "assistant", "end"):
                raise ConfigError(f"prompts/examples.txt: unknown role {role!r}; use ### user or ### assistant")
        elif role is None and line.strip():
            raise ConfigError("prompts/examples.txt must start with a '### user' line")
        else:
            lines.append(line)
    return turns
