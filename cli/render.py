"""Terminal rendering of metric tables with rich (numbers formatted the way a reader expects)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

# Metrics shown as percentages; everything else numeric is shown as a plain ratio.
PERCENT_METRICS = frozenset(
    {
        "total_return", "cagr", "volatility", "max_drawdown", "alpha", "tracking_error", "monthly_hit_rate",
        "best_month", "worst_month", "turnover", "costs", "fees", "slippage", "borrow", "interest", "risk_free",
        "turnover_ex_entry", "initial_entry", "prob_loss", "prob_beat_benchmark", "cvar_5", "median_max_drawdown",
        "cagr_p5", "cagr_p25", "cagr_p50", "cagr_p75", "cagr_p95",
    }
)
# Metrics shown as multiples of the starting capital.
MULTIPLE_METRICS = frozenset(f"terminal_wealth_p{p}" for p in (5, 25, 50, 75, 95))
KEY_METRICS: tuple[str, ...] = (
    "total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar", "beta", "alpha",
    "information_ratio", "turnover_ex_entry", "cost_drag_bps",
)
LABELS = {
    "total_return": "Total return", "cagr": "CAGR", "volatility": "Volatility", "sharpe": "Sharpe",
    "sortino": "Sortino", "max_drawdown": "Max drawdown", "calmar": "Calmar", "beta": "Beta", "alpha": "Alpha",
    "tracking_error": "Tracking error", "information_ratio": "Info ratio", "monthly_hit_rate": "Hit rate (months)",
    "best_month": "Best month", "worst_month": "Worst month", "turnover": "Turnover (2-way, with entry) /yr",
    "costs": "Costs / start capital", "turnover_ex_entry": "Turnover /yr", "initial_entry": "Initial entry",
    "cost_drag_bps": "Cost drag bps/yr", "fee_drag_bps": "Fees bps/yr", "slippage_drag_bps": "Slippage bps/yr",
    "borrow_drag_bps": "Borrow bps/yr",
    "fees": "Fees", "slippage": "Slippage", "borrow": "Borrow", "interest": "Interest",
    "cagr_p50": "CAGR p50", "cagr_p5": "p5", "cagr_p95": "p95", "terminal_wealth_p50": "wealth p50",
    "terminal_wealth_p5": "p5", "terminal_wealth_p95": "p95", "prob_loss": "P(loss)",
    "prob_beat_benchmark": "P(>SPY)", "cvar_5": "CVaR 5%", "median_max_drawdown": "med max DD",
}


def format_value(key: str, value: Any) -> str:
    """A metric as text: percentages with one decimal, ratios with two, missing values as an en dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, int | float):
        if key in MULTIPLE_METRICS:
            return f"{value:.2f}x"
        if key.endswith("_bps"):
            return f"{value:,.1f}"
        return f"{value:.1%}" if key in PERCENT_METRICS else f"{value:.2f}"
    return str(value)


def metrics_table(
    rows: Mapping[str, Mapping[str, Any]],
    keys: Sequence[str] = KEY_METRICS,
    *,
    title: str | None = None,
    sort_by: str | None = None,
) -> Table:
    """A rich table: one row per name, one column per metric key, optionally sorted (descending)."""
    names = list(rows)
    if sort_by:
        def sort_key(name: str) -> float:
            value = rows[name].get(sort_by)
            return -math.inf if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)

        names.sort(key=sort_key, reverse=True)
    table = Table(title=title, header_style="bold")
    table.add_column("strategy", style="bold cyan", no_wrap=True)
    for key in keys:
        table.add_column(LABELS.get(key, key), justify="right")
    for name in names:
        table.add_row(name, *(format_value(k, rows[name].get(k)) for k in keys))
    return table


TABLE_FOOTNOTE = (
    "Turnover /yr: one-way (half of buys + sells) over equity, per year, without the initial entry; "
    "cost drag: fees + slippage + borrow in bps a year of average equity"
)


def print_notes(console: Console, notes: Sequence[str]) -> None:
    """Data notes (late listings, trimmed end dates) in a muted style; warnings (``warning: ...``) stand out."""
    from rich.markup import escape

    for note in notes:
        if note.startswith("warning: "):
            console.print(f"[bold yellow]{escape(note)}[/bold yellow]", soft_wrap=True)
        else:
            console.print(f"[dim]note: {escape(note)}[/dim]", soft_wrap=True)


