"""`rag eval`: run a dataset through the retrieval systems and (unless retrieval-only) the answer chain.

    run_dir = run_eval(Path("eval/datasets/seeds.jsonl"), settings=load_settings(backend="extractive"))

One run = one folder (`--out`, default `eval-runs/<dataset>-<backend>`):

    run.json          what was run: dataset and its sha256, backend, model, judge, systems, settings
    questions.jsonl   one line per finished question (retrieved papers with scores, the answer, its
                      citations, every metric, latencies), appended as each question finishes
    summary.json      means per system / question type, the recall@k curve, latency percentiles
    report.md, report.html, plots/*.svg   (written by `rag.eval.report`)

A run is resumable: `--resume` reads questions.jsonl and skips the questions already there, after
checking that dataset, backend, judge and systems are the ones the run started with. Every metric
is a function of `rag.eval.metrics`; this module only collects inputs and averages.
"""

from __future__ import annotations

import functools
import json
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

from rag.errors import InputError
from rag.eval import metrics as M
from rag.eval.datasets import BeirDataset, load_dataset, resolve_gold
from rag.eval.formatting import RETRIEVAL_METRICS, fmt
from rag.eval.systems import SYSTEMS

CURVE_KS = (1, 2, 3, 5, 10, 20, 50, 100)
ANSWER_METRICS = ("cited_paper_precision", "cited_paper_recall", "citation_recall", "citation_precision",
                  "citation_f1", "faithfulness", "must_mention", "invalid_citation_rate", "invalid_shown",
                  "answer_bearing_context", "abstention_accuracy", "false_abstention_rate", "abstained")
CHECKED = ("dataset_sha256", "kind", "split", "backend", "retrieval_only", "systems", "judge_kind")
TOP_SAVED = 10


def retrieval_metrics(ranked: list[str], gold: list[str]) -> dict[str, float | None]:
    out: dict[str, float | None] = {f"recall@{k}": M.recall_at_k(ranked, gold, k) for k in (1, 5, 10, 100)}
    out["mrr@10"] = M.mrr_at_k(ranked, gold, 10)
    out["ndcg@10"] = M.ndcg_at_k(ranked, gold, 10)
    return out


def source_texts(answer) -> dict[int, str]:
    """{key: what the model was given under it} for every key the answer cites: the premise the judge
    grades, taken as is from `Answer.context`, where the chain recorded each source as its writer read
    it (`rag.answer.format_source`: title, byline, defanged passage; the byline capped as a model reads
    it, complete when code wrote the answer); nothing is rebuilt here."""
    missing = [c.key for c in answer.citations if c.key not in answer.context]
    if missing:
        raise ValueError(f"the answer cites {missing} but recorded no source text for them (Answer.context); "
                         "grade answers made by the answer chain, which records what it showed")
    return {c.key: answer.context[c.key] for c in answer.citations}


def answer_metrics(answer, gold: list[str], must_mention: list[str], judge) -> dict:
    """Every per-question answer metric of `answer` (an `rag.types.Answer`) against the gold papers."""
    passages = source_texts(answer)
    cited = [c.paper_id for c in answer.citations]
    invalid_final, total_final = M.citation_counts(answer.text, passages)
    n_invalid = len(answer.invalid_citations)
    judge = functools.lru_cache(maxsize=None)(judge)  # faithfulness asks what citation recall asked: once
    alce = M.citation_scores(answer.text, passages, judge)
    answerable = bool(gold)
    return {
        "cited_paper_precision": M.cited_paper_precision(cited, gold) if answerable else None,
        "cited_paper_recall": M.cited_paper_recall(cited, gold) if answerable else None,
        "citation_recall": alce["citation_recall"],
        "citation_precision": alce["citation_precision"],
        "citation_f1": alce["citation_f1"],
        "faithfulness": M.faithfulness(answer.text, passages, judge),
        "must_mention": M.must_mention_accuracy(answer.text, must_mention) if answerable else None,
        "invalid_citation_rate": M.invalid_citation_rate(n_invalid, n_invalid + total_final - invalid_final),
        "invalid_shown": M.invalid_citation_rate(invalid_final, total_final),
        "answer_bearing_context": (M.answer_bearing("\n\n".join(answer.context.values()), must_mention)
                                   if answerable else None),
        "abstained": bool(answer.abstained),
        "abstain_reason": answer.abstain_reason,
        "n_citations": len(cited),
    }


