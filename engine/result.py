"""The result of one backtest run, shared by the CLI, the reports and the tests.

It serialises to JSON (``to_json``/``from_json`` round-trip) and CSV-ready frames, so a report and a test
read exactly the same numbers the engine produced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from theses.util import jsonable

TRADE_COLUMNS = ["date", "ticker", "shares", "price", "notional", "fee", "slippage"]
COST_COLUMNS = ["fees", "slippage", "borrow", "interest"]


def _series_to_json(series: pd.Series) -> dict[str, Any]:
    return {"index": [d.strftime("%Y-%m-%d") for d in series.index], "values": jsonable(series.tolist())}


def _series_from_json(obj: dict[str, Any], name: str) -> pd.Series:
    values = [np.nan if v is None else v for v in obj["values"]]
    return pd.Series(values, index=pd.DatetimeIndex(obj["index"], name="date"), name=name, dtype=float)


def _frame_to_json(frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "index": [d.strftime("%Y-%m-%d") for d in frame.index],
        "columns": [str(c) for c in frame.columns],
        "data": jsonable(frame.to_numpy(dtype=float).tolist()),
    }


def _frame_from_json(obj: dict[str, Any]) -> pd.DataFrame:
    data = np.array([[np.nan if v is None else v for v in row] for row in obj["data"]], dtype=float)
    data = data.reshape(len(obj["index"]), len(obj["columns"]))
    return pd.DataFrame(data, index=pd.DatetimeIndex(obj["index"], name="date"), columns=obj["columns"])


@dataclass
class BacktestResult:
    """Everything one backtest produced.

    Attributes
    ----------
    name : strategy name.
    equity : portfolio value at each bar's close (currency units), indexed by date.
    returns : simple daily returns of ``equity`` (first bar 0).
    weights : realised end-of-bar weights (position value / equity), one column per ticker.
    positions : shares held at the end of each bar.
    trades : one row per fill: date, ticker, shares (signed), price, notional (signed), fee, slippage.
    turnover : per bar, sum of |traded notional| / equity before trading.
    costs : per bar, fees, slippage, borrow and interest (interest is income, stored positive).
    metrics : the metric table of the run (see ``engine.metrics``), plain floats and ISO dates.
    benchmark_metrics : ``{benchmark ticker: metrics dict}`` over the same window.
    benchmark_equity : benchmark value curves rebased to the same initial capital.
    config : the settings used (costs, rebalance rule, execution, risk-free rate, data source ...).
    notes : one line per event the run handled by rule: a position closed after its prices stopped, the ruin.
    ruin_date : the first date equity was at or below zero (the book was closed and traded no more), or None.
    """

    name: str
    equity: pd.Series
    returns: pd.Series
    weights: pd.DataFrame
    positions: pd.DataFrame
    trades: pd.DataFrame
    turnover: pd.Series
    costs: pd.DataFrame
    metrics: dict[str, Any]
    benchmark_metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    benchmark_equity: pd.DataFrame = field(default_factory=pd.DataFrame)
    config: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    ruin_date: pd.Timestamp | None = None

    def to_frame(self) -> pd.DataFrame:
        """Equity, returns, turnover and costs by date, one row per bar."""
        frame = pd.DataFrame({"equity": self.equity, "returns": self.returns, "turnover": self.turnover})
        return frame.join(self.costs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary holding every field."""
        trades = self.trades.copy()
        if "date" in trades:
            trades["date"] = pd.to_datetime(trades["date"]).dt.strftime("%Y-%m-%d")
        return {
            "name": self.name,
            "metrics": jsonable(self.metrics),
            "benchmark_metrics": jsonable(self.benchmark_metrics),
            "config": jsonable(self.config),
            "equity": _series_to_json(self.equity),
            "returns": _series_to_json(self.returns),
            "turnover": _series_to_json(self.turnover),
            "weights": _frame_to_json(self.weights),
            "positions": _frame_to_json(self.positions),
            "costs": _frame_to_json(self.costs),
            "benchmark_equity": _frame_to_json(self.benchmark_equity),
            "trades": {"columns": list(trades.columns), "data": jsonable(trades.to_numpy().tolist())},
            "notes": list(self.notes),
            "ruin_date": jsonable(self.ruin_date),
        }

    def to_json(self, indent: int | None = None) -> str:
        """Serialise to a JSON string (NaN written as null)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> BacktestResult:
        """Rebuild a result from ``to_dict`` output."""
        trades = pd.DataFrame(obj["trades"]["data"], columns=obj["trades"]["columns"])
        if "date" in trades:
            trades["date"] = pd.to_datetime(trades["date"])
        return cls(
            name=obj["name"],
            equity=_series_from_json(obj["equity"], "equity"),
            returns=_series_from_json(obj["returns"], "returns"),
            weights=_frame_from_json(obj["weights"]),
            positions=_frame_from_json(obj["positions"]),
            trades=trades,
            turnover=_series_from_json(obj["turnover"], "turnover"),
            costs=_frame_from_json(obj["costs"]),
            metrics=obj["metrics"],
            benchmark_metrics=obj.get("benchmark_metrics", {}),
            benchmark_equity=_frame_from_json(obj["benchmark_equity"]),
            config=obj.get("config", {}),
            notes=tuple(obj.get("notes", ())),
            ruin_date=pd.Timestamp(obj["ruin_date"]) if obj.get("ruin_date") else None,
        )

    @classmethod
    def from_json(cls, text: str) -> BacktestResult:
        """Rebuild a result from ``to_json`` output."""
        return cls.from_dict(json.loads(text))
