"""Scenario phases and crash windows outside the simulated dates are named in the notes, one per phase."""

from __future__ import annotations

from theses.data.generators import simulation_index
from theses.data.scenario_spec import parse_scenario
from theses.studies.scenarios import timeline_notes

SPEC = """
name = "dated"
[groups]
index = ["SPY"]
[phases.turn]
start = 2025-01-01
end = 2026-12-31
market_drift = 0.05
[phases.river]
start = 2027-01-01
end = 2027-12-31
market_drift = 0.10
[phases.after]
start = 2028-01-01
market_drift = 0.07
[[crashes]]
name = "shock"
start = 2026-10-01
end = 2026-10-30
size = -0.1
groups = ["index"]
"""


def test_one_note_per_phase_outside_the_window_naming_it_and_its_dates():
    spec = parse_scenario(SPEC, source="dated.toml")
    notes = timeline_notes([spec], simulation_index("2026-10-12", 1.0))  # 2026-10-12 .. 2027-10-11
    assert len(notes) == 4
    turn, river, after, crash = notes
    assert turn == ("scenario dated: phase 'turn' (2025-01-01 to 2026-12-31) starts before the simulated window "
                    "(2026-10-12 to 2027-10-11): only 57 of its 501 trading days are simulated")
    assert river.startswith("scenario dated: phase 'river' (2027-01-01 to 2027-12-31) runs past the simulated window")
    assert after == ("scenario dated: phase 'after' (2028-01-01 to open end) lies after the simulated window "
                     "(2026-10-12 to 2027-10-11): it shapes no path")
    assert crash.startswith("scenario dated: crash 'shock' (2026-10-01 to 2026-10-30) starts before")
    assert "only 15 of its 22 trading days are simulated" in crash


def test_no_note_when_every_phase_is_simulated():
    spec = parse_scenario(SPEC, source="dated.toml")
    assert timeline_notes([spec], simulation_index("2024-12-02", 5.0)) == ()
    early = timeline_notes([spec], simulation_index("2020-01-01", 1.0))
    assert [n.split(": ")[1].split(" (")[0] for n in early] == ["phase 'turn'", "phase 'river'", "phase 'after'",
                                                                 "crash 'shock'"]
    assert all("lies after" in n for n in early)
