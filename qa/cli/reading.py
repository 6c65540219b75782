"""``qa eval --wikiqa`` and ``qa eval --squad``: the reader measured through the service's own path."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from qa.cli.commands import UserError, _settings, _user_errors, console


def eval_reader(
    wikiqa: Path | None,
    squad: Path | None,
    articles: list[str] | None,
    output: Path | None,
    index_dir: Path | None,
) -> None:
    """``qa eval --wikiqa`` / ``--squad``: the served reader, through the service's own search."""
    from qa.answer.datasets import DatasetError
    from qa.answer.learned import WEIGHTS, load_model
    from qa.encoders.sbert import SentenceTransformerEncoder
    from qa.evaluation.reading import squad_report, summary, wikiqa_report
    from qa.evaluation.runs import write_report

    with _user_errors():
        path = wikiqa or squad
        assert path is not None
        if not path.is_file():
            raise UserError(f"{path} is not a file")
        cache = Path(".cache/eval") / f"{'wikiqa' if wikiqa else 'squad'}-{path.stem}"
        settings = _settings(index_dir=index_dir or cache)
        encoder = SentenceTransformerEncoder.from_settings(settings)
        try:
            if wikiqa is not None:
                report = wikiqa_report(wikiqa, settings, encoder)
            else:
                chosen = articles or list(load_model(WEIGHTS)["held_out_articles"])
                report = squad_report(path, chosen, settings, encoder)
        except (DatasetError, ValueError) as error:
            raise UserError(str(error)) from error
        console.print(summary(report), highlight=False)
        if output is not None:
            write_report(output, report)
            console.print(f"wrote {escape(str(output))}", highlight=False)
