"""Numba array kernels of the portfolio simulation (``*_nb``), kept apart from the pandas-facing API.

One bar of the simulation is :func:`step_nb`. :func:`simulate_path_nb` runs it over one price path and
records every detail; :func:`simulate_batch_nb` runs ``(P, T, N)`` paths in parallel and records equity and
per-path totals; :func:`simulate_books_nb` runs several books over the same paths in one pass and records
per-path outcomes only. The rules are those of ``docs/ARCHITECTURE.md`` ("Simulation rules"); in short, at
bar ``t``:

1. accrue interest on positive cash and borrow on short value (end-of-bar-``t-1`` state, ``t >= 1``);
2. take the weights row dated ``t-1`` as the new target when it has any number (the one-bar lag);
3. trade to the target at ``exec_price[t]`` on initial entry, a new row (calendar ``none``), a calendar
   day, or a band breach; fees and slippage in bps of traded notional come out of cash;
4. mark at the last known close.

Weights are *rows dated by bars*: ``rows[r]`` is the target decided at bar ``bars[r]`` (strictly increasing),
so dense weights are ``bars = arange(T)`` and a book that changes its target only on rebalance days passes
only those rows.

Conventions of the kernels (the pandas layer documents them for users):

* a NaN inside a target row that has at least one number is a zero weight;
* an asset is *tradable* at bar ``t`` when ``exec_price[t]`` is a number; an untradable asset keeps
  its shares and is valued at ``exec_price`` if known, else at its last close;
* a portfolio whose value ``V`` is not positive is not traded (nothing can be sized);
* band checks look at tradable assets only, against the (renormalised) target;
* with ``renormalize``, untradable holdings count against the target gross before the tradable names are
  scaled; after every trade the realised exposure (untradable holdings included) is checked (a breach is
  reported, and the pandas layer raises);
* a listed asset without a close for ``delist_after`` bars in a row is closed at its last close, and a book
  whose equity reaches zero or below at a mark is closed at the marks and never trades again (ruin); forced
  closes pay no fees or slippage.

Speed: between trading days (no band, no calendar day, no row that trades) the batch drivers mark four bars
at a time (:func:`quiet_bars_nb`): the four equity sums are independent, so the CPU overlaps them, while
each sum keeps the step's order of operations, so the results are bit-identical to stepping bar by bar. A
book without bands marks the 1-3 bars left at a stretch's end with a group that overlaps the one before.
Shares do not change in such a stretch, so the sums run over the held assets listed once
(:func:`held_lists_nb`), the last closes move once at its end (:func:`settle_marks_nb`), and a band book's
bands are checked on the held assets against targets prepared once (:func:`band_targets_nb`,
:func:`held_band_breached_nb`), on the products the equity sums computed, with one division per bar (the
step's division per asset only for an asset near its band's edge). A band crossing found there keeps the
group's bars before it and is confirmed by stepping: the step's own check decides whether the bar trades.

Arrays are used as given (float32 or float64 prices, float64 weights); all arithmetic is float64.
"""

from __future__ import annotations

from theses.util import kernel_api, loading_twin

# Before the decorators below: each @njit(cache=True) picks its cache directory when it is created (numba's, or
# plain-Python stand-ins when the module is loaded as an interpreted twin, theses.util.interpreted_twin).
njit, prange = kernel_api()

import numpy as np  # noqa: E402

from theses.engine.kernel_types import OUTCOME_FIELDS, PathState, SimParams, sim_params_row  # noqa: E402

if loading_twin():
    def prefetch_nb(array, row, byte):
        """Interpreted, a prefetch has nothing to do."""
else:
    from theses.engine.prefetch import prefetch_nb

__all__ = ["OUTCOME_FIELDS", "PathState", "SimParams", "accrue_bar_nb", "add_accruals_nb", "band_targets_nb",
           "first_exposure_breach_nb", "held_band_breached_nb", "held_lists_nb", "no_new_low_bound_nb",
           "path_outcome_nb", "prefetch_ahead_nb", "quiet_accruals_nb", "quiet_bars_nb", "run_path_nb",
           "scan_rows_nb", "settle_marks_nb", "sim_params_of_nb", "sim_params_row", "simulate_batch_nb",
           "simulate_books_nb", "simulate_path_nb", "start_state_nb", "step_nb", "to_multiples_nb"]

QUIET_GROUP = 4
PREFETCH_BARS = 16
"""How many bars ahead of the bar being simulated the batch drivers prefetch a path's prices
(:func:`prefetch_ahead_nb`)."""
CACHE_LINE = 64


@njit(cache=True, inline="always")
def start_state_nb(params):
    """The :class:`PathState` before bar 0: all cash, no target, not entered."""
    return PathState(params.initial_cash, -1, 0, False, False, params.initial_cash, False, False, False, 0.0, 0.0,
                     0.0, 0.0, 0.0)


@njit(cache=True, inline="always")
def read_row_nb(t, bars, rows, row_of, target_row, next_row):
    """Rule 1 at bar ``t``: ``(new_row, target_row, next_row)`` after reading the row dated ``t-1``, if any.

    A row with at least one number becomes the target; an all-NaN row is a hold. Row ``r`` (of bar
    ``bars[r]``) is ``rows[row_of[r]]``.
    """
    new_row = False
    if next_row < bars.shape[0] and bars[next_row] == t - 1:
        row = rows[row_of[next_row]]
        for i in range(row.shape[0]):
            if row[i] == row[i]:
                new_row = True
                target_row = next_row
                break
        next_row += 1
    return new_row, target_row, next_row


