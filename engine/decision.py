"""Decision measures over per-path outcomes of several books: certainty equivalents, regret, break-even beliefs,
the best mix. Small pure functions on arrays; the decision study (``theses.studies.decide``) combines them.

Conventions, stated once:

- **Outcomes** of B books on P paths are arrays of shape ``(B, P)``; path ``i`` of every book is the same
  simulated market (common random numbers), so books compare path by path. Paths of several scenarios are
  pooled with **path weights** ``(P,)`` that sum to 1: a path of scenario ``s`` with ``n_s`` paths weighs
  ``p_s / n_s`` (:func:`path_weights`), as in :func:`theses.engine.metrics.scenario_blend`.
- **Wealth** is terminal wealth as a multiple of the start. A path on which wealth reached zero (at any time)
  is **ruined**: the investor is wiped out there, so its wealth counts as 0 at the end, whatever a
  negative-equity account did afterwards (:func:`wealth_after_ruin`).
- **Utility** is CRRA with relative risk aversion ``gamma >= 0``: ``U(W) = ln W`` for ``gamma = 1`` (log
  utility, the Kelly criterion) and ``(W**(1 - gamma) - 1) / (1 - gamma)`` otherwise; ``gamma = 0`` is risk
  neutral. For ``gamma >= 1``, ``U(0) = -inf``: one ruined path with positive weight makes the expected
  utility ``-inf`` and the certainty equivalent wealth 0 (a return of -100%/yr). For ``gamma < 1`` wealth
  below zero counts as 0 (limited liability) and ``U(0)`` is finite.
- The **certainty equivalent** (CE) is the sure wealth with the same expected utility,
  ``U^-1(E[U(W)])``, quoted as the constant annual return ``CE**(1 / years) - 1`` over the horizon.
  A CE ranking of books is the same as their expected-utility ranking (``U`` is increasing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq, minimize
from scipy.special import logsumexp

from theses.engine.errors import EngineError

GAMMA_GRID = np.round(np.linspace(0.0, 10.0, 201), 10)
"""Risk aversions scanned for changes of the top book (steps of 0.05; each change refined by brentq)."""

MIX_WEALTH_FLOOR = 1e-9
"""Mix wealth below this is floored while optimising (keeps the objective finite); figures use the true wealth."""

_LOG_GAMMA = 1e-9
"""``|1 - gamma|`` below this is log utility (the limit of the power form)."""


# ------------------------------------------------------------------------------------------------ inputs
def path_weights(counts: Sequence[int], probabilities: Sequence[float]) -> np.ndarray:
    """Weight of every pooled path: scenario ``s``'s ``counts[s]`` paths each get ``probabilities[s] / counts[s]``.

    Parameters
    ----------
    counts : paths per scenario, in pooling order.
    probabilities : scenario probabilities (non-negative, summing to 1), same order.

    Returns
    -------
    np.ndarray, shape (sum(counts),)
    """
    if len(counts) != len(probabilities):
        raise EngineError(f"path_weights: {len(counts)} scenario counts but {len(probabilities)} probabilities")
    parts = [np.full(int(n), float(p) / int(n)) for n, p in zip(counts, probabilities, strict=True) if int(n) > 0]
    return np.concatenate(parts) if parts else np.empty(0)


def ruined(max_drawdown: np.ndarray) -> np.ndarray:
    """Paths on which wealth reached zero or below: a maximum drawdown of -100% or worse.

    The one place that decides what ruin is, so a per-path minimum-equity flag can replace it.
    """
    return np.asarray(max_drawdown, dtype=np.float64) <= -1.0


def wealth_after_ruin(terminal_wealth: np.ndarray, is_ruined: np.ndarray) -> np.ndarray:
    """Terminal wealth with ruined paths (and any wealth at or below zero) at 0."""
    wealth = np.asarray(terminal_wealth, dtype=np.float64)
    return np.where(np.asarray(is_ruined, dtype=bool) | (wealth <= 0.0), 0.0, wealth)


def horizon_cagr(wealth: np.ndarray, years: float) -> np.ndarray:
    """Annual growth over the whole horizon, ``wealth ** (1 / years) - 1`` (-1 for wealth 0)."""
    if not years > 0:
        raise EngineError(f"horizon_cagr: years must be positive, got {years!r}")
    return np.power(np.maximum(np.asarray(wealth, dtype=np.float64), 0.0), 1.0 / years) - 1.0


# ---------------------------------------------------------------------------------------------- utility
def _check_gamma(gamma: float) -> float:
    gamma = float(gamma)
    if not np.isfinite(gamma) or gamma < 0:
        raise EngineError(f"risk aversion {gamma!r}: use a number >= 0 (1 = log utility, 2 = the default)")
    return gamma


def crra_utility(wealth: np.ndarray, gamma: float) -> np.ndarray:
    """CRRA utility of wealth (see the module docstring); ``-inf`` at 0 for ``gamma >= 1``."""
    gamma = _check_gamma(gamma)
    w = np.maximum(np.asarray(wealth, dtype=np.float64), 0.0)
    with np.errstate(divide="ignore"):
        if abs(1.0 - gamma) < _LOG_GAMMA:
            return np.log(w)
        return (np.power(w, 1.0 - gamma) - 1.0) / (1.0 - gamma)


def inverse_utility(utility: np.ndarray, gamma: float) -> np.ndarray:
    """Wealth whose CRRA utility is ``utility`` (the inverse of :func:`crra_utility`; 0 for ``-inf``)."""
    gamma = _check_gamma(gamma)
    u = np.asarray(utility, dtype=np.float64)
    if abs(1.0 - gamma) < _LOG_GAMMA:
        return np.exp(u)
    base = np.maximum(1.0 + (1.0 - gamma) * u, 0.0)
    with np.errstate(divide="ignore"):
        return np.power(base, 1.0 / (1.0 - gamma))


def log_certainty_equivalent(wealth: np.ndarray, weights: np.ndarray, gamma: float) -> np.ndarray:
    """``ln`` of the certainty-equivalent wealth of each row of ``wealth`` (last axis: paths).

    Computed in logs for stability: ``ln CE = logsumexp((1 - gamma) ln W, b=weights) / (1 - gamma)``, and
    ``sum(weights * ln W)`` for log utility. ``-inf`` when a ruined path has weight and ``gamma >= 1``.

    Parameters
    ----------
    wealth : np.ndarray, shape (..., P)
        Terminal wealth per path (values <= 0 count as 0).
    weights : np.ndarray, shape (P,)
        Path probabilities (non-negative; normalised here).
    gamma : float
        Relative risk aversion, >= 0.
    """
    gamma = _check_gamma(gamma)
    log_w, w = _log_wealth(wealth, weights)
    return _log_ce_of_logs(log_w, w, gamma)


def _log_wealth(wealth: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ln W, normalised weights)`` over the paths with weight (wealth <= 0 counts as 0, its log -inf)."""
    w = np.asarray(weights, dtype=np.float64)
    keep = w > 0
    w = w[keep] / w[keep].sum()
    wealth = np.maximum(np.asarray(wealth, dtype=np.float64)[..., keep], 0.0)
    with np.errstate(divide="ignore"):
        return np.log(wealth), w


