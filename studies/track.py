"""Track the essay against what happened: its scenarios simulated from December 2024, the realised path inside
them, and the odds updated by what the world has done since.

1. **Calibrate** the scenario model on closes up to the last one before the essay's date (2024-12-02), so
   nothing after the essay shapes the paths (``theses.data.calibration.calibrate``).
2. **Simulate** every scenario from 2024-12-02 to the horizon, for every book and for each ticker group of
   the scenario files (an equal-weight basket bought once and held). A book whose signal has a look-back
   reads the real closes before 2024-12-02 on every path too (:class:`~theses.strategies.combinators.Primed`).
3. **Realised**: the same books and baskets backtested on the real prices from 2024-12-02 (with their
   look-back) to the as-of date, drawn inside each scenario's fan; the realised value's **percentile**
   among the scenario's paths on the as-of date (simulated days are NYSE sessions, as the real ones are).
4. **Odds**: the priors of the scenario files updated by Bayes' rule from the drift and crash evidence of
   the group baskets over calendar months, with volatility a nuisance; the volatility evidence reported
   beside it (:mod:`theses.studies.track_evidence`, method in :mod:`theses.engine.tracking`); and a
   **confusion matrix**: the same method on paths simulated from each scenario, as long as the real record.
5. **The efficiency shock** of 2025-01-27: the fall, drawdown and days to recover of the compute basket,
   NVDA, the hyperscalers and SPY.
6. **The decision** study run forward from the as-of date with the priors and with the posterior (what
   changed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from theses.studies.errors import StudyError
from theses.studies.history import Comparison, DataContext, compare_on
from theses.studies.scenarios import primed
from theses.studies.settings import (
    DEFAULT_SEED,
    DEFAULT_SETTINGS,
    DEFAULT_YEARS,
    ESSAY_DATE,
    TRACK_CONFUSION_PATHS,
    TRACK_PATHS,
    RunSettings,
)
from theses.studies.track_evidence import EVIDENCE_GROUPS, TOTAL, Confusion, Evidence

if TYPE_CHECKING:
    from theses.data import PriceData
    from theses.data.calibration import Calibration
    from theses.data.scenario_spec import ScenarioSpec
    from theses.strategies import Strategy
    from theses.studies.executor import Executor
    from theses.studies.scenarios import SimulationRun

EVENT_DAY = "2025-01-27"  # DeepSeek's efficiency shock: NVDA -17% (the DeepSeek-shock comments)
HYPERSCALERS: tuple[str, ...] = ("MSFT", "GOOGL", "AMZN", "META", "ORCL")  # the compute build-out interview
GROUP_PREFIX = "group:"
ProgressFn = Callable[[str, int, int], None]

METHOD = (
    "Data: for each of the scenario files' ticker groups, the mean daily log return of its tickers (a group "
    "basket), summed over calendar months since the essay.",
    "Model: each scenario's own model, the one its paths are drawn from: the phase in force each day sets the "
    "drift and the volatility factors, the volatilities and correlation are the calibration's, crash events add "
    "a one-day jump with the probability that their day falls in each month.",
    "Headline odds (drift and crash evidence): each month's basket returns are scored against the scenario's "
    "expected returns with the realised spread of the baskets (their daily covariance since the essay, the same "
    "for every scenario), so volatility, a nuisance here, cannot move the odds: only the drifts and the crashes, "
    "which are what the scenarios disagree about, do. Crashes enter as a mixture over the month each falls in.",
    "Volatility evidence, reported beside it: how likely each month's realised scatter of daily basket returns "
    "is under the scenario's volatility (Wishart, Gaussian days assumed, which overstates it with fat tails).",
    "Assumptions: months are independent given the scenario; a month's basket return is close to normal (the "
    "sum of ~21 fat-tailed days); the groups' joint evidence accounts for their correlation, so the total is "
    "not the sum of the groups' factors. Log Bayes factors are against the scenario with the highest prior.",
)


# ----------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class EventStudy:
    """How the compute basket, NVDA, the hyperscalers and SPY took the efficiency shock of ``day``.

    ``responses[name]`` is :func:`theses.engine.tracking.event_response`; ``levels`` the series around the
    event, each as a multiple of its close before the event.
    """

    day: str
    responses: dict[str, dict[str, Any]]
    levels: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day, "series": self.responses}


@dataclass
class TrackRun:
    """Everything ``theses track`` found (see the module docstring)."""

    calibration: Calibration
    start: pd.Timestamp
    as_of: pd.Timestamp
    groups: tuple[str, ...]
    prior: dict[str, float]
    posterior: dict[str, float]
    evidence: Evidence
    reference: str
    confusion: Confusion
    realised: Comparison
    fans: SimulationRun
    percentiles: dict[str, dict[str, float]]
    event_study: EventStudy
    decision_before: Any = None
    decision_after: Any = None
    notes: tuple[str, ...] = field(default=())

    @property
    def scenarios(self) -> list[str]:
        return list(self.prior)

    def realised_paths(self) -> dict[str, pd.Series]:
        """Each book's and group basket's realised equity as a multiple of the starting capital."""
        return {b.name: b.equity / b.equity.iloc[0] for b in self.realised.backtests}

    def log_bayes_factors(self) -> dict[str, Any]:
        """Per evidence kind, ``total`` and each group -> scenario -> log Bayes factor against the reference."""
        out: dict[str, Any] = {"reference": self.reference, "method": list(METHOD)}
        ref = self.scenarios.index(self.reference)
        for kind, table in (("drift", self.evidence.drift), ("volatility", self.evidence.volatility)):
            out[kind] = {part: dict(zip(self.scenarios, (values - values[ref]).tolist(), strict=True))
                         for part, values in table.items()}
        return out

    def strongest(self, kind: str = "drift") -> tuple[str, str, float]:
        """The group and scenario with the largest |log Bayes factor| against the reference: (group, scenario, value)."""
        factors = self.log_bayes_factors()[kind]
        cells = [(group, scenario, value) for group, row in factors.items() if group != TOTAL
                 for scenario, value in row.items()]
        return max(cells, key=lambda cell: abs(cell[2])) if cells else ("", "", 0.0)

    def headline(self) -> list[str]:
        """The findings in plain words, every number from the tables (odds, evidence, confusion, decision)."""
        factors = self.log_bayes_factors()
        top = max(self.posterior, key=lambda name: self.posterior[name])
        moves = ", ".join(f"{s} {self.prior[s]:.0%} -> {self.posterior[s]:.0%}" for s in self.scenarios)
        drift = factors["drift"][TOTAL]
        span = max(abs(v) for v in drift.values())
        group, scenario, value = self.strongest("drift")
        lines = [
            f"From {self.start:%Y-%m-%d} to {self.as_of:%Y-%m-%d}, the drift and crash evidence moves the essay's "
            f"odds to: {moves}; the most likely scenario is {top} ({self.posterior[top]:.0%}).",
            f"All log Bayes factors against {self.reference} are within +/-{span:.2f} (the strongest group: {group}, "
            f"{value:+.2f} for {scenario}): {_strength(span)}.",
            f"How much the record can tell: on {self.confusion.paths} paths of the same {self.confusion.days} days from "
            f"each scenario, the posterior's top scenario is the true one {self.confusion.accuracy:.0%} of the time "
            f"(chance: {1 / len(self.scenarios):.0%}).",
        ]
        if self.evidence.volatility:
            vol = factors["volatility"][TOTAL]
            loud = max(vol, key=lambda name: abs(vol[name]))
            lines.append(f"Volatility alone would give {loud} a log Bayes factor of {vol[loud]:+.0f} against "
                         f"{self.reference}; it is reported, not counted: the scenarios' volatility factors meet a "
                         "realised volatility that differs from the calibration, not a different drift.")
        for label, decision in (("with the priors", self.decision_before), ("with the posterior", self.decision_after)):
            if decision is not None:
                lines.append(f"Decision from {self.as_of:%Y-%m-%d} {label}: {_verdict(decision)}")
        if self.decision_before is not None and self.decision_after is not None:
            lines.append(self.decision_change())
        return lines

    def decision_change(self) -> str:
        """What the posterior changed in the decision: the top book, its certainty equivalent, the ranking."""
        before, after = self.decision_before, self.decision_after
        ce_before = before.scoreboard.loc[("blend", before.top), "certainty_equivalent"]
        ce_after = after.scoreboard.loc[("blend", after.top), "certainty_equivalent"]
        if before.top == after.top:
            head = (f"What changed: {after.top} stays the top book; its certainty equivalent moves from "
                    f"{ce_before:.1%} to {ce_after:.1%}/yr")
        else:
            head = (f"What changed: the top book changes from {before.top} ({ce_before:.1%}/yr) to {after.top} "
                    f"({ce_after:.1%}/yr)")
        was = {book: rank for rank, book in enumerate(before.ranking, 1)}
        moved = [f"{book} {was[book]} -> {rank}" for rank, book in enumerate(after.ranking, 1)
                 if book in was and was[book] != rank]
        return head + ("; the ranking is unchanged." if not moved else f"; ranks that moved: {', '.join(moved)}.")

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``theses track --format json``."""
        from theses.util import jsonable

        c = self.confusion
        return jsonable({
            "calibration_end": f"{self.calibration.end:%Y-%m-%d}",
            "start": f"{self.start:%Y-%m-%d}",
            "as_of": f"{self.as_of:%Y-%m-%d}",
            "prior": self.prior,
            "posterior": self.posterior,
            "log_bayes_factors": self.log_bayes_factors(),
            "confusion": {"paths": c.paths, "days": c.days, "counts": c.counts,
                          "mean_posterior_of_truth": c.mean_posterior, "accuracy": c.accuracy},
            "realised_percentile": self.percentiles,
            "event_study": self.event_study.to_dict(),
            "decision_before": _decision_dict(self.decision_before),
            "decision_after": _decision_dict(self.decision_after, self.decision_change()
                                             if self.decision_before is not None and self.decision_after is not None
                                             else None),
            "notes": list(self.notes),
        })

    def header(self) -> dict[str, Any]:
        """Report header facts."""
        context = DataContext(self.realised.context.source, f"{self.start:%Y-%m-%d}", f"{self.as_of:%Y-%m-%d}",
                              (*self.realised.header()["notes"], *self.notes))
        out = context.header(self.realised.configs[0] if self.realised.backtests else None)
        out["window"] = (f"calibration to {self.calibration.end:%Y-%m-%d}; paths from {self.start:%Y-%m-%d} to "
                         f"{self.fans.index[-1]:%Y-%m-%d}; realised to {self.as_of:%Y-%m-%d}")
        out["seed"] = self.fans.seed
        return out