def _mean(rows: list[dict], key: str) -> float | None:
    value = M.mean_ignoring_none(r.get(key) for r in rows)
    return None if value is None else round(value, 4)


def _answer_summary(rows: list[dict]) -> dict:
    metrics = [r["metrics"] for r in rows]
    out = {k: _mean(metrics, k) for k in ANSWER_METRICS if k not in ("abstention_accuracy", "false_abstention_rate",
                                                                      "abstained")}
    cases = [M.AbstentionCase(bool(r["gold"]), bool(r["metrics"]["abstained"]), r["metrics"].get("n_citations", 0))
             for r in rows]
    acc, far = M.abstention_accuracy(cases), M.false_abstention_rate(cases)
    out["abstention_accuracy"] = None if acc is None else round(acc, 4)
    out["false_abstention_rate"] = None if far is None else round(far, 4)
    out["abstained"] = round(sum(c.abstained for c in cases) / len(cases), 4) if cases else None
    reasons = [r["metrics"].get("abstain_reason") or "unknown" for r in rows if r["metrics"].get("abstained")]
    out["abstain_reasons"] = {k: reasons.count(k) for k in sorted(set(reasons))}
    return out


def summarize(run: dict, rows: list[dict]) -> dict:
    """summary.json from run.json and the per-question rows (see the module docstring)."""
    types: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        types[r["type"]].append(r)
    retrieval: dict = {}
    curve: dict = {}
    for system in run["systems"]:
        per = [r["retrieval"][system]["metrics"] for r in rows]
        retrieval[system] = {"all": {m: _mean(per, m) for m in RETRIEVAL_METRICS},
                             "by_type": {t: {m: _mean([r["retrieval"][system]["metrics"] for r in rs], m)
                                             for m in RETRIEVAL_METRICS} for t, rs in types.items()}}
        curve[system] = {str(k): _mean([r["retrieval"][system]["curve"] for r in rows], str(k)) for k in CURVE_KS}
    answer = None
    if not run["retrieval_only"]:
        answer = {"all": _answer_summary(rows), "by_type": {t: _answer_summary(rs) for t, rs in types.items()}}
    stages: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        for stage, ms in r["latency_ms"].items():
            if ms is not None:
                stages[stage].append(ms)
    latency = {s: {"n": len(v), "p50": round(M.percentile(v, 50), 1), "p95": round(M.percentile(v, 95), 1),
                   "mean": round(sum(v) / len(v), 1), "max": round(max(v), 1)} for s, v in stages.items()}
    return {"schema": 1, "run": run, "n_questions": len(rows), "types": {t: len(rs) for t, rs in types.items()},
            "retrieval": retrieval, "recall_curve": curve, "answer": answer, "latency_ms": latency}


