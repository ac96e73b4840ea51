"""The public surface of `rag`: `__all__` is sorted and complete, every name in it imports, the
exception tree is one tree, and the dict fields of `Answer` carry the keys their TypedDicts name."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import subprocess
import sys
from typing import get_args

import pytest

import rag
from rag.settings import Settings

# Public names of the front-door modules that are not a library user's to call, each with why.
NOT_EXPORTED = {
    "ABSTAIN_REASONS": "the UI's and CLI's wording of Answer.abstain_reason",
    "abstain_words": "the UI's and CLI's wording of Answer.abstain_reason",
    "StreamKind": "the Literal behind StreamEvent.kind",
}
FRONT_DOOR = ("rag.api", "rag.errors", "rag.types")
ALSO_CALLED = {"ingest", "IngestReport", "Settings", "load_settings"}  # from rag.ingest and rag.settings


def _defined_public_names(module_name: str) -> set[str]:
    """Top-level functions, classes and assignments of the module's own source (not its imports)."""
    tree = ast.parse(inspect.getsource(importlib.import_module(module_name)))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return {n for n in names if not n.startswith("_")}


def test_all_is_sorted_without_duplicates():
    assert rag.__all__ == sorted(rag.__all__)
    assert len(set(rag.__all__)) == len(rag.__all__)


def test_all_is_complete():
    public = set().union(*(_defined_public_names(m) for m in FRONT_DOOR)) | ALSO_CALLED
    assert sorted(public - set(rag.__all__) - set(NOT_EXPORTED)) == []
    assert set(NOT_EXPORTED) <= public  # no stale exemption


def test_every_name_in_all_imports_in_a_fresh_process_and_import_rag_stays_light():
    code = ("import sys, rag; light = not {'pydantic', 'chromadb', 'gradio'} & set(sys.modules); "
            "from rag import *; import json; "
            "print(json.dumps([light, [n for n in rag.__all__ if n not in globals()]]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    light, missing = json.loads(out.stdout)
    assert light and missing == []


def test_rag_ingest_stays_the_function_when_its_module_is_imported():
    import rag.ingest  # the submodule: importing it must not replace the exported function

    from rag import ingest

    assert callable(ingest) and ingest is sys.modules["rag.ingest"].ingest
    assert rag.ingest is ingest


def test_model_and_server_failures_are_rag_errors_exported_from_rag():
    from rag.llm import LLMError
    from rag.local_server import LocalServerError

    assert LLMError is rag.LLMError and issubclass(LLMError, rag.RagError)
    assert LocalServerError is rag.LocalServerError and issubclass(LocalServerError, rag.ConfigError)
    assert not issubclass(rag.LLMError, rag.StoreError) and not issubclass(rag.StoreError, rag.LLMError)


def test_paper_count_is_zero_before_the_first_ingest(tmp_path):
    assert rag.paper_count(Settings(data_dir=tmp_path / "nothing")) == 0


# ---------------------------------------------------------------- Answer's dict fields

@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    folder = tmp_path_factory.mktemp("surface")
    papers = folder / "papers.jsonl"
    papers.write_text("".join(json.dumps(r) + "\n" for r in [
        {"title": "Kelp Forest Graphs for Coastal Sensing", "authors": ["Ana Ruiz"], "date": "2023-05-01",
         "categories": ["cs.LG"], "abstract": "We present kelp forest graphs, a graph model of coastal sensor "
                                              "networks that predicts water temperature from sparse buoys."},
        {"title": "Glacier Flow Transformers", "authors": ["Lars Vendelbo"], "date": "2021-03-01",
         "categories": ["cs.CV"], "abstract": "Glacier flow transformers track ice motion in satellite images "
                                              "and forecast glacier retreat a season ahead."},
    ]))
    settings = Settings(data_dir=folder / "rag-data", backend="extractive")
    rag.ingest([papers], settings=settings, say=lambda *a: None)
    return rag.Assistant(settings)


def test_answer_dicts_use_only_the_keys_their_typed_dicts_name(assistant):
    for question, filters in (("What do glacier flow transformers forecast?", None),
                              ("Which papers did Ana Ruiz write?", {"year_from": 2020})):
        answer = assistant.ask(question, filters=filters)
        assert answer.timings and set(answer.timings) <= set(rag.Timings.__annotations__)
        assert set(answer.filters_applied) <= set(rag.FiltersApplied.__annotations__)
        assert set(answer.usage) <= set(rag.Usage.__annotations__)
    assert "matched_papers" in answer.filters_applied and answer.filters_applied["year_from"] == 2020


def test_stream_event_kinds_are_the_literal_kinds(assistant):
    from rag.types import StreamKind

    kinds = [event.kind for event in assistant.stream("What do glacier flow transformers forecast?")]
    assert kinds[-1] == "answer" and set(kinds) <= set(get_args(StreamKind))
