"""The decision study (theses.studies.decide), ``theses decide`` and its report, small and offline."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.unit.report_factory import synthetic_run
from theses.cli.main import main
from theses.engine import decision as measures
from theses.engine.metrics import scenario_blend
from theses.strategies import get_strategy
from theses.studies.decide import analyse, decide
from theses.studies.errors import StudyError

JSON_KEYS = ["verdict", "scoreboard", "certainty_equivalent", "regret", "robustness", "break_even", "mix",
             "probabilities", "settings"]


@pytest.fixture(scope="module")
def decision():
    return analyse(synthetic_run(ruin_paths=3))


def test_identical_books_count_once_and_are_named(decision):
    assert decision.books == ("alpha", "beta", "index_beta", "RSP")
    assert decision.same_as == {"index_beta": ["SPY"]}
    assert decision.label("index_beta") == "index_beta (= SPY)"
    assert "index_beta (= SPY)" in decision.verdict or "index_beta" in decision.verdict


def test_scoreboard_equals_the_engine_blend_of_the_same_paths(decision):
    run = decision.run
    for name in decision.books:
        per_path = {s: {"terminal_wealth": np.where(run.results[s][name].max_drawdown <= -1, 0.0,
                                                    run.results[s][name].terminal_wealth),
                        "max_drawdown": run.results[s][name].max_drawdown} for s in run.results}
        for s in per_path:
            per_path[s]["cagr"] = np.maximum(per_path[s]["terminal_wealth"], 0) ** (1 / run.years) - 1
            per_path[s]["benchmark_terminal"] = run.results[s]["SPY"].terminal_wealth
        expected = scenario_blend(per_path, run.probabilities)
        row = decision.scoreboard.loc[("blend", name)]
        for key in ("cagr_p50", "prob_loss", "prob_beat_benchmark", "cvar_5", "median_max_drawdown"):
            assert row[key] == pytest.approx(expected[key], abs=1e-15), (name, key)
    # ranks follow the certainty equivalent at the default risk aversion
    blend = decision.scoreboard.loc["blend"].sort_values("rank")
    assert blend["certainty_equivalent"].is_monotonic_decreasing
    assert decision.top == blend.index[0] and decision.rival == blend.index[1]


def test_certainty_equivalents_and_ruin(decision):
    table = decision.certainty
    assert list(table.columns) == ["gamma_1", "gamma_2", "gamma_5", "ruin_probability"]
    assert table.loc["beta", "ruin_probability"] == pytest.approx(0.4 * 3 / 200)
    assert (table.loc["beta", ["gamma_1", "gamma_2", "gamma_5"]] == -1.0).all()
    assert "beta (0.60% of paths): their CE is -100%/yr for γ ≥ 1" in decision.verdict
    # each column's top book is the one named for that gamma
    for key, book in decision.tops.items():
        assert table[key].idxmax() == book
    # CE falls with risk aversion for every book that is not ruined
    alive = table[table["ruin_probability"] == 0]
    assert (alive["gamma_1"] > alive["gamma_2"]).all() and (alive["gamma_2"] > alive["gamma_5"]).all()


def test_regret_robustness_and_break_even_tables(decision):
    regret = decision.regret
    assert (regret[["jetsons", "damp_squib", "blend"]] >= 0).all().all()
    assert decision.minimax_regret == regret["worst"].idxmin()
    robust = decision.robustness
    assert decision.never_bad == robust["worst_median_cagr"].idxmax()
    medians = decision.scoreboard["cagr_p50"].unstack("column")
    assert robust.loc["alpha", "worst_median_cagr"] == medians.loc["alpha", ["jetsons", "damp_squib"]].min()
    table = decision.break_even
    assert list(table.index) == ["jetsons", "damp_squib"]
    assert table["prior"].tolist() == [0.6, 0.4]
    for _, row in table.iterrows():
        assert row["top_holds_from"] <= row["prior"] <= row["top_holds_to"]
        assert row["gap_at_prior"] >= 0  # the top book leads its rival at the priors
        if not math.isnan(row["break_even"]):
            assert (row["gap_at_zero"] < 0) != (row["gap_at_one"] < 0)


def test_mix_is_at_least_the_best_book_in_sample(decision):
    mix = decision.mix
    assert sum(mix.weights.values()) == pytest.approx(1.0)
    assert mix.in_sample["mix"]["certainty_equivalent"] >= mix.in_sample["best_book"]["certainty_equivalent"] - 1e-12
    assert mix.best_book == decision.top and mix.out_of_sample is None  # a hand-made run cannot be repeated
    run = decision.run
    # the mix's wealth is the weighted sum of the books' (separate sleeves), so its CE can be recomputed
    wealth = np.concatenate([sum(w * run.results[s][b].terminal_wealth for b, w in mix.weights.items())
                             for s in run.results])
    weights = measures.path_weights([200, 200], [0.6, 0.4])
    expected = measures.certainty_equivalent(wealth, weights, 2.0, run.years)
    assert mix.in_sample["mix"]["certainty_equivalent"] == pytest.approx(float(expected), rel=1e-12)


def test_json_has_exactly_the_keys_and_the_verdict_uses_table_numbers(decision):
    doc = decision.to_dict()
    assert list(doc) == JSON_KEYS
    json.dumps(doc, allow_nan=False)
    top = doc["scoreboard"]["blend"][decision.top]
    assert f"({top['certainty_equivalent']:.1%}/yr; 5% CVaR {top['cvar_5']:.1%}" in doc["verdict"]
    assert doc["verdict"].startswith("Under the scenario priors (jetsons 60%, damp_squib 40%)")
    assert doc["settings"]["same_as"] == {"index_beta": ["SPY"]}
    assert doc["mix"]["seeds"] == {"in_sample": 77, "out_of_sample": None}


def test_results_do_not_depend_on_the_order_of_books():
    run = synthetic_run(ruin_paths=2)
    reversed_run = synthetic_run(ruin_paths=2)
    reversed_run.results = {s: dict(reversed(list(by.items()))) for s, by in reversed_run.results.items()}
    assert json.dumps(analyse(run).to_dict()) == json.dumps(analyse(reversed_run).to_dict())


def test_bad_options_are_one_clear_error():
    run = synthetic_run()
    with pytest.raises(StudyError, match="--risk-aversion -1"):
        analyse(run, risk_aversion=-1)
    with pytest.raises(StudyError, match=r"--max-weight 0: use a fraction in \(0, 1\]"):
        analyse(run, max_weight=0)
    with pytest.raises(StudyError, match="raise the cap"):
        analyse(run, max_weight=0.2)
    with pytest.raises(StudyError, match="--oos-seed 77 equals --seed"):
        analyse(run, oos_seed=77)


# ------------------------------------------------------------------------------------- with the engine
BOOKS = ["essay_book", "bubble_watch", "concentration_unwind"]


def _small(**changes):
    options = {"scenarios": "jetsons,damp_squib", "paths": 96, "years": 1.0, "seed": 5, "chunk_size": 96}
    return decide([get_strategy(b) for b in BOOKS], **{**options, **changes})


def test_same_seed_gives_byte_identical_json_whatever_the_chunk_size_and_book_order():
    first = json.dumps(_small().to_dict(), indent=1, allow_nan=False)
    assert first == json.dumps(_small().to_dict(), indent=1, allow_nan=False)
    assert first == json.dumps(_small(chunk_size=40).to_dict(), indent=1, allow_nan=False)
    flipped = decide([get_strategy(b) for b in reversed(BOOKS)], scenarios="jetsons,damp_squib", paths=96,
                     years=1.0, seed=5, chunk_size=96)
    assert first == json.dumps(flipped.to_dict(), indent=1, allow_nan=False)
    other = json.loads(json.dumps(_small(seed=6).to_dict()))
    assert other["scoreboard"] != json.loads(first)["scoreboard"]


def test_out_of_sample_mix_is_run_on_the_fresh_seed():
    d = _small(oos_seed=99)
    mix = d.mix
    assert mix.seeds == {"in_sample": 5, "out_of_sample": 99}
    assert mix.out_of_sample is not None
    assert mix.out_of_sample["best_book"] != mix.in_sample["best_book"]  # other paths, other figures
    # the best book's out-of-sample figures are those of a plain simulation on that seed
    again = _small(seed=99, oos_seed=100)
    assert mix.out_of_sample["best_book"]["certainty_equivalent"] == pytest.approx(
        again.scoreboard.loc[("blend", mix.best_book), "certainty_equivalent"], abs=1e-15)


def test_cli_prints_the_verdict_first_and_the_json_has_every_key(capsys, tmp_path):
    argv = ["decide", *BOOKS, "--scenario", "jetsons,take_off", "--paths", "64", "--years", "1", "--seed", "3"]
    assert main([*argv, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == JSON_KEYS
    assert set(doc["scoreboard"]) == {"jetsons", "take_off", "blend"}
    assert doc["settings"]["oos_seed"] == 4 and doc["mix"]["seeds"] == {"in_sample": 3, "out_of_sample": 4}
    assert main([*argv, "--out", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert out.lstrip().startswith("╭─ Verdict")
    assert out.index("Verdict") < out.index("Scoreboard") < out.index("Best mix")
    assert doc["verdict"].split(".")[0].split()[-1] in " ".join(out.split())
    assert (tmp_path / "report" / "decision.json").is_file()


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--risk-aversion", "-2"], "--risk-aversion -2.0: use a number >= 0"),
        (["--max-weight", "1.5"], "--max-weight 1.5: use a fraction in (0, 1]"),
        (["--max-weight", "0.05"], "--max-weight 0.05 x 14 books < 1: raise the cap"),
        (["--seed", "4", "--oos-seed", "4"], "--oos-seed 4 equals --seed"),
        (["--probabilities", "jetsons=0.5"], "no probability for scenario"),
        (["no_such_book"], "no_such_book"),
    ],
)
def test_cli_user_errors_are_one_line(argv, fragment, capsys):
    status = main(["decide", *argv, "--scenario", "jetsons,take_off", "--paths", "8", "--years", "0.2"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: ") and fragment in err and err.count("\n") == 1