def _strength(span: float) -> str:
    """Jeffreys' scale of a Bayes factor, for natural-log factors, in words."""
    for bound, words in ((1.1, "barely worth mentioning"), (2.3, "substantial at most"), (3.4, "strong at most"),
                         (4.6, "very strong at most")):
        if span < bound:
            return f"evidence {words} (Jeffreys' scale)"
    return "decisive evidence for some scenario (Jeffreys' scale)"


def _verdict(decision: Any) -> str:
    return str(getattr(decision, "verdict", decision))


def _decision_dict(decision: Any, change: str | None = None) -> Any:
    """The decision's JSON document (plus ``what_changed`` against the priors' decision, when given)."""
    if decision is None:
        return None
    document = decision.to_dict() if hasattr(decision, "to_dict") else decision
    return {**document, "what_changed": change} if change else document


# ------------------------------------------------------------------------------------------ inputs
def group_books(spec: ScenarioSpec, groups: Sequence[str]) -> list[Strategy]:
    """One book per ticker group: its tickers in equal weight, bought once and held (no rebalancing)."""
    from theses.strategies import StaticBook, Strategy
    from theses.strategies.signals import equal_weights

    return [Strategy(name=f"{GROUP_PREFIX}{group}", description=f"the {group} group of the scenario files: equal "
                     "weight, bought once and held", rebalance="none", benchmark="SPY", params=None,
                     rule=StaticBook(equal_weights(spec.groups[group]), buy_and_hold=True))
            for group in groups]


