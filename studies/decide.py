"""Which book should I hold? A decision analysis of every book across the scenarios, on the same paths.

Every book (default: every registered strategy plus SPY and RSP) runs on the same simulated paths of each
scenario (common random numbers, :func:`theses.studies.scenarios.simulate`), so books compare path by path.
From the per-path outcomes (measures in :mod:`theses.engine.decision`, whose docstring states the
conventions) the study builds:

- **scoreboard**: book x scenario and the blend (the scenarios weighted by their probabilities): median CAGR,
  P(loss), P(beat SPY on the same path), CVaR 5% of the terminal return, median maximum drawdown, the
  certainty equivalent (CE) at the default risk aversion, P(ruin), and the rank by that CE (ties: higher
  median CAGR first).
- **certainty equivalent**: the constant annual return a CRRA investor with risk aversion gamma values the
  same as the book's blended distribution of terminal wealth, for gamma = 1, 2, 5 (and the default), and the
  gammas at which the top book changes. Wealth that reaches zero on a path stays at zero (ruin): for
  gamma >= 1 such a book's CE is -100%/yr (utility -inf), printed beside its ruin probability.
- **regret**: on each path, the best book's CAGR on that path minus the book's; its expectation per scenario
  and blended, the worst scenario's, and the minimax-regret book (smallest worst-scenario expected regret).
- **robustness**: each book's worst-scenario median CAGR and worst-scenario CVaR; the book that is never bad
  (the largest worst-scenario median CAGR).
- **break-even beliefs**: for the top book and its nearest rival (second by CE), the probability of each
  scenario (the others rescaled in proportion) at which their CE ranking flips, or none in [0, 1]; and the
  range of that belief over which the top book stays first against every book.
- **the best mix**: long-only weights over the books (sum 1, each at most ``max_weight``) maximising the
  blended CE, with each book held as a separate sleeve from the start (the mix's terminal wealth on a path is
  the weighted sum of the books'). Optimised on the run's seed, reported again on a fresh seed
  (``oos_seed``, default seed + 1) beside the best single book.
- **verdict**: the answer in plain words, every number taken from the tables above.

CAGR here is the growth over the whole horizon, ``wealth ** (1 / years) - 1`` (the engine's CAGR when a
book trades from the first simulated day). Books identical on every path (a 100% SPY book and SPY) count once:
the registered strategy is kept, the benchmark named beside it. Worst-scenario figures and minimax regret
consider the scenarios with a probability above 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from theses.studies.errors import StudyError
from theses.studies.scenarios import (
    BEAT_BENCHMARK,
    BENCHMARK_TICKERS,
    ProgressFn,
    SimulationRun,
    run_books,
    simulate,
)
from theses.studies.settings import (
    DECISION_GAMMAS,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_MAX_WEIGHT,
    DEFAULT_PATHS,
    DEFAULT_RISK_AVERSION,
    DEFAULT_SEED,
    DEFAULT_SETTINGS,
    DEFAULT_YEARS,
    RunSettings,
)

if TYPE_CHECKING:
    from theses.data.calibration import Calibration
    from theses.data.scenario_spec import ScenarioSpec
    from theses.strategies import Strategy
    from theses.studies.executor import Executor

SCORE_KEYS = ("cagr_p50", "prob_loss", "prob_beat_benchmark", "cvar_5", "median_max_drawdown")
"""Scoreboard figures from the scenario summaries (``theses.engine.metrics.scenario_blend``)."""
BLEND = "blend"
NEVER = "never in [0, 1]"


# ------------------------------------------------------------------------------------------- outcomes
@dataclass(frozen=True)
class Outcomes:
    """Per-path outcomes of every book of a run, pooled over scenarios (paths of scenario 0 first).

    ``books`` are in canonical order (strategies by name, then the benchmarks), so results do not depend
    on the order books were given in. ``wealth`` has ruined paths at 0; ``returns`` is the horizon CAGR.
    """

    books: tuple[str, ...]
    scenarios: tuple[str, ...]
    probabilities: np.ndarray
    scenario_of_path: np.ndarray
    weights: np.ndarray
    wealth: np.ndarray
    ruined: np.ndarray
    returns: np.ndarray
    max_drawdown: np.ndarray
    years: float

    def book(self, name: str) -> int:
        return self.books.index(name)

    def in_scenario(self, s: int) -> np.ndarray:
        return self.scenario_of_path == s


def canonical_order(names: Iterable[str]) -> list[str]:
    """Strategies by name, then the benchmarks (SPY, RSP): the order every computation uses."""
    return sorted(names, key=lambda n: (n in BENCHMARK_TICKERS, n))


def outcomes_of(run: SimulationRun) -> Outcomes:
    """The run's per-path arrays as ``(books, paths)`` matrices, with ruin applied (see ``engine.decision``)."""
    from theses.engine import decision as measures

    scenarios = tuple(run.results)
    books = tuple(canonical_order(next(iter(run.results.values()))))
    counts = [len(run.results[s][books[0]].terminal_wealth) for s in scenarios]
    probs = np.array([float(run.probabilities.get(s, 0.0)) for s in scenarios])

    def stack(key: str) -> np.ndarray:
        return np.array([np.concatenate([getattr(run.results[s][b], key) for s in scenarios]) for b in books],
                        dtype=np.float64)

    drawdown = stack("max_drawdown")
    ruined = measures.ruined(drawdown)
    wealth = measures.wealth_after_ruin(stack("terminal_wealth"), ruined)
    return Outcomes(
        books=books, scenarios=scenarios, probabilities=probs,
        scenario_of_path=np.repeat(np.arange(len(scenarios)), counts),
        weights=measures.path_weights(counts, probs), wealth=wealth, ruined=ruined,
        returns=measures.horizon_cagr(wealth, run.years), max_drawdown=drawdown, years=run.years,
    )


