"""Grid parsing and validation: names, types and ranges against a strategy's parameters or a TOML's keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.sweep_factory import write_portfolio
from theses.strategies import get_strategy
from theses.studies.errors import StudyError
from theses.studies.grid import (
    ParamsTarget,
    TomlTarget,
    build_grid,
    build_strategies,
    expand_range,
    point_label,
    split_grid,
)

REPO = Path(__file__).resolve().parents[2]
TREND_TOML = (REPO / "examples" / "ai_trend_filter.toml").read_text()


@pytest.fixture(scope="module")
def bubble() -> ParamsTarget:
    return ParamsTarget(get_strategy("bubble_watch"))


def test_the_issue_example_is_the_cartesian_product(bubble):
    grid = build_grid("window=100:300:50,switch_band=0,0.02", bubble)
    assert grid.names == ["window", "switch_band"]
    assert grid.dimensions[0].values == (100, 150, 200, 250, 300)
    assert grid.dimensions[1].values == (0.0, 0.02)
    points = grid.points()
    assert grid.size == len(points) == 10
    assert points[0] == {"window": 100, "switch_band": 0.0} and points[1] == {"window": 100, "switch_band": 0.02}
    assert all(isinstance(p["window"], int) for p in points)


def test_ranges_are_inclusive_and_floats_do_not_drift():
    assert expand_range("w", "100:300:50") == [100, 150, 200, 250, 300]
    assert expand_range("w", "100:290:50") == [100, 150, 200, 250]
    assert expand_range("b", "0:0.3:0.1") == [0.0, 0.1, 0.2, 0.3]
    assert expand_range("b", "0.1:0.1:1") == [0.1]


def test_several_grid_texts_and_a_mapping_give_the_same_grid(bubble):
    a = build_grid(["window=100,200", "switch_band=none,0.25"], bubble)
    b = build_grid({"window": [100, 200], "switch_band": [None, 0.25]}, bubble)
    c = build_grid("window=100:200:100,switch_band=none,0.25", bubble)
    assert a == b == c
    assert a.points()[0] == {"window": 100, "switch_band": None}


def test_split_keeps_values_with_their_dimension():
    assert split_grid("a=1,2,b=x,c=1:3:1") == [("a", ["1", "2"]), ("b", ["x"]), ("c", ["1:3:1"])]


@pytest.mark.parametrize(("grid", "expected"), [
    ("", "--grid is empty"),
    ("   ", "--grid is empty"),
    ("100,200", "has no NAME="),
    ("window=", "window= has no values"),
    ("windw=100,200", "did you mean 'window'"),
    ("basket=1", "cannot be swept"),
    ("window=100,window=200", "names window twice"),
    ("window=100,100", "lists 100 twice"),
    ("window=0.5", "window takes whole numbers"),
    ("window=abc", "window takes whole numbers"),
    ("window=none", "window cannot be none"),
    ("switch_band=abc", "switch_band takes numbers or none"),
    ("window=300:100:50", "empty range"),
    ("window=100:300:0", "step must be positive"),
    ("window=100:300", "is not a range START:STOP:STEP"),
    ("window=1:100000:1", "coarser step"),
    ("9lives=1", "is not a parameter name"),
])
def test_bad_grids_are_one_line(bubble, grid, expected):
    with pytest.raises(StudyError) as info:
        build_grid(grid, bubble)
    message = str(info.value)
    assert expected in message and "\n" not in message


def test_a_value_the_strategy_refuses_names_the_point(bubble):
    grid = build_grid("window=50,0", bubble)
    with pytest.raises(StudyError, match=r"--grid point window=0: .*window must be at least 1") as info:
        build_strategies(bubble, grid.points())
    assert "\n" not in str(info.value)


def test_points_rebuild_the_registered_strategy(bubble):
    grid = build_grid("window=120,switch_band=0.25", bubble)
    (strategy,) = build_strategies(bubble, grid.points())
    assert strategy.params.window == 120 and strategy.band_abs == 0.25
    assert strategy.params.basket == get_strategy("bubble_watch").params.basket
    assert bubble.default_point(["window", "switch_band"]) == {"window": 200, "switch_band": None}


def test_toml_keys_are_swept_and_checked(tmp_path):
    target = TomlTarget(TREND_TOML, source="ai_trend_filter.toml")
    grid = build_grid("trend_filter.window=100:200:100,weights.NVDA=0.1,0.3,band_abs=none", target)
    strategies = build_strategies(target, grid.points())
    assert [s.params.trend_filter.window for s in strategies] == [100, 100, 200, 200]
    assert [dict(s.params.weights)["NVDA"] for s in strategies] == [0.1, 0.3, 0.1, 0.3]
    assert all(s.band_abs is None for s in strategies)
    assert target.default_point(["trend_filter.window", "band_abs"]) == {"trend_filter.window": 150, "band_abs": 0.25}


@pytest.mark.parametrize(("grid", "expected"), [
    ("trend_filter.windw=100", "did you mean 'trend_filter.window'"),
    ("weights.NVDIA=0.1", "did you mean 'weights.NVDA'"),
    ("weights=1", "has no key 'weights'"),
    ("trend_filter.window=1", "--grid point trend_filter.window=1: trend_filter.window: expected a whole number"),
    ("rebalance=fortnightly", "--grid point rebalance=fortnightly: rebalance: 'fortnightly' is not valid"),
    ("weights.NVDA=3", "gross exposure"),
])
def test_toml_errors_are_one_line(grid, expected):
    target = TomlTarget(TREND_TOML, source="ai_trend_filter.toml")
    with pytest.raises(StudyError) as info:
        build_strategies(target, build_grid(grid, target).points())
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_a_toml_without_the_key_can_add_a_known_one(tmp_path):
    path = write_portfolio(tmp_path, 'name = "b"\nrebalance = "monthly"\n[weights]\nSPY = 1.0\n')
    target = TomlTarget(path.read_text(), source=str(path))
    strategies = build_strategies(target, build_grid("band_abs=0.05,0.1", target).points())
    assert [s.band_abs for s in strategies] == [0.05, 0.1]
    assert target.default_point(["band_abs"]) == {"band_abs": None}


def test_point_label():
    assert point_label({"window": 100, "switch_band": None, "on": True, "x": 0.25}) == (
        "window=100, switch_band=none, on=true, x=0.25")
