"""`rag eval` end to end on a real store (Chroma on a temp dir, real MiniLM, real llama-index), plus
the dataset checks and the regression gate that CI enforces (eval/floors.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fake_openai import FakeOpenAI
from rag.cli import main
from rag.errors import InputError
from rag.eval.datasets import load_beir, load_questions, resolve_gold
from rag.eval.runner import check_gate, run_eval
from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "eval" / "datasets" / "seeds.jsonl"
FLOORS = ROOT / "eval" / "floors.json"
GRIFFIN = "Griffin: Mixing Gated Linear Recurrences with Local Attention for Efficient Language Models"


@pytest.fixture(scope="module")
def store(tmp_path_factory, sample_store) -> Path:
    folder = sample_store(tmp_path_factory.mktemp("eval-store"))
    return folder


@pytest.fixture(scope="module")
def seed_run(store, tmp_path_factory) -> Path:
    """The whole seed set, extractive answers, all four retrieval systems: what CI gates on."""
    out = tmp_path_factory.mktemp("runs") / "seeds"
    return run_eval(SEEDS, settings=Settings(data_dir=store, backend="extractive"), out=out, progress=False,
                    say=lambda *a: None)


def _write(path: Path, lines: list) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


Q = {"id": "q1", "question": "Which paper proposes Griffin?", "type": "single", "gold": [GRIFFIN]}


@pytest.mark.parametrize("lines, fragment", [
    (["{not json"], ":1: not valid JSON"),
    ([{**Q, "gold": []}], ":1: gold is empty; list the gold papers, or set type to unanswerable"),
    ([{**Q, "type": "unanswerable"}], ":1: type is unanswerable but gold lists papers"),
    ([Q, Q], ":2: id 'q1' is already used on line 1"),
    ([{k: v for k, v in Q.items() if k != "gold"}], ":1: missing gold"),
    ([{**Q, "gold": GRIFFIN}], "gold must be a list"),
    ([""], "no questions"),
])
def test_question_file_errors_name_the_line_and_the_fix(tmp_path, lines, fragment):
    path = _write(tmp_path / "qs.jsonl", lines)
    with pytest.raises(InputError) as err:
        load_questions(path)
    assert str(path) in str(err.value) and fragment in str(err.value)


def test_gold_titles_resolve_through_the_store_and_unknown_titles_are_errors(store, tmp_path):
    from rag.retrieval import load_catalog

    papers = load_catalog(Settings(data_dir=store)).papers
    griffin = next(pid for pid, p in papers.items() if p.title == GRIFFIN)
    ok = load_questions(_write(tmp_path / "ok.jsonl", [
        {**Q, "gold": [GRIFFIN.upper()]}, {**Q, "id": "q2", "gold": [griffin]},
        {"id": "q3", "question": "Who won the 1998 World Cup?", "type": "unanswerable", "gold": []}]))
    assert resolve_gold(ok, papers) == {"q1": [griffin], "q2": [griffin], "q3": []}
    bad = load_questions(_write(tmp_path / "bad.jsonl", [{**Q, "gold": ["Griffin: Mixing Gated Recurrences"]}]))
    with pytest.raises(InputError, match=r"1 gold paper\(s\) are not in the store .*line 1 \(q1\)"):
        resolve_gold(bad, papers)


def _beir(folder: Path, *, splits=("train",)) -> Path:
    folder.mkdir()
    _write(folder / "corpus.jsonl", [
        {"_id": "d1", "title": "Gated recurrences", "text": "Griffin mixes gated linear recurrences with local attention."},
        {"_id": "d2", "title": "Protein folding", "text": "AlphaFold predicts protein structures from sequences."},
        {"_id": "d3", "title": "Protein folding", "text": "AlphaFold predicts protein structures from sequences."},
        {"_id": "d4", "title": "Coral reefs", "text": "Ocean warming bleaches coral reefs across the Pacific."},
        {"_id": "d5", "title": "", "text": ""}])
    _write(folder / "queries.jsonl", [{"_id": "1", "text": "linear recurrence language model with local attention"},
                                      {"_id": "2", "text": "predicting the 3D structure of proteins"},
                                      {"_id": "3", "text": "coral bleaching from warmer oceans"}])
    (folder / "qrels").mkdir()
    for split in splits:
        (folder / "qrels" / f"{split}.tsv").write_text(
            "query-id\tcorpus-id\tscore\n1\td1\t1\n2\td3\t1\n3\td4\t1\n3\td5\t1\n", encoding="utf-8")
    return folder


def test_beir_folder_errors(tmp_path):
    with pytest.raises(InputError, match="no corpus.jsonl"):
        load_beir(tmp_path)
    two = _beir(tmp_path / "two", splits=("train", "dev"))
    with pytest.raises(InputError, match=r"several splits \(dev, train\); choose one with --split"):
        load_beir(two)
    assert load_beir(two, split="dev").split == "dev"
    with pytest.raises(InputError, match="no qrels/test.tsv"):
        load_beir(two, split="test")


def test_beir_run_indexes_its_own_collection_and_scores_like_beir(tmp_path, data_dir):
    folder = _beir(tmp_path / "tiny")
    out = run_eval(folder, settings=Settings(data_dir=data_dir), out=tmp_path / "run", systems=["hybrid", "bm25"],
                   progress=False, say=lambda *a: None)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["kind"] == "beir" and summary["run"]["backend"] is None and summary["answer"] is None
    assert summary["run"]["papers"] == 3  # d2 and d3 share a title (merged); d5 is empty
    rows = {r["id"]: r for r in map(json.loads, (out / "questions.jsonl").read_text().splitlines())}
    # query 2's relevant d3 is the merged paper that also stands for d2: found at rank 1
    assert rows["2"]["retrieval"]["hybrid"]["metrics"]["recall@1"] == 1.0
    # query 3's d5 is in no paper: it stays a gold id nothing can retrieve, so recall is 1/2, not 1
    assert rows["3"]["gold"][-1] == "corpus:d5" and rows["3"]["retrieval"]["bm25"]["metrics"]["recall@100"] == 0.5
    assert summary["retrieval"]["hybrid"]["all"]["recall@100"] == pytest.approx((1 + 1 + 0.5) / 3, abs=1e-4)
    # the user's own store is untouched: the BEIR corpus lives in its own folder and collection
    assert not (data_dir / "chroma").exists() and any((data_dir / "eval").glob("beir-tiny-*"))


def test_seed_run_meets_the_floors_in_eval_floors_json(seed_run):
    """The regression gate: CI fails when a metric falls below the floor recorded in the repo."""
    summary = json.loads((seed_run / "summary.json").read_text())
    floors = json.loads(FLOORS.read_text())
    assert summary["n_questions"] == 90 and summary["types"]["unanswerable"] == 14
    assert set(summary["retrieval"]) == {"hybrid", "bm25", "dense", "llamaindex"}
    assert check_gate(summary, floors) == []
    ndcg = {name: r["all"]["ndcg@10"] for name, r in summary["retrieval"].items()}
    assert ndcg["hybrid"] >= max(ndcg["bm25"], ndcg["dense"], ndcg["llamaindex"]), ndcg
    assert summary["answer"]["all"]["invalid_shown"] == 0.0
    for name in ("report.md", "report.html", "plots/recall_at_k.svg", "plots/latency.svg"):
        assert (seed_run / name).stat().st_size > 0


def test_seed_rows_hold_the_question_the_papers_the_answer_and_every_metric(seed_run):
    rows = [json.loads(line) for line in (seed_run / "questions.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [json.loads(x)["id"] for x in SEEDS.read_text().splitlines()]
    griffin = next(r for r in rows if r["gold_titles"] == [GRIFFIN] and r["type"] == "single")
    top = griffin["retrieval"]["hybrid"]["top"]
    assert top[0]["title"] == GRIFFIN and top[0]["score"] >= top[1]["score"]
    assert griffin["answer"]["citations"] and not griffin["answer"]["abstained"]
    assert set(griffin["metrics"]) >= {"cited_paper_precision", "citation_recall", "must_mention", "invalid_shown"}
    unanswerable = [r for r in rows if r["type"] == "unanswerable"]
    assert all(r["metrics"]["cited_paper_precision"] is None and r["gold"] == [] for r in unanswerable)


def test_gate_fails_below_a_floor_and_on_a_metric_not_measured():
    summary = {"retrieval": {"hybrid": {"all": {"recall@10": 0.8}}}, "answer": None}
    assert check_gate(summary, {"min": {"retrieval.hybrid.all.recall@10": 0.8}}) == []
    assert check_gate(summary, {"min": {"retrieval.hybrid.all.recall@10": 0.9}}) == [
        "retrieval.hybrid.all.recall@10 = 0.8000, below the floor 0.9"]
    assert check_gate(summary, {"max": {"answer.all.invalid_shown": 0}}) == [
        "answer.all.invalid_shown: not measured in this run"]


def test_a_run_resumes_without_redoing_finished_questions(store, tmp_path):
    settings = Settings(data_dir=store, backend="extractive")
    out = tmp_path / "run"
    kw = dict(settings=settings, out=out, systems=["hybrid"], progress=False, say=lambda *a: None)
    run_eval(SEEDS, limit=4, **kw)
    first = (out / "questions.jsonl").read_text().splitlines()
    with pytest.raises(InputError, match="already holds a run; add --resume"):
        run_eval(SEEDS, limit=4, **kw)
    (out / "questions.jsonl").write_text("\n".join(first[:3]) + "\n" + first[3][:40])  # killed mid-write
    run_eval(SEEDS, limit=6, resume=True, **kw)
    again = (out / "questions.jsonl").read_text().splitlines()
    assert again[:3] == first[:3] and len(again) == 6
    assert json.loads((out / "summary.json").read_text())["n_questions"] == 6
    with pytest.raises(InputError, match="another backend"):
        run_eval(SEEDS, limit=6, resume=True, **{**kw, "settings": Settings(data_dir=store, backend="openai")})


def test_invented_keys_are_counted_but_never_reach_the_user(store, tmp_path):
    qs = _write(tmp_path / "one.jsonl", [{**Q, "question": "Which paper mixes gated linear recurrences with local "
                                                            "attention?", "must_mention": ["Griffin"]}])
    with FakeOpenAI() as fake:
        fake.enqueue("ready")  # the warm-up request before the first question
        fake.enqueue("Griffin mixes gated linear recurrences with local attention [1][42].")
        settings = Settings(data_dir=store, backend="openai", llm_base_url=fake.base_url, llm_model="fake-model")
        out = run_eval(qs, settings=settings, out=tmp_path / "run", systems=["hybrid"], progress=False,
                       say=lambda *a: None)
    row = json.loads((out / "questions.jsonl").read_text())
    assert row["answer"]["invalid_citations"] == ["42"], row["answer"]
    assert row["metrics"]["invalid_citation_rate"] == 0.5 and row["metrics"]["invalid_shown"] == 0.0
    assert row["metrics"]["cited_paper_precision"] == 1.0 and row["metrics"]["must_mention"] == 1.0
    assert row["metrics"]["citation_recall"] == 1.0


def test_cli_reports_a_bad_dataset_in_one_line(tmp_path):
    bad = _write(tmp_path / "bad.jsonl", ["{oops"])
    result = CliRunner().invoke(main, ["eval", str(bad)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{bad}:1: not valid JSON" in result.output
    result = CliRunner().invoke(main, ["eval"])
    assert result.exit_code == 1 and "give a DATASET" in result.output


def test_similarity_judge_passes_what_the_source_says_and_fails_invented_details():
    from rag.embeddings import get_embedder
    from rag.eval.judge import SimilarityJudge

    judge = SimilarityJudge(get_embedder().embed, threshold=0.45)
    premise = ("Griffin: Mixing Gated Linear Recurrences (Soham De, 2024)\nWe propose Griffin, a hybrid model that "
               "mixes gated linear recurrences with local attention. It matches Llama-2 while trained on fewer tokens.")
    assert judge(premise, "Griffin mixes gated linear recurrences with local attention.")
    assert not judge(premise, "Griffin mixes gated linear recurrences with local attention and 7 experts.")
    assert not judge(premise, "Coral reefs bleach when the ocean warms.")
    assert "not an NLI model" in judge.description


def test_llm_judge_asks_the_model_with_the_prompt_file_and_reads_yes_or_no():
    from rag.errors import ConfigError
    from rag.eval.judge import make_judge
    from rag.llm import make_chat_model

    with pytest.raises(ConfigError, match="--judge llm needs a model"):
        make_judge("llm", embed=None, threshold=0.5, chat_model=None)
    with FakeOpenAI() as fake:
        model = make_chat_model(Settings(backend="openai", llm_base_url=fake.base_url, llm_model="fake-model"))
        judge = make_judge("llm", embed=None, threshold=0.5, chat_model=model)
        fake.enqueue("Yes.")
        fake.enqueue("no")
        assert judge("Griffin mixes recurrences with attention.", "Griffin uses attention.") is True
        assert judge("Griffin mixes recurrences with attention.", "Griffin uses 7 experts.") is False
        prompt = fake.requests[0]["messages"][-1]["content"]
    assert "Griffin mixes recurrences with attention." in prompt and "Sentence: Griffin uses attention." in prompt
    assert judge.description.startswith("llm: fake-model")
