"""``theses simulate`` and ``theses calibrate`` end to end, small and offline."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pandas as pd
import pytest

from theses.cli.main import main
from theses.cli.simulate_cmd import parse_probabilities
from theses.data.scenario_spec import list_scenarios, load_scenario, parse_scenario
from theses.strategies import get_strategy, list_strategies
from theses.studies.errors import StudyError
from theses.studies.scenarios import resolve_probabilities, simulate
from theses.studies.settings import shipped_priors


def test_simulate_all_scenarios_offline_json(capsys, monkeypatch):
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    status = main(["simulate", "--scenario", "all", "--paths", "200", "--years", "2", "--seed", "3",
                   "--format", "json", "--chunk-size", "128"])
    assert status == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["scenarios"]) == {"damp_squib", "typical_cycle", "jetsons", "take_off", "bubble_2027"}
    names = {s.name for s in list_strategies()} | {"SPY", "RSP"}
    for summaries in doc["scenarios"].values():
        assert set(summaries) == names
        for summary in summaries.values():
            assert summary["paths"] == 200
            assert summary["cagr_p5"] <= summary["cagr_p50"] <= summary["cagr_p95"]
            assert 0 <= summary["prob_loss"] <= 1
    assert doc["scenarios"]["jetsons"]["SPY"]["prob_beat_benchmark"] == 0.0  # SPY never beats itself
    assert doc["scenarios"]["jetsons"]["index_beta"]["prob_beat_benchmark"] == 0.0  # nor does 100% SPY
    assert sum(doc["probabilities"].values()) == pytest.approx(1.0)
    assert doc["probabilities"]["jetsons"] + doc["probabilities"]["take_off"] > 0.5  # the essay's >50%
    assert set(doc["blend"]) == names
    # In the bubble scenario the compute basket ends below SPY far more often than in take-off.
    bubble = doc["scenarios"]["bubble_2027"]["compute_buildout"]["prob_beat_benchmark"]
    take_off = doc["scenarios"]["take_off"]["compute_buildout"]["prob_beat_benchmark"]
    assert bubble < take_off


def test_simulate_table_output(capsys):
    assert main(["simulate", "index_beta", "--scenario", "jetsons", "--paths", "64", "--years", "1"]) == 0
    out = capsys.readouterr().out
    assert "jetsons: 64 paths" in out and "blend (jetsons=1.00)" in out and "P(>SPY)" in out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--scenario", "jetsn"], "did you mean 'jetsons'"),
        (["--method", "bootstrap"], "pass --data-dir"),
        (["--probabilities", "jetsons=0.5"], "no probability for scenario"),
        (["--probabilities", "jetsons"], "is not SCENARIO=P"),
        (["--execution", "open"], "closes only"),
        (["no_such_strategy"], "no_such_strategy"),
    ],
)
def test_simulate_user_errors_are_one_line(argv, fragment, capsys, monkeypatch):
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    status = main(["simulate", *argv, "--paths", "8", "--years", "0.1"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: ") and fragment in err and err.count("\n") == 1


USER_SPEC = """\
[groups]
index = ["SPY", "RSP"]
[phases.all]
start = 2025-01-01
market_drift = 0.05
"""


def test_probabilities_parsing_and_defaults():
    assert parse_probabilities("jetsons=0.4, take_off=0.6") == {"jetsons": 0.4, "take_off": 0.6}
    jetsons, take_off = load_scenario("jetsons"), load_scenario("take_off")
    # the files' priors (0.35 and 0.20), renormalised over the scenarios run
    probs, notes = resolve_probabilities([jetsons, take_off], None)
    assert probs == pytest.approx({"jetsons": 0.35 / 0.55, "take_off": 0.20 / 0.55}) and notes == ()
    # a user's scenario without a prior: every scenario run gets an equal share, and a note says so
    mine = parse_scenario(USER_SPEC, source="mine.toml")
    yours = parse_scenario(USER_SPEC, source="yours.toml")
    assert resolve_probabilities([mine, yours], None)[0] == {"mine": 0.5, "yours": 0.5}
    probs, notes = resolve_probabilities([mine, jetsons], None)
    assert probs == {"mine": 0.5, "jetsons": 0.5}
    assert len(notes) == 1 and "no prior in mine (mine.toml)" in notes[0] and "equal share 1/2" in notes[0]
    # a prior of its own is renormalised with the shipped ones
    own = parse_scenario("prior = 0.45\n" + USER_SPEC, source="own.toml")
    assert resolve_probabilities([own, jetsons], None)[0] == pytest.approx({"own": 0.45 / 0.8, "jetsons": 0.35 / 0.8})
    # given probabilities are used as they are
    assert resolve_probabilities([mine, jetsons], {"mine": 0.2, "jetsons": 0.8}) == ({"mine": 0.2, "jetsons": 0.8}, ())
    zero = parse_scenario("prior = 0\n" + USER_SPEC, source="zero.toml")
    with pytest.raises(StudyError, match="sum to 0"):
        resolve_probabilities([zero], None)


def test_shipped_priors_sum_to_one_and_help_shows_them(capsys):
    specs = [load_scenario(name) for name in list_scenarios()]
    assert [s.name for s in specs] == ["damp_squib", "typical_cycle", "jetsons", "take_off", "bubble_2027"]
    assert all(s.prior is not None for s in specs)
    assert sum(s.prior for s in specs) == pytest.approx(1.0)
    assert specs[2].prior + specs[3].prior > 0.5  # the essay: >50% on jetsons or take_off
    assert shipped_priors() == {s.name: s.prior for s in specs}
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "damp_squib=0.15, typical_cycle=0.2, jetsons=0.35, take_off=0.2, bubble_2027=0.1" in text
    assert "%%" not in text


def test_run_notes_say_when_a_scenario_has_no_prior(tmp_path, capsys):
    spec = tmp_path / "mine.toml"
    spec.write_text(USER_SPEC)
    assert main(["simulate", "index_beta", "--scenario", f"{spec},jetsons", "--paths", "8", "--years", "0.2"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "blend (mine=0.50, jetsons=0.50)" in out and "note: no prior in mine" in out


def test_run_simulation_is_reproducible_and_chunk_independent():
    spec = load_scenario("typical_cycle")
    strategies = [get_strategy("essay_book"), get_strategy("bubble_watch")]
    a = simulate(strategies, scenarios=[spec], paths=150, years=1, seed=9, chunk_size=150)
    b = simulate(strategies, scenarios=[spec], paths=150, years=1, seed=9, chunk_size=40)
    for name in ("essay_book", "bubble_watch", "SPY"):
        ra, rb = a.results["typical_cycle"][name], b.results["typical_cycle"][name]
        np.testing.assert_array_equal(ra.terminal_wealth, rb.terminal_wealth)
        assert ra.summary == rb.summary
        # Fan bands: exact percentiles on the weekly sampled dates (the results' index), whatever the chunking.
        assert ra.equity_bands.shape == (5, len(ra.index)) and ra.index[-1] == a.index[-1]
        np.testing.assert_array_equal(ra.equity_bands, rb.equity_bands)
    assert a.blend["essay_book"] == a.results["typical_cycle"]["essay_book"].summary
    c = simulate(strategies, scenarios=[spec], paths=150, years=1, seed=10)
    assert not np.array_equal(c.results["typical_cycle"]["SPY"].terminal_wealth,
                              a.results["typical_cycle"]["SPY"].terminal_wealth)


def test_prob_beat_spy_counts_paths_where_the_strategy_ends_higher():
    spec = load_scenario("jetsons")
    run = simulate([get_strategy("meta_single_pick")], scenarios=[spec], paths=100, years=1, seed=4)
    meta = run.results["jetsons"]["meta_single_pick"]
    spy = run.benchmark_terminal["jetsons"]
    expected = np.mean(np.round(meta.terminal_wealth, 12) > np.round(spy, 12))
    assert meta.summary["prob_beat_benchmark"] == pytest.approx(expected)


def test_user_spec_missing_a_strategy_ticker_is_named(tmp_path, capsys):
    spec = tmp_path / "mine.toml"
    spec.write_text(textwrap.dedent('''\
        [groups]
        index = ["SPY", "RSP"]
        [phases.all]
        start = 2025-01-01
        market_drift = 0.05
    '''))
    assert main(["simulate", "index_beta", "--scenario", str(spec), "--paths", "8", "--years", "0.5"]) == 0
    capsys.readouterr()
    assert main(["simulate", "meta_single_pick", "--scenario", str(spec), "--paths", "8", "--years", "0.5"]) == 2
    assert "needs META, which scenario mine" in capsys.readouterr().err


def _write_csvs(directory, days: int = 700) -> None:
    rng = np.random.default_rng(1)
    index = pd.bdate_range("2020-01-01", periods=days)
    common = rng.standard_normal(days) * 0.01
    for ticker in ("SPY", "RSP", "META"):
        rets = 0.0003 + common + rng.standard_normal(days) * 0.005
        close = 100 * np.exp(np.cumsum(rets))
        frame = pd.DataFrame({"Date": index.strftime("%Y-%m-%d"), "Open": close, "High": close * 1.01,
                              "Low": close * 0.99, "Close": close, "Volume": 1000})
        frame.to_csv(directory / f"{ticker}.csv", index=False)


def test_calibrate_then_bootstrap_from_csvs(tmp_path, capsys):
    prices = tmp_path / "prices"
    prices.mkdir()
    _write_csvs(prices)
    out = tmp_path / "cal.json"
    assert main(["calibrate", "--data-dir", str(prices), "--out", str(out)]) == 0
    raw = json.loads(out.read_text())
    assert raw["tickers"] == ["META", "RSP", "SPY"] and raw["end"] == "2022-09-06"
    spec = tmp_path / "three.toml"
    spec.write_text('[groups]\nindex = ["SPY", "RSP"]\nai_platforms = ["META"]\n'
                    '[phases.all]\nstart = 2020-01-01\nmarket_drift = 0.05\n')
    capsys.readouterr()
    status = main(["simulate", "meta_single_pick", "--scenario", str(spec), "--method", "bootstrap",
                   "--data-dir", str(prices), "--calibration", str(out), "--paths", "40", "--years", "1",
                   "--format", "json"])
    assert status == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["start"] == "2022-09-07"  # the business day after the data ends
    assert doc["method"] == "bootstrap" and doc["scenarios"]["three"]["meta_single_pick"]["paths"] == 40


def test_calibrate_needs_a_data_dir(capsys, monkeypatch):
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    assert main(["calibrate"]) == 2
    assert "pass --data-dir DIR" in capsys.readouterr().err


def test_parse_scenario_used_directly_by_the_pipeline():
    spec = parse_scenario('[groups]\nindex = ["SPY", "RSP"]\n[phases.a]\nstart = 2025-01-01\nmarket_drift = 0.0\n',
                          source="inline.toml", name="flat")
    run = simulate([], scenarios=[spec], paths=64, years=0.5, seed=1)
    assert set(run.results["flat"]) == {"SPY", "RSP"}
    assert run.index[0] == pd.Timestamp("2026-09-28")  # next business day after the shipped calibration


def test_calibrate_writes_the_users_file_and_never_the_shipped_one(tmp_path, capsys, monkeypatch):
    from theses.data.calibration import DEFAULT_CALIBRATION

    prices = tmp_path / "prices"
    prices.mkdir()
    _write_csvs(prices)
    home = tmp_path / "home"
    monkeypatch.setenv("THESES_DATA_HOME", str(home))
    shipped = DEFAULT_CALIBRATION.read_bytes()
    assert main(["calibrate", "--data-dir", str(prices)]) == 0
    written = home / "calibration.json"
    assert capsys.readouterr().out.strip() == str(written)
    assert json.loads(written.read_text())["tickers"] == ["META", "RSP", "SPY"]
    assert (written.stat().st_mode & 0o777) == 0o666 & ~_umask()  # the umask's mode, not 0600
    assert main(["calibrate", "--data-dir", str(prices), "--out", str(DEFAULT_CALIBRATION)]) == 2
    assert "shipped with the package" in capsys.readouterr().err
    assert DEFAULT_CALIBRATION.read_bytes() == shipped


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_simulate_on_two_dask_workers_prints_the_in_process_json(capsys, monkeypatch):
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    argv = ["simulate", "bubble_watch", "--scenario", "jetsons,take_off", "--paths", "100", "--years", "1",
            "--seed", "2", "--chunk-size", "64", "--format", "json"]
    assert main(argv) == 0
    local = capsys.readouterr().out
    assert main([*argv, "--workers", "2"]) == 0
    assert capsys.readouterr().out == local
