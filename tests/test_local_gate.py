"""The local-model regression gate: a fixed sample of each question set through the real bundled
model, graded by `rag eval` itself, against the floors in eval/floors-local.json. It catches a change
that makes the default model give up again (false abstentions) or cite the wrong papers.

The sample is fixed by rule, not picked: every 22nd seed question (s022, s044, s066, s088) and every
14th arxiv200 question (a014, a028, a042, a056), answerable and unanswerable alike: few, so the suite
stays under 8 minutes on two cores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.eval.runner import check_gate, run_eval
from rag.ingest import ingest
from rag.settings import Settings

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "eval" / "datasets"
FLOORS = json.loads((ROOT / "eval" / "floors-local.json").read_text())
SAMPLES = {"seeds": (DATASETS / "seeds.jsonl", 22, None),
           "arxiv200": (DATASETS / "arxiv200.jsonl", 14, DATASETS / "arxiv200-records.jsonl")}


def sample(name: str, folder: Path) -> Path:
    """The questions of the gate for one set, as a question file of their own."""
    path, every, _ = SAMPLES[name]
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    picked = [line for line in lines if int(json.loads(line)["id"][1:]) % every == 0]
    out = folder / f"{name}-gate.jsonl"
    out.write_text("\n".join(picked) + "\n", encoding="utf-8")
    return out


def records_for(questions: Path, records: Path, folder: Path) -> Path:
    """The gold records of the sampled questions and every 4th other record as distractors (50 of
    the 200: ingest in seconds, not a minute)."""
    wanted = {g.casefold() for line in questions.read_text().splitlines() for g in json.loads(line)["gold"]}
    lines = records.read_text(encoding="utf-8").splitlines()
    kept = [line for i, line in enumerate(lines) if i % 4 == 0 or json.loads(line)["title"].casefold() in wanted]
    out = folder / "records.jsonl"
    out.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return out


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_local_model_answers_what_its_sources_say(name, tmp_path, local_model_file):
    _, _, records = SAMPLES[name]
    questions = sample(name, tmp_path)
    settings = Settings(data_dir=tmp_path / "data", backend="local", local_model_path=local_model_file)
    ingest([records_for(questions, records, tmp_path)] if records else None, settings=settings, say=lambda *a: None)
    try:
        run = run_eval(questions, settings=settings, out=tmp_path / "run", systems=("hybrid",),
                       progress=False, say=lambda *a: None)
    finally:
        from rag.local_server import shared_server

        shared_server(settings).stop()  # the next tests expect no server running
    summary = json.loads((run / "summary.json").read_text())
    failures = check_gate(summary, FLOORS[name])
    rows = [json.loads(line) for line in (run / "questions.jsonl").read_text().splitlines()]
    shown = "\n".join(f"{r['id']}: {r['answer']['abstain_reason'] or r['answer']['text'][:120]}" for r in rows)
    assert not failures, "\n".join(failures) + "\n" + shown
