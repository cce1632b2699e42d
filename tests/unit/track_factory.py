"""Small synthetic inputs for the tracking study: price CSVs from 2022 to April 2025 and three scenario files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TICKERS = ("NVDA", "AVGO", "SPY", "QQQ", "RSP", "IWM")
GROUPS = {"compute": ("NVDA", "AVGO"), "index": ("SPY", "QQQ"), "broad_market": ("RSP", "IWM")}
COMPUTE_EXCESS = {"slow": -0.10, "base": 0.05, "fast": 0.30}


def write_prices(folder: Path, start: str = "2022-01-03", end: str = "2025-04-30", seed: int = 7) -> Path:
    """Correlated random-walk closes (with Open = Close) for TICKERS, in the CSV layout of the price files."""
    folder.mkdir(parents=True, exist_ok=True)
    index = pd.bdate_range(start, end)
    rng = np.random.default_rng(seed)
    common = rng.normal(0.0003, 0.008, len(index))
    for i, ticker in enumerate(TICKERS):
        vol = 0.02 if ticker in GROUPS["compute"] else 0.006
        steps = common + rng.normal(0.0004 if i < 2 else 0.0001, vol, len(index))
        close = 50.0 * (1 + i) * np.exp(np.cumsum(steps))
        pd.DataFrame({"Date": index.strftime("%Y-%m-%d"), "Open": close, "High": close * 1.01, "Low": close * 0.99,
                      "Close": close, "Volume": 1_000_000}).to_csv(folder / f"{ticker}.csv", index=False)
    return folder


def scenario_text(name: str, compute_excess: float, crash: bool = False) -> str:
    groups = "\n".join(f'{g} = [{", ".join(f"{chr(34)}{t}{chr(34)}" for t in members)}]' for g, members in GROUPS.items())
    text = f"""name = "{name}"
t_df = 5.0
[groups]
{groups}
[phases.turn]
start = 2024-06-01
market_drift = 0.06
market_vol = {1.2 if name == "fast" else 1.0}
[phases.turn.excess_drift]
compute = {compute_excess}
"""
    if crash:
        text += """[[crashes]]
name = "shock"
start = 2025-01-20
end = 2025-02-28
[crashes.size]
compute = -0.15
index = -0.02
"""
    return text


def write_scenarios(folder: Path) -> list[str]:
    """The three scenario files (``fast`` has a crash window inside the tracked months); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, excess in COMPUTE_EXCESS.items():
        path = folder / f"{name}.toml"
        path.write_text(scenario_text(name, excess, crash=name == "fast"), encoding="utf-8")
        paths.append(str(path))
    return paths


def synthetic_calibration(groups: dict[str, tuple[str, ...]] = GROUPS, vol: float = 0.015, correlation: float = 0.5):
    """A calibration of every ticker of ``groups``: one daily volatility, one pairwise correlation."""
    from theses.data.calibration import Calibration

    tickers = tuple(t for members in groups.values() for t in members)
    n = len(tickers)
    corr = np.full((n, n), correlation)
    np.fill_diagonal(corr, 1.0)
    return Calibration(tickers=tickers, daily_vol=np.full(n, vol), daily_mean=np.zeros(n), correlation=corr,
                       shrinkage=0.0, start=pd.Timestamp("2015-01-02"), end=pd.Timestamp("2024-11-29"))