# inline="always": the step is inlined into the simulation loops at numba-IR level; measured ~1.5x faster
# on the batch workload than a call per bar (and ~1.3x faster inside the prange body than in a per-path
# function, where the parallel gufunc's no-alias information is lost).
@njit(cache=True, inline="always")
def step_nb(t, close_row, exec_row, bars, rows, row_of, calendar_day, params, state, shares, last_close, stale,
            trade_buf, forced_buf):
    """Advance one path by one bar.

    Parameters
    ----------
    t : bar number (accruals happen for ``t >= 1``; nothing trades at ``t == 0``).
    close_row, exec_row : ``(N,)`` close and execution prices of bar ``t`` (NaN: no price).
    bars, rows, row_of : ``(R,)`` bar of each target row (strictly increasing), ``(Q, N)`` rows and ``(R,)``
        which of them is row ``r`` of this path (``arange(R)`` for the path's own rows; a palette of rows picked
        per path otherwise). The row in force is read in place, NaN as 0, rather than copied.
    calendar_day : whether ``t`` is a calendar rebalance day.
    params : :class:`SimParams`, the book's settings.
    state : :class:`PathState` after the previous bar (only ``cash``, ``target_row``, ``next_row``,
        ``entered``, ``ruined`` are read).
    shares : ``(N,)`` shares held, updated in place.
    last_close : ``(N,)`` last known close (NaN before the first), forward-filled up to bar ``t-1`` on
        entry and up to ``t`` on exit.
    stale : ``(N,)`` int64 bars in a row without a close, up to bar ``t-1`` on entry and ``t`` on exit.
    trade_buf, forced_buf : ``(N,)`` outputs, zero on entry: shares traded to the target at this bar (written
        for every tradable asset when the bar trades, 0 for one not traded), and shares closed by force
        (delisting before trading, ruin after marking; only those assets are written).

    Returns
    -------
    PathState
        The state after the bar and what the bar did.
    """
    cash = state.cash
    target_row = state.target_row
    next_row = state.next_row
    entered = state.entered
    ruined = state.ruined
    n = shares.shape[0]
    borrow = 0.0
    interest = 0.0
    new_row = False
    forced = False
    if t >= 1:
        # Rule 3: accruals on the end-of-previous-bar state.
        if params.borrow_daily > 0.0:
            short_value = 0.0
            for i in range(n):
                if shares[i] < 0.0:
                    short_value -= shares[i] * last_close[i]
            borrow = short_value * params.borrow_daily
        cash, interest = accrue_bar_nb(cash, params.interest_daily, params.borrow_daily, borrow)
        new_row, target_row, next_row = read_row_nb(t, bars, rows, row_of, target_row, next_row)
    if params.delist_after > 0:
        # Rule 8: a listed asset without a close for delist_after bars in a row is closed at its last close.
        for i in range(n):
            if close_row[i] == close_row[i]:
                stale[i] = 0
            elif last_close[i] == last_close[i]:
                stale[i] += 1
                if stale[i] >= params.delist_after and shares[i] != 0.0:
                    cash += shares[i] * last_close[i]
                    forced_buf[i] -= shares[i]
                    shares[i] = 0.0
                    forced = True

    traded = False
    breach = False
    fee = 0.0
    slip = 0.0
    turnover = 0.0
    if target_row >= 0 and not ruined:
        band_abs = params.band_abs
        band_rel = params.band_rel
        # Rule 2: when to trade (bands below, once the portfolio value is known).
        do_trade = (not entered) or calendar_day or (new_row and params.trade_on_new_row)
        check_band = band_abs > 0.0 or band_rel > 0.0
        if do_trade or check_band:
            target = rows[row_of[target_row]]
            # Rule 4: portfolio value at execution prices (last close for an untradable holding).
            value = cash
            frozen = 0.0
            gross_all = 0.0
            gross_tradable = 0.0
            for i in range(n):
                px = exec_row[i]
                tradable = px == px
                if shares[i] != 0.0:
                    if tradable:
                        value += shares[i] * px
                    else:
                        held = shares[i] * last_close[i]
                        value += held
                        frozen += abs(held)
                if params.renormalize:  # the grosses only scale a renormalised target
                    w = target[i]
                    if w == w:
                        gross_all += abs(w)
                        if tradable:
                            gross_tradable += abs(w)
            scale = 1.0
            if params.renormalize and gross_tradable > 0.0:
                # The tradable names share the target gross left once untradable holdings are counted.
                available = gross_all
                if frozen > 0.0 and value > 0.0:
                    available = max(gross_all - frozen / value, 0.0)
                scale = available / gross_tradable
            if not do_trade and value > 0.0:
                for i in range(n):
                    px = exec_row[i]
                    if px == px:
                        w = target[i]
                        tgt = w * scale if w == w else 0.0
                        drift = abs(shares[i] * px / value - tgt)
                        if (band_abs > 0.0 and drift > band_abs) or (band_rel > 0.0 and drift > band_rel * abs(tgt)):
                            do_trade = True
                            break
            if do_trade and value > 0.0:
                # Rules 4, 5, 7: size, trade, charge costs; then the realised exposure against the limits.
                # Two passes: the sizes first (each tradable asset's trade into trade_buf, 0 when none), then the
                # cash, asset by asset in the same order. Apart, the cash's chain of subtractions stays in a register
                # instead of waiting on each asset's division.
                gross = 0.0
                net = 0.0
                for i in range(n):
                    px = exec_row[i]
                    if px == px:
                        w = target[i]
                        new_shares = (w * scale * value / px) if w == w else 0.0
                        qty = new_shares - shares[i]
                        trade_buf[i] = qty
                        if qty != 0.0:
                            shares[i] = new_shares
                        held = shares[i] * px
                    else:
                        held = shares[i] * last_close[i] if shares[i] != 0.0 else 0.0
                    gross += abs(held)
                    net += held
                traded_notional = 0.0
                for i in range(n):
                    px = exec_row[i]
                    if px == px and trade_buf[i] != 0.0:
                        notional = trade_buf[i] * px
                        cash -= notional
                        traded_notional += abs(notional)
                fee = traded_notional * params.fee_rate
                slip = traded_notional * params.slip_rate
                cash -= fee + slip
                turnover = traded_notional / value
                traded = True
                entered = True
                breach = gross > params.gross_limit * value or abs(net) > params.net_limit * value

    # Rule 6: mark at the last known close.
    equity = cash
    for i in range(n):
        c = close_row[i]
        if c == c:
            last_close[i] = c
        if shares[i] != 0.0:
            equity += shares[i] * last_close[i]
    if equity <= 0.0 and not ruined:
        # Rule 9: ruin. Close everything at the marks (the same sum, so cash equals this equity exactly).
        for i in range(n):
            if shares[i] != 0.0:
                cash += shares[i] * last_close[i]
                forced_buf[i] -= shares[i]
                shares[i] = 0.0
        ruined = True
        forced = True
    return PathState(cash, target_row, next_row, entered, ruined, equity, traded, forced, breach, fee, slip, borrow,
                     interest, turnover)


@njit(cache=True, inline="always")
def held_lists_nb(cols, shares, held):
    """Split a path's assets into held and not held, for a quiet stretch (shares do not change in one).

    Writes ``held[0, :h]`` the held assets' numbers, ``held[1, :h]`` their columns and ``held[2, :n-h]`` the
    assets not held, each in ascending order (the order the equity sum adds them in); returns ``h``.
    """
    n = shares.shape[0]
    h = 0
    f = 0
    for i in range(n):
        if shares[i] != 0.0:
            held[0, h] = i
            held[1, h] = cols[i]
            h += 1
        else:
            held[2, f] = i
            f += 1
    return h


