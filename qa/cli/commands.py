"""The ``qa`` command: Typer commands that wire settings to the functions below them.

Errors the user can fix are one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import json
import logging
import logging.config
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any, get_args

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from qa.core.config import SearchMode, Settings
from qa.core.errors import IndexError_, ModelLoadError, NotReady

if TYPE_CHECKING:  # the commands import what they use: `qa ask` to a server loads no model
    from qa.core.protocols import Encoder
    from qa.core.types import Document
    from qa.encoders.sbert import SentenceTransformerEncoder
    from qa.index.build import BuildSummary
    from qa.index.generations import Generation

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Ask questions of your documents, with exact citations."
)
console = Console()
errors = Console(stderr=True)


PROGRESS_SECONDS = 5.0  # how often progress is printed when the output is not a terminal


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except (UserError, ModelLoadError, NotReady, IndexError_, FileNotFoundError, ValueError) as error:
        for doc_id, reason in getattr(error, "skipped", []):  # what an empty corpus did hold
            typer.echo(f"skipped {doc_id}: {reason}", err=True)
        typer.echo(f"error: {error}", err=True)  # one line, never wrapped
        raise typer.Exit(1) from None


def _settings(**overrides: Any) -> Settings:
    try:
        settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValueError as error:
        raise UserError(f"invalid setting: {error}") from error
    return settings.resolved()


def _distributed() -> ModuleType:
    """qa.distributed, or a UserError saying how to install Ray (txtai's "install X to enable")."""
    try:
        import qa.distributed
    except ImportError as error:
        raise UserError(f"--ray needs the Ray extra ({error}): pip install -e '.[ray]'") from error
    return qa.distributed


def rebuild_reason(settings: Settings) -> str | None:
    """Why the index must be (re)built before serving, or None when it is up to date."""
    from qa.index.generations import CHUNKER_VERSION, FORMAT_VERSION, corpus_fingerprint, read_manifest
    from qa.ingest.corpus import load_corpus

    manifest = read_manifest(settings.index_dir)
    if manifest is None:
        return f"no index in {settings.index_dir}"
    expected = {
        "format_version": FORMAT_VERSION,
        "chunker_version": CHUNKER_VERSION,
        "model": f"{settings.model}#int8" if settings.int8 else settings.model,  # as the embedder names it
        "chunk_tokens": settings.chunk_tokens,
        "chunk_min_chars": settings.chunk_min_chars,
        "layout": settings.layout,
    }
    for key, value in expected.items():
        if manifest.get(key) != value:
            return f"{key} changed from {manifest.get(key)!r} to {value!r}"
    if manifest.get("corpus_fingerprint") != corpus_fingerprint(load_corpus(settings.corpus_dir).documents):
        return f"documents in {settings.corpus_dir} changed"
    return None


def _print_summary(summary: BuildSummary) -> None:
    console.print(
        f"indexed {summary.documents} documents, {summary.passages} passages in {summary.seconds:.1f} s "
        f"(generation {summary.generation}; {summary.embedded} texts embedded)",
        highlight=False,
    )
    if summary.full_reason:
        console.print(f"full rebuild: {escape(summary.full_reason)}", highlight=False)
    for label, doc_ids in (
        ("added", summary.added),
        ("changed", summary.changed),
        ("removed", summary.removed),
    ):
        if doc_ids:
            console.print(
                f"{label} {len(doc_ids)}: {escape(', '.join(doc_ids[:10]))}"
                f"{' …' if len(doc_ids) > 10 else ''}",
                highlight=False,
            )
    if summary.reused:
        console.print(f"reused {len(summary.reused)} unchanged documents")
    for doc_id, reason in summary.skipped:
        errors.print(f"[yellow]skipped[/yellow] {escape(doc_id)}: {escape(reason)}", highlight=False)
    for doc_id in summary.empty:
        errors.print(
            f"[yellow]nothing to search[/yellow] in {escape(doc_id)}: "
            "no text but markup, links or page furniture",
            highlight=False,
        )


class ProgressLines:
    """Progress as a plain line every ``every`` seconds, for output that is not a terminal (a log,
    a pipe): documents parsed, passages embedded, the rate and the time left."""

    def __init__(self, every: float = PROGRESS_SECONDS) -> None:
        self.every = every
        self.started = self.last = time.monotonic()
        self.documents = 0
        self.embedded: tuple[int, int] | None = None
        self.embedding_started = self.started  # moved to the end of parsing, when there is one

    def parsed(self, documents: int) -> None:
        self.documents = documents
        self.embedding_started = time.monotonic()
        self._maybe_print()

    def embed(self, done: int, total: int) -> None:
        self.embedded = (done, total)
        self._maybe_print(final=done >= total)

    def line(self) -> str:
        parts = [f"parsed {self.documents} documents"]
        if self.embedded is not None:
            done, total = self.embedded
            seconds = max(time.monotonic() - self.embedding_started, 1e-6)
            rate = done / seconds
            left = (total - done) / rate if rate > 0 else 0.0
            parts.append(f"embedded {done}/{total} passages, {rate:.0f} passages/s, about {left:.0f} s left")
        return "; ".join(parts) + f" ({time.monotonic() - self.started:.0f} s)"

    def _maybe_print(self, final: bool = False) -> None:
        now = time.monotonic()
        if final or now - self.last >= self.every:
            self.last = now
            typer.echo(self.line())


@contextmanager
def _progress_bar() -> Iterator[tuple[Callable[[int, int], None], Callable[[int], None] | None]]:
    """(embedding progress, parsing progress): a bar on a terminal, else lines every few seconds."""
    if not console.is_terminal:
        lines = ProgressLines()
        yield lines.embed, lines.parsed
        return
    with Progress(
        TextColumn("embedding"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("embedding", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update, None


@app.command()
def index(
    full: Annotated[
        bool, typer.Option("--full", help="Re-embed everything, even unchanged documents.")
    ] = False,
    if_needed: Annotated[
        bool, typer.Option("--if-needed", help="Build only if missing or out of date.")
    ] = False,
    corpus_dir: Annotated[Path | None, typer.Option(help="Folder of documents (QA_CORPUS_DIR).")] = None,
    index_dir: Annotated[Path | None, typer.Option(help="Index folder (QA_INDEX_DIR).")] = None,
    on_ray: Annotated[bool, typer.Option("--ray", help="Embed on a Ray cluster's workers.")] = False,
    address: Annotated[str | None, typer.Option(help="Ray cluster address (QA_RAY_ADDRESS).")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Embedding actors on Ray (default: one per node).")
    ] = None,
) -> None:
    """Build or update the index from the corpus folder; only new or changed documents are embedded."""
    from qa.encoders.sbert import SentenceTransformerEncoder
    from qa.service.engine import Engine

    with _user_errors():
        settings = _settings(corpus_dir=corpus_dir, index_dir=index_dir)
        if not settings.corpus_dir.is_dir():
            raise UserError(f"corpus folder {settings.corpus_dir} does not exist (set QA_CORPUS_DIR)")
        if if_needed:
            reason = rebuild_reason(settings)
            if reason is None:
                console.print(f"index in {escape(str(settings.index_dir))} is up to date", highlight=False)
                return
            console.print(f"building the index: {escape(reason)}", highlight=False)
        if on_ray:
            cluster = address or settings.ray_address
            encoder: Encoder = _distributed().ray_embedder(settings, cluster, workers)
        else:
            encoder = SentenceTransformerEncoder.from_settings(settings)
        engine = Engine(settings=settings, encoder=encoder)
        with _progress_bar() as (progress, parsed):
            summary = engine.build(full=full, progress=progress, serve=False, parsed=parsed)
        _print_summary(summary)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=50, help="How many passages to show.")] = 5,
    mode: Annotated[SearchMode | None, typer.Option(help="hybrid, dense or keyword.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the same JSON as the HTTP API.")] = False,
    local: Annotated[
        bool, typer.Option("--local", help="Load the index here even if a server runs.")
    ] = False,
    doc: Annotated[
        list[str] | None,
        typer.Option(
            help="Only documents whose doc_id matches this glob (* within a folder, ** across); repeatable."
        ),
    ] = None,
    meta: Annotated[
        list[str] | None,
        typer.Option(help="Only documents whose front-matter field KEY is VALUE (KEY=VALUE); repeatable."),
    ] = None,
) -> None:
    """Answer a question with a citation for every passage: from the server on QA_HOST:QA_PORT
    when one is running, else from the index in this process (which loads the model first)."""
    from qa.cli.answers import ServerRefused, ask_in_process, ask_server, print_answer, server_url
    from qa.core.filters import make_filter, meta_pairs

    with _user_errors():
        settings = _settings()
        globs, fields = doc or [], meta_pairs(meta or [])
        make_filter(globs, fields)  # bad syntax is refused before anything is asked
        base = server_url(settings.host, settings.port)
        try:
            body = None if local else ask_server(base, question, k, mode, globs, fields)
        except ServerRefused as error:
            raise UserError(str(error)) from None
        if body is not None:
            errors.print(f"[dim](asked the server at {escape(base)})[/dim]", highlight=False)
        else:
            body = ask_in_process(settings, question, k, mode, globs, fields)
            errors.print(
                f"[dim](no server at {escape(base)}: answered in this process)[/dim]", highlight=False
            )
    if as_json:
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    print_answer(console, body)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (QA_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (QA_PORT).")] = None,
    on_ray: Annotated[bool, typer.Option("--ray", help="Serve on a Ray cluster with Ray Serve.")] = False,
    address: Annotated[str | None, typer.Option(help="Ray cluster address (QA_RAY_ADDRESS).")] = None,
    shards: Annotated[int | None, typer.Option(min=1, help="Shard actors (QA_RAY_SHARDS).")] = None,
    replicas: Annotated[int | None, typer.Option(min=1, help="HTTP replicas (QA_RAY_REPLICAS).")] = None,
) -> None:
    """Serve the HTTP API (and its OpenAPI docs at /docs)."""
    import uvicorn

    from qa.core.logs import logging_config
    from qa.http.app import create_app

    with _user_errors():
        settings = _settings(
            host=host, port=port, ray_address=address, ray_shards=shards, ray_replicas=replicas
        )
    config = logging_config(settings.log_format)  # uvicorn's lines too, with request ids
    logging.config.dictConfig(config)
    if on_ray:
        with _user_errors():
            shards, replicas = settings.ray_shards, settings.ray_replicas
            _distributed().serve_on_ray(settings, settings.ray_address, shards, replicas)
        return
    app = create_app(settings)
    _stop_quietly()
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=config, access_log=False)