def distinct_books(out: Outcomes) -> tuple[list[str], dict[str, list[str]]]:
    """The books that differ somewhere, and ``{kept: [identical books left out]}``."""
    from theses.engine.decision import identical_rows

    first = identical_rows(np.concatenate([out.wealth, out.max_drawdown], axis=1))
    kept = [b for i, b in enumerate(out.books) if first[i] == i]
    same = {out.books[j]: [b for i, b in enumerate(out.books) if first[i] == j and i != j] for j in sorted(set(first))}
    return kept, {k: v for k, v in same.items() if v}


def distinct_count(run: SimulationRun) -> int:
    """How many books of the run differ on some path (a decision needs two)."""
    return len(distinct_books(outcomes_of(run))[0])


def _annual(log_ce: np.ndarray | float, years: float) -> np.ndarray:
    return np.exp(np.asarray(log_ce, dtype=np.float64) / years) - 1.0


# ------------------------------------------------------------------------------------------ the tables
def _book_paths(out: Outcomes, i: int, chosen: np.ndarray) -> dict[str, np.ndarray]:
    """One book's per-path arrays on the chosen paths, with SPY's wealth on them (``scenario_blend``'s input)."""
    paths = {"terminal_wealth": out.wealth[i, chosen], "cagr": out.returns[i, chosen],
             "max_drawdown": out.max_drawdown[i, chosen]}
    if BEAT_BENCHMARK in out.books:
        paths["benchmark_terminal"] = out.wealth[out.book(BEAT_BENCHMARK), chosen]
    return paths


def scoreboard_table(out: Outcomes, books: Sequence[str], gamma: float) -> pd.DataFrame:
    """Rows ``(column, book)`` for every scenario and the blend; columns :data:`SCORE_KEYS`, CE, ruin, rank."""
    from theses.engine.decision import log_certainty_equivalent, rank
    from theses.engine.metrics import scenario_blend

    frames = []
    for column in (*out.scenarios, BLEND):
        members = range(len(out.scenarios)) if column == BLEND else [out.scenarios.index(column)]
        probs = {out.scenarios[k]: (float(out.probabilities[k]) if column == BLEND else 1.0) for k in members}
        weights = out.weights if column == BLEND else out.in_scenario(members[0]).astype(float)
        rows = {}
        for name in books:
            i = out.book(name)
            per_path = {out.scenarios[k]: _book_paths(out, i, out.in_scenario(k)) for k in members}
            summary = scenario_blend(per_path, probs)
            rows[name] = {key: summary[key] for key in SCORE_KEYS}
            rows[name]["certainty_equivalent"] = float(_annual(
                log_certainty_equivalent(out.wealth[i], weights, gamma), out.years))
            rows[name]["ruin_probability"] = float(out.ruined[i] @ (weights / weights.sum()))
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame["rank"] = rank(frame["certainty_equivalent"].to_numpy(), frame["cagr_p50"].to_numpy())
        frame.index = pd.MultiIndex.from_product([[column], frame.index], names=["column", "book"])
        frames.append(frame)
    return pd.concat(frames)