@njit(cache=True, inline="always")
def accrue_bar_nb(cash, rate, borrow_daily, borrow):
    """Rule 3 for one bar: interest on positive cash (none at a zero rate, not even ``inf * 0``), then the
    ``borrow`` when borrowing costs anything. Returns ``(cash, interest)``."""
    interest = 0.0
    if cash > 0.0 and rate != 0.0:
        interest = cash * rate
        cash += interest
    if borrow_daily > 0.0:
        cash -= borrow
    return cash, interest


@njit(cache=True, inline="always")
def quiet_accruals_nb(cash, rate, borrow_daily, sv0, sv1, sv2, sv3):
    """Rule 3 over four bars, in bar order (interest on positive cash, then borrow on the short values ``sv``):
    ``(cash after bars t, t+1, t+2, t+3, borrow of each bar (4), interest of each bar (4))``.

    The step's arithmetic, but a rate that is zero is left out rather than multiplied: the step skips it too, and
    then no bar's cash waits on the one before (the four equity sums start at once).
    """
    zero = 0.0
    b0 = 0.0
    b1 = 0.0
    b2 = 0.0
    b3 = 0.0
    if borrow_daily > 0.0:
        b0 = sv0 * borrow_daily
        b1 = sv1 * borrow_daily
        b2 = sv2 * borrow_daily
        b3 = sv3 * borrow_daily
    if rate == 0.0:
        if borrow_daily > 0.0:
            c0 = cash - b0
            c1 = c0 - b1
            c2 = c1 - b2
            return c0, c1, c2, c2 - b3, b0, b1, b2, b3, zero, zero, zero, zero
        return cash, cash, cash, cash, b0, b1, b2, b3, zero, zero, zero, zero
    c0, i0 = accrue_bar_nb(cash, rate, borrow_daily, b0)
    c1, i1 = accrue_bar_nb(c0, rate, borrow_daily, b1)
    c2, i2 = accrue_bar_nb(c1, rate, borrow_daily, b2)
    c3, i3 = accrue_bar_nb(c2, rate, borrow_daily, b3)
    return c0, c1, c2, c3, b0, b1, b2, b3, i0, i1, i2, i3


@njit(cache=True, inline="always")
def quiet_bars_nb(close, t, fresh, params, cash, shares, last_close, held, n_held, equity, products, keep):
    """Accrue and mark bars ``t .. t+3`` of a path that does not trade on them, four sums at a time.

    The caller guarantees no trade can happen on these bars (entered, no calendar day, no row that trades) but
    for a band, which it checks on each bar afterwards (:func:`band_breached_nb`), undoing the group when one
    is crossed. Each bar's arithmetic is exactly :func:`step_nb`'s, in the same order, so the result is
    bit-identical; only the four equity sums are interleaved, which lets the CPU overlap them. The sums run
    over the held assets only (:func:`held_lists_nb`), without a test per asset; the last closes are not
    moved here but once when the stretch ends (:func:`settle_marks_nb`).

    Parameters
    ----------
    close : ``(T, M)`` closes of the path.
    t : first of the four bars (``>= 1``).
    fresh : ``t`` starts the stretch, so the marks of bar ``t-1`` are ``last_close`` (later, every held
        asset's close of bar ``t-1`` is a number, and is its mark).
    params : :class:`SimParams`.
    cash : cash after bar ``t-1``.
    shares, last_close : ``(N,)`` state (read only).
    held, n_held : the held assets (:func:`held_lists_nb`).
    equity : ``(T,)`` output: equity of the four bars.
    products, keep : with ``keep``, ``products[d, k]`` (``(4, N)`` output) is the ``k``-th held asset's shares times
        its close of bar ``t + d``, the term added to that bar's equity.

    Returns
    -------
    tuple
        ``(complete, cash after bar t+3, borrow of bars t..t+3 (4 values), interest of bars t..t+3 (4 values), cash
        after bars t, t+1, t+2)`` (the cash after each bar, for a group that a band crossing cuts short).
        ``complete`` is False when a held asset lacks a close on one of the bars (the delisting rule must count
        it): then nothing was written and the caller steps those bars one at a time.
    """
    start_cash = cash
    borrow_daily = params.borrow_daily
    rate = params.interest_daily
    # Unsigned row, column and asset numbers: numba then skips its negative-index wrap on each load.
    r0 = np.uint64(t)
    r1 = np.uint64(t + 1)
    r2 = np.uint64(t + 2)
    r3 = np.uint64(t + 3)
    # Rule 3, borrow: the short value of bar t+d uses the closes marked up to bar t+d-1. A held asset's
    # missing close makes a sum NaN, which undoes the group below.
    sv0 = 0.0
    sv1 = 0.0
    sv2 = 0.0
    sv3 = 0.0
    if borrow_daily > 0.0:
        for k in range(n_held):
            i = held[0, k]
            s = shares[i]
            if s < 0.0:
                col = np.uint64(held[1, k])
                sv0 -= s * (last_close[i] if fresh else close[r0 - np.uint64(1), col])
                sv1 -= s * close[r0, col]
                sv2 -= s * close[r1, col]
                sv3 -= s * close[r2, col]
    c0, c1, c2, cash, b0, b1, b2, b3, i0, i1, i2, i3 = quiet_accruals_nb(cash, rate, borrow_daily, sv0, sv1, sv2,
                                                                           sv3)
    e0 = c0
    e1 = c1
    e2 = c2
    e3 = cash
    # Rule 6 for the four bars, each sum starting from that bar's cash and adding the held assets in order
    # (a held asset's close is its mark when it is a number; when it is not, the sum turns NaN).
    if keep:  # a band book keeps the products for its band check; the plain loop stays free of the stores
        for k in range(n_held):
            s = shares[np.uint64(held[0, k])]
            col = np.uint64(held[1, k])
            p0 = s * close[r0, col]
            p1 = s * close[r1, col]
            p2 = s * close[r2, col]
            p3 = s * close[r3, col]
            products[0, k] = p0
            products[1, k] = p1
            products[2, k] = p2
            products[3, k] = p3
            e0 += p0
            e1 += p1
            e2 += p2
            e3 += p3
    else:
        for k in range(n_held):
            s = shares[np.uint64(held[0, k])]
            col = np.uint64(held[1, k])
            e0 += s * close[r0, col]
            e1 += s * close[r1, col]
            e2 += s * close[r2, col]
            e3 += s * close[r3, col]
    if e0 != e0 or e1 != e1 or e2 != e2 or e3 != e3:
        return False, start_cash, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, start_cash, start_cash, start_cash
    equity[t] = e0
    equity[t + 1] = e1
    equity[t + 2] = e2
    equity[t + 3] = e3
    return True, cash, b0, b1, b2, b3, i0, i1, i2, i3, c0, c1, c2