def _read_rows(path: Path) -> list[dict]:
    """Finished questions; a last line cut short by an interruption is dropped (and rewritten away)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    rows, good = [], []
    for raw in lines:
        try:
            rows.append(json.loads(raw))
            good.append(raw)
        except json.JSONDecodeError:
            break
    if len(good) != len(lines):
        path.write_text("".join(line + "\n" for line in good), encoding="utf-8")
    return rows


def default_out(dataset_name: str, backend: str | None) -> Path:
    return Path("eval-runs") / f"{dataset_name}-{backend or 'retrieval'}"


def _prepare_dir(out: Path, run: dict, resume: bool) -> list[dict]:
    run_file, rows_file = out / "run.json", out / "questions.jsonl"
    if resume:
        if not run_file.exists():
            raise InputError(out, f"no run to resume (no run.json); drop --resume to start one")
        before = json.loads(run_file.read_text(encoding="utf-8"))
        changed = [k for k in CHECKED if before.get(k) != run.get(k)]
        if changed:
            raise InputError(out, f"the run there was made with another {', '.join(changed)} "
                             f"({', '.join(f'{k}={before.get(k)!r}' for k in changed)}); "
                             "start a new run with --out NEW_DIR, or resume with the same options")
        run["started"] = before.get("started", run["started"])
        return _read_rows(rows_file)
    if rows_file.exists() and rows_file.stat().st_size:
        raise InputError(out, f"already holds a run; add --resume to continue it, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    rows_file.write_text("", encoding="utf-8")
    return []


def _run_record(dataset, settings, *, systems, retrieval_only: bool, limit, judge: str) -> dict:
    """run.json as a run starts (model, judge, papers and finished are filled in later)."""
    backend = None if retrieval_only else settings.backend
    return {"dataset": str(dataset.path), "dataset_name": dataset.name, "dataset_sha256": dataset.sha256,
            "kind": dataset.kind, "split": getattr(dataset, "split", None), "backend": backend, "model": None,
            "retrieval_only": retrieval_only, "limit": limit, "judge_kind": None if retrieval_only else judge,
            "judge": None, "systems": list(systems), "main_system": "hybrid" if "hybrid" in systems else systems[0],
            "embed_model": settings.embed_model, "ranking_depth": 100, "papers": None,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "finished": None,
            "rag_version": _version(), "settings": settings.model_dump(mode="json", exclude={"llm_api_key"})}


def _store_titles(settings) -> dict[str, str | None]:
    """{paper id: title} of the store, read from the state database alone (no index, no model)."""
    from rag.state import State

    state = State(settings.state_path)
    try:
        rows = state.db.execute("SELECT id, json_extract(record, '$.title') FROM papers").fetchall()
    finally:
        state.close()
    return dict(rows)


def _check_store(dataset, settings) -> dict[str, list[str]]:
    """Gold paper ids per question, checked against the store before anything costly is built:
    an empty store or a gold title the store lacks is an error now, not after the baselines."""
    from rag.api import paper_count
    from rag.errors import IndexEmpty

    if paper_count(settings) == 0:
        raise IndexEmpty(f"no papers indexed in {settings.data_dir}; the questions of {dataset.path.name} are "
                         "about papers in the store: run rag ingest PATH first (rag ingest for the sample corpus)")
    return resolve_gold(dataset, _store_titles(settings))


def _beir_gold(questions, doc_ids: dict[str, set[str]]) -> dict[str, list[str]]:
    by_doc: dict[str, list[str]] = defaultdict(list)
    for pid, docs in doc_ids.items():
        for d in docs:
            by_doc[d].append(pid)
    # a judged document that is in no paper (empty in the corpus) stays a gold id nothing can retrieve
    return {q.id: list(dict.fromkeys(p for d in q.gold for p in (by_doc.get(d) or [f"corpus:{d}"])))
            for q in questions}


def _answerer(settings, model, cached, judge: str, run: dict, say):
    """The assistant and the judge of an answering run (run.json's model and judge filled in)."""
    from rag.api import Assistant
    from rag.eval.judge import make_judge

    assistant = Assistant(settings, embedder=model)
    judge_fn = make_judge(judge, embed=cached.embed, threshold=settings.support_threshold,
                          chat_model=assistant.chat_model)
    run["judge"] = judge_fn.description
    run["model"] = assistant.chain.model_name
    if assistant.chat_model is not None:
        say(f"loading {assistant.chain.model_name} ...")
        assistant.warm_up()
    return assistant, judge_fn


def run_eval(dataset_path: Path, *, settings, out: Path | None = None, retrieval_only: bool = False,
             limit: int | None = None, resume: bool = False, systems=SYSTEMS, judge: str = "similarity",
             split: str | None = None, progress: bool = True, say=print) -> Path:
    """Run (or resume) an evaluation; returns the run folder with summary.json and the reports."""
    from rag.embeddings import CachedEmbedder, EmbeddingCache, embedder_for
    from rag.eval.systems import Systems, index_beir

    dataset = load_dataset(Path(dataset_path), split=split)
    beir = isinstance(dataset, BeirDataset)
    if beir and not retrieval_only:
        say("BEIR datasets have no answers to grade: running retrieval only")
        retrieval_only = True
    if limit is not None and limit < 1:
        from rag.errors import ConfigError

        raise ConfigError(f"--limit must be at least 1, got {limit}")
    questions = dataset.questions[:limit] if limit else dataset.questions
    run = _run_record(dataset, settings, systems=systems, retrieval_only=retrieval_only, limit=limit, judge=judge)
    out = Path(out) if out else default_out(dataset.name, run["backend"])
    gold_ids = None if beir else _check_store(dataset, settings)
    rows = _prepare_dir(out, run, resume)

    store_settings = settings
    if beir:
        store_settings, doc_ids = index_beir(dataset, settings, progress=progress, say=say)
        gold_ids = _beir_gold(questions, doc_ids)
    model = embedder_for(settings)
    cached = CachedEmbedder(model, EmbeddingCache(store_settings.cache_dir / "embeddings.sqlite"))
    if "llamaindex" in systems:
        say("building llama-index's default VectorStoreIndex over the same papers (the baseline)")
    ranker = Systems(store_settings, systems, model=model, cached=cached, progress=progress)
    run["papers"] = len(ranker.papers)
    assistant = judge_fn = None
    if not retrieval_only:
        assistant, judge_fn = _answerer(settings, model, cached, judge, run, say)
    (out / "run.json").write_text(json.dumps(run, indent=2), encoding="utf-8")
    _ask_all(questions, rows, out, gold_ids, ranker, assistant, judge_fn, progress)
    wanted = {q.id for q in questions}
    rows = [r for r in rows if r["id"] in wanted]
    run["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    (out / "run.json").write_text(json.dumps(run, indent=2), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summarize(run, rows), indent=2), encoding="utf-8")
    from rag.eval.report import write_reports

    write_reports(out)
    return out


def _ask_all(questions, rows: list[dict], out: Path, gold_ids, ranker, assistant, judge_fn, progress: bool) -> None:
    """Evaluate the questions not in `rows` yet, appending each to questions.jsonl as it finishes."""
    from tqdm import tqdm

    done = {r["id"] for r in rows}
    todo = [q for q in questions if q.id not in done]
    with (out / "questions.jsonl").open("a", encoding="utf-8") as sink, \
            tqdm(total=len(questions), initial=len(questions) - len(todo), desc="eval", unit="q",
                 disable=not progress or None) as bar:
        for q in todo:
            row = evaluate_question(q, gold_ids[q.id], ranker, assistant, judge_fn)
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
            sink.flush()
            rows.append(row)
            bar.update(1)


def evaluate_question(q, gold: list[str], ranker, assistant, judge) -> dict:
    """One line of questions.jsonl."""
    papers = ranker.papers
    row: dict = {"id": q.id, "question": q.question, "type": q.type, "gold": gold,
                 "gold_titles": [(papers[g].title or g) if g in papers else g for g in gold],
                 "retrieval": {}, "answer": None, "metrics": {}, "latency_ms": {}}
    for system, (ranked, ms) in ranker.rank(q.question).items():
        ids = [pid for pid, _ in ranked]
        row["retrieval"][system] = {
            "top": [{"paper_id": pid, "title": papers[pid].title if pid in papers else None, "score": round(s, 5)}
                    for pid, s in ranked[:TOP_SAVED]],
            "curve": {str(k): M.recall_at_k(ids, gold, k) for k in CURVE_KS},
            "metrics": retrieval_metrics(ids, gold), "ms": ms}
        row["latency_ms"][f"retrieval:{system}"] = ms
    if assistant is not None:
        started = time.perf_counter()
        answer = assistant.ask(q.question)
        wall = (time.perf_counter() - started) * 1000
        row["answer"] = {"text": answer.text, "abstained": answer.abstained,
                         "abstain_reason": answer.abstain_reason, "withheld": answer.withheld,
                         "quoted": answer.quoted, "added_citations": answer.added_citations,
                         "replaced_draft": answer.replaced_draft,
                         "context": answer.context,
                         "citations": [{"key": c.key, "paper_id": c.paper_id, "title": c.title}
                                       for c in answer.citations],
                         "invalid_citations": answer.invalid_citations,
                         "unsupported_sentences": answer.unsupported_sentences,
                         "timings": answer.timings, "usage": answer.usage, "model": answer.model}
        row["metrics"] = answer_metrics(answer, gold, q.must_mention, judge)
        row["latency_ms"]["first_token"] = answer.timings.get("first_token_ms")
        row["latency_ms"]["answer"] = round(wall, 1)
    return row


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("paper-rag")
    except PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------- the regression gate

def _lookup(summary: dict, dotted: str):
    """'retrieval.hybrid.all.recall@10' -> the value in summary.json (KeyError when absent)."""
    node = summary
    for part in dotted.split("."):
        node = node[part]
    return node


def check_gate(summary: dict, floors: dict) -> list[str]:
    """Failures of `summary` against a floors file: {"min": {path: floor}, "max": {path: ceiling}}.
    A metric the summary lacks (or that is null) fails: a gate must not pass by measuring nothing."""
    failures = []
    for bound, cmp, word in (("min", lambda v, b: v >= b, "below the floor"),
                             ("max", lambda v, b: v <= b, "above the ceiling")):
        for path, limit in floors.get(bound, {}).items():
            try:
                value = _lookup(summary, path)
            except (KeyError, TypeError):
                value = None
            if value is None:
                failures.append(f"{path}: not measured in this run")
            elif not cmp(value, limit):
                failures.append(f"{path} = {value:.4f}, {word} {limit}")
    return failures


def format_summary(summary: dict) -> str:
    """A few lines for the terminal: retrieval per system, the answer metrics, latency."""
    run = summary["run"]
    lines = [f"{summary['n_questions']} questions from {run['dataset_name']} "
             f"({', '.join(f'{k} {v}' for k, v in summary['types'].items())}); {run['papers']} papers in the store"]
    lines.append(f"{'system':12}" + "".join(f"{m:>11}" for m in RETRIEVAL_METRICS))
    for system, r in summary["retrieval"].items():
        lines.append(f"{system:12}" + "".join(f"{fmt(r['all'][m]):>11}" for m in RETRIEVAL_METRICS))
    if summary["answer"]:
        a = summary["answer"]["all"]
        lines.append(f"answers ({run['model']}): " + ", ".join(f"{k} {fmt(a[k])}" for k in (
            "cited_paper_precision", "cited_paper_recall", "citation_recall", "citation_precision", "must_mention",
            "answer_bearing_context", "abstention_accuracy", "false_abstention_rate", "invalid_shown")))
        lines.append("abstained: " + (", ".join(f"{k} {v}" for k, v in a.get("abstain_reasons", {}).items()) or "none")
                     + " (by type: " + "; ".join(f"{t} " + (", ".join(f"{k} {v}" for k, v in d.get(
                         "abstain_reasons", {}).items()) or "none") for t, d in summary["answer"]["by_type"].items())
                     + ")")
        lines.append(f"judge: {run['judge']}")
    lat = summary["latency_ms"]
    lines.append("latency ms (p50/p95): " + ", ".join(f"{s} {v['p50']:g}/{v['p95']:g}" for s, v in lat.items()))
    return "\n".join(lines)
