"""The results table printed by ``qa eval``."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from qa.evaluation.runs import BEIR_MEASURES, QUESTION_MEASURES

RATES = {
    *BEIR_MEASURES,
    *QUESTION_MEASURES,
    "answer_contains_gold",
    "answerable_kept",
    "unanswerable_flagged",
}


def _cell(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if name in RATES else f"{value:g}" if name == "gold_unreachable" else f"{value:.1f}"


def results_table(report: dict[str, Any]) -> Table:
    """Metrics as rows, modes as columns; the best value of each rate in bold."""
    modes = report["modes"]
    split = f" ({report['split']})" if report.get("split") else ""
    table = Table(title=f"{report['dataset']}{split}: {report['queries']} queries, {report['model']}")
    table.add_column("metric")
    for mode in modes:
        table.add_column(mode, justify="right")
    rows = list(modes.values())
    names = list(rows[0]["metrics"]) if rows else []
    for name in [*names, "ms_per_query"]:
        values = [row["ms_per_query"] if name == "ms_per_query" else row["metrics"][name] for row in rows]
        known = [value for value in values if value is not None]
        best = max(known) if name in RATES and known and len(modes) > 1 else None
        cells = [_cell(name, value) for value in values]
        for column, value in enumerate(values):
            if value is not None and value == best:
                cells[column] = f"[bold]{cells[column]}[/bold]"
        table.add_row(name, *cells)
    return table