@njit(cache=True, inline="always")
def prefetch_ahead_nb(prices, t, n_bars):
    """Prefetch the prices of bars ``t + PREFETCH_BARS`` to ``t + PREFETCH_BARS + n_bars - 1`` of a ``(T, M)`` path
    (none past its last bar), while bars ``t ..`` are simulated (``theses.engine.prefetch``)."""
    ahead = t + PREFETCH_BARS
    if ahead + n_bars <= prices.shape[0]:
        for byte in range(0, n_bars * prices.strides[0], CACHE_LINE):
            prefetch_nb(prices, ahead, byte)


@njit(cache=True, inline="always")
def add_accruals_nb(borrows, interests, first, end, b0, b1, b2, b3, i0, i1, i2, i3):
    """The running totals after adding the borrow and interest of a quiet group's bars ``first .. end-1`` (of
    0-3) one bar at a time, in bar order, as stepping adds them."""
    group_borrows = (b0, b1, b2, b3)
    group_interests = (i0, i1, i2, i3)
    for d in range(first, end):
        borrows += group_borrows[d]
        interests += group_interests[d]
    return borrows, interests


@njit(cache=True, inline="always")
def settle_marks_nb(close, cols, start, end, held, n_held, last_close):
    """Move the last closes over the marked bars ``start .. end-1`` of a quiet stretch, as stepping would.

    A held asset's close was a number on every one of them (or its group would have been undone), so its
    mark is its close of bar ``end-1``; an asset not held keeps its latest close that is a number, if any.
    """
    if end <= start:
        return
    last = np.uint64(end - 1)
    for k in range(n_held):
        last_close[held[0, k]] = close[last, np.uint64(held[1, k])]
    for k in range(cols.shape[0] - n_held):
        i = held[2, k]
        col = np.uint64(cols[i])
        for u in range(end - 1, start - 1, -1):
            x = close[np.uint64(u), col]
            if x == x:
                last_close[i] = x
                break


@njit(cache=True, inline="always")
def band_breached_nb(close, cols, t, target, shares, value, params):  # pragma: no cover - compiled
    """Rule 2(d) at bar ``t`` of a quiet stretch: does any asset drift past its band from the ``target`` row?

    :func:`step_nb`'s test with the same arithmetic, for the case :func:`quiet_bars_nb` leaves: trades at the
    close, every held asset quoted (so nothing is frozen), ``value`` the bar's portfolio value (the same sum as
    its equity mark). Assets without a close are skipped, as there.
    """
    n = shares.shape[0]
    if value <= 0.0:
        return False
    scale = 1.0
    if params.renormalize:
        gross_all = 0.0
        gross_tradable = 0.0
        for i in range(n):
            w = target[i]
            if w == w:
                gross_all += abs(w)
                px = close[t, cols[i]]
                if px == px:
                    gross_tradable += abs(w)
        if gross_tradable > 0.0:
            scale = gross_all / gross_tradable
    band_abs = params.band_abs
    band_rel = params.band_rel
    for i in range(n):
        px = close[t, cols[i]]
        if px == px:
            w = target[i]
            tgt = w * scale if w == w else 0.0
            drift = abs(shares[i] * px / value - tgt)
            if (band_abs > 0.0 and drift > band_abs) or (band_rel > 0.0 and drift > band_rel * abs(tgt)):
                return True
    return False


#: Relative half-width of the zone around a band edge where the quick band check defers to the exact one: far
#: wider than the few units in the last place by which a product with 1 / value can differ from the quotient.
BAND_EDGE_MARGIN = 1e-12


@njit(cache=True, inline="always")
def band_targets_nb(target, shares, held, n_held, params, targets):
    """Prepare the quick band check of a quiet stretch (:func:`held_band_breached_nb`) for its ``target`` row.

    It applies when every asset with a nonzero weight is held: on a stretch's marked bars the held assets all
    have closes, so :func:`band_breached_nb`'s tradable gross is its full gross (the same sum, bit for bit: the
    terms it skips are zeros) and the assets not held cannot cross (their drift is 0, or NaN). Writes, for the
    ``k``-th held asset, its target with band_breached_nb's arithmetic into ``targets[0, k]``, and the weights
    strictly inside its band, with a margin of :data:`BAND_EDGE_MARGIN`, into ``targets[1, k]`` and
    ``targets[2, k]`` (an empty interval when the band is too narrow for one).

    Returns
    -------
    bool
        Whether the quick check applies.
    """
    gross = 0.0
    for i in range(shares.shape[0]):
        w = target[i]
        if w == w:
            if w != 0.0 and shares[i] == 0.0:
                return False
            gross += abs(w)
    scale = 1.0
    if params.renormalize and gross > 0.0:
        scale = gross / gross  # band_breached_nb's gross_all / gross_tradable, here the same sum
    band_abs = params.band_abs
    band_rel = params.band_rel
    for k in range(n_held):
        w = target[held[0, k]]
        tgt = w * scale if w == w else 0.0
        targets[0, k] = tgt
        # Crossing means drift > band_abs or drift > band_rel * |tgt|, that is drift > the smaller active limit.
        limit = np.inf
        if band_abs > 0.0:
            limit = band_abs
        if band_rel > 0.0:
            limit = min(limit, band_rel * abs(tgt))
        margin = BAND_EDGE_MARGIN * (abs(tgt) + limit) + 1e-300
        targets[1, k] = tgt - limit + margin
        targets[2, k] = tgt + limit - margin
    return True


@njit(cache=True, inline="always")
def held_band_breached_nb(products, d, n_held, targets, value, params):
    """:func:`band_breached_nb` at bar ``t + d`` of a quiet group, over the held assets only (the case
    :func:`band_targets_nb` prepares): the same answer.

    ``products[d, k]`` is the ``k``-th held asset's shares times its close, as :func:`quiet_bars_nb` computed
    it for the bar's equity. An asset whose weight, taken as a product with ``1 / value``, lies inside its band's
    interior (less a margin far wider than that product's rounding) is inside its band; only when one is near an
    edge or past it (or not a number) do the assets get band_breached_nb's own test, with its division per
    asset. The common bar so costs one division and a pass without branches over contiguous rows.
    """
    if value <= 0.0:
        return False
    inverse = 1.0 / value
    inside = True
    for k in range(n_held):
        weight = products[d, k] * inverse
        inside &= (targets[1, k] < weight) & (weight < targets[2, k])
    if inside:
        return False
    band_abs = params.band_abs
    band_rel = params.band_rel
    for k in range(n_held):
        tgt = targets[0, k]
        drift = abs(products[d, k] / value - tgt)
        if (band_abs > 0.0 and drift > band_abs) or (band_rel > 0.0 and drift > band_rel * abs(tgt)):
            return True
    return False


