"""End to end: `theses rebalance` on a tiny CSV price directory, holdings file and portfolio TOML."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from theses.cli.main import main

DATES = pd.bdate_range("2024-01-02", periods=7)  # 2024-01-02 .. 2024-01-10
# Last close of each ticker on 2024-01-10 matches the hand-computed engine case: A 100, B 50, C 20, OLD 10.
CLOSES = {
    "AAA": [90, 92, 94, 96, 98, 99, 100],
    "BBB": [40, 42, 44, 46, 48, 50],  # its file ends a day early (2024-01-09)
    "CCC": [25, 24, 23, 22, 21, 20.5, 20],
    "OLD": [12, 12, 11, 11, 10, 10, 10],
    "SPY": [400, 401, 402, 403, 404, 405, 406],
    "NEW": [None, None, None, None, 30, 31, 32],  # lists on 2024-01-08
}
PORTFOLIO = """name = "tiny"
rebalance = "monthly"
[weights]
AAA = 0.5
BBB = 0.3
CCC = -0.1
"""
HOLDINGS = "ticker,shares,cost_basis\nAAA,10,900\nCCC,-5,\nOLD,30,360\n"


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    prices = tmp_path / "prices"
    prices.mkdir()
    for ticker, closes in CLOSES.items():
        rows = [
            f"{day:%Y-%m-%d},{c},{c},{c},{c},1000" for day, c in zip(DATES, closes, strict=False) if c is not None
        ]
        (prices / f"{ticker}.csv").write_text("Date,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n")
    (tmp_path / "tiny.toml").write_text(PORTFOLIO)
    (tmp_path / "holdings.csv").write_text(HOLDINGS)
    return tmp_path


def _run(workspace: Path, *extra: str, strategy: str | None = None) -> list[str]:
    return [
        "rebalance", strategy or str(workspace / "tiny.toml"), "--holdings", str(workspace / "holdings.csv"),
        "--data-dir", str(workspace / "prices"), "--source", "csv", *extra,
    ]


def _json(workspace: Path, capsys: pytest.CaptureFixture[str], *extra: str, strategy: str | None = None) -> dict:
    assert main(_run(workspace, "--format", "json", *extra, strategy=strategy)) == 0
    return json.loads(capsys.readouterr().out)


def test_fractional_json_hand_computed(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(workspace, capsys, "--cash", "1000", "--fees-bps", "0")
    # equity = 1000 + 10*100 - 5*20 + 30*10 = 2200; targets A 11, B 13.2, C -11 shares; OLD sold.
    totals = doc["totals"]
    assert totals["equity"] == pytest.approx(2200.0)
    assert totals["cash_after"] == pytest.approx(660.0)
    assert totals["gross_exposure_after"] == pytest.approx(0.9)
    assert totals["net_exposure_after"] == pytest.approx(0.7)
    assert totals["turnover"] == pytest.approx(1180.0 / 2200.0)
    assert totals["weights_measured_on"] == "equity before fees"
    rows = {p["ticker"]: p for p in doc["positions"]}
    assert list(rows) == ["AAA", "BBB", "CCC", "OLD"]
    assert rows["AAA"]["trade_shares"] == pytest.approx(1.0)
    assert rows["BBB"]["trade_shares"] == pytest.approx(13.2)
    assert rows["CCC"]["action"] == "short" and rows["CCC"]["trade_shares"] == pytest.approx(-6.0)
    assert rows["OLD"]["action"] == "sell" and rows["OLD"]["in_strategy"] is False
    assert rows["AAA"]["cost_basis"] == 900 and rows["CCC"]["cost_basis"] is None
    # each price says its own date: BBB's file ends on 2024-01-09
    assert rows["BBB"]["price_date"] == "2024-01-09"
    assert rows["AAA"]["price_date"] == "2024-01-10"
    assert doc["prices_as_of"] == "2024-01-10"
    for ticker, target in {"AAA": 0.5, "BBB": 0.3, "CCC": -0.1, "OLD": 0.0}.items():
        assert abs(rows[ticker]["weight_after"] - target) <= 1e-12
    assert "OLD is not in the strategy: sell to close the position" in doc["notes"]


def test_as_of_uses_closes_on_or_before_the_date(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 2024-01-06 is a Saturday: prices of Friday 2024-01-05 (AAA 96, BBB 46, CCC 22, OLD 11)
    doc = _json(workspace, capsys, "--cash", "1000", "--fees-bps", "0", "--as-of", "2024-01-06")
    rows = {p["ticker"]: p for p in doc["positions"]}
    assert {t: r["price"] for t, r in rows.items()} == {"AAA": 96.0, "BBB": 46.0, "CCC": 22.0, "OLD": 11.0}
    assert doc["prices_as_of"] == "2024-01-05"
    assert doc["target_weights_date"] == "2024-01-05"
    assert doc["totals"]["equity"] == pytest.approx(1000 + 960 - 110 + 330)


def test_whole_shares_and_default_fee(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # default fee 1 bp; whole shares: A 11, B 13 (13.2 rounded toward zero), C -11, OLD 0
    doc = _json(workspace, capsys, "--cash", "1000", "--whole-shares")
    rows = {p["ticker"]: p for p in doc["positions"]}
    assert [rows[t]["shares_after"] for t in ("AAA", "BBB", "CCC", "OLD")] == [11, 13, -11, 0]
    fees = 1e-4 * (100 + 650 + 120 + 300)
    assert doc["totals"]["fees"] == pytest.approx(fees)
    assert doc["totals"]["cash_after"] == pytest.approx(1000 - 100 - 650 + 120 + 300 - fees)
    assert doc["totals"]["weight_error_total"] == pytest.approx(10 / 2200)


def test_min_trade_and_bands_list_skipped_trades(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A drifts |1000/2200 - 0.5| = 0.045 (within a 0.05 band) and CCC |-100/2200 + 0.1| = 0.055 (not)
    doc = _json(workspace, capsys, "--cash", "1000", "--fees-bps", "0", "--bands", "0.05")
    skipped = {s["ticker"]: s for s in doc["skipped"]}
    assert list(skipped) == ["AAA"]
    assert skipped["AAA"]["shares"] == pytest.approx(1.0)
    assert skipped["AAA"]["reason"] == "skipped buy 1 sh (within band: |0.4545 - 0.5000| <= 0.05)"
    # min trade 150 skips A (100) and C (120), keeps B (660) and the OLD sale (300)
    doc = _json(workspace, capsys, "--cash", "1000", "--fees-bps", "0", "--min-trade", "150")
    assert [s["ticker"] for s in doc["skipped"]] == ["AAA", "CCC"]
    assert doc["skipped"][1]["reason"] == "skipped short 6 sh (below min trade: |-120.00| < 150)"


def test_not_enough_cash_is_reported(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # an all-cash account (header-only holdings) going fully invested with a 10 bps fee: 1000 of buys plus
    # 1.00 of fees do not fit in 1000, so the buys are scaled by 1000 / 1001.
    (workspace / "full.toml").write_text('name = "full"\nrebalance = "monthly"\n[weights]\nAAA = 0.6\nBBB = 0.4\n')
    (workspace / "holdings.csv").write_text("ticker,shares\n")
    doc = _json(workspace, capsys, "--cash", "1000", "--fees-bps", "10", strategy=str(workspace / "full.toml"))
    assert doc["totals"]["buy_scale"] == pytest.approx(1000 / 1001, rel=1e-9)
    assert 0.0 <= doc["totals"]["cash_after"] < 1e-6
    rows = {p["ticker"]: p for p in doc["positions"]}
    assert rows["AAA"]["trade_shares"] == pytest.approx(6.0 / 1.001, rel=1e-9)
    assert any("cannot fund the buys and fees: buys scaled to 99.90%" in note for note in doc["notes"])


def test_csv_out_is_written_atomically(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = workspace / "trades.csv"
    assert main(_run(workspace, "--cash", "1000", "--fees-bps", "0", "--format", "csv", "--out", str(out))) == 0
    assert f"trade list written to {out}" in capsys.readouterr().err
    frame = pd.read_csv(out)
    assert frame["ticker"].tolist() == ["AAA", "BBB", "CCC", "OLD", "CASH"]
    cash = frame.set_index("ticker").loc["CASH"]
    assert cash["current_shares"] == pytest.approx(1000.0)
    assert cash["shares_after"] == pytest.approx(660.0)
    assert frame.set_index("ticker").loc["OLD", "note"] == "not in strategy"
    assert sorted(p.name for p in workspace.iterdir()) == ["holdings.csv", "prices", "tiny.toml", "trades.csv"]


def test_table_output_states_dates_strategy_and_equity(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_run(workspace, "--cash", "1000", "--fees-bps", "0")) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(
        "rebalance tiny | as-of latest: prices up to 2024-01-10, target weights of 2024-01-10 | equity 2,200.00"
    )
    assert "not in strategy" in out
    assert "weights are fractions of equity before fees" in out
    assert "2024-01-09" in out  # BBB's own price date


def test_registered_buy_and_hold_strategy_uses_its_first_row(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # index_beta emits one row (the first day); that row is the target. Equity 2200 -> 2200/406 SPY.
    doc = _json(workspace, capsys, "--cash", "1000", "--fees-bps", "0", strategy="index_beta")
    rows = {p["ticker"]: p for p in doc["positions"]}
    assert rows["SPY"]["target_weight"] == 1.0
    assert rows["SPY"]["target_shares"] == pytest.approx(2200 / 406)
    assert doc["target_weights_date"] == "2024-01-02"
    assert {"AAA", "CCC", "OLD"} <= {t for t, r in rows.items() if not r["in_strategy"]}


def test_signal_strategy_uses_the_signal_as_of(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # AAA rises every day: above its 3-day average from the third day on -> hold the book; before that the
    # filter is off and the fallback SPY is held.
    (workspace / "trend.toml").write_text(
        'name = "trend"\nrebalance = "monthly"\n[weights]\nAAA = 1.0\n'
        '[trend_filter]\nbasket = ["AAA"]\nwindow = 3\nfallback = "SPY"\n'
    )
    spec = str(workspace / "trend.toml")
    early = _json(workspace, capsys, "--cash", "1000", "--as-of", "2024-01-03", strategy=spec)
    late = _json(workspace, capsys, "--cash", "1000", "--as-of", "2024-01-10", strategy=spec)
    early_w = {p["ticker"]: p["target_weight"] for p in early["positions"]}
    late_w = {p["ticker"]: p["target_weight"] for p in late["positions"]}
    assert early_w["SPY"] == 1.0 and early_w["AAA"] == 0.0
    assert late_w["AAA"] == 1.0 and late_w["SPY"] == 0.0


@pytest.mark.parametrize(
    ("extra", "portfolio_extra", "holdings", "message"),
    [
        ((), "NEW = 0.1\n", HOLDINGS,
         "error: strategy 'tiny' targets NEW, which have no price on or before 2024-01-05; choose a later --as-of"),
        ((), "", HOLDINGS + "NEW,3,\n",
         "error: NEW in {h} have no price on or before 2024-01-05 (first price 2024-01-08); choose a later --as-of"),
        ((), "", "ticker,shares\nAAA,ten\n", "error: {h} line 2: shares 'ten' is not a number; write e.g. 12, -3.5 or $1,234.50"),
        (("--cash", "nan"), "", HOLDINGS, "error: --cash nan is not a finite number; give e.g. --cash 2500"),
    ],
)
def test_user_errors_exit_2_with_one_line(
    workspace: Path, capsys: pytest.CaptureFixture[str], extra: tuple, portfolio_extra: str, holdings: str,
    message: str,
) -> None:
    (workspace / "tiny.toml").write_text(PORTFOLIO + portfolio_extra)
    (workspace / "holdings.csv").write_text(holdings)
    assert main(_run(workspace, "--as-of", "2024-01-05", *extra)) == 2
    err = capsys.readouterr().err
    assert err.strip() == message.format(h=workspace / "holdings.csv")


def test_unpriced_zero_target_ticker_is_left_out(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workspace / "tiny.toml").write_text(PORTFOLIO + "NEW = 0.0\n")
    doc = _json(workspace, capsys, "--cash", "1000", "--as-of", "2024-01-05")
    assert "NEW" not in {p["ticker"] for p in doc["positions"]}
    assert "NEW: no price on or before 2024-01-05, target 0, not held; left out" in doc["notes"]


def test_renamed_ticker_in_holdings_maps_to_its_current_symbol(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace / "prices" / "META.csv").write_text(
        "Date,Open,High,Low,Close,Volume\n" + "\n".join(f"{d:%Y-%m-%d},500,500,500,500,1" for d in DATES) + "\n"
    )
    (workspace / "holdings.csv").write_text("ticker,shares\nFB,2\n")
    doc = _json(workspace, capsys, "--cash", "0", "--fees-bps", "0")
    rows = {p["ticker"]: p for p in doc["positions"]}
    assert rows["META"]["current_shares"] == 2.0 and rows["META"]["action"] == "sell"
    (workspace / "holdings.csv").write_text("ticker,shares\nMETA,1\nFB,2\n")
    assert main(_run(workspace)) == 2
    assert "line 3: FB is META, already held on another line (META); merge the two rows into one" in (
        capsys.readouterr().err
    )


def test_a_broker_export_adds_its_cash_rows_and_shows_cost_basis_and_gain(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace / "holdings.csv").write_text(
        '"Positions for account Individual ...123 as of 2024/01/10","",""\n'
        '"Symbol","Qty (Quantity)","Mkt Val (Market Value)","Cost Basis","Description"\n'
        '"aaa","10","$1,000.00","$900.00","A corp"\n'
        '"SWVXX","600","$600.00","$600.00","sweep"\n'
        '"Cash & Cash Investments","--","$400.00","--","cash"\n'
        '"Account Total","--","$2,000.00","--","--"\n'
    )
    doc = _json(workspace, capsys, "--cash", "0", "--fees-bps", "0")
    # equity = 1000 of cash (600 sweep + 400 cash) + 10 AAA at 100.
    assert doc["totals"]["equity"] == pytest.approx(2000.0)
    aaa = next(p for p in doc["positions"] if p["ticker"] == "AAA")
    assert aaa["cost_basis"] == 900.0 and aaa["unrealised_gain"] == pytest.approx(100.0)
    assert any("cash 1,000.00 from SWVXX, Cash & Cash Investments (added to the cash)" in n for n in doc["notes"])
    assert main(_run(workspace, "--fees-bps", "0")) == 0
    table = capsys.readouterr().out
    assert "cost basis" in table and "gain" in table
    assert "900.00" in table and "+100.00" in table