def check_same_groups(specs: Sequence[ScenarioSpec], groups: Sequence[str]) -> None:
    """The evidence and the group baskets need every scenario to define the groups with the same tickers."""
    first = specs[0]
    for spec in specs[1:]:
        for group in groups:
            if tuple(spec.groups.get(group, ())) != tuple(first.groups.get(group, ())):
                raise StudyError(f"scenario {spec.name} ({spec.source}) defines group {group!r} differently from "
                                 f"{first.name}; tracking needs the same groups in every scenario")


def load_track_prices(tickers: Sequence[str], as_of: object, source: str, data_dir: str | None) -> PriceData:
    """All the history of ``tickers`` up to ``as_of``, with the essay's date as the window start."""
    from theses.data import load_prices
    from theses.studies.rebalance import parse_as_of

    end = parse_as_of(as_of)
    earliest = pd.Timestamp(ESSAY_DATE) + pd.DateOffset(months=2)
    # Checked before loading: a date before the essay would otherwise fail as "no prices" for some ticker.
    if end is not None and end < earliest:
        raise StudyError(f"--as-of {end:%Y-%m-%d}: tracking needs at least two months after the essay's date "
                         f"{ESSAY_DATE}; give a date from {earliest:%Y-%m-%d} on (or leave it out for the latest)")
    data = load_prices(list(tickers), end=end, source=source, data_dir=data_dir)
    index = data.close.index
    after = index[index >= pd.Timestamp(ESSAY_DATE)]
    before = index[index < pd.Timestamp(ESSAY_DATE)]
    if len(after) < 42 or not len(before):
        raise StudyError(f"tracking needs prices from before {ESSAY_DATE} to at least two months after it; the data "
                         f"runs {index[0]:%Y-%m-%d} to {index[-1]:%Y-%m-%d} (choose a later --as-of or add prices)")
    return dataclasses.replace(data, window_start=after[0])