@njit(cache=True, inline="always")
def run_path_nb(close, exec_price, cols, bars, rows, row_of, calendar, next_calendar, params, equity, shares,
                last_close, stale, trade_buf, forced_buf, held, targets, products, close_row, exec_row, at_close):
    """Simulate one path of one book, writing its equity; the loop shared by the batch kernels.

    Bar by bar with :func:`step_nb`, except stretches that cannot trade (entered, before the next calendar day
    and the next row that trades, every held asset quoted, no band crossed), which :func:`quiet_bars_nb` marks
    four bars at a time with the same arithmetic (for a book without bands, the 1-3 bars left at the end by
    a group that starts earlier, overlapping the group before). A band book's group is checked bar by bar
    (:func:`band_breached_nb`); a group with a crossing keeps its bars before the crossing, which is stepped.

    Parameters
    ----------
    close, exec_price : ``(T, M)`` prices of the path; ``cols`` (N,) maps the book's assets to columns.
    bars, rows, row_of : the book's target rows on this path (see :func:`step_nb`).
    calendar : ``(T,)`` bool calendar rebalance days; ``next_calendar`` ``(T+1,)`` the first calendar day at
        or after each bar (``T`` when none).
    params : :class:`SimParams`.
    equity : ``(T,)`` output.
    shares, last_close, stale, trade_buf, forced_buf : ``(N,)`` scratch; close_row, exec_row ``(N,)`` scratch of
        the prices' dtype (unused when the book holds every column in order).
    held : ``(3, N)`` int64 scratch (:func:`held_lists_nb`); targets ``(3, N)`` and products ``(4, N)`` float64
        scratch (:func:`band_targets_nb`, :func:`quiet_bars_nb`).
    at_close : trades fill at the close (with opens, bars are stepped one by one: an asset bought at the open of a
        bar without a close must have its stale count exact).

    Returns
    -------
    tuple
        ``(fees, slippage, borrow, interest, sum of per-bar turnover, first_trade_bar, ruin_bar,
        first_breach_bar)`` (bars are -1 when it never happened).
    """
    n_bars = close.shape[0]
    n = cols.shape[0]
    all_columns = n == close.shape[1]
    for i in range(n):
        shares[i] = 0.0
        last_close[i] = np.nan
        stale[i] = 0
        all_columns = all_columns and cols[i] == i
    state = start_state_nb(params)
    banded = params.band_abs > 0.0 or params.band_rel > 0.0
    accrues = params.borrow_daily > 0.0 or params.interest_daily != 0.0  # else a group's borrow and interest are 0.0
    step_through = -1  # bars up to this one are stepped one by one (a band is crossed on it)
    n_rows = bars.shape[0]
    fees = 0.0
    slips = 0.0
    borrows = 0.0
    interests = 0.0
    turnovers = 0.0
    first = -1
    ruin = -1
    breach = -1
    t = 0
    while t < n_bars:
        if at_close and state.entered and not state.ruined and t > step_through:
            # Bars before the next calendar day (and the next row, when rows trade) cannot trade, unless a band
            # is crossed (checked bar by bar below, the group undone when one is).
            stop = next_calendar[t]
            if params.trade_on_new_row and state.next_row < n_rows:
                stop = min(stop, bars[state.next_row] + 1)
            cash = state.cash
            target_row = state.target_row
            next_row = state.next_row
            moved = False
            stretch = t
            n_held = 0
            quick_bands = False  # bands checked on the held assets only, while the stretch's first target is in force
            if t + QUIET_GROUP <= stop:
                n_held = held_lists_nb(cols, shares, held)
                if banded:
                    quick_bands = band_targets_nb(rows[row_of[target_row]], shares, held, n_held, params, targets)
            band_pick = row_of[target_row]  # the row (of rows) in force when the stretch starts
            c0 = c1 = c2 = cash
            while t + QUIET_GROUP <= stop or (not banded and t < stop and t >= stretch + QUIET_GROUP):
                # The last 1-3 bars of a stretch: its last group starts earlier, on bars the group before marked
                # (from the same cash, so they come out the same), and only its bars from t on are new.
                g = min(t, stop - QUIET_GROUP)
                d0 = t - g
                start_cash = cash if d0 == 0 else (c2 if d0 == 1 else (c1 if d0 == 2 else c0))  # after bar g-1
                prefetch_ahead_nb(close, g, QUIET_GROUP)
                complete, group_cash, b0, b1, b2, b3, i0, i1, i2, i3, c0, c1, c2 = quiet_bars_nb(
                    close, g, g == stretch, params, start_cash, shares, last_close, held, n_held, equity, products,
                    quick_bands)
                if not complete:
                    break
                group_row = target_row
                group_next = next_row
                crossed = -1
                live = banded  # bands are checked up to a crossing or a ruin (rule 9: no trade after it)
                # Without bands, the loop only reads rows, and a row is read in the group only when one is dated
                # before its last bar: otherwise read_row_nb does nothing on any of its bars, and the loop is skipped.
                last_read = g + QUIET_GROUP
                if not (banded or (next_row < n_rows and bars[next_row] <= g + QUIET_GROUP - 2)):
                    last_read = t
                for u in range(t, last_read):
                    if live:  # the rows read up to the bar before u: the state a crossing at u keeps
                        target_row = group_row
                        next_row = group_next
                    _, group_row, group_next = read_row_nb(u, bars, rows, row_of, group_row, group_next)
                    if live:
                        if quick_bands and row_of[group_row] == band_pick:
                            breached = held_band_breached_nb(products, u - g, n_held, targets, equity[u], params)
                        else:
                            breached = band_breached_nb(close, cols, u, rows[row_of[group_row]], shares, equity[u],
                                                        params)
                        if breached:
                            crossed = u
                        live = crossed < 0 and equity[u] > 0.0
                if crossed >= 0:
                    # The group's bars before the crossing stand (stepping would give the same numbers, and no ruin
                    # can precede a crossing); the crossing bar is stepped, and its step decides whether to trade.
                    step_through = crossed
                    kept = crossed - g
                    if crossed > t:
                        cash = c0 if kept == 1 else (c1 if kept == 2 else c2)
                        borrows, interests = add_accruals_nb(borrows, interests, d0, kept, b0, b1, b2, b3, i0, i1, i2,
                                                             i3)
                        t = crossed
                        moved = True
                    break
                cash = group_cash
                target_row = group_row
                next_row = group_next
                moved = True
                # Totals in bar order, as the bar-by-bar loop adds them (fees, slippage, turnover are 0); at a
                # ruin (rule 9) the book is closed at that bar's marks and nothing accrues after.
                hit = -1
                for d in range(d0, QUIET_GROUP):
                    if equity[g + d] <= 0.0:
                        hit = d
                        break
                if accrues:  # else the group's borrows and interests are +0.0, as are the totals: adding changes nothing
                    borrows, interests = add_accruals_nb(borrows, interests, d0, QUIET_GROUP if hit < 0 else hit + 1,
                                                         b0, b1, b2, b3, i0, i1, i2, i3)
                t = g + QUIET_GROUP
                if hit >= 0:
                    ruin = g + hit
                    cash = equity[ruin]
                    for i in range(n):
                        shares[i] = 0.0
                    for u in range(ruin + 1, t):
                        equity[u] = cash
                    break
            if moved:
                settle_marks_nb(close, cols, stretch, t, held, n_held, last_close)
                # Every held close of the groups was a number: no held asset is stale. (An asset not held cannot
                # be bought before it has a close again, which resets its count.)
                for i in range(n):
                    if shares[i] != 0.0:
                        stale[i] = 0
                state = PathState(cash, target_row, next_row, True, ruin >= 0, equity[t - 1], False, False, False,
                                  0.0, 0.0, 0.0, 0.0, 0.0)
            if t >= n_bars:
                break
            if moved:
                continue
        prefetch_ahead_nb(close, t, 1)
        if not at_close:
            prefetch_ahead_nb(exec_price, t, 1)
        if all_columns:
            bar_close = close[t]
            bar_exec = exec_price[t]
        else:
            for i in range(n):
                close_row[i] = close[t, cols[i]]
                exec_row[i] = exec_price[t, cols[i]]
            bar_close = close_row
            bar_exec = exec_row
        state = step_nb(t, bar_close, bar_exec, bars, rows, row_of, calendar[t], params, state, shares, last_close,
                        stale, trade_buf, forced_buf)
        if state.traded and first < 0:
            first = t
        if state.breach and breach < 0:
            breach = t
        if state.ruined and ruin < 0:
            ruin = t
        equity[t] = state.equity
        fees += state.fee
        slips += state.slippage
        borrows += state.borrow
        interests += state.interest
        turnovers += state.turnover
        t += 1
    return fees, slips, borrows, interests, turnovers, first, ruin, breach


