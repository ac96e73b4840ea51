"""Evaluation datasets: question files (JSONL) and BEIR retrieval datasets, read and checked.

    ds = load_dataset(Path("eval/datasets/seeds.jsonl"))       # a QADataset
    ds = load_dataset(Path("../shared/data/scifact"))          # a BeirDataset (a folder)

A question file holds one JSON object per line (format: `eval/datasets/README.md`): `id`,
`question`, `type`, `gold` (paper ids or exact titles; empty for unanswerable), optional
`must_mention` and `reference_answer`. Gold titles resolve to paper ids through the store
(`resolve_gold`); a title the store does not hold is an error naming the line, never a silent
zero. A BEIR folder holds `corpus.jsonl`, `queries.jsonl` (or `queries_<split>.jsonl`) and
`qrels/<split>.tsv`. Every problem is an `InputError` that names the file, the line and the fix.
This module reads; it does not index or score.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import InputError
from rag.ingest import file_sha256

UNANSWERABLE = "unanswerable"


@dataclass
class Question:
    id: str
    question: str
    type: str
    gold: list[str]  # as written in the file: ids or titles (QA); corpus ids (BEIR)
    must_mention: list[str] = field(default_factory=list)
    reference_answer: str | None = None
    line: int = 0

    @property
    def answerable(self) -> bool:
        return bool(self.gold)


@dataclass
class QADataset:
    path: Path
    name: str
    sha256: str
    questions: list[Question]
    kind: str = "qa"


@dataclass
class BeirDataset:
    path: Path
    name: str
    sha256: str  # of corpus, queries and qrels together
    split: str
    corpus: Path
    questions: list[Question]
    kind: str = "beir"


def load_dataset(path: Path, *, split: str | None = None) -> QADataset | BeirDataset:
    """A question file, or a BEIR folder (a directory with corpus.jsonl)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file or folder; give a question file (JSONL, see "
                         "eval/datasets/README.md) or a BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
    if path.is_dir():
        return load_beir(path, split=split)
    return load_questions(path)


def load_questions(path: Path) -> QADataset:
    """Read and check a JSONL question file (see the module docstring)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text; save the question file as UTF-8 JSONL") from None
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(path, line=n, reason=f"not valid JSON ({exc.msg}); write one JSON object per line") from None
        if not isinstance(row, dict):
            raise InputError(path, line=n, reason="expected a JSON object with id, question, type and gold")
        missing = [k for k in ("id", "question", "type", "gold") if k not in row]
        if missing:
            raise InputError(path, line=n, reason=f"missing {', '.join(missing)}; every line needs id, question, type and gold "
                             "(gold: [] for an unanswerable question)")
        qid, question, qtype, gold = str(row["id"]).strip(), row["question"], row["type"], row["gold"]
        if not qid:
            raise InputError(path, line=n, reason="empty id; give every question a unique id")
        if qid in seen:
            raise InputError(path, line=n, reason=f"id {qid!r} is already used on line {seen[qid]}; ids must be unique")
        seen[qid] = n
        if not isinstance(question, str) or not question.strip():
            raise InputError(path, line=n, reason="question must be a non-empty string")
        if not isinstance(qtype, str) or not qtype.strip():
            raise InputError(path, line=n, reason="type must be a string (single, multi, metadata, unanswerable, or your own)")
        if not isinstance(gold, list) or not all(isinstance(g, str) and g.strip() for g in gold):
            raise InputError(path, line=n, reason="gold must be a list of paper ids or exact titles ([] when unanswerable)")
        if qtype == UNANSWERABLE and gold:
            raise InputError(path, line=n, reason="type is unanswerable but gold lists papers; empty gold or change the type")
        if qtype != UNANSWERABLE and not gold:
            raise InputError(path, line=n, reason="gold is empty; list the gold papers, or set type to unanswerable")
        mm = row.get("must_mention") or []
        if not isinstance(mm, list) or not all(isinstance(p, str) for p in mm):
            raise InputError(path, line=n, reason="must_mention must be a list of phrases")
        questions.append(Question(id=qid, question=question.strip(), type=qtype.strip(), gold=list(gold),
                                  must_mention=list(mm), reference_answer=row.get("reference_answer"), line=n))
    if not questions:
        raise InputError(path, "no questions; write one JSON object per line (see eval/datasets/README.md)")
    return QADataset(path=path.resolve(), name=path.stem, sha256=file_sha256(path), questions=questions)


def _title_key(title: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", title).casefold().split())


def resolve_gold(dataset: QADataset, papers: dict) -> dict[str, list[str]]:
    """Question id -> gold paper ids, each gold entry matched as a paper id or as an exact title
    (case and spacing aside) of a paper in the store. `papers` maps paper ids to records or to
    titles alone. Raises InputError listing every entry that matches no paper, so a typo is an
    error, not a silent zero."""
    by_title: dict[str, list[str]] = {}
    for pid, p in papers.items():
        title = p if isinstance(p, str) or p is None else p.title
        if title:
            by_title.setdefault(_title_key(title), []).append(pid)
    out: dict[str, list[str]] = {}
    unknown: list[str] = []
    for q in dataset.questions:
        ids: list[str] = []
        for g in q.gold:
            found = [g] if g in papers else by_title.get(_title_key(g), [])
            if not found:
                unknown.append(f"line {q.line} ({q.id}): {g!r}")
            ids.extend(found)
        out[q.id] = list(dict.fromkeys(ids))
    if unknown:
        shown = "; ".join(unknown[:5]) + (f"; and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise InputError(dataset.path, f"{len(unknown)} gold paper(s) are not in the store ({len(papers)} papers): "
                         f"{shown}. Use the exact title as `rag parse` prints it or the paper id, "
                         "or ingest the papers first (rag ingest PATH)")
    return out


# ---------------------------------------------------------------- BEIR

def _read_jsonl(path: Path, what: str) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise InputError(path, line=n, reason=f"not valid JSON ({exc.msg}); BEIR {what} files hold one object per line")
            if not isinstance(row, dict) or "_id" not in row:
                raise InputError(path, line=n, reason=f"a BEIR {what} line needs an `_id`")
            rows.append(row)
    return rows


def load_beir(folder: Path, *, split: str | None = None) -> BeirDataset:
    """A BEIR folder: corpus.jsonl, queries.jsonl (or queries_<split>.jsonl), qrels/<split>.tsv.
    `split` defaults to "test" when present, else the only split there is."""
    corpus = folder / "corpus.jsonl"
    if not corpus.is_file():
        raise InputError(folder, "no corpus.jsonl; a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv")
    splits = sorted(p.stem for p in (folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
    if not splits:
        raise InputError(folder, "no qrels/<split>.tsv; add the relevance judgements (query-id, corpus-id, score)")
    if split is None:
        split = "test" if "test" in splits else splits[0] if len(splits) == 1 else None
        if split is None:
            raise InputError(folder, f"several splits ({', '.join(splits)}); choose one with --split")
    if split not in splits:
        raise InputError(folder, f"no qrels/{split}.tsv; the splits here are {', '.join(splits)}")
    queries_path = next((p for p in (folder / f"queries_{split}.jsonl", folder / "queries.jsonl") if p.is_file()), None)
    if queries_path is None:
        raise InputError(folder, f"no queries.jsonl (or queries_{split}.jsonl); add the BEIR queries file")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    texts = {str(r["_id"]): str(r.get("text") or "") for r in _read_jsonl(queries_path, "queries")}
    gold: dict[str, list[str]] = {}
    for n, raw in enumerate(qrels_path.read_text(encoding="utf-8").splitlines(), 1):
        parts = raw.split("\t")
        if n == 1 and not parts[-1].strip().lstrip("-").isdigit():
            continue  # the header
        if not raw.strip():
            continue
        if len(parts) < 3 or not parts[-1].strip().lstrip("-").isdigit():
            raise InputError(qrels_path, line=n, reason="expected query-id<TAB>corpus-id<TAB>score")
        qid, cid, score = parts[0].strip(), parts[1].strip(), int(parts[-1])
        if score > 0:
            gold.setdefault(qid, []).append(cid)
    missing = [q for q in gold if q not in texts]
    if missing:
        raise InputError(qrels_path, f"{len(missing)} query ids have no text in {queries_path.name} "
                         f"(first: {missing[0]}); use the queries file of the same split")
    questions = [Question(id=q, question=texts[q], type="beir", gold=g, line=0) for q, g in gold.items()
                 if texts[q].strip()]
    return BeirDataset(path=folder.resolve(), name=folder.name, sha256=file_sha256(corpus, queries_path, qrels_path),
                       split=split, corpus=corpus, questions=questions)