def certainty_table(out: Outcomes, books: Sequence[str], gammas: Sequence[float]) -> pd.DataFrame:
    """Blended CE (annual) per book for each gamma (columns ``gamma_<g>``) and the blended ruin probability."""
    from theses.engine.decision import log_certainty_equivalent

    rows = [out.book(b) for b in books]
    table = pd.DataFrame(index=list(books))
    for g in gammas:
        table[gamma_key(g)] = _annual(log_certainty_equivalent(out.wealth[rows], out.weights, g), out.years)
    table["ruin_probability"] = out.ruined[rows].astype(float) @ out.weights
    return table


def gamma_key(gamma: float) -> str:
    """Column name of a risk aversion: ``gamma_2``, ``gamma_1.5``."""
    return f"gamma_{gamma:g}"


def regret_table(out: Outcomes, books: Sequence[str]) -> pd.DataFrame:
    """Expected regret per scenario, blended, the worst scenario's and which scenario that is."""
    from theses.engine.decision import expected_regret

    rows = [out.book(b) for b in books]
    table = pd.DataFrame(index=list(books))
    for k, s in enumerate(out.scenarios):
        chosen = out.in_scenario(k)
        table[s] = expected_regret(out.returns[rows][:, chosen], np.ones(int(chosen.sum())))
    table[BLEND] = expected_regret(out.returns[rows], out.weights)
    live = [s for s, p in zip(out.scenarios, out.probabilities, strict=True) if p > 0]
    table["worst"] = table[live].max(axis=1)
    table["worst_scenario"] = table[live].idxmax(axis=1)
    return table


def robustness_table(scoreboard: pd.DataFrame, scenarios: Sequence[str]) -> pd.DataFrame:
    """Each book's worst-scenario median CAGR and CVaR 5%, and the scenarios where they happen (scoreboard order)."""
    order = pd.unique(scoreboard.index.get_level_values("book"))
    medians = scoreboard["cagr_p50"].unstack("column").loc[order, list(scenarios)]
    tails = scoreboard["cvar_5"].unstack("column").loc[order, list(scenarios)]
    return pd.DataFrame({
        "worst_median_cagr": medians.min(axis=1), "worst_median_scenario": medians.idxmin(axis=1),
        "worst_cvar_5": tails.min(axis=1), "worst_cvar_scenario": tails.idxmin(axis=1),
    })


def _ce_at(utilities: np.ndarray, probabilities: np.ndarray, gamma: float, years: float) -> np.ndarray:
    from theses.engine.decision import blended_utility, inverse_utility

    with np.errstate(divide="ignore", invalid="ignore"):
        return np.power(inverse_utility(blended_utility(utilities, probabilities), gamma), 1.0 / years) - 1.0


def break_even_table(out: Outcomes, books: Sequence[str], top: str, rival: str, gamma: float) -> pd.DataFrame:
    """Per scenario: the belief at which ``rival`` overtakes ``top``, CE gaps at beliefs 0 / prior / 1, and
    the range of beliefs over which ``top`` stays first against every book (and who takes over at each end)."""
    from theses.engine.decision import break_even_belief, scenario_utilities, tilted_probabilities

    rows = [out.book(b) for b in books]
    utilities = scenario_utilities(out.wealth[rows], out.scenario_of_path, len(out.scenarios), gamma)
    a, b = list(books).index(top), list(books).index(rival)
    table = {}
    for k, s in enumerate(out.scenarios):
        prior = float(out.probabilities[k])
        t_star = break_even_belief(utilities[a], utilities[b], out.probabilities, k)
        gaps = [float(np.subtract(*_ce_at(utilities[[a, b]], tilted_probabilities(out.probabilities, k, t),
                                          gamma, out.years))) if t > 0 or len(out.scenarios) > 1 else float("nan")
                for t in (0.0, prior, 1.0)]  # one scenario alone has no "probability 0"
        low, high, below_by, above_by = 0.0, 1.0, None, None
        for j, name in enumerate(books):
            t_j = break_even_belief(utilities[a], utilities[j], out.probabilities, k) if j != a else np.nan
            if np.isnan(t_j):
                continue
            if t_j > prior and t_j < high:
                high, above_by = t_j, name
            elif t_j < prior and t_j > low:
                low, below_by = t_j, name
        table[s] = {"prior": prior, "break_even": t_star, "direction": _direction(rival, s, prior, t_star),
                    "gap_at_zero": gaps[0], "gap_at_prior": gaps[1], "gap_at_one": gaps[2],
                    "top_holds_from": low, "top_holds_to": high, "overtaken_below_by": below_by,
                    "overtaken_above_by": above_by}
    return pd.DataFrame.from_dict(table, orient="index")