def calibrate_before(close: pd.DataFrame, tickers: Sequence[str]) -> Calibration:
    """The scenario model's calibration from the closes before the essay's date only."""
    from theses.data.calibration import calibrate

    return calibrate(close.loc[close.index < pd.Timestamp(ESSAY_DATE), list(tickers)])


def observed_log_returns(close: pd.DataFrame, tickers: Sequence[str], first: int) -> np.ndarray:
    """Daily log returns of ``tickers`` on the rows from ``first`` (each from the close before): ``(T, N)``."""
    values = close[list(tickers)].to_numpy(dtype=float)
    returns = np.log(values[first:] / values[first - 1 : -1])
    bad = ~np.isfinite(returns)
    if bad.any():
        t, i = np.argwhere(bad)[0]
        raise StudyError(f"{tickers[i]} has no price on {close.index[first + t]:%Y-%m-%d}; tracking needs every "
                         "scenario ticker priced from the essay's date on")
    return returns


# --------------------------------------------------------------------------------------------- parts
def scenario_odds(
    specs: Sequence[ScenarioSpec], calibration: Calibration, close: pd.DataFrame, first: int,
    groups: Sequence[str], probabilities: Mapping[str, float] | None,
) -> tuple[dict[str, float], dict[str, float], Evidence, dict[str, Any], str, tuple[str, ...]]:
    """Prior, posterior, evidence, the group models, the reference scenario and the priors' notes."""
    from theses.engine.tracking import month_windows, posterior
    from theses.studies.scenarios import resolve_probabilities
    from theses.studies.track_evidence import basket_matrix, basket_returns, group_model, scenario_evidence

    index = close.index[first:]
    window_of_day = month_windows(index)
    models = {spec.name: group_model(spec, calibration, index, groups, window_of_day) for spec in specs}
    daily = basket_returns(observed_log_returns(close, specs[0].tickers, first), basket_matrix(specs[0], groups))
    evidence = scenario_evidence(daily, window_of_day, models, groups)
    names = [spec.name for spec in specs]
    if probabilities is not None and sorted(probabilities) != sorted(names):
        raise StudyError(f"--probabilities names {', '.join(sorted(probabilities))}; give one for each scenario "
                         f"tracked: {', '.join(names)}")
    given, notes = resolve_probabilities(specs, probabilities)
    prior = {name: float(given[name]) for name in names}
    post = posterior(np.array(list(prior.values())), evidence.drift[TOTAL])
    reference = max(prior, key=lambda name: prior[name])
    return prior, dict(zip(prior, post.tolist(), strict=True)), evidence, models, reference, notes