@app.command()
def mcp(
    http: Annotated[
        bool, typer.Option("--http", help="Streamable HTTP on loopback instead of stdio.")
    ] = False,
    port: Annotated[int, typer.Option(help="Port for --http.")] = 8765,
) -> None:
    """Serve the Model Context Protocol (tools ask and get_document) over stdio, or HTTP with --http."""
    try:
        import qa.mcp
    except ImportError as error:
        with _user_errors():
            raise UserError(f"qa mcp needs the mcp package ({error}): pip install -e .") from error
    from qa.service.engine import Engine

    logging.basicConfig(level=logging.WARNING)  # stderr: on stdio, stdout is the protocol
    with _user_errors():
        engine = Engine(settings=_settings())
        engine.check_index()
        engine.load()
        engine.ready_searcher()  # NotReady names the problem before a client connects
    qa.mcp.serve(engine, http=http, host="127.0.0.1", port=port)


def _stop_quietly() -> None:
    """Ctrl-C and SIGTERM stop the server with status 0: uvicorn shuts down gracefully and then
    raises the signal again, which would end the process by the signal (and ``make serve`` with
    "*** [serve] Terminated")."""

    def exit_cleanly(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, exit_cleanly)


def _modes(text: str) -> list[SearchMode]:
    chosen: list[SearchMode] = []
    for name in (part.strip() for part in text.split(",")):
        mode = next((known for known in get_args(SearchMode) if known == name), None)
        if mode is None:
            choices = ", ".join(get_args(SearchMode))
            raise UserError(f"unknown mode {name!r} in --modes; choose from {choices}")
        if mode not in chosen:
            chosen.append(mode)
    return chosen