def _direction(rival: str, scenario: str, prior: float, t_star: float) -> str:
    if np.isnan(t_star):
        return NEVER
    if t_star > prior:
        return f"{rival} takes over if P({scenario}) rises above {t_star:.2f}"
    if t_star < prior:
        return f"{rival} takes over if P({scenario}) falls below {t_star:.2f}"
    return f"{rival} ties at the prior P({scenario}) = {t_star:.2f}"


# ---------------------------------------------------------------------------------------------- the mix
@dataclass(frozen=True)
class MixResult:
    """The best mix of books and how it did in sample and out of sample, beside the best single book.

    ``in_sample`` / ``out_of_sample``: ``{"mix": figures, "best_book": figures}`` with figures
    ``certainty_equivalent``, ``cagr_p50``, ``cvar_5``, ``prob_loss``, ``ruin_probability`` (blended);
    ``out_of_sample`` is None when the run cannot be repeated (a hand-made run without its request).
    """

    weights: dict[str, float]
    best_book: str
    in_sample: dict[str, dict[str, float]]
    out_of_sample: dict[str, dict[str, float]] | None
    seeds: dict[str, int | None]
    max_weight: float
    converged: bool
    message: str

    def gain(self, sample: str = "out_of_sample") -> float:
        """The mix's CE minus the best single book's, in the given sample (NaN when not run)."""
        figures = getattr(self, sample)
        if figures is None:
            return float("nan")
        return figures["mix"]["certainty_equivalent"] - figures["best_book"]["certainty_equivalent"]

    def to_dict(self) -> dict[str, Any]:
        return {"weights": self.weights, "best_book": self.best_book, "in_sample": self.in_sample,
                "out_of_sample": self.out_of_sample, "gain_in_sample": self.gain("in_sample"),
                "gain_out_of_sample": self.gain("out_of_sample"), "seeds": self.seeds,
                "max_weight": self.max_weight, "converged": self.converged, "solver": self.message,
                "held_as": "separate sleeves from the start: the mix's terminal wealth on a path is the "
                           "weighted sum of the books' terminal wealths (no rebalancing between them)"}


def wealth_figures(wealth: np.ndarray, weights: np.ndarray, gamma: float, years: float) -> dict[str, float]:
    """CE, median CAGR, CVaR 5% of the terminal return, P(loss) and P(ruin) of one wealth vector (P,)."""
    from theses.engine.decision import horizon_cagr, log_certainty_equivalent
    from theses.engine.metrics import cvar, weighted_quantile

    return {
        "certainty_equivalent": float(_annual(log_certainty_equivalent(wealth, weights, gamma), years)),
        "cagr_p50": float(weighted_quantile(horizon_cagr(wealth, years), 0.5, weights)),
        "cvar_5": cvar(wealth - 1.0, 0.05, weights),
        "prob_loss": float(weights[wealth < 1.0].sum() / weights.sum()),
        "ruin_probability": float(weights[wealth <= 0.0].sum() / weights.sum()),
    }


def _mix_figures(out: Outcomes, weights: Mapping[str, float], best: str, gamma: float) -> dict[str, dict[str, float]]:
    from theses.engine.decision import mix_wealth

    rows = [out.book(b) for b in weights]
    mix = mix_wealth(np.array(list(weights.values())), out.wealth[rows])
    return {"mix": wealth_figures(mix, out.weights, gamma, out.years),
            "best_book": wealth_figures(out.wealth[out.book(best)], out.weights, gamma, out.years)}