def realised_percentiles(realised: Comparison, short: SimulationRun) -> dict[str, dict[str, float]]:
    """Scenario -> book -> percentile of the realised value among the paths on the as-of date."""
    from theses.engine.tracking import percentile_of

    values = {b.name: float(b.equity.iloc[-1] / b.equity.iloc[0]) for b in realised.backtests}
    return {scenario: {name: percentile_of(values[name], result.terminal_wealth)
                       for name, result in by_book.items() if name in values}
            for scenario, by_book in short.results.items()}


def event_study(close: pd.DataFrame, day: str = EVENT_DAY, before: int = 10, after: int = 120) -> EventStudy:
    """The efficiency shock: the compute basket, NVDA, the hyperscalers (basket and each), SPY."""
    from theses.engine.tracking import basket_level, event_response
    from theses.strategies.jevons_dip import JevonsDipParams

    stamp = pd.Timestamp(day)
    if stamp not in close.index or close.index.get_loc(stamp) == 0:
        return EventStudy(day, {}, pd.DataFrame())
    base = close.index[close.index.get_loc(stamp) - 1]
    wanted = {"compute basket": JevonsDipParams().basket, "NVDA": ("NVDA",), "hyperscalers": HYPERSCALERS,
              **{t: (t,) for t in HYPERSCALERS}, "SPY": ("SPY",)}
    series = {name: basket_level(close[list(tickers)], base) for name, tickers in wanted.items()
              if all(t in close.columns for t in tickers)}
    at = close.index.get_loc(stamp)
    levels = pd.DataFrame(series).iloc[max(at - before, 0): at + after + 1]
    return EventStudy(day, {name: event_response(level, stamp) for name, level in series.items()}, levels)


