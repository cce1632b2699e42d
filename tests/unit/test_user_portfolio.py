"""User portfolios from TOML text: parsing, weights with and without a trend filter, and every error case."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from theses.strategies import StrategyError, strategy_from_toml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

MINIMAL = """\
name = "core"
rebalance = "monthly"

[weights]
SPY = 0.6
META = 0.5
F = -0.1
"""


def load(text: str):
    return strategy_from_toml(textwrap.dedent(text), "my.toml")


def prices_for(tickers, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    n_days = len(next(iter(columns.values())))
    index = pd.bdate_range("2024-01-01", periods=n_days, name="date")
    return pd.DataFrame({t: columns.get(t, np.full(n_days, 100.0)) for t in tickers}, index=index)


def test_minimal_portfolio_defaults_and_weights():
    strategy = load(MINIMAL)
    assert strategy.name == "core"
    assert strategy.universe == ("SPY", "META", "F")
    assert (strategy.rebalance, strategy.benchmark, strategy.missing_policy) == ("monthly", "SPY", "cash")
    assert strategy.band_abs is None and strategy.fees_bps is None
    assert strategy.description == "user portfolio from my.toml"
    weights = strategy.target_weights(prices_for(strategy.universe, {"SPY": np.linspace(1, 2, 5)}))
    np.testing.assert_allclose(weights.to_numpy(), np.tile([0.6, 0.5, -0.1], (5, 1)))


def test_example_files_parse():
    tilt = strategy_from_toml((EXAMPLES / "my_portfolio.toml").read_text(), "my_portfolio.toml")
    assert dict(tilt.params.weights) == {
        "SPY": 0.5, "MSFT": 0.15, "META": 0.15, "NVDA": 0.1, "TSM": 0.1, "F": -0.05, "GM": -0.05
    }  # fmt: skip
    assert (tilt.rebalance, tilt.band_abs, tilt.fees_bps, tilt.slippage_bps, tilt.borrow_bps) == (
        "quarterly", 0.05, 1.0, 2.0, 50.0
    )  # fmt: skip
    trend = strategy_from_toml((EXAMPLES / "ai_trend_filter.toml").read_text(), "ai_trend_filter.toml")
    assert trend.params.trend_filter.window == 150 and trend.params.trend_filter.fallback == "SPY"
    assert trend.universe == ("NVDA", "AVGO", "TSM", "MSFT", "META", "SPY")


def test_trend_filter_switches_on_crossing_bar_and_falls_back():
    strategy = load(
        """\
        name = "trend"
        rebalance = "monthly"
        [weights]
        AAA = 0.7
        BBB = 0.3
        [trend_filter]
        window = 5
        fallback = "SPY"
        """
    )
    assert strategy.params.trend_filter.basket == ("AAA", "BBB")  # defaults to the long tickers
    path = np.array([100.0 - t for t in range(10)] + [91.0 + 5.0 * (t - 9) for t in range(10, 20)])
    prices = prices_for(strategy.universe, {"AAA": path, "BBB": path})
    weights = strategy.target_weights(prices)
    assert (weights["SPY"].iloc[:10] == 1.0).all() and (weights[["AAA", "BBB"]].iloc[:10] == 0).all().all()
    assert (weights["SPY"].iloc[10:] == 0.0).all()
    assert (weights["AAA"].iloc[10:] == 0.7).all() and (weights["BBB"].iloc[10:] == 0.3).all()
    # no peeking: a crash after bar 12 leaves rows 0..12 unchanged
    crashed = prices.copy()
    crashed.iloc[13:, :2] *= 0.2
    pd.testing.assert_frame_equal(strategy.target_weights(crashed).iloc[:13], weights.iloc[:13])
    # off while the 5-day window still holds pre-crash closes, on again once it holds only rising ones
    assert strategy.target_weights(crashed)["SPY"].iloc[13:].tolist() == [1.0] * 4 + [0.0] * 3


def test_trend_filter_cash_fallback_and_explicit_basket():
    strategy = load(
        """\
        name = "trend"
        rebalance = "weekly"
        [weights]
        SPY = 1.0
        [trend_filter]
        basket = ["NVDA"]
        window = 3
        """
    )
    assert strategy.universe == ("SPY", "NVDA")
    nvda = np.array([10.0, 11.0, 12.0, 11.0, 10.0, 9.0])
    weights = strategy.target_weights(prices_for(strategy.universe, {"NVDA": nvda}))
    # 3-day mean: -, -, 11, 11.33, 11, 10 -> on at day 2 only
    assert weights["SPY"].tolist() == [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    assert (weights["NVDA"] == 0.0).all()
    paths = np.stack([prices_for(strategy.universe, {"NVDA": nvda}).to_numpy()] * 2)
    batch = strategy.target_weights_array(paths, weights.index, strategy.universe)
    assert batch.shape == paths.shape
    np.testing.assert_array_equal(batch[1], weights.to_numpy())


def test_quoted_ticker_with_dot_and_inline_table():
    strategy = load('name = "x"\nrebalance = "none"\nweights = { "BRK.B" = 0.5, SPY = 0.5 }\n')
    assert dict(strategy.params.weights) == {"BRK.B": 0.5, "SPY": 0.5}


# --- errors: each names the key and the line -----------------------------------------------------------


def _err(text: str) -> str:
    with pytest.raises(StrategyError) as info:
        load(text)
    message = str(info.value)
    assert "\n" not in message and message.startswith("my.toml")
    return message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # typo in a top-level key
        ('name = "x"\nrebalence = "monthly"\n[weights]\nSPY = 1\n',
         ["line 2", "rebalence", "did you mean 'rebalance'"]),
        # typo in a table name
        ('name = "x"\nrebalance = "monthly"\n[weights]\nSPY = 1\n[cost]\nfees_bps = 1\n',
         ["line 5", "cost", "did you mean 'costs'"]),
        # typo in a key inside [costs]
        ('name = "x"\nrebalance = "monthly"\n[weights]\nSPY = 1\n[costs]\nfee_bps = 1\n',
         ["line 6", "costs.fee_bps", "did you mean 'fees_bps'"]),
        # typo in a key inside [trend_filter]
        ('name = "x"\nrebalance = "monthly"\n[weights]\nSPY = 1\n[trend_filter]\nwindw = 50\n',
         ["line 6", "trend_filter.windw", "did you mean 'window'"]),
        # unknown rebalance rule
        ('name = "x"\n\nrebalance = "montly"\n[weights]\nSPY = 1\n',
         ["line 3", "rebalance", "did you mean 'monthly'", "none, daily, weekly, monthly, quarterly, yearly"]),
        # unknown ticker format: lower case
        ('name = "x"\nrebalance = "monthly"\n[weights]\nSPY = 0.5\nmeta = 0.5\n',
         ["line 5", "weights.meta", "write it as META"]),
        # unknown ticker format: bad characters
        ('name = "x"\nrebalance = "monthly"\n[weights]\n"BRK/B" = 0.5\n',
         ["line 4", "weights.BRK/B", "not a valid ticker"]),
        # unquoted ticker with a dot
        ('name = "x"\nrebalance = "monthly"\n[weights]\nSPY = 0.5\nBRK.B = 0.5\n',
         ["line 5", "weights.BRK", 'write "BRK.B" = fraction']),
        # gross exposure beyond 3
        ('name = "x"\nrebalance = "monthly"\n\n[weights]\nSPY = 1.5\nQQQ = -1.0\nIWM = 1.0\n',
         ["line 4", "weights", "gross exposure 3.5", "exceeds 3"]),
        # net exposure beyond 1.5
        ('name = "x"\nrebalance = "monthly"\n[weights]\nSPY = 1.0\nQQQ = 0.6\n',
         ["line 3", "weights", "net exposure 1.6", "1.5"]),
        # wrong type: a weight as a string
        ('name = "x"\nrebalance = "monthly"\n[weights]\nSPY = "0.5"\n',
         ["line 4", "weights.SPY", "expected a fraction"]),
        # wrong type: band as a string
        ('name = "x"\nrebalance = "monthly"\nband_abs = "5%"\n[weights]\nSPY = 1\n',
         ["line 3", "band_abs", "expected a number"]),
        # wrong type: negative cost
        ('name = "x"\nrebalance = "monthly"\n[weights]\nSPY = 1\n[costs]\nborrow_bps = -5\n',
         ["line 6", "costs.borrow_bps", "use 0 to 10000"]),
        # wrong type: costs not a table
        ('name = "x"\nrebalance = "monthly"\ncosts = 5\n[weights]\nSPY = 1\n', ["line 3", "costs", "expected a table"]),
        # wrong type: window not an integer
        ('name = "x"\nrebalance = "monthly"\n[weights]\nSPY = 1\n[trend_filter]\nwindow = 20.5\n',
         ["line 6", "trend_filter.window", "whole number"]),
        # wrong type: basket not a list
        ('name = "x"\nrebalance = "monthly"\n[weights]\nSPY = 1\n[trend_filter]\nbasket = "META"\n',
         ["line 6", "trend_filter.basket", "list of tickers"]),
        # bad fallback ticker
        ('name = "x"\nrebalance = "monthly"\n[weights]\nSPY = 1\n[trend_filter]\nfallback = "spy"\n',
         ["line 6", "trend_filter.fallback", "write it as 'SPY'"]),
        # wrong type: name
        ('name = 5\nrebalance = "monthly"\n[weights]\nSPY = 1\n', ["line 1", "name", "non-empty string"]),
        # wrong type: weights not a table
        ('name = "x"\nrebalance = "monthly"\nweights = 1.0\n', ["line 3", "weights", "table of TICKER"]),
        # empty weights
        ('name = "x"\nrebalance = "monthly"\n[weights]\n', ["line 3", "weights", "empty"]),
        # unknown missing policy
        ('name = "x"\nrebalance = "monthly"\nmissing_policy = "drop"\n[weights]\nSPY = 1\n',
         ["line 3", "missing_policy", "cash, renormalize"]),
    ],
)  # fmt: skip
def test_error_names_key_and_line(text, expected):
    message = _err(text)
    for part in expected:
        assert part in message, (part, message)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('name = "x"\nrebalance = "monthly"\n', "'weights'"),
        ('rebalance = "monthly"\n[weights]\nSPY = 1\n', "'name'"),
        ('name = "x"\n[weights]\nSPY = 1\n', "'rebalance'"),
    ],
)
def test_missing_required_key_is_named(text, key):
    message = _err(text)
    assert f"missing key {key}" in message


def test_toml_syntax_error_is_one_line_with_position():
    message = _err('name = "x"\nrebalance = "monthly"\n[weights]\nSPY = \n')
    assert "invalid TOML" in message and "line 4" in message


def test_rebalance_none_is_buy_and_hold_through_the_engine():
    """rebalance = "none" emits one target, so the engine trades once and the book drifts with prices."""
    from theses.engine import BacktestConfig, RebalanceRule, backtest

    strategy = load(
        """\
        name = "hold"
        rebalance = "none"
        [weights]
        AAA = 0.5
        BBB = 0.5
        """
    )
    aaa = np.array([100.0, 110.0, 121.0, 133.1, 146.41])
    bbb = np.array([100.0, 90.0, 81.0, 72.9, 65.61])
    prices = prices_for(strategy.universe, {"AAA": aaa, "BBB": bbb})
    weights = strategy.target_weights(prices)
    assert weights.notna().all(axis=1).tolist() == [True, False, False, False, False]

    result = backtest(prices, weights, BacktestConfig(initial_cash=1000.0, rebalance=RebalanceRule("none")))
    assert len(result.trades) == 2  # one buy per ticker at bar 1, never again
    # bought at bar 1's closes (110, 90) with 500 each; held to the end
    expected = 500.0 / 110.0 * 146.41 + 500.0 / 90.0 * 65.61
    assert result.equity.iloc[-1] == pytest.approx(expected, rel=1e-12)


def test_rebalance_none_with_trend_filter_emits_rows_only_on_switches():
    strategy = load(
        """\
        name = "hold_trend"
        rebalance = "none"
        [weights]
        AAA = 1.0
        [trend_filter]
        window = 5
        fallback = "SPY"
        """
    )
    path = np.array([100.0 - t for t in range(10)] + [91.0 + 5.0 * (t - 9) for t in range(10, 20)])
    weights = strategy.target_weights(prices_for(strategy.universe, {"AAA": path}))
    rows = weights.dropna(how="all")
    assert [weights.index.get_loc(d) for d in rows.index] == [0, 10]
    assert rows["SPY"].tolist() == [1.0, 0.0] and rows["AAA"].tolist() == [0.0, 1.0]


# --- sleeves ----------------------------------------------------------------------------------------------

SLEEVED = MINIMAL + '\n[sleeves]\ncore = ["SPY"]\n"ai platforms" = ["META"]\n'


def test_sleeves_name_parts_of_the_book_and_the_rest_is_other():
    strategy = load(SLEEVED)
    assert strategy.sleeves == (("core", ("SPY",)), ("ai platforms", ("META",)))
    assert strategy.sleeve_map() == {"core": ("SPY",), "ai platforms": ("META",), "other": ("F",)}
    assert load(MINIMAL).sleeve_map() == {}


@pytest.mark.parametrize(
    ("sleeves", "expected"),
    [
        ('[sleeves]\ncore = ["SPY"]\nai = ["MSFT"]\n', ["line 11", "sleeves.ai", "MSFT is not in the portfolio"]),
        ('[sleeves]\ncore = ["SPY"]\nai = ["SPY", "META"]\n', ["line 11", "sleeves.ai", "already in sleeve 'core'"]),
        ('[sleeves]\ncore = "SPY"\n', ["line 10", "sleeves.core", "non-empty list of tickers"]),
        ('[sleeves]\ncore = []\n', ["line 10", "sleeves.core", "non-empty list"]),
        ('[sleeves]\nother = ["SPY"]\n', ["line 10", "sleeves.other", "choose another name"]),
        ('[sleeves]\ncore = ["spy"]\n', ["line 10", "sleeves.core", "write it as 'SPY'"]),
        ('[sleeves]\n', ["line 9", "sleeves", "expected a table of sleeve = [tickers]"]),
    ],
)
def test_sleeve_errors_are_one_line_naming_key_and_line(sleeves, expected):
    message = _err(MINIMAL + "\n" + sleeves)
    for part in expected:
        assert part in message, (part, message)


def test_a_strategy_checks_its_sleeves():
    from theses.strategies import Strategy
    from theses.strategies.combinators import StaticBook

    rule = StaticBook({"SPY": 0.5, "QQQ": 0.5})
    with pytest.raises(StrategyError, match="sleeve 'tech' names NVDA, which the strategy does not hold"):
        Strategy(name="s", description="", rebalance="monthly", benchmark="SPY", params=None, rule=rule,
                 sleeves={"tech": ("NVDA",)})
    with pytest.raises(StrategyError, match="SPY is in sleeves 'a' and 'b'"):
        Strategy(name="s", description="", rebalance="monthly", benchmark="SPY", params=None, rule=rule,
                 sleeves={"a": ("SPY",), "b": ("SPY", "QQQ")})