def best_mix_of(
    run: SimulationRun, out: Outcomes, books: Sequence[str], best: str, *, gamma: float, max_weight: float,
    oos_seed: int, progress: ProgressFn | None, executor: Executor | None,
) -> MixResult:
    """Optimise the mix on the run's paths; repeat the mix's books and ``best`` on a fresh seed."""
    from theses.engine.decision import best_mix
    from theses.engine.errors import EngineError

    rows = [out.book(b) for b in books]
    try:
        found = best_mix(out.wealth[rows], out.weights, gamma, max_weight)
    except EngineError as exc:
        raise StudyError(f"--max-weight: {exc}") from None
    weights = {b: float(w) for b, w in sorted(zip(books, found.weights, strict=True), key=lambda bw: -bw[1]) if w > 0}
    in_sample = _mix_figures(out, weights, best, gamma)
    oos = None
    if run.request is not None:
        needed = set(weights) | {best}
        fresh = simulate([b for b in run.request.books if b.name in needed], include_benchmarks=False,
                         progress=_prefixed(progress, "out of sample: "), executor=executor,
                         **run.request.options(seed=oos_seed, probabilities=dict(run.probabilities)))
        oos = _mix_figures(outcomes_of(fresh), weights, best, gamma)
    return MixResult(weights=weights, best_book=best, in_sample=in_sample, out_of_sample=oos,
                     seeds={"in_sample": run.seed, "out_of_sample": oos_seed if oos is not None else None},
                     max_weight=float(max_weight), converged=found.converged, message=found.message)


def _prefixed(progress: ProgressFn | None, prefix: str) -> ProgressFn | None:
    if progress is None:
        return None
    return lambda description, done, total: progress(prefix + description, done, total)


# --------------------------------------------------------------------------------------------- result
@dataclass
class Decision:
    """Everything the decision study found; the tables are pandas frames, :meth:`to_dict` the JSON document.

    Attributes
    ----------
    run : the in-sample simulation (every book on the same paths).
    gamma, gammas : the default risk aversion and those shown side by side.
    books : the distinct books (canonical order); ``same_as`` maps a kept book to identical ones left out.
    scoreboard : rows ``(column, book)``, column = scenario or ``"blend"``; see the module docstring.
    certainty : book x ``gamma_<g>`` blended CE (annual), plus ``ruin_probability``.
    tops : ``{gamma_<g>: top book}``; switches : ``[{"gamma", "from", "to"}]`` where the top book changes.
    regret, minimax_regret : expected regret table and the minimax-regret book.
    robustness, never_bad, safest_tail : worst-scenario table, its maximin-median and maximin-CVaR books.
    top, rival, break_even : the top book, its nearest rival and the break-even beliefs per scenario.
    mix : the best mix (:class:`MixResult`). verdict : the answer in plain words. notes : run notes.
    """

    run: SimulationRun
    gamma: float
    gammas: tuple[float, ...]
    books: tuple[str, ...]
    same_as: dict[str, list[str]]
    scoreboard: pd.DataFrame
    certainty: pd.DataFrame
    tops: dict[str, str]
    switches: list[dict[str, Any]]
    regret: pd.DataFrame
    minimax_regret: str
    robustness: pd.DataFrame
    never_bad: str
    safest_tail: str
    top: str
    rival: str
    break_even: pd.DataFrame
    mix: MixResult
    verdict: str = ""
    notes: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def probabilities(self) -> dict[str, float]:
        return dict(self.run.probabilities)

    @property
    def ranking(self) -> list[str]:
        """Books from the highest blended CE at the default risk aversion down."""
        return list(self.scoreboard.loc[BLEND].sort_values("rank").index)

    def label(self, book: str) -> str:
        """A book's name with the identical books it stands for: ``index_beta (= SPY)``."""
        same = self.same_as.get(book)
        return f"{book} (= {', '.join(same)})" if same else book

    def to_dict(self) -> dict[str, Any]:
        """The JSON document: verdict, scoreboard, certainty_equivalent, regret, robustness, break_even, mix,
        probabilities, settings (NaN as None)."""
        from theses.util import jsonable

        order = self.ranking
        board = {column: {b: self.scoreboard.loc[(column, b)].to_dict() for b in order}
                 for column in self.scoreboard.index.get_level_values("column").unique()}
        doc = {
            "verdict": self.verdict,
            "scoreboard": board,
            "certainty_equivalent": {
                "gammas": list(self.gammas), "default_gamma": self.gamma,
                "books": {b: self.certainty.loc[b].to_dict() for b in order}, "top": self.tops,
                "switches": self.switches, "ruin": RUIN_TEXT,
            },
            "regret": {"books": {b: self.regret.loc[b].to_dict() for b in order},
                       "minimax_regret": self.minimax_regret, "definition": REGRET_TEXT},
            "robustness": {"books": {b: self.robustness.loc[b].to_dict() for b in order},
                           "never_bad": self.never_bad, "safest_tail": self.safest_tail},
            "break_even": {"top": self.top, "rival": self.rival, "gamma": self.gamma,
                           "scenarios": {s: row.to_dict() for s, row in self.break_even.iterrows()}},
            "mix": self.mix.to_dict(),
            "probabilities": self.probabilities,
            "settings": {**self.settings, "notes": list(self.notes)},
        }
        return jsonable(doc)


