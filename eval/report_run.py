"""One eval run dir as the reports read it: `summary.json` and `questions.jsonl`, checked on reading.

`load_run(run_dir)` gives a `Run`; a missing or unreadable file is an `InputError` that names the
file and the fix (run `rag eval` again). This module neither computes nor renders anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import InputError


@dataclass(frozen=True)
class Run:
    """One run dir as read: its summary and its per-question records (in file order)."""

    path: Path
    summary: dict[str, Any]
    questions: list[dict[str, Any]]

    @property
    def info(self) -> dict[str, Any]:
        return self.summary.get("run") or {}

    @property
    def systems(self) -> list[str]:
        return list(self.info.get("systems") or self.summary.get("retrieval") or [])

    @property
    def main_system(self) -> str | None:
        return self.info.get("main_system") or (self.systems[0] if self.systems else None)

    @property
    def types(self) -> dict[str, int]:
        return dict(self.summary.get("types") or {})

    @property
    def answer(self) -> dict[str, Any] | None:
        return self.summary.get("answer")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"cannot read the run summary ({exc}); run `rag eval` again") from exc
    if not isinstance(data, dict):
        raise InputError(str(path), "the run summary is not a JSON object; run `rag eval` again")
    return data


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read the per-question results ({exc}); run `rag eval` again") from exc
    rows = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(str(path), f"not valid JSON ({exc.msg}); run `rag eval` again", line=n) from exc
        if not isinstance(row, dict):
            raise InputError(str(path), "not a JSON object; run `rag eval` again", line=n)
        rows.append(row)
    return rows


def load_run(run_dir: Path) -> Run:
    """Read a run dir; InputError (naming the dir and the fix) when it has no summary.json."""
    run_dir = Path(run_dir)
    summary = run_dir / "summary.json"
    if not summary.is_file():
        raise InputError(
            str(run_dir), f"no summary.json in this directory; run `rag eval DATASET --out {run_dir}` first"
        )
    return Run(run_dir, _read_json(summary), _read_jsonl(run_dir / "questions.jsonl"))


def metric(row: Mapping[str, Any] | None, key: str) -> Any:
    return (row or {}).get(key)
