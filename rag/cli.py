"""The `rag` command. Thin: each command parses options, calls the library, prints the result.

Heavy libraries are imported inside the commands so `rag --help` stays instant. Every `RagError`
is printed as one line on stderr with exit status 1: users never see a traceback for their mistakes.
"""

from __future__ import annotations

import functools
import json
import os
import sys

import click

from rag.cli_search import filter_options, print_references, search_command
from rag.errors import RagError


def _offline_env() -> None:
    """Make every library we load behave offline, whatever the user's environment says."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")


def friendly_errors(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except RagError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted; run the same command again to resume", err=True)
            sys.exit(130)

    return wrapper


def _settings(**overrides):
    from rag.settings import load_settings

    return load_settings(**overrides)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="paper-rag")
def main() -> None:
    """Question answering over scientific paper records, with every claim cited. Runs offline.

    Example usage:

        rag ingest                 # index the built-in sample corpus
        rag ingest papers/ more.jsonl
        rag ask "Which paper proposes Griffin?"
        rag search "state space models" --format bibtex
        rag table "sparse training" --columns "task, method, main result"
        rag chat                   # the chat window in your browser
        rag stats
    """
    _offline_env()


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--summary", is_flag=True, help="Print record counts per file instead of the records.")
@click.option("--no-dedupe", is_flag=True, help="Print every record as parsed, duplicates included.")
@friendly_errors
def parse(paths: tuple[str, ...], summary: bool, no_dedupe: bool) -> None:
    """Parse files or folders and print the records as JSON lines (nothing is stored).

    Without PATHS, parses the built-in sample corpus. Problems go to stderr, one line each;
    the exit status is 1 when any file or line could not be parsed.

    Example usage:

        rag parse page.txt | jq .title
        rag parse --summary papers/
    """
    from rag.dedupe import merge_records
    from rag.ingest import SAMPLE_DIR
    from rag.parsers import parse_paths

    settings = _settings()
    records, errors, rows = [], [], []
    for path, result in parse_paths(paths or [SAMPLE_DIR], max_page_bytes=settings.max_page_bytes):
        records.extend(result.records)
        errors.extend(result.errors)
        rows.append((str(path), result.layout or "-", len(result.records), len(result.errors)))
    unique, merged = (records, 0) if no_dedupe else merge_records(records)
    if summary:
        width = max([len(r[0]) for r in rows] + [4])
        click.echo(f"{'file':<{width}}  {'layout':<10} {'records':>7} {'errors':>6}")
        for name, layout, n, e in rows:
            click.echo(f"{name:<{width}}  {layout:<10} {n:>7} {e:>6}")
        click.echo(f"total: {len(records)} records in {len(rows)} files, {merged} duplicates merged, "
                   f"{len(unique)} unique papers")
    else:
        for record in unique:
            click.echo(json.dumps(record.to_dict(), ensure_ascii=False))
    for err in errors:
        click.secho(f"error: {err}", fg="red", err=True)
    if errors:
        sys.exit(1)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@friendly_errors
def ingest(paths: tuple[str, ...], as_json: bool) -> None:
    """Parse, deduplicate, chunk, embed and store papers from files or folders.

    Without PATHS, ingests the built-in sample corpus (45 papers). Running it again on the same
    files changes nothing; an interrupted run is completed by the next one.

    Example usage:

        rag ingest
        rag ingest ~/papers/ arxiv.jsonl.gz refs.bib
    """
    from rag.ingest import ingest as run_ingest

    settings = _settings()
    say = functools.partial(click.echo, err=True)
    report = run_ingest(paths or None, settings=settings, progress=sys.stderr.isatty(), say=say)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_ingest_report(report, settings)
    for err in report.errors:
        click.secho(f"error: {err}", fg="red", err=True)
    if not report.ok:
        sys.exit(1)


def _print_ingest_report(report, settings) -> None:
    skipped = len({e.path for e in report.files_skipped})
    click.echo(f"files: {report.files_read} read, {report.files_unchanged} unchanged, {skipped} skipped")
    click.echo(f"records: {report.records} parsed; {report.papers} papers in the store "
               f"({report.duplicates_merged} duplicates merged)")
    click.echo(f"chunks: {report.chunks_added} added, {report.chunks_updated} updated, "
               f"{report.chunks_unchanged} unchanged, {report.chunks_deleted} deleted "
               f"({report.embedded} embedded)")
    where = f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else settings.chroma_dir
    click.echo(f"done in {report.seconds:.1f}s; store: {where}")


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the whole Answer as JSON.")
@filter_options
@click.option("--backend", type=click.Choice(["local", "openai", "extractive"]), help="Who writes the answer "
              "(default: RAG_BACKEND).")
@click.option("--top-k", type=int, help="Papers given to the model (default: RAG_TOP_K).")
@click.option("--stream/--no-stream", default=None, help="Print tokens as they come (default: on a terminal).")
@click.option("--references", "ref_format", metavar="FORMAT",
              help="Then print the cited papers as bibtex, ris or csl-json (with --json: its \"references\" key).")
@friendly_errors
def ask(question, as_json, authors, year_from, year_to, venue, categories, backend, top_k, stream, ref_format) -> None:
    """Answer QUESTION from the indexed papers, citing each claim.

    Prints the answer, then the references it cites. When the collection does not answer the
    question, says so and cites nothing.

    Example usage:

        rag ask "Which paper proposes Griffin?"
        rag ask "What did John D. Co-Reyes publish in 2021?" --json
        rag ask "sparse training methods" --author Jayakumar --backend openai
        rag ask "Which paper proposes Griffin?" --references bibtex >> refs.bib
    """
    from rag.api import Assistant
    from rag.references import choose_format
    from rag.types import Filters

    if ref_format is not None:
        ref_format = choose_format(ref_format, what="--references format")
    settings = _settings(backend=backend)
    filters = Filters(authors=list(authors), year_from=year_from, year_to=year_to, venue=venue,
                      categories=list(categories))
    assistant = Assistant(settings)
    if hasattr(assistant.chat_model, "progress"):  # "waiting for the model server ...", "retrying in ..."
        assistant.chat_model.progress = functools.partial(click.echo, err=True)
    server = getattr(assistant.chat_model, "server", None)
    if server is not None and not server.alive():
        click.echo("starting the local model (a few seconds; the chat UI and Python keep it running)...", err=True)
        assistant.warm_up()  # and restore its saved prompt-prefix cache
    live = (sys.stdout.isatty() if stream is None else stream) and not as_json
    answer, shown = None, []
    try:
        for event in assistant.stream(question, filters=filters, top_k=top_k):
            if event.kind == "token" and live:
                click.echo(event.text, nl=False)
                shown.append(event.text)
            elif event.kind == "reset" and live:  # the model is asked again: start a new line
                click.echo("\n(unsure; asking the model again)", err=True)
                shown = []
            elif event.kind == "answer":
                answer = event.answer
    except RagError:
        if shown:  # end the half-shown answer's line before the error line
            click.echo()
        raise
    if as_json:
        extra = {"references": answer.references(ref_format)} if ref_format else {}
        click.echo(json.dumps({**answer.to_dict(), **extra}, indent=2, ensure_ascii=False))
        return
    if live:
        click.echo()
        if "".join(shown).strip() == answer.text:
            shown = None
        else:
            click.echo("--- checked answer ---")
    _print_answer(answer, echo_text=not live or shown is not None)
    if ref_format:
        print_references(answer, ref_format)


def _print_answer(answer, *, echo_text: bool = True) -> None:
    from rag.bylines import byline
    from rag.types import abstain_words

    if echo_text:
        click.echo(answer.text)
    if answer.abstained:
        click.echo(f"Why: {abstain_words(answer.abstain_reason)}")
    if answer.quoted:
        click.echo("(quoted from the closest papers: the model did not write an answer)")
    if answer.replaced_draft:
        click.echo("(written again from [1], the best-ranked paper: the model's first draft cited only "
                   "lower-ranked sources)")
    if answer.unsupported_sentences:
        click.secho("\nNot supported by the cited sources:", fg="yellow")
        for sentence in answer.unsupported_sentences:
            click.secho(f"  - {sentence}", fg="yellow")
    if answer.citations:
        click.echo("\nReferences:")
        for c in answer.citations:
            who = byline(c.authors, limit=3, unknown="unknown authors")
            where = byline((), year=c.year, venue=c.venue)
            click.echo(f"  [{c.key}] {c.title or '(untitled)'} - {who}" + (f" ({where})" if where else "")
                       + f"  [{c.paper_id}]")
    elif answer.abstained and answer.sources:
        closest = "; ".join((s.title or s.paper_id)[:60] for s in answer.sources[:3])
        click.echo(f"\nClosest papers, not cited: {closest}")
    if answer.filters_applied:
        shown = {k: v for k, v in answer.filters_applied.items() if v not in (None, [], "", {})}
        if shown:
            click.echo(f"\nFilters: {json.dumps(shown, ensure_ascii=False)}")
    if answer.invalid_citations:
        click.secho(f"({len(answer.invalid_citations)} citation key(s) the model invented were removed)", fg="yellow")
    t = answer.timings
    click.echo(f"\n{answer.model}: retrieval {t.get('retrieval_ms', 0):.0f} ms, total {t.get('total_ms', 0):.0f} ms",
               err=True)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@friendly_errors
def stats(as_json: bool) -> None:
    """Show what the store holds: papers, chunks, files, and where it lives.

    Example usage:

        rag stats
        rag stats --json | jq .papers
    """
    from rag.stats import collect

    figures = collect(_settings())
    if as_json:
        click.echo(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
        click.echo(f"{key.replace('_', ' ')}: {value}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on. Anything but 127.0.0.1 exposes the UI to your network: add --auth.")
@click.option("--port", type=int, help="Port (default: RAG_UI_PORT, 7860).")
@click.option("--auth", metavar="USER:PASSWORD", help="Ask for this username and password.")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser.")
@friendly_errors
def chat(host: str, port: int | None, auth: str | None, open_browser: bool) -> None:
    """Open the chat window: a web page on 127.0.0.1 to ask, read cited answers and add papers.

    With nothing indexed yet it indexes the built-in sample first. Runs until Ctrl+C.

    Example usage:

        rag chat
        rag chat --port 8080 --open
        rag chat --host 0.0.0.0 --auth alice:secret
    """
    from rag.errors import ConfigError

    settings = _settings()
    credentials = None
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise ConfigError("--auth takes USER:PASSWORD, e.g. --auth alice:secret")
        credentials = (user, password)
    if host not in ("127.0.0.1", "localhost", "::1") and not credentials:
        click.secho(f"warning: the chat UI will be reachable from your network at {host}; consider --auth "
                    "USER:PASSWORD", fg="yellow", err=True)
    from rag.ui.app import launch

    port = port or settings.ui_port
    try:
        launch(settings, host=host, port=port, auth=credentials, open_browser=open_browser,
               say=lambda msg: click.echo(msg, err=True))
    except OSError as exc:
        raise ConfigError(f"cannot serve the chat UI on {host}:{port} ({exc.strerror or exc}); "
                          "choose another with --port N (or RAG_UI_PORT)") from None


@main.command("eval")
@click.argument("dataset", required=False, type=click.Path(path_type=str))
@click.option("--out", type=click.Path(path_type=str), help="Run folder (default: eval-runs/DATASET-BACKEND).")
@click.option("--backend", type=click.Choice(["local", "openai", "extractive"]),
              help="Answer backend (default: RAG_BACKEND).")
@click.option("--retrieval-only", is_flag=True, help="Rank papers only; no answers are generated.")
@click.option("--limit", type=int, help="Only the first N questions.")
@click.option("--resume", is_flag=True, help="Continue the run in --out, skipping finished questions.")
@click.option("--judge", type=click.Choice(["similarity", "llm"]), default="similarity", show_default=True,
              help="Offline judge for the ALCE citation metrics.")
@click.option("--systems", default="hybrid,bm25,dense,llamaindex", show_default=True,
              help="Retrieval systems to compare, comma-separated.")
@click.option("--split", help="BEIR split (default: test, or the only one).")
@click.option("--gate", type=click.Path(path_type=str),
              help="Floors file (JSON): exit 1 when a metric falls below its floor.")
@click.option("--compare", nargs=2, type=click.Path(path_type=str), metavar="RUN_A RUN_B",
              help="Compare two finished runs instead of running one.")
@friendly_errors
def eval_(dataset, out, backend, retrieval_only, limit, resume, judge, systems, split, gate, compare) -> None:
    """Measure retrieval and answer grounding on a question set or a BEIR dataset.

    DATASET is a JSONL question file (format: eval/datasets/README.md) over the papers in the
    store, or a BEIR folder (corpus.jsonl, queries.jsonl, qrels/), indexed into its own collection.
    Writes questions.jsonl, summary.json, report.md and report.html (with plots) to the run folder.

    Example usage:

        rag eval eval/datasets/seeds.jsonl --backend extractive
        rag eval ../shared/data/scifact --out runs/scifact
        rag eval --compare eval-runs/seeds-extractive eval-runs/seeds-local
    """
    from pathlib import Path

    from rag.errors import ConfigError

    if compare:
        from rag.eval.report import compare as compare_runs

        click.echo(compare_runs(Path(compare[0]), Path(compare[1])))
        return
    if not dataset:
        raise ConfigError("give a DATASET (a JSONL question file or a BEIR folder), or --compare RUN_A RUN_B")
    from rag.eval.runner import check_gate, format_summary, run_eval

    floors = None
    if gate:
        try:
            floors = json.loads(Path(gate).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read the floors file {gate} ({exc}); it holds "
                              '{"min": {"retrieval.hybrid.all.recall@10": 0.9}, "max": {...}}') from None
    settings = _settings(backend=backend)
    say = functools.partial(click.echo, err=True)
    names = [s.strip() for s in systems.split(",") if s.strip()]
    try:
        run_dir = run_eval(Path(dataset), settings=settings, out=Path(out) if out else None,
                           retrieval_only=retrieval_only, limit=limit, resume=resume, systems=names, judge=judge,
                           split=split, progress=sys.stderr.isatty(), say=say)
    except KeyboardInterrupt:
        click.echo("interrupted: finished questions are saved; run the same command with --resume to go on",
                   err=True)
        sys.exit(130)
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    click.echo(format_summary(summary))
    click.echo(f"report: {run_dir / 'report.md'} (and report.html)")
    if floors is not None:
        failures = check_gate(summary, floors)
        for f in failures:
            click.secho(f"gate: {f}", fg="red", err=True)
        if failures:
            sys.exit(1)
        click.echo(f"gate: all {sum(len(v) for v in floors.values() if isinstance(v, dict))} floors met")


@main.command()
@click.option("--quick", is_flag=True, help="Skip the sha256 checks and the test generation (a few seconds).")
@friendly_errors
def doctor(quick: bool) -> None:
    """Check the installation and print what to fix.

    Checks the embedding model, the bundled tokenizer data, the local model (its 22 parts, their
    sha256, the assembled file), the llama.cpp runtime with a real one-token generation, the data
    directory and the store. Exit status 1 when any check fails.

    Example usage:

        rag doctor
        rag doctor --quick
    """
    from rag.doctor import run_checks

    colours = {"ok": "green", "warn": "yellow", "fail": "red"}
    failed = 0
    for check in run_checks(_settings(), quick=quick):
        click.secho(f"{check.status:<4}", fg=colours[check.status], nl=False)
        click.echo(f"  {check.name}: {check.detail}")
        if check.fix:
            click.echo(f"      fix: {check.fix}")
        failed += check.status == "fail"
    click.echo(f"\n{failed} problem(s) found" if failed else "\nall checks passed")
    sys.exit(1 if failed else 0)


main.add_command(search_command(friendly_errors, _settings))
from rag.cli_table import table as _table  # noqa: E402 - its own module, so this one stays small

_table.callback = friendly_errors(_table.callback)
main.add_command(_table)

if __name__ == "__main__":
    main()
