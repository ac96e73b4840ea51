"""The `rag table` command: a literature table for a question, printed row by row as rows are done.

Its own module (`rag.cli` registers it) so the CLI module stays small. Options are checked before
anything loads, so a wrong --format, --columns or --limit costs nothing; a progress bar goes to
stderr on a terminal. The table itself is built by `rag.api.Assistant.table_stream` and formatted
by `rag.table_format`.
"""

from __future__ import annotations

import sys

import click


@click.command("table")
@click.argument("question")
@click.option("--columns", required=True, metavar='"A, B, C"',
              help='Column names, comma-separated, at most 12, e.g. "task, method, main result".')
@click.option("--limit", type=int, default=10, show_default=True, help="Papers (rows), at most 50.")
@click.option("--format", "fmt", default="md", show_default=True, help="md, csv, html or jsonl.")
@click.option("--author", "authors", multiple=True, help="Only papers by this author (repeatable).")
@click.option("--year-from", type=int, help="Only papers from this year on.")
@click.option("--year-to", type=int, help="Only papers up to this year.")
@click.option("--venue", help="Only papers whose venue contains this text.")
@click.option("--category", "categories", multiple=True, help="Only papers in this arXiv category, e.g. cs.LG.")
@click.option("--backend", type=click.Choice(["local", "openai", "extractive"]),
              help="Who fills the cells (default: RAG_BACKEND).")
def table(question, columns, limit, fmt, authors, year_from, year_to, venue, categories, backend) -> None:
    """Build a table of the papers found for QUESTION: one row per paper, one cell per column.

    Each cell is a short phrase from that paper's record, checked against it, or "not stated".

    Example usage:

        rag table "sparse training" --columns "task, method, main result"
        rag table "plasticity loss" --columns "method, dataset" --limit 5 --format csv > plasticity.csv
        rag table "reinforcement learning" --columns "task, main result" --year-from 2021 --format html
    """
    from rag.settings import load_settings
    from rag.table import check_limit, parse_columns
    from rag.table_format import check_format, foot, head
    from rag.types import Filters

    names, fmt = parse_columns(columns), check_format(fmt)
    check_limit(limit)
    from rag.api import Assistant

    assistant = Assistant(load_settings(backend=backend))
    server = getattr(assistant.chat_model, "server", None)
    if server is not None and not server.alive():
        click.echo("starting the local model (a few seconds)...", err=True)
        assistant.chat_model.warm_up()
    filters = Filters(authors=list(authors), year_from=year_from, year_to=year_to, venue=venue,
                      categories=list(categories))
    stream = assistant.table_stream(question, names, limit=limit, filters=filters)
    built = next(stream)
    if text := head(built, fmt):
        click.echo(text)
    _rows(stream, built, fmt)
    if text := foot(built, fmt):
        click.echo(text)
    if built.reason:
        click.echo(f"no rows: {built.reason}", err=True)


def _rows(stream, built, fmt: str) -> None:
    """Print each row as it is done, under a progress bar on stderr when that is a terminal."""
    from tqdm import tqdm

    from rag.table_format import row_text

    with tqdm(total=len(built.papers), desc="rows", unit="paper", file=sys.stderr, leave=False,
              disable=not sys.stderr.isatty() or None, dynamic_ncols=True) as bar:
        for done in stream:
            tqdm.write(row_text(done.rows[-1], done, fmt), file=sys.stdout)
            sys.stdout.flush()
            bar.update(1)