def _log_ce_of_logs(log_w: np.ndarray, w: np.ndarray, gamma: float) -> np.ndarray:
    """:func:`log_certainty_equivalent` from :func:`_log_wealth`'s logs (a grid of gammas shares them)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if abs(1.0 - gamma) < _LOG_GAMMA:
            return np.sum(log_w * w, axis=-1)  # -inf when a weighted path has wealth 0
        return weighted_logsumexp((1.0 - gamma) * log_w, w) / (1.0 - gamma)


def weighted_logsumexp(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``ln sum(b * exp(a))`` over the last axis, for ``b > 0``, shifted by each row's largest finite value.

    ``scipy.special.logsumexp(a, b=b, axis=-1)`` to a few ulps (a test checks it), without its per-call
    checks: the decision study calls it for every risk aversion of a 201-point grid, where scipy's measured
    10 ms a call for 14 books x 10,000 paths against 2 ms here. ``+inf`` when an ``a`` is ``+inf`` with
    weight; ``-inf`` when every weighted term is ``-inf``.
    """
    shift = np.max(a, axis=-1, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        total = np.sum(b * np.exp(a - shift), axis=-1)
        return np.log(total) + shift[..., 0]


def certainty_equivalent(wealth: np.ndarray, weights: np.ndarray, gamma: float, years: float) -> np.ndarray:
    """Certainty equivalent as a constant annual return over ``years``: ``CE ** (1 / years) - 1``.

    -1 (that is -100%/yr) when wealth is 0 on a path with weight and ``gamma >= 1``; see
    :func:`log_certainty_equivalent` for the shapes.
    """
    if not years > 0:
        raise EngineError(f"certainty_equivalent: years must be positive, got {years!r}")
    return np.exp(log_certainty_equivalent(wealth, weights, gamma) / years) - 1.0


def scenario_utilities(wealth: np.ndarray, scenario_of_path: np.ndarray, n_scenarios: int, gamma: float) -> np.ndarray:
    """Expected utility of each book within each scenario (its paths equally weighted): shape ``(B, S)``.

    The blended expected utility under probabilities ``p`` is then ``utilities @ p``: expected utility is
    linear in the scenario probabilities, which is what makes break-even beliefs a closed form.
    """
    utility = crra_utility(wealth, gamma)
    index = np.asarray(scenario_of_path)
    out = np.full((utility.shape[0], n_scenarios), np.nan)
    for s in range(n_scenarios):
        chosen = index == s
        if chosen.any():
            with np.errstate(invalid="ignore"):
                out[:, s] = utility[:, chosen].mean(axis=1)
    return out


# -------------------------------------------------------------------------------------------- rankings
def top_index(values: np.ndarray, tiebreak: np.ndarray | None = None) -> int:
    """Index of the largest value (NaN never wins; ties go to the larger ``tiebreak``, then the first)."""
    values = np.asarray(values, dtype=np.float64)
    second = np.zeros_like(values) if tiebreak is None else np.nan_to_num(np.asarray(tiebreak, float), nan=-np.inf)
    order = np.lexsort((-second, -np.nan_to_num(values, nan=-np.inf)))
    return int(order[0])


def rank(values: np.ndarray, tiebreak: np.ndarray | None = None) -> np.ndarray:
    """Rank 1 for the largest value, then down (NaN last; ties by the larger ``tiebreak``, then position)."""
    values = np.asarray(values, dtype=np.float64)
    second = np.zeros_like(values) if tiebreak is None else np.nan_to_num(np.asarray(tiebreak, float), nan=-np.inf)
    order = np.lexsort((np.arange(values.size), -second, -np.nan_to_num(values, nan=-np.inf)))
    ranks = np.empty(values.size, dtype=np.int64)
    ranks[order] = np.arange(1, values.size + 1)
    return ranks


class GammaSwitch(NamedTuple):
    """The top book changes from book ``before`` to book ``after`` at risk aversion ``gamma``."""

    gamma: float
    before: int
    after: int


def top_book_switches(wealth: np.ndarray, weights: np.ndarray, grid: np.ndarray = GAMMA_GRID) -> list[GammaSwitch]:
    """Risk aversions at which the book with the highest certainty equivalent changes.

    The top book is found on ``grid``; where it differs between neighbouring grid points, the crossing of the
    two books' log certainty equivalents is solved with ``scipy.optimize.brentq``. A ruined book's CE tends
    to 0 as gamma rises to 1 and is 0 from there on, so its crossing lies below 1 and is solved the same way;
    without a sign change the grid point is returned. Two changes closer together than the grid step may
    show as one.
    """
    grid = np.asarray(grid, dtype=np.float64)
    log_w, w = _log_wealth(wealth, weights)
    log_ce = np.array([_log_ce_of_logs(log_w, w, _check_gamma(g)) for g in grid])  # (G, B)
    tops = [top_index(row) for row in log_ce]
    switches: list[GammaSwitch] = []
    for k in range(1, len(grid)):
        before, after = tops[k - 1], tops[k]
        if before == after:
            continue

        def gap(g: float, a: int = before, b: int = after) -> float:
            pair = log_certainty_equivalent(wealth[[a, b]], weights, g)
            return float(pair[0] - pair[1])

        lo, hi = float(grid[k - 1]), float(grid[k])
        if not np.isfinite(gap(hi)):  # ruin: CE is 0 from gamma = 1 on, and tends to 0 continuously below it
            hi = max(lo, hi - 1e-7)
        g_lo, g_hi = gap(lo), gap(hi)
        if np.isfinite(g_lo) and np.isfinite(g_hi) and g_lo * g_hi < 0:
            at = float(brentq(gap, lo, hi, xtol=1e-10))
        else:
            at = float(grid[k])
        switches.append(GammaSwitch(at, before, after))
    return switches


# ---------------------------------------------------------------------------------------------- regret
def path_regret(returns: np.ndarray) -> np.ndarray:
    """Regret on each path: the best book's return on that path minus each book's, shape ``(B, P)`` (>= 0)."""
    returns = np.asarray(returns, dtype=np.float64)
    return np.max(returns, axis=0, keepdims=True) - returns


def expected_regret(returns: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Probability-weighted mean of :func:`path_regret` per book, shape ``(B,)``."""
    w = np.asarray(weights, dtype=np.float64)
    return path_regret(returns) @ (w / w.sum())


def minimax_index(table: np.ndarray) -> int:
    """Row whose largest entry is the smallest (e.g. books x scenarios of expected regret); first on ties."""
    worst = np.nanmax(np.asarray(table, dtype=np.float64), axis=1)
    return int(np.argmin(worst))


def maximin_index(table: np.ndarray) -> int:
    """Row whose smallest entry is the largest (e.g. books x scenarios of median CAGR); first on ties."""
    worst = np.nanmin(np.asarray(table, dtype=np.float64), axis=1)
    return int(np.argmax(worst))


def identical_rows(outcomes: np.ndarray) -> np.ndarray:
    """For each row, the first row equal to it on every column (NaN equal to NaN): its own index if unique.

    Books whose outcomes are identical on every path (a 100% SPY book and SPY bought and held) are one
    choice; a study keeps the first and says which others it stands for.
    """
    outcomes = np.asarray(outcomes, dtype=np.float64)
    first = np.arange(outcomes.shape[0])
    for i in range(outcomes.shape[0]):
        for j in range(i):
            if first[j] == j and np.array_equal(outcomes[i], outcomes[j], equal_nan=True):
                first[i] = j
                break
    return first


# ------------------------------------------------------------------------------------ break-even beliefs
def tilted_probabilities(probabilities: np.ndarray, scenario: int, belief: float) -> np.ndarray:
    """Scenario probabilities with ``scenario``'s set to ``belief`` and the others rescaled in proportion.

    The others keep their ratios and share ``1 - belief``; when they have no probability at all they share
    it equally.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    others = np.ones(p.size, dtype=bool)
    others[scenario] = False
    rest = p[others].sum()
    out = np.zeros_like(p)
    if others.any():
        out[others] = (1.0 - belief) * (p[others] / rest if rest > 0 else np.full(others.sum(), 1.0 / others.sum()))
    out[scenario] = belief
    return out


def blended_utility(utilities: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """``utilities @ probabilities`` over the scenarios with probability > 0 (so ``0 x -inf`` never arises)."""
    p = np.asarray(probabilities, dtype=np.float64)
    keep = p > 0
    return np.asarray(utilities, dtype=np.float64)[..., keep] @ p[keep]


def _utility_gap(a: float, b: float) -> float:
    """``a - b`` for expected utilities that may be ``-inf``; NaN when both are (a tie at ruin)."""
    if np.isneginf(a) and np.isneginf(b):
        return float("nan")
    return float(a - b)


def break_even_belief(utilities_a: np.ndarray, utilities_b: np.ndarray, probabilities: np.ndarray,
                      scenario: int) -> float:
    """Probability of ``scenario`` at which books A and B swap places by expected utility (and so by CE).

    With the other scenarios rescaled in proportion (:func:`tilted_probabilities`), each book's expected
    utility is linear in the belief ``t``: ``EU(t) = t u[s] + (1 - t) EU_rest``. The gap
    ``D(t) = t d_s + (1 - t) d_rest`` between A and B is zero at ``t* = d_rest / (d_rest - d_s)``, a closed
    form. Ruin (utility ``-inf``) in the rest makes the gap infinite for every ``t < 1`` (a flip only at
    ``t = 1``), ruin in ``scenario`` for every ``t > 0`` (a flip only at ``t = 0``).

    Parameters
    ----------
    utilities_a, utilities_b : np.ndarray, shape (S,)
        Each book's expected utility within each scenario (:func:`scenario_utilities`).
    probabilities : np.ndarray, shape (S,)
        The prior scenario probabilities.
    scenario : int
        The scenario whose probability moves.

    Returns
    -------
    float
        ``t*`` in [0, 1], or NaN when the ranking does not change for any belief in [0, 1].
    """
    u_a = np.asarray(utilities_a, dtype=np.float64)
    u_b = np.asarray(utilities_b, dtype=np.float64)
    if u_a.size < 2:
        return float("nan")
    rest = tilted_probabilities(probabilities, scenario, 0.0)
    d_rest = _utility_gap(float(blended_utility(u_a, rest)), float(blended_utility(u_b, rest)))
    d_s = _utility_gap(float(u_a[scenario]), float(u_b[scenario]))
    if np.isnan(d_rest) or np.isnan(d_s) or (d_rest > 0 and d_s > 0) or (d_rest < 0 and d_s < 0):
        return float("nan")
    if d_rest == 0:
        return 0.0
    if d_s == 0:
        return 1.0
    if np.isinf(d_rest) and np.isinf(d_s):
        return float("nan")  # both infinite: tied at ruin inside the interval
    if np.isinf(d_rest):
        return 1.0
    if np.isinf(d_s):
        return 0.0
    return float(d_rest / (d_rest - d_s))


# ----------------------------------------------------------------------------------------------- the mix
class Mix(NamedTuple):
    """The optimal mix: ``weights`` (K,), its ``log_ce`` (log certainty-equivalent wealth), the solver's word."""

    weights: np.ndarray
    log_ce: float
    converged: bool
    message: str


def mix_wealth(weights: np.ndarray, wealth: np.ndarray) -> np.ndarray:
    """Terminal wealth of books held as separate sleeves from the start: ``weights @ wealth``, shape (P,).

    No rebalancing between sleeves, so the mix's wealth on a path is the weighted sum of the books'.
    """
    return np.asarray(weights, dtype=np.float64) @ np.asarray(wealth, dtype=np.float64)


def _mix_objective(x: np.ndarray, wealth: np.ndarray, log_p: np.ndarray, gamma: float) -> tuple[float, np.ndarray]:
    """Minus the log CE of the mix ``x`` and its gradient (wealth floored at ``MIX_WEALTH_FLOOR``)."""
    m = np.maximum(x @ wealth, MIX_WEALTH_FLOOR)
    log_m = np.log(m)
    if abs(1.0 - gamma) < _LOG_GAMMA:
        value = float(np.exp(log_p) @ log_m)
        tilt = np.exp(log_p)
    else:
        a = (1.0 - gamma) * log_m + log_p
        total = logsumexp(a)
        value = float(total / (1.0 - gamma))
        tilt = np.exp(a - total)  # d value / d x_k = sum_i tilt_i W_ki / m_i
    return -value, -(wealth @ (tilt / m))


def best_mix(wealth: np.ndarray, weights: np.ndarray, gamma: float, max_weight: float = 1.0) -> Mix:
    """Long-only weights over books (sum 1, each <= ``max_weight``) maximising the mix's certainty equivalent.

    Solved with ``scipy.optimize.minimize(method="SLSQP")`` from equal weights, with the analytic gradient.
    The log certainty equivalent of a sleeve mix is concave in the weights (CRRA expected utility of a linear
    combination), so the optimum is global. Weights below 1e-7 are set to 0 and the rest rescaled; the
    returned ``log_ce`` is the true (unfloored) value of the returned weights.

    Parameters
    ----------
    wealth : np.ndarray, shape (K, P)
        Terminal wealth of K books on P paths (ruined paths at 0, see :func:`wealth_after_ruin`).
    weights : np.ndarray, shape (P,)
        Path probabilities.
    gamma : float
        Relative risk aversion.
    max_weight : float, default 1
        Cap on each book's weight, in (0, 1]; ``K * max_weight`` must reach 1.
    """
    gamma = _check_gamma(gamma)
    wealth = np.maximum(np.asarray(wealth, dtype=np.float64), 0.0)
    k = wealth.shape[0]
    if not 0 < max_weight <= 1:
        raise EngineError(f"max weight {max_weight!r}: use a fraction in (0, 1], e.g. 0.6")
    if k * max_weight < 1 - 1e-12:
        raise EngineError(f"max weight {max_weight:g} x {k} books < 1: raise the cap to at least {1 / k:.3g} "
                          "or add books")
    p = np.asarray(weights, dtype=np.float64)
    keep = p > 0
    wealth, log_p = wealth[:, keep], np.log(p[keep] / p[keep].sum())
    result = minimize(
        _mix_objective, np.full(k, 1.0 / k), args=(wealth, log_p, gamma), jac=True, method="SLSQP",
        bounds=[(0.0, max_weight)] * k,
        constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1.0, "jac": lambda x: np.ones_like(x)}],
        options={"ftol": 1e-12, "maxiter": 1000},
    )
    x = np.clip(result.x, 0.0, max_weight)
    x[x < 1e-7] = 0.0
    x = x / x.sum()
    log_ce = float(log_certainty_equivalent(mix_wealth(x, wealth), np.exp(log_p), gamma))
    return Mix(x, log_ce, bool(result.success), str(result.message))
