"""Synthetic engine results for the report tests (built directly, no engine run, fixed seeds)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from theses.engine.batch import BatchResult
from theses.engine.result import COST_COLUMNS, TRADE_COLUMNS, BacktestResult

INITIAL_CASH = 10_000.0


def trading_days(n: int, start: str = "2021-01-04") -> pd.DatetimeIndex:
    return pd.bdate_range(start, periods=n, name="date")


def synthetic_result(
    name: str,
    seed: int,
    n: int = 400,
    tickers: tuple[str, ...] = ("AAA", "BBB"),
    short: str | None = None,
    start: str = "2021-01-04",
) -> BacktestResult:
    """A plausible result: random-walk equity, constant weights (one optional short), small daily costs."""
    rng = np.random.default_rng(seed)
    index = trading_days(n, start)
    rets = rng.normal(0.0004, 0.011, n)
    rets[0] = 0.0
    equity = pd.Series(INITIAL_CASH * np.cumprod(1 + rets), index=index, name="equity")
    returns = equity.pct_change().fillna(0.0).rename("returns")
    cols = list(tickers) + ([short] if short else [])
    w = np.full((n, len(cols)), 0.9 / len(tickers))
    if short:
        w[:, -1] = -0.3
    w[0] = 0.0
    weights = pd.DataFrame(w, index=index, columns=cols)
    positions = weights * 100.0
    trades = pd.DataFrame(
        [[index[1], cols[0], 10.0, 100.0, 1000.0, 0.1, 0.2]], columns=TRADE_COLUMNS
    )
    turnover = pd.Series(np.where(np.arange(n) % 21 == 1, 0.05, 0.0), index=index, name="turnover")
    costs = pd.DataFrame(
        np.column_stack([turnover * 1.0, turnover * 2.0, np.full(n, 0.01 if short else 0.0), np.zeros(n)]),
        index=index, columns=COST_COLUMNS,
    )
    bench = pd.DataFrame(
        {
            "SPY": INITIAL_CASH * np.cumprod(1 + np.r_[0.0, rng.normal(0.0005, 0.01, n - 1)]),
            "RSP": INITIAL_CASH * np.cumprod(1 + np.r_[0.0, rng.normal(0.0003, 0.009, n - 1)]),
        },
        index=index,
    )
    total = float(equity.iloc[-1] / INITIAL_CASH - 1)
    metrics = {
        "total_return": total,
        "cagr": float((1 + total) ** (252 / (n - 1)) - 1),
        "volatility": float(returns.std() * np.sqrt(252)),
        "sharpe": float(returns.mean() / returns.std() * np.sqrt(252)),
        "sortino": 1.0 / 3.0 + seed,
        "max_drawdown": float((equity / equity.cummax() - 1).min()),
        "max_drawdown_start": index[10].strftime("%Y-%m-%d"),
        "max_drawdown_trough": index[20].strftime("%Y-%m-%d"),
        "max_drawdown_end": None,
        "calmar": 0.1 + seed / 7,
        "beta": 0.9,
        "alpha": 0.012345678901234567,
        "tracking_error": 0.05,
        "information_ratio": float("nan"),
        "monthly_hit_rate": 0.55,
        "best_month": 0.08,
        "worst_month": -0.07,
        "turnover": float(turnover.mean() * 252),
        "costs": float(costs[["fees", "slippage", "borrow"]].to_numpy().sum() / INITIAL_CASH),
        "fees": float(costs["fees"].sum() / INITIAL_CASH),
        "slippage": float(costs["slippage"].sum() / INITIAL_CASH),
        "borrow": float(costs["borrow"].sum() / INITIAL_CASH),
        "interest": 0.0,
        "turnover_ex_entry": float(turnover.iloc[2:].sum() / 2 / ((n - 1) / 252)),
        "initial_entry": float(turnover.iloc[1]),
        "cost_drag_bps": 3.0 + seed,
        "fee_drag_bps": 1.0 + seed / 3,
        "slippage_drag_bps": 2.0,
        "borrow_drag_bps": float(seed) * 2 / 3 if short else 0.0,
        "risk_free": 0.0,
        "start": index[0].strftime("%Y-%m-%d"),
        "end": index[-1].strftime("%Y-%m-%d"),
    }
    bench_metrics = {
        col: {**{k: v for k, v in metrics.items()}, "total_return": float(bench[col].iloc[-1] / INITIAL_CASH - 1),
              "sharpe": 0.7 if col == "SPY" else 0.5, "turnover": 0.0, "costs": 0.0}
        for col in bench
    }
    config = {
        "initial_cash": INITIAL_CASH,
        "costs": {"fees_bps": 1.0, "slippage_bps": 2.0, "borrow_bps": 50.0, "cash_rate": 0.0},
        "execution": "close",
        "description": f"synthetic strategy {name}",
        "rebalance": "monthly",
        "data_source": "csv:/synthetic",
    }
    return BacktestResult(
        name=name, equity=equity, returns=returns, weights=weights, positions=positions, trades=trades,
        turnover=turnover, costs=costs, metrics=metrics, benchmark_metrics=bench_metrics,
        benchmark_equity=bench, config=config,
    )


def synthetic_batch(name: str, seed: int, paths: int = 200, n: int = 300, drift: float = 0.0003) -> BatchResult:
    """A batch of random-walk paths summarised the way the engine does (bands of equity / initial cash)."""
    rng = np.random.default_rng(seed)
    index = trading_days(n, "2025-01-02")
    rets = rng.normal(drift, 0.015, (paths, n))
    rets[:, 0] = 0.0
    equity = np.cumprod(1 + rets, axis=1)
    terminal = equity[:, -1]
    years = (n - 1) / 252
    cagr = terminal ** (1 / years) - 1
    mdd = (equity / np.maximum.accumulate(equity, axis=1) - 1).min(axis=1)
    bands = np.percentile(equity, [5, 25, 50, 75, 95], axis=0)
    summary = {f"terminal_wealth_p{p}": float(np.percentile(terminal, p)) for p in (5, 25, 50, 75, 95)}
    summary.update({f"cagr_p{p}": float(np.percentile(cagr, p)) for p in (5, 25, 50, 75, 95)})
    summary.update(prob_loss=float((terminal < 1).mean()), prob_beat_benchmark=float("nan"),
                   cvar_5=float(np.sort(terminal - 1)[: max(1, paths // 20)].mean()),
                   median_max_drawdown=float(np.median(mdd)), paths=paths)
    return BatchResult(
        name=name, index=index, terminal_wealth=terminal, cagr=cagr, max_drawdown=mdd,
        turnover=np.full(paths, 0.5), costs=np.full(paths, 0.001), equity_bands=bands, summary=summary,
    )


def synthetic_simulation() -> tuple[dict[str, dict[str, BatchResult]], dict]:
    """Two scenarios x two strategies, plus the metadata a simulation run carries."""
    scenarios = {
        "jetsons": {"alpha": synthetic_batch("alpha", 1, drift=0.0005), "beta": synthetic_batch("beta", 2)},
        "damp_squib": {"alpha": synthetic_batch("alpha", 3, drift=-0.0004), "beta": synthetic_batch("beta", 4)},
    }
    meta = {
        "seed": 1234, "method": "parametric", "paths": 200, "years": 1.2,
        "probabilities": {"jetsons": 0.6, "damp_squib": 0.4},
        "blend": {"alpha": {"cagr_p50": 0.05, "cagr_p5": -0.2, "cagr_p95": 0.3, "prob_loss": 0.35},
                  "beta": {"cagr_p50": 0.01, "cagr_p5": -0.25, "cagr_p95": 0.28, "prob_loss": 0.45}},
    }
    return scenarios, meta


def synthetic_run(paths: int = 200, n: int = 300, ruin_paths: int = 0):
    """A scenario run built by hand: two scenarios x (alpha, beta, index_beta, SPY, RSP); index_beta is SPY.

    ``ruin_paths`` of beta's paths in damp_squib are wiped out (maximum drawdown -100%). No request is kept,
    so a decision on it has in-sample figures only.
    """
    from dataclasses import replace

    from theses.engine.metrics import scenario_blend
    from theses.studies.scenarios import SimulationRun

    drifts = {"jetsons": {"alpha": 0.0008, "beta": 0.0005, "SPY": 0.0004, "RSP": 0.0003},
              "damp_squib": {"alpha": -0.0006, "beta": 0.0001, "SPY": 0.0, "RSP": 0.0001}}
    results = {}
    for k, (scenario, by) in enumerate(drifts.items()):
        batches = {name: synthetic_batch(name, 10 * k + i, paths=paths, n=n, drift=drift)
                   for i, (name, drift) in enumerate(by.items())}
        if ruin_paths and scenario == "damp_squib":
            beta = batches["beta"]
            drawdown, terminal = beta.max_drawdown.copy(), beta.terminal_wealth.copy()
            drawdown[:ruin_paths], terminal[:ruin_paths] = -1.0, 0.0
            batches["beta"] = replace(beta, max_drawdown=drawdown, terminal_wealth=terminal)
        batches["index_beta"] = replace(batches["SPY"], name="index_beta")
        results[scenario] = {name: batches[name] for name in ("alpha", "beta", "index_beta", "SPY", "RSP")}
    probabilities = {"jetsons": 0.6, "damp_squib": 0.4}
    blend = {name: scenario_blend({s: {"terminal_wealth": results[s][name].terminal_wealth,
                                       "cagr": results[s][name].cagr, "max_drawdown": results[s][name].max_drawdown}
                                   for s in results}, probabilities) for name in results["jetsons"]}
    index = results["jetsons"]["SPY"].index
    return SimulationRun(results=results, probabilities=probabilities, blend=blend, seed=77, method="t",
                         paths=paths, years=(n - 1) / 252, index=index,
                         benchmark_terminal={s: r["SPY"].terminal_wealth for s, r in results.items()},
                         notes=("synthetic paths",))