# ---------------------------------------------------------------------------------------------- study
def track(
    strategies: Iterable[str | Strategy] | None = None,
    *,
    as_of: object = None,
    paths: int = TRACK_PATHS,
    years: float = DEFAULT_YEARS,
    seed: int = DEFAULT_SEED,
    confusion_paths: int = TRACK_CONFUSION_PATHS,
    scenarios: str | Iterable[str | ScenarioSpec] = "all",
    probabilities: Mapping[str, float] | None = None,
    settings: RunSettings = DEFAULT_SETTINGS,
    source: str = "auto",
    data_dir: str | None = None,
    decide: bool = True,
    progress: ProgressFn | None = None,
    executor: Executor | None = None,
) -> TrackRun:
    """Track the essay's scenarios against what happened since 2024-12-02 (see the module docstring).

    Parameters
    ----------
    strategies : the books (default: every registered strategy, plus SPY and RSP).
    as_of : the last date of the realised record (default: the latest common price date).
    paths, years, seed : paths per scenario for the fans and percentiles, the horizon from 2024-12-02, the seed.
    confusion_paths : paths per scenario for the confusion matrix.
    scenarios : ``"all"``, names, ``.toml`` paths or specs.
    probabilities : priors (default: the scenario files').
    settings : costs and rates of the books.
    source, data_dir : where the real prices come from (see :func:`theses.data.load_prices`).
    decide : also run the decision study forward from the as-of date with the priors and the posterior.
    progress : ``progress(description, done, total)`` callback.
    executor : where the simulations' chunks run (default in process; see :mod:`theses.studies.executor`);
        the confusion matrix and the realised backtests always run in process.
    """
    from theses.data.generators import DEFAULT_START_PRICE
    from theses.studies.limits import check_simulation, widest
    from theses.studies.scenarios import resolve_scenarios, run_books, simulate
    from theses.studies.settings import DEFAULT_CHUNK_SIZE
    from theses.studies.track_evidence import confusion

    for option, value in (("--paths", paths), ("--confusion-paths", confusion_paths)):
        if value < 1:
            raise StudyError(f"{option} {value}: simulate at least one path")
    specs = resolve_scenarios(scenarios)
    if not specs:
        raise StudyError("no scenario to track; pass --scenario NAME, all, or a .toml file")
    groups = tuple(g for g in EVIDENCE_GROUPS if all(g in spec.groups for spec in specs))
    check_same_groups(specs, groups)
    books = [*run_books(strategies), *group_books(specs[0], groups)]
    # Before any work: the fans (on the executor, if any) and the confusion matrix (in process).
    for option, count, local in (("--paths", paths, executor is None), ("--confusion-paths", confusion_paths, True)):
        check_simulation(paths=count, years=years, seed=seed, chunk_size=DEFAULT_CHUNK_SIZE, mean_block=20.0,
                         start=None, assets=widest(specs), books=len(books), scenarios=len(specs),
                         paths_option=option, in_process=local)
    tickers = list(dict.fromkeys([*specs[0].tickers, *(t for b in books for t in b.universe)]))
    data = load_track_prices(tickers, as_of, source, data_dir)
    close, first = data.close, data.window_row
    start, end = close.index[first], close.index[-1]
    step = _stepper(progress, 6 if decide else 4)

    step("calibrating on the closes before the essay")
    calibration = calibrate_before(close, specs[0].tickers)
    prior, post, evidence, models, reference, prior_notes = scenario_odds(specs, calibration, close, first, groups,
                                                                         probabilities)
    step("confusion matrix")
    matrix = confusion(specs, calibration, close.index[first:], models, groups, np.array(list(prior.values())),
                       paths=confusion_paths, seed=seed)
    realised = compare_on(books, data, settings, since_essay=True)
    history = close.iloc[:first]
    simulated = [primed(book, history, DEFAULT_START_PRICE) for book in books]
    options = {"scenarios": specs, "paths": paths, "seed": seed, "probabilities": prior, "settings": settings,
               "calibration": calibration, "start": start, "include_benchmarks": False, "executor": executor}
    step("simulating every scenario from the essay's date")
    fans = simulate(simulated, years=years, progress=_prefixed(progress, "fans: "), **options)
    step("simulating to the as-of date")
    short = simulate(simulated, years=years_to(start, end), progress=_prefixed(progress, "to the as-of date: "),
                     **options)
    run = TrackRun(calibration, start, end, groups, prior, post, evidence, reference, matrix, realised, fans,
                   realised_percentiles(realised, short), event_study(close),
                   notes=(*prior_notes, *_notes(calibration, books, start)))
    if decide:
        step("decision with the priors and with the posterior")
        run.decision_before, run.decision_after = decisions(
            run_books(strategies), close, specs, probabilities, post, paths=paths, years=years, seed=seed,
            settings=settings, progress=progress, executor=executor)
    step("done")
    return run