RUIN_TEXT = ("wealth that reaches zero on a path (maximum drawdown of -100% or worse) stays at zero: for risk "
             "aversion >= 1 its utility is -infinity, so a book with any such path has a certainty equivalent of "
             "-100%/yr; its ruin probability is shown beside it")
REGRET_TEXT = ("on each path, the best book's horizon CAGR on that path minus the book's; expected over the paths "
               "of a scenario, blended with the scenario probabilities; minimax regret = the smallest "
               "worst-scenario expected regret")


# -------------------------------------------------------------------------------------------- verdict
def _pct(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.1%}"


def _mix_sentence(d: Decision) -> str:
    mix = d.mix
    if list(mix.weights) == [mix.best_book]:
        return f"No mix of the books beats {mix.best_book} alone in sample (max weight {mix.max_weight:g})."
    parts = ", ".join(f"{w:.0%} {b}" for b, w in mix.weights.items())
    text = f"The best mix, {parts} (held as separate sleeves), "
    inside = mix.in_sample["mix"]["certainty_equivalent"]
    if mix.out_of_sample is None:
        return text + f"has a CE of {_pct(inside)}/yr in sample ({mix.gain('in_sample') * 100:+.1f} pp)."
    fresh = mix.out_of_sample
    return (text + f"changes the CE by {mix.gain('out_of_sample') * 100:+.1f} pp out of sample: "
            f"{_pct(fresh['mix']['certainty_equivalent'])}/yr against {_pct(fresh['best_book']['certainty_equivalent'])}"
            f"/yr for {mix.best_book} on the fresh seed {mix.seeds['out_of_sample']} "
            f"({_pct(inside)}/yr, {mix.gain('in_sample') * 100:+.1f} pp in sample).")


def _belief_sentence(d: Decision) -> str:
    table = d.break_even.dropna(subset=["break_even"])
    if len(d.break_even) == 1:
        return "With one scenario there is no belief to vary."
    if table.empty:
        return f"No single scenario's probability in [0, 1] makes {d.rival} (second) overtake {d.top}."
    nearest = (table["break_even"] - table["prior"]).abs().idxmin()
    return f"Nearest break-even belief: {table.loc[nearest, 'direction']}."


def _gamma_sentence(d: Decision) -> str:
    tops = [d.tops[gamma_key(g)] for g in DECISION_GAMMAS if gamma_key(g) in d.tops]
    if len(set(tops)) == 1:
        return f"{tops[0]} stays on top at γ = 1, 2 and 5."
    listed = ", ".join(f"{d.tops[gamma_key(g)]} at γ = {g:g}" for g in DECISION_GAMMAS)
    where = ", ".join(f"{s['gamma']:.2f}" for s in d.switches)
    return f"The answer depends on risk aversion: {listed}" + (f" (the top book changes at γ = {where})." if where else ".")


