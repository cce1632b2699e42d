"""Metrics on real SPY and QQQ closes, cross-checked against empyrical-reloaded (and vectorbt) to 1e-9."""

from __future__ import annotations

from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest

from theses.engine import metrics as m

pytestmark = pytest.mark.integration

RTOL = 1e-9


def read_close(data_dir: Path, ticker: str) -> pd.Series:
    """The adjusted close column of one CSV (Date,Open,High,Low,Close,Volume), read directly."""
    frame = pd.read_csv(data_dir / f"{ticker}.csv", index_col="Date", parse_dates=True)
    return frame["Close"].rename(ticker)


@pytest.fixture(scope="module")
def spy(real_data_dir: Path) -> pd.Series:
    return read_close(real_data_dir, "SPY")


@pytest.fixture(scope="module")
def qqq(real_data_dir: Path) -> pd.Series:
    return read_close(real_data_dir, "QQQ")


@pytest.mark.parametrize("risk_free", [0.0, 0.03])
def test_spy_metrics_match_empyrical(spy, risk_free):
    out = m.performance_metrics(spy, risk_free=risk_free)
    r = spy.pct_change().iloc[1:]
    rf_p = risk_free / 252  # empyrical's risk-free rate is per period
    assert out["total_return"] == pytest.approx(spy.iloc[-1] / spy.iloc[0] - 1, rel=1e-12)
    expected = {
        "total_return": empyrical.cum_returns_final(r),
        "cagr": empyrical.annual_return(r),
        "volatility": empyrical.annual_volatility(r),
        "sharpe": empyrical.sharpe_ratio(r, risk_free=rf_p),
        "sortino": empyrical.sortino_ratio(r, required_return=rf_p),
        "max_drawdown": empyrical.max_drawdown(r),
        "calmar": empyrical.calmar_ratio(r),
    }
    for key, value in expected.items():
        assert out[key] == pytest.approx(float(value), rel=RTOL), key
    months = empyrical.aggregate_returns(r, "monthly")
    assert out["monthly_hit_rate"] == pytest.approx(float((months > 0).mean()), rel=1e-12)
    assert out["best_month"] == pytest.approx(float(months.max()), rel=RTOL)
    assert out["worst_month"] == pytest.approx(float(months.min()), rel=RTOL)
    assert (out["start"], out["end"]) == (
        spy.index[0].strftime("%Y-%m-%d"),
        spy.index[-1].strftime("%Y-%m-%d"),
    )


def test_spy_worst_drawdown_is_the_2020_crash(spy):
    out = m.performance_metrics(spy)
    # The February-March 2020 fall: SPY's last high was 19 Feb, its low 23 Mar; with dividends
    # reinvested (adjusted closes) it was back at the high in August 2020.
    assert (out["max_drawdown_start"], out["max_drawdown_trough"]) == ("2020-02-19", "2020-03-23")
    assert out["max_drawdown_end"].startswith("2020-08")
    assert -0.36 < out["max_drawdown"] < -0.32
    peak, trough = spy.loc["2020-02-19"], spy.loc["2020-03-23"]
    assert out["max_drawdown"] == pytest.approx(trough / peak - 1, rel=1e-12)


def test_qqq_against_spy_matches_empyrical(qqq, spy):
    out = m.performance_metrics(qqq, benchmark_equity=spy, risk_free=0.02)
    r, b = qqq.pct_change().iloc[1:], spy.pct_change().iloc[1:]
    rf_p = 0.02 / 252
    emp_alpha, emp_beta = empyrical.alpha_beta(r, b, risk_free=rf_p)
    assert out["beta"] == pytest.approx(emp_beta, rel=RTOL)
    assert out["alpha"] == pytest.approx(emp_alpha, rel=RTOL)
    assert out["information_ratio"] == pytest.approx(empyrical.excess_sharpe(r, b) * np.sqrt(252), rel=RTOL)
    assert out["tracking_error"] == pytest.approx(np.std((r - b).to_numpy(), ddof=1) * np.sqrt(252), rel=RTOL)
    assert 1.0 < out["beta"] < 1.4  # the Nasdaq-100 moves more than the S&P 500


def test_path_metrics_on_rolling_spy_windows(spy):
    """Every 5-year window of SPY as one path: the vectorised figures equal the single-series ones."""
    values = spy.to_numpy()
    days = 1261  # 1,260 returns: five years
    starts = np.arange(0, len(values) - days + 1, 21)
    paths = np.stack([values[s : s + days] for s in starts]).astype(np.float32)
    out = m.path_metrics(paths)
    for p, s in enumerate(starts):
        window = pd.Series(paths[p].astype(np.float64), index=spy.index[s : s + days])
        r = window.pct_change().iloc[1:]
        assert out["cagr"][p] == pytest.approx(empyrical.annual_return(r), rel=RTOL)
        assert out["max_drawdown"][p] == pytest.approx(empyrical.max_drawdown(r), rel=RTOL)
    summary = m.scenario_summary(paths)
    assert summary["paths"] == len(starts)
    assert summary["prob_loss"] == np.mean(out["terminal_wealth"] < 1)
    assert summary["cagr_p5"] <= summary["cagr_p50"] <= summary["cagr_p95"]


def test_spy_metrics_match_vectorbt_with_252_day_years(spy):
    """vectorbt annualises daily data with 365 days unless told; year_freq='252 days' makes it ours."""
    vbt = pytest.importorskip("vectorbt")
    del vbt  # importing registers the ``.vbt`` accessor
    out = m.performance_metrics(spy)
    returns = spy.pct_change().iloc[1:].vbt.returns(freq="1D", year_freq="252 days")
    assert out["cagr"] == pytest.approx(returns.annualized(), rel=RTOL)
    assert out["volatility"] == pytest.approx(returns.annualized_volatility(), rel=RTOL)
    assert out["sharpe"] == pytest.approx(returns.sharpe_ratio(), rel=RTOL)
    assert out["sortino"] == pytest.approx(returns.sortino_ratio(), rel=RTOL)
    assert out["max_drawdown"] == pytest.approx(returns.max_drawdown(), rel=RTOL)
    assert out["calmar"] == pytest.approx(returns.calmar_ratio(), rel=RTOL)