@njit(cache=True)
def simulate_path_nb(close, exec_price, bars, rows, calendar_mask, params):
    """Simulate one price path bar by bar and record every detail.

    Parameters
    ----------
    close, exec_price : ``(T, N)`` prices (NaN: no price).
    bars, rows : ``(R,)`` bars and ``(R, N)`` target rows (see :func:`step_nb`).
    calendar_mask : ``(T,)`` bool, calendar rebalance days.
    params : :class:`SimParams`.

    Returns
    -------
    tuple
        ``(equity (T,), cash (T,), positions (T, N), trades (T, N) shares traded to targets, forced (T, N)
        shares closed by force, costs (T, 4) fees, slippage, borrow, interest, turnover (T,),
        first_trade_bar, ruin_bar, first_breach_bar)``; the bars are -1 when it never happened.
    """
    n_bars, n = close.shape
    equity = np.empty(n_bars)
    cash_out = np.empty(n_bars)
    positions = np.empty((n_bars, n))
    trades = np.zeros((n_bars, n))
    forced = np.zeros((n_bars, n))
    costs = np.zeros((n_bars, 4))
    turnover = np.zeros(n_bars)
    shares = np.zeros(n)
    last_close = np.full(n, np.nan)
    stale = np.zeros(n, dtype=np.int64)
    state = start_state_nb(params)
    row_of = np.arange(bars.shape[0])
    first_trade = -1
    ruin = -1
    breach = -1
    for t in range(n_bars):
        state = step_nb(t, close[t], exec_price[t], bars, rows, row_of, calendar_mask[t], params, state,
                        shares, last_close, stale, trades[t], forced[t])
        if state.traded and first_trade < 0:
            first_trade = t
        if state.ruined and ruin < 0:
            ruin = t
        if state.breach and breach < 0:
            breach = t
        equity[t] = state.equity
        cash_out[t] = state.cash
        positions[t] = shares
        costs[t, 0] = state.fee
        costs[t, 1] = state.slippage
        costs[t, 2] = state.borrow
        costs[t, 3] = state.interest
        turnover[t] = state.turnover
    return equity, cash_out, positions, trades, forced, costs, turnover, first_trade, ruin, breach


@njit(cache=True, inline="always")
def to_multiples_nb(equity, initial_cash):
    """Equity as multiples of the initial cash, in place (a loop over one array: vectorised, several bars to a
    division instruction, and the path is still in cache)."""
    for t in range(equity.shape[0]):
        equity[t] /= initial_cash


# Above this, the rounding-safe bound of path_outcome_nb is a normal number (its relative error bound holds).
TINY_BOUND = 1e-290
# 1 + 2**-51: lifts a rounded product above the exact one (see path_outcome_nb).
ROUNDING_LIFT = 1.0 + 2.0 ** -51


@njit(cache=True, inline="always")
def no_new_low_bound_nb(peak, lowest_ratio):
    """A wealth ``x >= `` this has ``x / peak >= lowest_ratio`` once rounded (see :func:`path_outcome_nb`); NaN
    (no bound: divide) unless it is a positive, finite normal number. (Both negative give a positive bound too,
    but one no ``x`` reaches: ``x <= peak < 0`` once the running peak is taken.)"""
    bound = peak * lowest_ratio * ROUNDING_LIFT
    return bound if bound > TINY_BOUND and bound < np.inf else np.nan