def _indexed(
    documents: list[Document], skipped: list[tuple[str, str]], settings: Settings
) -> tuple[Generation, SentenceTransformerEncoder, float]:
    """(generation, embedder, seconds spent loading or building the index)."""
    from qa.encoders.sbert import SentenceTransformerEncoder
    from qa.index.reuse import ensure_index

    embedder = SentenceTransformerEncoder.from_settings(settings)
    started = time.perf_counter()
    with _progress_bar() as (progress, parsed):
        if parsed is not None:  # the documents came parsed: progress lines count them from the start
            parsed(len(documents))
        generation, summary = ensure_index(documents, settings, embedder, progress, skipped)
    if summary is not None:
        _print_summary(summary)
    return generation, embedder, time.perf_counter() - started


@app.command("eval")
def eval_(
    beir: Annotated[Path | None, typer.Option(help="A BEIR dataset folder.")] = None,
    questions: Annotated[Path | None, typer.Option(help="Question set (JSONL) for QA_CORPUS_DIR.")] = None,
    split: Annotated[str, typer.Option(help="The BEIR qrels split to evaluate.")] = "test",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N queries (quick runs).")] = None,
    modes: Annotated[str, typer.Option(help="Comma-separated modes to compare.")] = "dense,keyword,hybrid",
    output: Annotated[Path | None, typer.Option(help="Write the results here as JSON.")] = None,
    index_dir: Annotated[
        Path | None, typer.Option(help="Index folder (default .cache/eval/<dataset> or QA_INDEX_DIR).")
    ] = None,
    whole_documents: Annotated[
        bool, typer.Option(help="BEIR: one truncated passage per document, as in published reference runs.")
    ] = False,
    wikiqa: Annotated[
        Path | None, typer.Option(help="WikiQA JSONL: measure the reader (MAP, MRR, P@1, F1, ECE).")
    ] = None,
    squad: Annotated[
        Path | None, typer.Option(help="SQuAD 2.0 JSON: measure the reader on its articles.")
    ] = None,
    article: Annotated[
        list[str] | None,
        typer.Option(
            help="--squad: the article (title as in the file) whose questions are asked; repeatable. "
            "Default: the held-out articles recorded with the reader's weights."
        ),
    ] = None,
) -> None:
    """Measure retrieval on a BEIR dataset or a question set, comparing search modes side by side;
    or the reader on WikiQA or SQuAD-format data."""
    if wikiqa is not None or squad is not None:
        if sum(x is not None for x in (beir, questions, wikiqa, squad)) != 1:
            with _user_errors():
                raise UserError("give exactly one of --beir, --questions, --wikiqa or --squad")
        from qa.cli.reading import eval_reader

        eval_reader(wikiqa, squad, article, output, index_dir)
        return
    from qa.evaluation.data import load_beir, load_question_set
    from qa.evaluation.runs import beir_report, question_report, write_report
    from qa.evaluation.table import results_table
    from qa.ingest.corpus import load_corpus

    with _user_errors():
        chosen = _modes(modes)
        if beir is not None and questions is None:
            data = load_beir(beir, split, whole_documents).limited(limit)
            cache = beir.resolve().name + ("-whole" if whole_documents else "")
            settings = _settings(index_dir=index_dir or Path(".cache/eval") / cache)
            generation, embedder, seconds = _indexed(data.documents, [], settings)
            results = beir_report(data, generation, embedder, chosen, seconds)
        elif questions is not None and beir is None:
            question_set = load_question_set(questions)[:limit]
            settings = _settings(index_dir=index_dir)
            if not settings.corpus_dir.is_dir():
                raise UserError(f"corpus folder {settings.corpus_dir} does not exist (set QA_CORPUS_DIR)")
            corpus = load_corpus(settings.corpus_dir)
            generation, embedder, seconds = _indexed(corpus.documents, corpus.skipped, settings)
            results = question_report(questions, question_set, generation, embedder, chosen, seconds)
        else:
            raise UserError("give exactly one of --beir PATH or --questions PATH")
        console.print(results_table(results))
        if output is not None:
            write_report(output, results)
            console.print(f"wrote {escape(str(output))}", highlight=False)


if __name__ == "__main__":
    app()
