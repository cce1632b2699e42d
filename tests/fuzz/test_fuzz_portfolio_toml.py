"""Property tests of portfolio TOML files: a working Strategy or one StrategyError line naming the file.

A strategy the parser accepts must also produce target weights on a small price frame without raising or
warning, and its bands and costs must lie in the ranges every run accepts.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.fuzz.toml_text import SCALARS, dumps, mutated_text, perturbed
from theses.strategies import StrategyError, strategy_from_toml
from theses.util import SETTING_RANGES

TICKERS = ["SPY", "AAA", "BBB", "spy", "", "TOO-LONG-TICKER-NAME", "A B", "^GSPC", "BRK-B", "=X"]
VALID = """name = "mine"
description = "a test book"
rebalance = "monthly"
band_abs = 0.05
missing_policy = "cash"
benchmark = "SPY"
[weights]
SPY = 0.6
AAA = 0.3
BBB = -0.1
[costs]
fees_bps = 1
[trend_filter]
basket = ["AAA", "BBB"]
window = 20
fallback = "SPY"
"""


@st.composite
def documents(draw: st.DrawFn) -> dict:
    doc: dict = {}
    keys = ["name", "description", "rebalance", "band_abs", "band_rel", "missing_policy", "benchmark", "bogus"]
    for key in draw(st.lists(st.sampled_from(keys), unique=True, max_size=6)):
        doc[key] = draw(SCALARS)
    if draw(st.booleans()) or "rebalance" not in doc:
        doc["rebalance"] = draw(st.sampled_from(["monthly", "none", "weekly", "hourly", 3]))
    if draw(st.integers(0, 9)):
        doc["weights"] = {draw(st.sampled_from(TICKERS)): draw(SCALARS) for _ in range(draw(st.integers(0, 4)))}
    if draw(st.booleans()):
        doc["costs"] = {draw(st.sampled_from(["fees_bps", "slippage_bps", "borrow_bps", "tax"])): draw(SCALARS)}
    if draw(st.booleans()):
        doc["trend_filter"] = {
            "basket": draw(st.lists(st.sampled_from(TICKERS), max_size=3)),
            "window": draw(SCALARS),
            "fallback": draw(st.one_of(st.sampled_from(TICKERS), SCALARS)),
        }
    return doc


def prices(tickers: tuple[str, ...]) -> pd.DataFrame:
    index = pd.bdate_range("2024-01-02", periods=60)
    rng = np.random.default_rng(1)
    data = 100 * np.cumprod(1 + rng.normal(0, 0.01, (len(index), len(tickers))), axis=0)
    return pd.DataFrame(data, index=index, columns=list(tickers))


def check_portfolio(text: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        try:
            strategy = strategy_from_toml(text, source="mine.toml")
        except StrategyError as exc:
            message = str(exc)
            event("refused")
            assert "\n" not in message and message.startswith("mine.toml"), message
            return
        event("accepted")
        weights = strategy.target_weights(prices(strategy.universe))
    assert list(weights.columns) == list(strategy.universe)
    finite = weights.to_numpy()[np.isfinite(weights.to_numpy())]
    assert np.abs(finite).max(initial=0) <= 3.0  # the exposure limit
    for name in ("band_abs", "band_rel", "fees_bps", "slippage_bps", "borrow_bps"):
        value = getattr(strategy, name)
        low, high, _ = SETTING_RANGES[name]
        assert value is None or low <= value <= high, (name, value)


BASE = {
    "name": "mine", "rebalance": "monthly", "band_abs": 0.05, "benchmark": "SPY", "missing_policy": "renormalize",
    "weights": {"SPY": 0.6, "AAA": 0.5, "BBB": -0.1}, "costs": {"fees_bps": 1, "borrow_bps": 80},
    "trend_filter": {"basket": ["AAA"], "window": 10, "fallback": "SPY"},
}


@settings(max_examples=80)
@given(doc=documents())
def test_any_generated_portfolio_is_a_strategy_or_one_line(doc):
    check_portfolio(dumps(doc))


@settings(max_examples=80)
@given(doc=perturbed(BASE))
def test_any_perturbed_portfolio_is_a_strategy_or_one_line(doc):
    check_portfolio(dumps(doc))


@settings(max_examples=60)
@given(text=mutated_text(VALID))
def test_any_mutated_portfolio_file_is_a_strategy_or_one_line(text):
    check_portfolio(text)