@njit(cache=True, nogil=True)
def path_outcome_nb(wealth, first_trade, sample_bars, samples):
    """Per-path figures of one wealth curve, equity as multiples of the initial cash (divided by the caller, as
    ``BatchResult`` does): ``(terminal, window base, max drawdown, min wealth)``.

    The window starts at the bar before the first trade; the drawdown is ``min(x / running max of x) - 1`` with
    NaN skipped (``numpy.fmax`` / ``nanmin``), from bar 0 -- the same as from the window start, since equity
    before the first trade only earns interest and never falls. Writes the wealth at ``sample_bars`` into
    ``samples``.

    The ratio ``x / peak`` is divided out only where it can be a new low. Where the running low ``L`` and
    ``peak`` are positive, ``x >= fl(fl(peak * L) * (1 + 2**-51))`` means ``x > peak * L`` exactly (the lift
    outweighs the two roundings, each under ``2**-53`` relative), so the rounded ratio is at least ``L``: the
    same answer as dividing. The bound changes only with the peak or the low, so most bars take three
    comparisons and no division.
    """
    n_bars = wealth.shape[0]
    start = first_trade - 1 if first_trade > 0 else 0
    peak = np.nan
    lowest_ratio = np.inf
    bound = np.nan
    lowest = np.inf
    k = 0
    n_samples = sample_bars.shape[0]
    for t in range(n_bars):
        x = wealth[t]
        if not (peak >= x) and x == x:  # fmax: a NaN never becomes the running max
            peak = x
            bound = no_new_low_bound_nb(peak, lowest_ratio)
        if not (x >= bound):
            ratio = x / peak
            if ratio < lowest_ratio:
                lowest_ratio = ratio
                bound = no_new_low_bound_nb(peak, lowest_ratio)
        if x < lowest:
            lowest = x
        if k < n_samples and sample_bars[k] == t:
            samples[k] = x
            k += 1
    drawdown = lowest_ratio - 1.0 if lowest_ratio < np.inf else np.nan
    return wealth[n_bars - 1], wealth[start], drawdown, lowest


@njit(cache=True, parallel=True)
def simulate_batch_nb(close, exec_price, bars, rows, calendar_mask, next_calendar, params, at_close, equity):
    """Simulate ``P`` price paths of one book in parallel, recording equity and per-path totals only.

    Parameters
    ----------
    close, exec_price : ``(P, T, N)`` prices (float32 or float64).
    bars : ``(R,)`` bars of the target rows; rows ``(P, R, N)`` or ``(1, R, N)`` (shared by every path).
    calendar_mask : ``(T,)`` bool, calendar rebalance days; ``next_calendar`` ``(T+1,)`` (see
        :func:`run_path_nb`).
    params : :class:`SimParams`.
    at_close : trades fill at the close (``exec_price`` is ``close``).
    equity : ``(P, T)`` float64 output, allocated by the caller: numpy's large allocations are reused or backed
        by huge pages, where one made here faults in every 4 KB page afresh on each call (measured ~12 ms for
        1,000 x 2,520 on this VM's 5,000 page faults, against ~2 ms).

    Returns
    -------
    tuple
        ``(equity (P, T) as multiples of the initial cash, totals (P, 5): fees, slippage, borrow, interest, sum of
        per-bar turnover,
        events (P, 3): first trade, ruin and first breach bars (-1: never), outcome (P, 4): terminal, window
        base, max drawdown, min wealth)`` (see :func:`path_outcome_nb`).
    """
    n_paths, n_bars, n = close.shape
    # Path p reads rows[p * w_step]: 0 when one set of rows is shared by every path.
    w_step = 0 if rows.shape[0] == 1 else 1
    cols = np.arange(n)
    row_of = np.arange(bars.shape[0])
    if equity.shape[0] != n_paths or equity.shape[1] != n_bars:
        raise ValueError("simulate_batch_nb: equity must be (paths, bars)")
    totals = np.zeros((n_paths, 5))
    events = np.full((n_paths, 3), -1, dtype=np.int64)
    outcome = np.empty((n_paths, 4))
    no_samples = np.empty(0, dtype=np.int64)
    for p in prange(n_paths):
        # Per-path scratch, allocated once per path (never per bar).
        shares = np.empty(n)
        last_close = np.empty(n)
        stale = np.empty(n, dtype=np.int64)
        trade_buf = np.zeros(n)
        forced_buf = np.zeros(n)
        held = np.empty((3, n), dtype=np.int64)
        targets = np.empty((3, n))
        products = np.empty((QUIET_GROUP, n))
        close_row = np.empty(n, dtype=close.dtype)
        exec_row = np.empty(n, dtype=close.dtype)
        fees, slips, borrows, interests, turnovers, first, ruin, breach = run_path_nb(
            close[p], exec_price[p], cols, bars, rows[p * w_step], row_of, calendar_mask, next_calendar, params,
            equity[p], shares, last_close, stale, trade_buf, forced_buf, held, targets, products, close_row, exec_row,
            at_close)
        totals[p, 0] = fees
        totals[p, 1] = slips
        totals[p, 2] = borrows
        totals[p, 3] = interests
        totals[p, 4] = turnovers
        events[p, 0] = first
        events[p, 1] = ruin
        events[p, 2] = breach
        path_equity = equity[p]
        to_multiples_nb(path_equity, params.initial_cash)
        terminal, base, drawdown, lowest = path_outcome_nb(path_equity, first, no_samples, trade_buf)
        outcome[p, 0] = terminal
        outcome[p, 1] = base
        outcome[p, 2] = drawdown
        outcome[p, 3] = lowest
    return equity, totals, events, outcome


@njit(cache=True, inline="always")
def sim_params_of_nb(row):  # pragma: no cover - compiled
    """The :class:`SimParams` of a row written by :func:`sim_params_row`."""
    return SimParams(row[0] != 0.0, row[1], row[2], row[3] != 0.0, row[4], row[5], row[6], row[7], row[8], row[9],
                     row[10], np.int64(row[11]))