def years_to(start: pd.Timestamp, end: pd.Timestamp) -> float:
    """The ``years`` of a simulation from ``start`` whose last calendar day is ``end`` (whole years, then days)."""
    whole = 0
    while start + pd.DateOffset(years=whole + 1) <= end + pd.Timedelta(days=1):
        whole += 1
    days = (end + pd.Timedelta(days=1) - (start + pd.DateOffset(years=whole))).days
    return whole + days / 365.25


def _prefixed(progress: ProgressFn | None, prefix: str) -> ProgressFn | None:
    if progress is None:
        return None
    return lambda description, done, total: progress(prefix + description, done, total)


def _stepper(progress: ProgressFn | None, total: int) -> Callable[[str], None]:
    done = [0]

    def step(description: str) -> None:
        if progress is not None:
            progress(description, done[0], total)
        done[0] += 1

    return step


def _notes(calibration: Calibration, books: Sequence[Strategy], start: pd.Timestamp) -> tuple[str, ...]:
    primed_books = [b.name for b in books if b.lookback > 0]
    notes = [
        f"scenario model calibrated on {calibration.start:%Y-%m-%d} to {calibration.end:%Y-%m-%d} only (the last close "
        f"before the essay), shrinkage {calibration.shrinkage:.3f}",
        "realised values are compared with the paths on the same date (simulated days are NYSE sessions)",
    ]
    if primed_books:
        notes.append(f"on the simulated paths the signals of {', '.join(primed_books)} read the real closes before "
                     f"{start:%Y-%m-%d}, as they do on the realised record")
    return tuple(notes)


def with_probabilities(run: SimulationRun, probabilities: Mapping[str, float]) -> SimulationRun:
    """The same paths blended with other scenario probabilities (and rerun with them by the request)."""
    from theses.engine.metrics import scenario_blend

    probs = {name: float(probabilities[name]) for name in run.results}
    books = list(next(iter(run.results.values())))
    blend = {}
    for book in books:
        per_path = {s: {"terminal_wealth": r[book].terminal_wealth, "cagr": r[book].cagr,
                        "max_drawdown": r[book].max_drawdown, "benchmark_terminal": run.benchmark_terminal[s]}
                    for s, r in run.results.items()}
        blend[book] = dict(scenario_blend(per_path, probs))
    request = dataclasses.replace(run.request, probabilities=probs) if run.request is not None else None
    return dataclasses.replace(run, probabilities=probs, blend=blend, request=request)


def decisions(
    books: Sequence[Strategy], close: pd.DataFrame, specs: Sequence[ScenarioSpec],
    probabilities: Mapping[str, float] | None, posterior_odds: Mapping[str, float], *, paths: int, years: float,
    seed: int, settings: RunSettings, progress: ProgressFn | None = None, executor: Executor | None = None,
) -> tuple[Any, Any]:
    """The decision study forward from the last close: one simulation, analysed with the priors and the posterior.

    The model is calibrated on all the closes up to that day; books with a look-back read the real closes before
    it. Both analyses see the same paths, so what differs is the belief only.
    """
    from theses.data.calibration import calibrate
    from theses.data.generators import DEFAULT_START_PRICE, next_business_day
    from theses.studies.decide import analyse
    from theses.studies.scenarios import simulate

    calibration = calibrate(close[list(specs[0].tickers)])
    forward = [primed(book, close, DEFAULT_START_PRICE) for book in books]
    run = simulate(forward, scenarios=list(specs), paths=paths, years=years, seed=seed, probabilities=probabilities,
                   settings=settings, calibration=calibration, start=next_business_day(close.index[-1]),
                   include_benchmarks=False, progress=_prefixed(progress, "decision: "), executor=executor)
    before = analyse(run, progress=_prefixed(progress, "decision (priors): "), executor=executor)
    after = analyse(with_probabilities(run, posterior_odds), progress=_prefixed(progress, "decision (posterior): "),
                    executor=executor)
    return before, after
