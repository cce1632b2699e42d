"""Scenario TOML parsing: the shipped specs load, and mistakes name the key and the line."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from theses.data.errors import DataError
from theses.data.scenario_spec import key_lines, list_scenarios, load_scenario, parse_scenario

STRATEGY_TICKERS = {"SPY", "RSP", "META", "MSFT", "AMZN", "ORCL", "GOOGL", "DASH", "F", "GM", "STLA", "NVDA",
                    "TSM", "INFY", "CRM", "VGK", "AVGO", "AMD", "MU", "ANET", "MRVL"}

GOOD = textwrap.dedent('''\
    name = "tiny"
    t_df = 5.0

    [groups]
    compute = ["NVDA", "TSM"]
    index = ["SPY"]

    [phases.early]
    start = 2025-01-01
    end = 2026-12-31
    market_drift = 0.07
    market_vol = 1.0

    [phases.early.excess_drift]
    compute = 0.10
    NVDA = -0.02

    [phases.late]
    start = 2027-01-01
    market_drift = 0.05
    market_vol = 1.5

    [phases.late.vol_mult]
    compute = 1.2

    [[crashes]]
    name = "burst"
    start = 2027-01-01
    end = 2027-06-30
    size = -0.3
    groups = ["compute"]

    [[crashes]]
    start = 2028-01-01
    end = 2028-03-31

    [crashes.size]
    index = -0.1
    NVDA = -0.5
''')


def test_good_spec_parses_to_the_written_values():
    spec = parse_scenario(GOOD, source="tiny.toml")
    assert spec.name == "tiny" and spec.t_df == 5.0
    assert spec.tickers == ("NVDA", "TSM", "SPY")
    assert [p.name for p in spec.phases] == ["early", "late"]
    early, late = spec.phases
    assert early.start == pd.Timestamp("2025-01-01") and early.end == pd.Timestamp("2026-12-31")
    assert dict(early.excess_drift) == {"compute": 0.10, "NVDA": -0.02}
    assert late.end is None and late.market_vol == 1.5 and dict(late.vol_mult) == {"compute": 1.2}
    assert dict(spec.crashes[0].sizes) == {"compute": -0.3}
    assert spec.crashes[1].name == "crash 2" and dict(spec.crashes[1].sizes) == {"index": -0.1, "NVDA": -0.5}
    assert spec.phase_at(pd.Timestamp("2020-01-01")).name == "early"  # before the timeline: first phase
    assert spec.phase_at(pd.Timestamp("2030-01-01")).name == "late"
    with pytest.raises(AttributeError):
        spec.name = "other"  # frozen


def test_key_lines_tracks_tables_arrays_and_subtables():
    lines = key_lines(GOOD)
    assert lines[("phases", "early", "excess_drift", "NVDA")] == 16
    assert lines[("crashes", 0, "size")] == 30
    assert lines[("crashes", 1, "size", "NVDA")] == 39


@pytest.mark.parametrize("name", ["damp_squib", "typical_cycle", "jetsons", "take_off", "bubble_2027"])
def test_shipped_scenarios_load_and_cover_every_strategy_ticker(name):
    spec = load_scenario(name)
    assert STRATEGY_TICKERS <= set(spec.tickers)
    assert len(spec.tickers) == 40
    assert spec.description


def test_list_scenarios_names_the_five_shipped_files_in_the_essays_order():
    assert list_scenarios() == ["damp_squib", "typical_cycle", "jetsons", "take_off", "bubble_2027"]


def test_prior_and_order_are_read_and_checked():
    spec = parse_scenario("prior = 0.25\norder = 7\n" + GOOD, source="spec.toml")
    assert spec.prior == 0.25 and spec.order == 7
    assert parse_scenario(GOOD, source="spec.toml").prior is None
    assert "line 1: prior: 1.5 is out of range; use a value between 0.0 and 1.0" in _error("prior = 1.5\n" + GOOD)
    assert "line 1: prior: expected a number" in _error('prior = "high"\n' + GOOD)
    assert "line 1: order: expected a whole number" in _error("order = 1.5\n" + GOOD)


def test_every_shipped_prior_has_a_sourced_comment():
    from theses.data.scenario_spec import SCENARIO_DIR

    for path in SCENARIO_DIR.glob("*.toml"):
        lines = path.read_text(encoding="utf-8").splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith("prior = "))
        comment = " ".join(lines[max(0, at - 3):at])
        assert "# prior:" in comment and "essay" in comment and "assumption" in comment, path.name


def test_bubble_2027_reprices_ai_groups_in_2027():
    spec = load_scenario("bubble_2027")
    river = spec.phase_at(pd.Timestamp("2027-06-01"))
    build = spec.phase_at(pd.Timestamp("2026-06-01"))
    assert river.excess_drift["compute"] < 0 < build.excess_drift["compute"]
    crash = spec.crashes[0]
    assert crash.start.year == 2027 and crash.sizes["compute"] < crash.sizes["index"] < 0


def _error(text: str) -> str:
    with pytest.raises(DataError) as info:
        parse_scenario(text, source="spec.toml")
    message = str(info.value)
    assert "\n" not in message
    return message


def test_misspelt_phase_key_names_line_and_suggests():
    message = _error(GOOD.replace("market_drift = 0.05", "markt_drift = 0.05"))
    assert message.startswith("spec.toml line 20: phases.late.markt_drift: unknown key")
    assert "did you mean 'market_drift'" in message


def test_unknown_group_in_excess_drift_is_named_with_suggestion():
    message = _error(GOOD.replace("compute = 0.10", "compte = 0.10"))
    assert message.startswith("spec.toml line 15: phases.early.excess_drift.compte: unknown group or ticker")
    assert "did you mean 'compute'" in message


def test_unknown_top_level_key():
    message = _error("tdf = 4\n" + GOOD)
    assert message.startswith("spec.toml line 1: tdf: unknown key") and "did you mean 't_df'" in message


def test_unknown_crash_group_names_the_array_element():
    message = _error(GOOD.replace('groups = ["compute"]', 'groups = ["computer"]'))
    assert message.startswith("spec.toml line 31: crashes[0].groups.computer")


def test_phase_gap_overlap_and_order():
    gap = _error(GOOD.replace("start = 2027-01-01\nmarket_drift = 0.05", "start = 2027-02-01\nmarket_drift = 0.05"))
    assert "line 19: phases.late.start" in gap and "gap" in gap and "start it on 2027-01-01" in gap
    overlap = _error(GOOD.replace("start = 2027-01-01\nmarket_drift", "start = 2026-06-01\nmarket_drift"))
    assert "overlaps phase 'early'" in overlap
    backwards = _error(GOOD.replace("end = 2026-12-31", "end = 2024-12-31"))
    assert "line 10: phases.early.end" in backwards and "before start" in backwards


def test_bad_values_are_named():
    assert "line 12: phases.early.market_vol" in _error(GOOD.replace("market_vol = 1.0", "market_vol = -1.0"))
    assert "expected a number" in _error(GOOD.replace("market_drift = 0.07", 'market_drift = "high"'))
    assert "line 2: t_df" in _error(GOOD.replace("t_df = 5.0", "t_df = 2.0"))
    assert "expected a date" in _error(GOOD.replace("start = 2025-01-01", "start = 2025"))


def test_ticker_in_two_groups_and_missing_sections():
    message = _error(GOOD.replace('index = ["SPY"]', 'index = ["SPY", "NVDA"]'))
    assert "line 6: groups.index" in message and "already in group 'compute'" in message
    assert "missing [phases] table" in _error('[groups]\nindex = ["SPY"]\n')
    assert "missing key 'market_drift'" in _error(GOOD.replace("market_drift = 0.07\n", ""))


def test_invalid_toml_reports_the_line():
    message = _error(GOOD.replace("t_df = 5.0", "t_df = = 5.0"))
    assert message.startswith("spec.toml: invalid TOML") and "line 2" in message


def test_load_scenario_by_path_and_unknown_name(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD.replace('name = "tiny"\n', ""))
    spec = load_scenario(str(path))
    assert spec.name == "mine"
    with pytest.raises(DataError, match="unknown scenario 'jetson' \\(did you mean 'jetsons'\\?\\)"):
        load_scenario("jetson")
    with pytest.raises(DataError, match="not found"):
        load_scenario(str(tmp_path / "absent.toml"))


# ------------------------------------------------------------------------- corruptions: one line, key, line
@pytest.mark.parametrize(("old", "new", "expected"), [
    # missing phases
    ("[phases.early]", "[phasez.early]", ["spec.toml line 8: phasez", "unknown key (did you mean 'phases'?)"]),
    # negative volatility (market and group)
    ("market_vol = 1.5", "market_vol = -0.5", ["line 21: phases.late.market_vol", "out of range"]),
    ("compute = 1.2", "compute = -1.2", ["line 24: phases.late.vol_mult.compute", "out of range"]),
    # a crash outside the timeline
    ("start = 2028-01-01\nend = 2028-03-31", "start = 2020-01-01\nend = 2020-03-31",
     ["line 35: crashes[1].end", "before the first phase 'early' starts (2025-01-01)"]),
    # a crash of absurd size (x148 in a day) and one just outside the accepted jumps
    ("size = -0.3", "size = 5.0", ["line 30: crashes[0].size", "5.0 is out of range", "-3.0 and 1.0"]),
    ("NVDA = -0.5", "NVDA = -3.5", ["line 39: crashes[1].size.NVDA", "out of range"]),
    # overlapping phases
    ("start = 2027-01-01\nmarket_drift", "start = 2026-12-01\nmarket_drift",
     ["line 19: phases.late.start", "overlaps phase 'early'"]),
    # unknown groups, in a phase and in a crash
    ("compute = 0.10", "computing = 0.10", ["line 15: phases.early.excess_drift.computing", "did you mean 'compute'"]),
    ('groups = ["compute"]', 'groups = ["semis"]', ["line 31: crashes[0].groups.semis", "unknown group"]),
])
def test_each_corruption_is_one_line_naming_the_key_and_line(old, new, expected):
    message = _error(GOOD.replace(old, new))
    assert "\n" not in message
    for part in expected:
        assert part in message, (part, message)


def test_a_crash_after_a_last_phase_that_ends_is_refused():
    text = GOOD.replace("start = 2027-01-01\nmarket_drift = 0.05", "start = 2027-01-01\nend = 2027-12-31\nmarket_drift = 0.05")
    message = _error(text.replace("start = 2028-01-01\nend = 2028-03-31", "start = 2029-01-01\nend = 2029-03-31"))
    assert "crashes[1].start" in message and "after the last phase 'late' ends (2027-12-31)" in message


def test_scenario_files_that_are_not_text_are_one_line(tmp_path):
    latin = tmp_path / "latin.toml"
    latin.write_bytes(GOOD.encode() + "# caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.toml line 40: not UTF-8 text \(byte 0xe9\); save it as UTF-8"):
        load_scenario(str(latin))
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (2 << 20))
    with pytest.raises(DataError, match="a scenario is a short TOML text"):
        load_scenario(str(big))


@pytest.mark.parametrize(("line", "expected"), [
    ("prior = -0.1", "line 1: prior: -0.1 is out of range; use a value between 0.0 and 1.0"),
    ("prior = nan", "line 1: prior: nan is not a finite number"),
    ("prior = inf", "line 1: prior: inf is not a finite number"),
    ("prior = true", "line 1: prior: expected a number, got True"),
    ("prior = [0.5]", "line 1: prior: expected a number"),
])
def test_a_prior_that_is_no_probability_is_one_line_naming_the_key_and_line(line, expected):
    message = _error(f"{line}\n" + GOOD)
    assert "\n" not in message and expected in message, message