def compose_verdict(d: Decision) -> str:
    """The answer in plain words; every number comes from the decision's tables."""
    blend = d.scoreboard.loc[BLEND]
    top = blend.loc[d.top]
    given = d.settings.get("probabilities_from") == "given"
    probs = ", ".join(f"{s} {p:.0%}" for s, p in d.probabilities.items())
    sentences = [
        f"Under {'the given probabilities' if given else 'the scenario priors'} ({probs}) and risk aversion "
        f"γ = {d.gamma:g}, {d.label(d.top)} has the highest certainty equivalent ({_pct(top['certainty_equivalent'])}"
        f"/yr; 5% CVaR {_pct(top['cvar_5'])}, P(loss) {_pct(top['prob_loss'])}).",
        _mix_sentence(d), _belief_sentence(d), _gamma_sentence(d),
    ]
    ruined = d.certainty[d.certainty["ruin_probability"] > 0]
    if not ruined.empty:
        names = ", ".join(f"{b} ({p:.2%} of paths)" for b, p in ruined["ruin_probability"].items())
        sentences.append(f"Wealth reaches zero on some paths of {names}: their CE is -100%/yr for γ ≥ 1.")
    regret = d.regret.loc[d.minimax_regret]
    robust = d.robustness.loc[d.never_bad]
    sentences.append(
        f"Smallest worst-scenario regret: {d.label(d.minimax_regret)} ({_pct(regret['worst'])}/yr in "
        f"{regret['worst_scenario']}); never bad: {d.label(d.never_bad)} (worst-scenario median CAGR "
        f"{_pct(robust['worst_median_cagr'])} in {robust['worst_median_scenario']}).")
    return " ".join(sentences)


# ----------------------------------------------------------------------------------------------- study
def _check_options(risk_aversion: float, max_weight: float, seed: int, oos_seed: int | None) -> None:
    if not np.isfinite(risk_aversion) or risk_aversion < 0:
        raise StudyError(f"--risk-aversion {risk_aversion!r}: use a number >= 0 (1 = log utility, "
                         f"{DEFAULT_RISK_AVERSION:g} = the default, 5 = cautious)")
    if not np.isfinite(max_weight) or not 0 < max_weight <= 1:
        raise StudyError(f"--max-weight {max_weight!r}: use a fraction in (0, 1], e.g. 0.6 (1 = no cap)")
    if oos_seed is not None and int(oos_seed) == int(seed):
        raise StudyError(f"--oos-seed {oos_seed} equals --seed: out-of-sample figures need a different seed")


def analyse(
    run: SimulationRun, *, risk_aversion: float = DEFAULT_RISK_AVERSION, max_weight: float = DEFAULT_MAX_WEIGHT,
    oos_seed: int | None = None, progress: ProgressFn | None = None,
    executor: Executor | None = None,
) -> Decision:
    """The decision analysis of a finished simulation (the mix is repeated on ``oos_seed``, default seed + 1)."""
    from theses.engine.decision import maximin_index, minimax_index, rank, top_book_switches

    oos_seed = run.seed + 1 if oos_seed is None else int(oos_seed)
    _check_options(risk_aversion, max_weight, run.seed, oos_seed)
    out = outcomes_of(run)
    books, same_as = distinct_books(out)
    if len(books) < 2:
        raise StudyError("a decision needs at least two distinct books; name more strategies or keep SPY and RSP")
    gamma = float(risk_aversion)
    gammas = tuple(sorted({*DECISION_GAMMAS, gamma}))
    scoreboard = scoreboard_table(out, books, gamma)
    blend = scoreboard.loc[BLEND]
    top, rival = list(blend.sort_values("rank").index[:2])
    certainty = certainty_table(out, books, gammas)
    tops = {gamma_key(g): books[int(np.argmin(rank(certainty[gamma_key(g)].to_numpy(),
                                                   blend["cagr_p50"].to_numpy())))] for g in gammas}
    rows = [out.book(b) for b in books]
    switches = [{"gamma": s.gamma, "from": books[s.before], "to": books[s.after]}
                for s in top_book_switches(out.wealth[rows], out.weights)]
    live = [s for s, p in zip(out.scenarios, out.probabilities, strict=True) if p > 0]
    regret = regret_table(out, books)
    robustness = robustness_table(scoreboard, live)
    decision = Decision(
        run=run, gamma=gamma, gammas=gammas, books=tuple(books), same_as=same_as, scoreboard=scoreboard,
        certainty=certainty, tops=tops, switches=switches, regret=regret,
        minimax_regret=books[minimax_index(regret[live].to_numpy())], robustness=robustness,
        never_bad=books[maximin_index(robustness[["worst_median_cagr"]].to_numpy())],
        safest_tail=books[maximin_index(robustness[["worst_cvar_5"]].to_numpy())],
        top=top, rival=rival, break_even=break_even_table(out, books, top, rival, gamma),
        mix=best_mix_of(run, out, books, top, gamma=gamma, max_weight=max_weight, oos_seed=oos_seed,
                        progress=progress, executor=executor),
        notes=tuple(run.notes), settings=_settings(run, gamma, gammas, max_weight, oos_seed, books, same_as),
    )
    decision.verdict = compose_verdict(decision)
    return decision