@njit(cache=True, parallel=True)
def simulate_books_nb(close, exec_price, cols_flat, col_start, bars_flat, bar_start, rows_flat, row_start, row_paths,
                      picks_flat, pick_start, calendars, next_calendars, params_table, order, bench, sample_bars,
                      at_close):
    """Run ``K`` books over the same ``P`` paths in one pass, recording per-path outcomes only.

    Each path's prices are read from memory once and stay in cache while every book runs on them (books are
    the inner loop); nothing of size ``(P, T)`` is kept.

    Parameters
    ----------
    close, exec_price : ``(P, T, M)`` prices of every column any book holds.
    cols_flat, col_start : the books' columns in ``close``, one after the other: book ``k``'s are
        ``cols_flat[col_start[k]:col_start[k+1]]`` (``N_k`` of them).
    bars_flat, bar_start : the books' target-row bars in the same way (``R_k`` for book ``k``).
    rows_flat, row_start : every book's ``(row_paths[k], R_k, N_k)`` float64 target rows, C order, one book
        after the other: book ``k``'s from ``row_start[k]`` (``row_paths[k]`` is 1 when its rows serve every
        path, else ``P``). For a book with picks, its rows are instead a ``(Q_k, N_k)`` palette.
    picks_flat, pick_start : int64, each book's ``(1 | P, R_k)`` picks, one book after the other (none for a
        book without): row ``r`` of path ``p`` is palette row ``picks[p, r]`` (:class:`engine.PickedRows`).
    calendars : ``(K, T)`` bool calendar days; next_calendars ``(K, T+1)`` (see :func:`run_path_nb`).
    params_table : ``(K, len(SimParams._fields))`` float64, each row a book's :class:`SimParams` in field order
        (:func:`sim_params_row`). Flat arrays rather than numba typed lists: a typed list compiles its methods
        in every new process (about 0.5 s per element type).
    order : ``(K,)`` the order books run in (the benchmark first).
    bench : index of the benchmark book, or -1: each book records the benchmark's wealth at the end and at
        its own window start on the same path.
    sample_bars : ``(S,)`` bars at which equity is sampled.
    at_close : trades fill at the close (``exec_price`` is ``close``).

    Returns
    -------
    tuple
        ``(outcomes (K, P, len(OUTCOME_FIELDS)) float64, samples (K, P, S) float32)``.
    """
    n_paths, n_bars, _ = close.shape
    n_books = col_start.shape[0] - 1
    width = 1
    for k in range(n_books):
        width = max(width, col_start[k + 1] - col_start[k])
    longest = 1
    for k in range(n_books):
        longest = max(longest, bar_start[k + 1] - bar_start[k])
    identity = np.arange(longest)  # the row_of of a book without picks: its path's own rows in order
    outcomes = np.full((n_books, n_paths, len(OUTCOME_FIELDS)), np.nan)
    samples = np.empty((n_books, n_paths, sample_bars.shape[0]), dtype=np.float32)
    for p in prange(n_paths):
        equity = np.empty(n_bars)
        bench_wealth = np.empty(n_bars)
        sample_row = np.empty(sample_bars.shape[0])
        shares = np.empty(width)
        last_close = np.empty(width)
        stale = np.empty(width, dtype=np.int64)
        trade_buf = np.zeros(width)
        forced_buf = np.zeros(width)
        held = np.empty((3, width), dtype=np.int64)
        targets = np.empty((3, width))
        products = np.empty((QUIET_GROUP, width))
        close_row = np.empty(width, dtype=close.dtype)
        exec_row = np.empty(width, dtype=close.dtype)
        for j in range(n_books):
            k = order[j]
            cols = cols_flat[col_start[k]:col_start[k + 1]]
            bars = bars_flat[bar_start[k]:bar_start[k + 1]]
            n = cols.shape[0]
            n_rows = bars.shape[0]
            n_picks = pick_start[k + 1] - pick_start[k]
            if n_picks > 0:
                palette = rows_flat[row_start[k]:row_start[k + 1]]
                path_rows = palette.reshape((palette.shape[0] // n, n))
                first_pick = pick_start[k] + (p * n_rows if n_picks != n_rows else 0)
                row_of = picks_flat[first_pick:first_pick + n_rows]
            else:
                first_row = row_start[k] + (p * n_rows * n if row_paths[k] != 1 else 0)
                path_rows = rows_flat[first_row:first_row + n_rows * n].reshape((n_rows, n))
                row_of = identity[:n_rows]
            params = sim_params_of_nb(params_table[k])
            fees, slips, borrows, interests, turnovers, first, ruin, breach = run_path_nb(
                close[p], exec_price[p], cols, bars, path_rows, row_of, calendars[k], next_calendars[k], params,
                equity, shares[:n], last_close[:n], stale[:n], trade_buf[:n], forced_buf[:n], held[:, :n], targets[:, :n],
                products[:, :n], close_row[:n], exec_row[:n], at_close)
            to_multiples_nb(equity, params.initial_cash)
            terminal, base, drawdown, lowest = path_outcome_nb(equity, first, sample_bars, sample_row)
            if k == bench:
                bench_wealth[:] = equity
            out = outcomes[k, p]
            out[0] = terminal
            out[1] = base
            out[2] = drawdown
            out[3] = lowest
            out[4] = fees
            out[5] = slips
            out[6] = borrows
            out[7] = interests
            out[8] = turnovers
            out[9] = first
            out[12] = ruin
            out[13] = breach
            if bench >= 0:
                out[10] = bench_wealth[n_bars - 1]
                out[11] = bench_wealth[first - 1 if first > 0 else 0]
            for s in range(sample_bars.shape[0]):
                samples[k, p, s] = sample_row[s]
    return outcomes, samples


@njit(cache=True)
def scan_rows_nb(rows):  # pragma: no cover - compiled
    """One pass over ``(P, R, N)`` float64 target rows: the first infinite weight and the rows with a number.

    Returns
    -------
    tuple
        ``(path, row, column)`` of the first infinite weight in C order (``-1`` each when none), and ``(R,)``
        bool: whether row ``r`` holds a number on some path (the others are holds on every path).
    """
    n_paths, n_rows, n = rows.shape
    numbers = np.zeros(n_rows, dtype=np.bool_)
    for p in range(n_paths):
        for r in range(n_rows):
            row = rows[p, r]
            for i in range(n):
                w = row[i]
                if w == w:
                    numbers[r] = True
                    if w - w != 0.0:  # inf - inf is NaN
                        return p, r, i, numbers
    return -1, -1, -1, numbers


@njit(cache=True)
def first_exposure_breach_nb(weights, gross_limit, net_limit):
    """First target row whose gross ``sum |w|`` or net ``|sum w|`` exceeds its limit.

    Parameters
    ----------
    weights : ``(P, T, N)`` target weights (NaN ignored; all-NaN rows are holds).
    gross_limit, net_limit : limits, tolerance included (``engine.backtest.exposure_limits``).

    Returns
    -------
    tuple
        ``(path, bar, gross, net)`` of the first breach, or ``(-1, -1, 0.0, 0.0)`` when none.
    """
    n_paths, n_bars, n = weights.shape
    for p in range(n_paths):
        for t in range(n_bars):
            gross = 0.0
            net = 0.0
            for i in range(n):
                w = weights[p, t, i]
                if w == w:
                    gross += abs(w)
                    net += w
            if gross > gross_limit or abs(net) > net_limit:
                return p, t, gross, net
    return -1, -1, 0.0, 0.0