DETAIL_METRICS: tuple[str, ...] = (
    "total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "max_drawdown_start",
    "max_drawdown_trough", "max_drawdown_end", "calmar", "beta", "alpha", "tracking_error", "information_ratio",
    "monthly_hit_rate", "best_month", "worst_month", "initial_entry", "turnover_ex_entry", "cost_drag_bps",
    "fee_drag_bps", "slippage_drag_bps", "borrow_drag_bps",
)


def metrics_columns_table(
    columns: Mapping[str, Mapping[str, Any]], keys: Sequence[str] = DETAIL_METRICS, *, title: str | None = None
) -> Table:
    """A rich table with one row per metric and one column per name (for a few strategies side by side)."""
    table = Table(title=title, header_style="bold")
    table.add_column("metric", style="bold", no_wrap=True)
    for name in columns:
        table.add_column(name, justify="right", style="cyan" if name == next(iter(columns)) else None)
    for key in keys:
        table.add_row(LABELS.get(key, key.replace("_", " ")), *(format_value(key, m.get(key)) for m in columns.values()))
    return table


def make_console(stderr: bool = False, width: int = 160) -> Console:
    """A console for tables: the terminal's width, or ``width`` columns when output is piped (rich assumes 80)."""
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=max(console.width, width))


def sorted_rows(rows: Mapping[str, Mapping[str, Any]], key: str) -> dict[str, Mapping[str, Any]]:
    """Rows ordered by ``key`` as in the HTML report: best first (ascending for costs, volatility ...), missing last."""
    from theses.reports.html import LOWER_IS_BETTER

    def value(name: str) -> float:
        v = rows[name].get(key)
        return float(v) if isinstance(v, int | float) and not math.isnan(float(v)) else math.nan

    present = [n for n in rows if not math.isnan(value(n))]
    missing = [n for n in rows if math.isnan(value(n))]
    present.sort(key=value, reverse=key not in LOWER_IS_BETTER)
    return {n: rows[n] for n in present + missing}


class Progress:
    """Progress of a study's ``progress(description, done, total)`` callback, on stderr; a context manager.

    On a terminal: a rich bar, redrawn in place and removed at the end. Piped or logged (stderr not a
    terminal): once the work has run ``delay`` seconds, one plain line at most every ``interval`` seconds
    (``simulating: 120/1000 (12%), 8 s``) and the last step at the end, so a log shows a long run moving
    without a redraw per step, and a quick command or a one-line error prints nothing else. Off when
    ``enabled`` is false.
    """

    def __init__(self, label: str, enabled: bool = True, interval: float = 5.0, stream: Any = None,
                 delay: float = 2.0) -> None:
        import sys
        import time

        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        console = Console(stderr=True) if stream is None else Console(file=stream)
        self.enabled = enabled
        self.terminal = console.is_terminal
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.delay = delay
        self.clock = time.monotonic
        self.started = self.clock()
        self.last_line = -float("inf")
        self.last: tuple[str, int, int] | None = None
        self.written: tuple[str, int, int] | None = None
        self.bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=console, transient=True,
                                disable=not (enabled and self.terminal))
        self.task = self.bar.add_task(label, total=None)
        self.label = label

    def __call__(self, description: str, done: int, total: int) -> None:
        self.bar.update(self.task, description=description, completed=done, total=total)
        self.last = (description, done, total)
        if self.enabled and not self.terminal:
            now = self.clock()
            if now - self.started >= self.delay and now - self.last_line >= self.interval:
                self._line(description, done, total, now)

    def _line(self, description: str, done: int, total: int, now: float) -> None:
        share = f" ({done / total:.0%})" if total else ""
        self.stream.write(f"{description}: {done}/{total}{share}, {now - self.started:.0f} s\n")
        self.stream.flush()
        self.last_line = now
        self.written = (description, done, total)

    def __enter__(self) -> Progress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)
        if self.enabled and not self.terminal and self.written is not None and exc[0] is None:
            if self.last != self.written:  # a long run's final step, unless it was the last line written
                self._line(*self.last, self.clock())


def emit(output_format: str, document: Any, print_tables: Any, report_path: Any = None) -> int:
    """Print a result as JSON (``document()``) or tables (``print_tables()``), then where its report went."""
    import json
    import sys

    index = None if report_path is None else report_path / "index.html"  # the file to open, full path
    if output_format == "json":
        print(json.dumps(document(), indent=1, allow_nan=False))
        if index:
            print(f"report written to {index}", file=sys.stderr)
        return 0
    print_tables()
    if index:
        make_console().print(f"report written to [bold]{index}[/bold]", soft_wrap=True)
    return 0