def _settings(run: SimulationRun, gamma: float, gammas: Sequence[float], max_weight: float, oos_seed: int,
              books: Sequence[str], same_as: Mapping[str, list[str]]) -> dict[str, Any]:
    from theses.studies.settings import costs_text

    given = run.request is not None and run.request.probabilities is not None
    return {
        "paths": run.paths, "years": run.years, "seed": run.seed, "oos_seed": oos_seed, "method": run.method,
        "start": run.index[0].strftime("%Y-%m-%d"), "end": run.index[-1].strftime("%Y-%m-%d"),
        "risk_aversion": gamma, "gammas": list(gammas), "max_weight": float(max_weight),
        "probabilities_from": "given" if given else "scenario priors", "scenarios": list(run.results),
        "books": list(books), "same_as": dict(same_as), "benchmark": BEAT_BENCHMARK,
        "costs": costs_text(run.config) if run.config is not None else None,
        "cagr": "growth over the whole horizon: wealth ** (1 / years) - 1", "ruin": RUIN_TEXT,
    }


def decide(
    strategies: Iterable[str | Strategy] | None = None,
    *,
    scenarios: str | Iterable[str | ScenarioSpec] = "all",
    paths: int = DEFAULT_PATHS,
    years: float = DEFAULT_YEARS,
    seed: int = DEFAULT_SEED,
    oos_seed: int | None = None,
    method: str = "t",
    probabilities: Mapping[str, float] | None = None,
    risk_aversion: float = DEFAULT_RISK_AVERSION,
    max_weight: float = DEFAULT_MAX_WEIGHT,
    settings: RunSettings = DEFAULT_SETTINGS,
    data_dir: str | None = None,
    calibration: Calibration | None = None,
    start: object = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    mean_block: float = 20.0,
    progress: ProgressFn | None = None,
    executor: Executor | None = None,
) -> Decision:
    """Which book to hold: simulate every book on the same paths, then :func:`analyse` them.

    Parameters
    ----------
    strategies : names, ``.toml`` paths or strategies (default: every registered one); SPY and RSP are added.
    scenarios, paths, years, seed, method, probabilities, settings, data_dir, calibration, start, chunk_size,
    mean_block : as :func:`theses.studies.scenarios.simulate` (probabilities default to the files' priors).
    oos_seed : the fresh seed the best mix is reported on (default ``seed + 1``).
    risk_aversion : the default CRRA gamma (rankings, break-even beliefs, the mix); 1, 2 and 5 are shown too.
    max_weight : cap on one book's weight in the mix, in (0, 1].
    progress : ``progress(description, done, total)`` callback. executor : where the simulations' chunk tasks
        run (:func:`theses.studies.executor.make_executor`; passed to both simulations), default in process.
    """
    _check_options(risk_aversion, max_weight, seed, oos_seed)
    books = run_books(strategies)
    if len(books) * max_weight < 1 - 1e-12:  # fail before the simulation, not after it
        raise StudyError(f"--max-weight {max_weight:g} x {len(books)} books < 1: raise the cap to at least "
                         f"{1 / len(books):.3g} or add books")
    run = simulate(books, include_benchmarks=False, scenarios=scenarios, paths=paths, years=years, seed=seed, method=method,
                   probabilities=probabilities, settings=settings, data_dir=data_dir, calibration=calibration,
                   start=start, chunk_size=chunk_size, mean_block=mean_block,
                   progress=_prefixed(progress, "in sample: "), executor=executor)
    return analyse(run, risk_aversion=risk_aversion, max_weight=max_weight, oos_seed=oos_seed, progress=progress,
                   executor=executor)
