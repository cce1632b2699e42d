"""Decision measures (theses.engine.decision) on hand-made outcome arrays with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.stats import norm

from theses.engine import decision as d
from theses.engine.errors import EngineError


def hermite_grid(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and weights for a standard normal (weights sum to 1; exact for polynomials)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(n)
    return nodes, weights / weights.sum()


def two_independent_normals(n: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A tensor grid of two independent standard normals: (z1, z2, weights) over n*n 'paths'."""
    z, w = hermite_grid(n)
    z1, z2 = np.meshgrid(z, z, indexing="ij")
    return z1.ravel(), z2.ravel(), np.outer(w, w).ravel()


# ---------------------------------------------------------------------------------------------- utility
def test_certainty_equivalent_of_lognormal_wealth_matches_the_closed_form():
    # W = exp(mu + sigma Z): E[W^(1-g)] = exp((1-g) mu + (1-g)^2 sigma^2 / 2), so ln CE = mu + (1-g) sigma^2 / 2.
    z, w = hermite_grid(60)
    mu, sigma = 0.3, 0.4
    wealth = np.exp(mu + sigma * z)
    for gamma in (0.0, 0.5, 1.0, 2.0, 5.0):
        expected = mu + (1.0 - gamma) * sigma**2 / 2.0
        assert d.log_certainty_equivalent(wealth, w, gamma) == pytest.approx(expected, abs=1e-10)
    years = 5.0
    assert d.certainty_equivalent(wealth, w, 2.0, years) == pytest.approx(math.exp((mu - sigma**2 / 2) / years) - 1)


def test_certainty_equivalent_agrees_with_the_utility_and_its_inverse():
    wealth = np.array([[1.2, 0.8, 1.0, 1.5], [0.3, 2.0, 1.1, 0.9]])
    weights = np.array([0.1, 0.2, 0.3, 0.4])
    for gamma in (0.0, 0.5, 1.0, 2.0, 5.0):
        direct = d.inverse_utility(d.crra_utility(wealth, gamma) @ weights, gamma)
        np.testing.assert_allclose(np.exp(d.log_certainty_equivalent(wealth, weights, gamma)), direct, rtol=1e-12)


def test_ruin_makes_the_certainty_equivalent_minus_100_percent_for_gamma_at_least_one():
    wealth = np.array([1.3, 1.1, 0.0, 1.2])  # one path wiped out
    weights = np.full(4, 0.25)
    for gamma in (1.0, 2.0, 5.0):
        assert d.certainty_equivalent(wealth, weights, gamma, 5.0) == -1.0
    # below gamma 1 zero wealth has finite utility: the CE is a finite loss-adjusted figure
    assert -1.0 < d.certainty_equivalent(wealth, weights, 0.5, 5.0) < 0.05
    # a ruined path with no weight does not count
    assert d.certainty_equivalent(wealth, np.array([1 / 3, 1 / 3, 0.0, 1 / 3]), 2.0, 5.0) > 0


def test_ruin_is_a_drawdown_of_minus_100_percent_and_wealth_stays_at_zero():
    drawdown = np.array([-0.5, -1.0, -1.7, -0.99])
    flags = d.ruined(drawdown)
    assert flags.tolist() == [False, True, True, False]
    # a path that went through zero and "recovered" to 0.14 is still wiped out
    np.testing.assert_array_equal(d.wealth_after_ruin(np.array([0.8, 0.14, -0.5, 0.01]), flags), [0.8, 0.0, 0.0, 0.01])


def test_path_weights_give_each_scenario_its_probability():
    w = d.path_weights([2, 4], [0.3, 0.7])
    np.testing.assert_allclose(w, [0.15, 0.15, 0.175, 0.175, 0.175, 0.175])
    with pytest.raises(EngineError):
        d.path_weights([2], [0.5, 0.5])


def test_negative_risk_aversion_is_refused():
    with pytest.raises(EngineError, match="risk aversion"):
        d.crra_utility(np.ones(3), -1.0)


