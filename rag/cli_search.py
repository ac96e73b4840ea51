"""`rag search`, and what `rag ask` shares with it: the filter options, the references it prints.

`search_command(errors, settings)` builds the command around the CLI's error handling and
settings loader (passed in by `rag.cli`, which registers it). The command calls
`Assistant.search` with the extractive backend, so no model is loaded, and prints
`PaperHits.export`; `print_references` prints `Answer.references`. Nothing is found or formatted
here: see `rag.search` and `rag.references`.
"""

from __future__ import annotations

import json

import click

FILTER_OPTIONS = (
    click.option("--author", "authors", multiple=True, help="Only papers by this author (repeatable)."),
    click.option("--year-from", type=int, help="Only papers from this year on."),
    click.option("--year-to", type=int, help="Only papers up to this year."),
    click.option("--venue", help="Only papers whose venue contains this text."),
    click.option("--category", "categories", multiple=True, help="Only papers in this arXiv category, e.g. cs.LG."),
)


def filter_options(command):
    """--author, --year-from, --year-to, --venue and --category, as `rag ask` and `rag search` take them."""
    for option in reversed(FILTER_OPTIONS):
        command = option(command)
    return command


def search_command(errors, settings) -> click.Command:
    """The `rag search` command; `errors` wraps it (one line per `RagError`), `settings(**overrides)` loads settings."""

    @click.command()
    @click.argument("query")
    @filter_options
    @click.option("--limit", type=int, default=10, show_default=True, help="Papers to list.")
    @click.option("--format", "fmt", default="table", show_default=True,
                  help="table, jsonl, csv, or the papers as bibtex, ris or csl-json references.")
    @errors
    def search(query, limit, fmt, **filters) -> None:
        """List the papers that match QUERY, best first, each with its sentence that matches best.

        No model is asked: it takes as long as retrieval. Filters named in the query apply as in
        `rag ask`. When nothing matches, the reason is printed (on stderr for the other formats).

        Example usage:

            rag search "linear recurrences with local attention"
            rag search "sparse training" --author Jayakumar --limit 5 --format csv
            rag search "reinforcement learning" --year-from 2021 --format bibtex > rl.bib
        """
        run_search(query, settings(backend="extractive"), limit=limit, fmt=fmt, **filters)

    return search


def run_search(query: str, settings, *, authors=(), year_from=None, year_to=None, venue=None, categories=(),
               limit: int = 10, fmt: str = "table") -> None:
    """Search and print the hits as `fmt`; the reason for an empty list, the filters and the timing
    go to stderr unless the format is the readable table."""
    from rag.api import Assistant
    from rag.references import choose_format
    from rag.search import HIT_FORMATS
    from rag.types import Filters

    fmt = choose_format(fmt, HIT_FORMATS, what="--format")
    filters = Filters(authors=list(authors), year_from=year_from, year_to=year_to, venue=venue,
                      categories=list(categories))
    hits = Assistant(settings).search(query, filters=filters, limit=limit)
    table = fmt == "table"
    if hits.reason:
        click.echo(f"No papers found: {hits.reason}.", err=not table)
    click.echo(hits.export(fmt), nl=False)
    shown = {k: v for k, v in hits.filters_applied.items() if v not in (None, [], "", {})}
    if shown:
        click.echo(f"{chr(10) if table else ''}Filters: {json.dumps(shown, ensure_ascii=False)}", err=not table)
    click.echo(f"{len(hits)} papers; retrieval {hits.timings.get('retrieval_ms', 0):.0f} ms, "
               f"total {hits.timings.get('total_ms', 0):.0f} ms", err=True)


def print_references(answer, fmt: str) -> None:
    """The answer's cited papers as `fmt`, after a heading line; a note on stderr when it cites none."""
    if not answer.citations:
        click.echo(f"(no {fmt} references: the answer cites no paper)", err=True)
        return
    click.echo(f"\n{fmt} references:")
    click.echo(answer.references(fmt), nl=False)
