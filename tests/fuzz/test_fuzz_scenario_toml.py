"""Property tests of scenario TOML specs: a valid ScenarioSpec or one DataError line naming the file.

A spec the parser accepts must also simulate: a few seeded paths over its timeline with the shipped
calibration are finite and positive, with no numpy warning (overflow) on the way.
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.fuzz.toml_text import SCALARS, dumps, mutated_text, perturbed
from theses.data.calibration import read_calibration
from theses.data.errors import DataError
from theses.data.generators import ParametricGenerator, simulation_index
from theses.data.scenario_spec import SCENARIO_DIR, parse_scenario

CALIBRATION = read_calibration()
GROUP_NAMES = ["index", "compute", "bonds", "ghost"]
TICKERS = ["SPY", "QQQ", "NVDA", "TLT", "ZZZZ", "spy", ""]
DATES = st.sampled_from(["2025-01-01", "2025-06-30", "2025-07-01", "2026-12-31", "2027-01-01", "2024-01-01",
                         "2030-01-01", "not a date", 2025, "2025-02-30"])
SHIPPED = (SCENARIO_DIR / "jetsons.toml").read_text(encoding="utf-8")


@st.composite
def phase(draw: st.DrawFn) -> dict:
    body = {"start": draw(DATES), "market_drift": draw(st.one_of(st.floats(-3, 3), SCALARS))}
    if draw(st.booleans()):
        body["end"] = draw(DATES)
    if draw(st.booleans()):
        body["market_vol"] = draw(st.one_of(st.floats(-1, 25), SCALARS))
    if draw(st.booleans()):
        body["excess_drift"] = {draw(st.sampled_from(GROUP_NAMES + TICKERS)): draw(st.floats(-3, 3))}
    if draw(st.booleans()):
        body["vol_mult"] = {draw(st.sampled_from(GROUP_NAMES + TICKERS)): draw(st.one_of(st.floats(-1, 25), SCALARS))}
    return body


@st.composite
def specs(draw: st.DrawFn) -> dict:
    doc: dict = {"name": draw(st.sampled_from(["fuzz", "", 3, "a b"]))}
    if draw(st.booleans()):
        doc["t_df"] = draw(st.one_of(st.floats(0, 50), SCALARS))
    if draw(st.integers(0, 9)):
        doc["groups"] = {g: draw(st.lists(st.sampled_from(TICKERS), min_size=0, max_size=2))
                         for g in draw(st.lists(st.sampled_from(GROUP_NAMES[:3]), min_size=1, max_size=3, unique=True))}
    if draw(st.integers(0, 9)):
        doc["phases"] = {f"p{i}": draw(phase()) for i in range(draw(st.integers(0, 3)))}
    if draw(st.booleans()):
        crash = {"name": "c", "start": draw(DATES), "end": draw(DATES)}
        crash["size"] = draw(st.one_of(st.floats(-6, 6), SCALARS,
                                       st.fixed_dictionaries({"index": st.floats(-6, 6)})))
        if draw(st.booleans()):
            crash["groups"] = draw(st.lists(st.sampled_from(GROUP_NAMES), max_size=2))
        doc["crashes"] = [crash]
    if draw(st.integers(0, 15)) == 0:
        doc["prior"] = draw(SCALARS)
    return doc


def check_spec(text: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        try:
            spec = parse_scenario(text, source="fuzz.toml")
        except DataError as exc:
            message = str(exc)
            event("refused")
            assert "\n" not in message and message.startswith("fuzz.toml"), message
            return
        event("accepted")
        known = [t for t in spec.tickers if t in CALIBRATION.tickers]
        if len(known) != len(spec.tickers):
            return  # the generator refuses unknown tickers itself (tested in test_generators)
        event("simulated")
        index = simulation_index(spec.phases[0].start, 0.1)
        paths = ParametricGenerator(spec, CALIBRATION, index, seed=1).generate(0, 2)
    assert np.isfinite(paths).all() and (paths > 0).all()


BASE = {
    "name": "fuzz", "t_df": 5.0,
    "groups": {"index": ["SPY", "QQQ"], "compute": ["NVDA"], "bonds": ["TLT"]},
    "phases": {
        "early": {"start": "2025-01-01", "end": "2026-12-31", "market_drift": 0.07, "market_vol": 1.0,
                  "excess_drift": {"compute": 0.1, "SPY": 0.01}, "vol_mult": {"compute": 1.5}},
        "late": {"start": "2027-01-01", "market_drift": 0.05, "excess_drift": {"bonds": -0.03}},
    },
    "crashes": [{"name": "shock", "start": "2025-03-01", "end": "2025-06-30", "size": {"compute": -0.3}}],
}


@settings(max_examples=80)
@given(doc=specs())
def test_any_generated_scenario_is_a_spec_or_one_line(doc):
    check_spec(dumps(doc))


@settings(max_examples=80)
@given(doc=perturbed(BASE, st.one_of(SCALARS, DATES, st.floats(-6, 6))))
def test_any_perturbed_scenario_is_a_spec_or_one_line(doc):
    check_spec(dumps(doc))


@settings(max_examples=60)
@given(text=mutated_text(SHIPPED))
def test_any_mutated_shipped_scenario_is_a_spec_or_one_line(text):
    check_spec(text)