# ---------------------------------------------------------------------------------------------- regret
def test_a_dominated_book_never_wins_and_has_positive_regret():
    rng = np.random.default_rng(3)
    best = np.exp(rng.normal(0.3, 0.4, 500))
    other = np.exp(rng.normal(0.35, 0.6, 500))
    dominated = best * 0.97  # below ``best`` on every path
    wealth = np.array([best, other, dominated])
    weights = np.full(500, 1 / 500)
    for gamma in d.GAMMA_GRID[::10]:
        assert d.top_index(d.log_certainty_equivalent(wealth, weights, gamma)) != 2
    returns = d.horizon_cagr(wealth, 5.0)
    regret = d.path_regret(returns)
    assert (regret[2] > 0).all()
    assert d.expected_regret(returns, weights)[2] > 0
    assert d.minimax_index(np.array([d.expected_regret(returns, weights)]).T) != 2


def test_the_best_book_on_every_path_has_zero_regret():
    returns = np.array([[0.10, 0.05, -0.02], [0.08, 0.01, -0.05], [0.02, 0.05, -0.30]])
    regret = d.path_regret(returns)
    np.testing.assert_array_equal(regret[0], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(regret[1], [0.02, 0.04, 0.03])
    assert d.expected_regret(returns, np.array([0.5, 0.25, 0.25]))[0] == 0.0
    # per scenario tables: the smallest worst entry wins minimax; the largest smallest entry wins maximin
    table = np.array([[0.05, 0.30], [0.10, 0.12], [0.02, 0.40]])
    assert d.minimax_index(table) == 1 and d.maximin_index(-table) == 1


def test_ranks_break_ties_by_the_second_key_then_position():
    assert d.rank(np.array([0.1, 0.3, 0.3, np.nan]), np.array([0, 1, 2, 3])).tolist() == [3, 2, 1, 4]
    assert d.top_index(np.array([-1.0, -1.0]), np.array([0.05, 0.02])) == 0


def test_identical_books_are_found_once():
    spy = np.array([1.1, 0.9, 1.3])
    rows = np.array([spy, spy * 1.01, spy.copy(), [1.0, 1.0, np.nan], [1.0, 1.0, np.nan]])
    assert d.identical_rows(rows).tolist() == [0, 1, 0, 3, 3]


# --------------------------------------------------------------------------------------- risk aversion
def test_the_gamma_where_the_top_book_changes_matches_the_lognormal_closed_form():
    # A = exp(mu_a + s_a z1), B = exp(mu_b + s_b z2): ln CE = mu + (1 - g) s^2 / 2, equal at
    # g* = 1 + 2 (mu_b - mu_a) / (s_b^2 - s_a^2).
    z1, z2, w = two_independent_normals(40)
    mu_a, s_a, mu_b, s_b = 0.20, 0.15, 0.35, 0.45
    wealth = np.array([np.exp(mu_a + s_a * z1), np.exp(mu_b + s_b * z2)])
    switches = d.top_book_switches(wealth, w)
    expected = 1 + 2 * (mu_b - mu_a) / (s_b**2 - s_a**2)
    assert len(switches) == 1
    assert switches[0].gamma == pytest.approx(expected, abs=1e-8)
    assert (switches[0].before, switches[0].after) == (1, 0)  # the risky book leads at low risk aversion


@pytest.mark.parametrize(("high", "safe"), [(3.0, 1.2), (10.0, 0.02)])
def test_a_ruined_book_loses_the_top_before_gamma_one(high, safe):
    # Book 0 ends at ``high`` on 3 of 4 paths and at 0 on one; book 1 at ``safe`` on all. For gamma < 1,
    # CE_0 = (0.75 high^(1-g))^(1/(1-g)) = safe at 1 - g = ln 0.75 / ln(safe / high); from gamma 1 on CE_0 = 0.
    wealth = np.array([[high, high, high, 0.0], [safe] * 4])
    switches = d.top_book_switches(wealth, np.full(4, 0.25))
    expected = 1 - math.log(0.75) / math.log(safe / high)
    assert len(switches) == 1 and (switches[0].before, switches[0].after) == (0, 1)
    assert switches[0].gamma == pytest.approx(expected, abs=1e-8) and switches[0].gamma < 1


# --------------------------------------------------------------------------------------------- beliefs
def test_tilted_probabilities_keep_the_others_in_proportion():
    p = np.array([0.2, 0.5, 0.3])
    np.testing.assert_allclose(d.tilted_probabilities(p, 0, 0.6), [0.6, 0.4 * 0.5 / 0.8, 0.4 * 0.3 / 0.8])
    np.testing.assert_allclose(d.tilted_probabilities(p, 1, 0.5), p)  # the prior itself
    np.testing.assert_allclose(d.tilted_probabilities(np.array([1.0, 0.0, 0.0]), 0, 0.4), [0.4, 0.3, 0.3])


def test_break_even_of_two_books_in_two_scenarios_equals_the_hand_solution():
    # Book A doubles in scenario 1 and halves in scenario 2; book B makes 10% in both.
    # Log utility: t ln 2 + (1 - t) ln 0.5 = ln 1.1  ->  t* = (1 + ln 1.1 / ln 2) / 2.
    wealth = np.array([[2.0, 2.0, 0.5, 0.5], [1.1, 1.1, 1.1, 1.1]])
    scenario = np.array([0, 0, 1, 1])
    p = np.array([0.7, 0.3])
    u = d.scenario_utilities(wealth, scenario, 2, 1.0)
    by_hand = (1 + math.log(1.1) / math.log(2)) / 2
    assert d.break_even_belief(u[0], u[1], p, 0) == pytest.approx(by_hand, abs=1e-9)
    assert d.break_even_belief(u[0], u[1], p, 1) == pytest.approx(1 - by_hand, abs=1e-9)
    # gamma = 2, U = 1 - 1/W: t 0.5 + (1 - t)(-1) = 1 - 1/1.1  ->  t* = (2 - 1/1.1) / 1.5
    u2 = d.scenario_utilities(wealth, scenario, 2, 2.0)
    assert d.break_even_belief(u2[0], u2[1], p, 0) == pytest.approx((2 - 1 / 1.1) / 1.5, abs=1e-9)


def test_break_even_agrees_with_brentq_on_the_certainty_equivalents():
    rng = np.random.default_rng(11)
    scenario = np.repeat([0, 1, 2], 200)
    drift = np.array([[0.1, 0.3, 0.6], [0.25, 0.3, 0.35]])[:, scenario]
    wealth = np.exp(drift + np.array([[0.5], [0.2]]) * rng.standard_normal((2, 600)))
    p = np.array([0.5, 0.3, 0.2])
    u = d.scenario_utilities(wealth, scenario, 3, 2.0)
    counts = np.bincount(scenario)

    def gap(t: float, s: int) -> float:
        weights = d.path_weights(counts, d.tilted_probabilities(p, s, t))
        ce = d.log_certainty_equivalent(wealth, weights, 2.0)
        return float(ce[0] - ce[1])

    for s in range(3):
        t_star = d.break_even_belief(u[0], u[1], p, s)
        if np.isnan(t_star):
            assert gap(0.0, s) * gap(1.0, s) > 0
        else:
            assert t_star == pytest.approx(brentq(gap, 0.0, 1.0, args=(s,), xtol=1e-14), abs=1e-9)


def test_break_even_with_ruin_and_without_a_flip():
    finite = np.array([0.1, 0.2])
    assert np.isnan(d.break_even_belief(np.array([0.3, 0.4]), finite, np.array([0.5, 0.5]), 0))  # A always ahead
    # A ruined in scenario 0 only: it leads only when scenario 0 has probability 0
    assert d.break_even_belief(np.array([-np.inf, 0.4]), finite, np.array([0.5, 0.5]), 0) == 0.0
    # A ruined in the other scenario: it leads only when scenario 0 is certain
    assert d.break_even_belief(np.array([0.3, -np.inf]), finite, np.array([0.5, 0.5]), 0) == 1.0
    assert np.isnan(d.break_even_belief(np.array([0.3]), np.array([0.1]), np.array([1.0]), 0))  # one scenario


# ---------------------------------------------------------------------------------------------- the mix
def test_log_optimal_mix_of_two_independent_lognormals_with_equal_medians_is_half_half():
    # With ln X ~ N(mu, s1^2) and ln Y ~ N(mu, s2^2) independent, ln(X/Y) is symmetric about 0, and the
    # first-order condition E[(R - 1) / (w R + 1 - w)] = 0 holds at w = 1/2 whatever s1 and s2 are.
    z1, z2, w = two_independent_normals(40)
    wealth = np.array([np.exp(0.2 + 0.45 * z1), np.exp(0.2 + 0.15 * z2)])
    mix = d.best_mix(wealth, w, gamma=1.0)
    assert mix.converged
    np.testing.assert_allclose(mix.weights, [0.5, 0.5], atol=1e-6)


def test_log_optimal_mix_matches_the_first_order_condition_by_quadrature():
    m, s1, s2 = 0.08, 0.35, 0.2
    s = math.hypot(s1, s2)

    def foc(weight: float) -> float:  # d/dw E[ln(w X + (1 - w) Y)] / E-free form in R = X / Y
        def integrand(x: float) -> float:
            r = math.exp(m + s * x)
            return (r - 1) / (weight * r + 1 - weight) * norm.pdf(x)

        return quad(integrand, -12, 12, epsabs=1e-13)[0]

    expected = brentq(foc, 0.0, 1.0, xtol=1e-12)
    z1, z2, w = two_independent_normals(60)
    wealth = np.array([np.exp(m + s1 * z1), np.exp(s2 * z2)])
    assert d.best_mix(wealth, w, gamma=1.0).weights[0] == pytest.approx(expected, abs=1e-5)


def test_mix_with_a_cap_and_against_a_grid_search():
    rng = np.random.default_rng(5)
    wealth = np.exp(rng.normal([[0.4], [0.2], [0.1]], [[0.6], [0.3], [0.05]], (3, 4000)))
    weights = np.full(4000, 1 / 4000)
    mix = d.best_mix(wealth, weights, gamma=2.0)
    grid = [(a, b, 1 - a - b) for a in np.linspace(0, 1, 101) for b in np.linspace(0, 1, 101) if a + b <= 1 + 1e-12]
    values = [d.log_certainty_equivalent(np.array(x) @ wealth, weights, 2.0) for x in grid]
    assert mix.log_ce >= max(values) - 1e-9
    np.testing.assert_allclose(mix.weights, grid[int(np.argmax(values))], atol=0.011)
    capped = d.best_mix(wealth, weights, gamma=2.0, max_weight=0.4)
    assert capped.weights.max() <= 0.4 + 1e-9 and capped.weights.sum() == pytest.approx(1.0)
    with pytest.raises(EngineError, match="raise the cap"):
        d.best_mix(wealth, weights, gamma=2.0, max_weight=0.3)


def test_a_mix_can_hold_a_book_that_is_ruined_alone():
    # Book 0 is wiped out on one path but pays well elsewhere; as a sleeve beside book 1 it is worth holding.
    wealth = np.array([[3.0, 3.0, 3.0, 0.0], [1.0, 1.1, 1.0, 1.2]])
    weights = np.full(4, 0.25)
    mix = d.best_mix(wealth, weights, gamma=1.0)
    assert 0 < mix.weights[0] < 1 and np.isfinite(mix.log_ce)
    assert mix.log_ce > d.log_certainty_equivalent(wealth[1], weights, 1.0)


def test_results_follow_the_books_when_their_order_changes():
    rng = np.random.default_rng(8)
    wealth = np.exp(rng.normal([[0.3], [0.2], [0.25]], [[0.5], [0.2], [0.3]], (3, 2000)))
    weights = np.full(2000, 1 / 2000)
    order = [2, 0, 1]
    np.testing.assert_allclose(d.log_certainty_equivalent(wealth[order], weights, 2.0),
                               d.log_certainty_equivalent(wealth, weights, 2.0)[order], rtol=1e-14)
    returns = d.horizon_cagr(wealth, 5.0)
    np.testing.assert_allclose(d.expected_regret(returns[order], weights), d.expected_regret(returns, weights)[order])
    np.testing.assert_allclose(d.best_mix(wealth[order], weights, 2.0).weights,
                               d.best_mix(wealth, weights, 2.0).weights[order], atol=1e-6)


def test_weighted_logsumexp_equals_scipy_with_ruined_and_infinite_terms():
    from scipy.special import logsumexp

    from theses.engine.decision import weighted_logsumexp

    rng = np.random.default_rng(11)
    a = rng.normal(0.0, 30.0, size=(6, 400))
    b = rng.random(400) + 1e-3
    a[1, :10] = -np.inf  # ruined paths with gamma < 1
    a[2] = -np.inf  # every path ruined
    a[3, 5] = np.inf  # a ruined path with gamma > 1
    ours, scipys = weighted_logsumexp(a, b), logsumexp(a, b=b, axis=-1)
    assert ours[2] == -np.inf and ours[3] == np.inf and scipys[2] == -np.inf and scipys[3] == np.inf
    finite = np.isfinite(scipys)
    np.testing.assert_allclose(ours[finite], scipys[finite], rtol=1e-14)
    by_hand = np.log(np.sum(b * np.exp(a[0] - a[0].max()))) + a[0].max()
    assert ours[0] == pytest.approx(by_hand, rel=1e-14)
