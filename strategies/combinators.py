"""The few building blocks every thesis module and every TOML portfolio is made of.

A *rule* is a frozen dataclass with

- ``universe``: the tickers it holds or reads, in order (a :class:`~strategies.base.Strategy` takes its
  universe from its rule);
- ``lookback``: trading days of history its signal needs before the first day it trades (0 for books that
  do not look at prices, the moving-average window for a trend filter), derived from its fields;
- ``weights(prices, dates, tickers)``: target weights for closes ``(T, N)`` or ``(P, T, N)`` (paths first).
  The result is ``(T, N)`` when the weights do not depend on the path and ``(P, T, N)`` when they do, so it
  always broadcasts to ``prices``. Row t uses closes up to and including t only; an all-NaN row means "no
  new target".

``Strategy`` checks the inputs once (shapes, dates, tickers) before it calls a rule, so rules do not: they
get float prices, the dates as ``datetime64[ns]`` and the column names.

The rules: :class:`StaticBook` (fixed weights, optionally bought once and held), :class:`Glide` (weights
moving linearly in calendar time between two books), :class:`HedgedShort` (equal-weight shorts plus a long
hedge of equal notional), :class:`ListedEqualWeight` (equal weight over the names that have a price),
:class:`TrendFilter` (one rule while a basket trends up, another while it does not) and
:class:`DrawdownSwitch` (one rule while a basket is in a drawdown from its recent high, another otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np

from theses.strategies.errors import StrategyError
from theses.strategies.signals import (
    column_positions,
    drawdown_switch,
    equal_weight_index,
    equal_weight_index_after,
    first_row_only,
    glide_bounds,
    glide_fraction,
    listed_mask,
    static_weights,
    trend_on,
)

#: A book: (ticker, fraction of equity) pairs, shorts negative.
Book = tuple[tuple[str, float], ...]


class Rule(Protocol):
    """What :class:`~strategies.base.Strategy` needs from a combinator (see the module docstring)."""

    @property
    def universe(self) -> tuple[str, ...]: ...

    @property
    def lookback(self) -> int: ...

    def weights(self, prices: np.ndarray, dates: np.ndarray, tickers: Sequence[str]) -> np.ndarray: ...


def as_book(weights: Mapping[str, float] | Book) -> Book:
    """A book from a ``{ticker: weight}`` mapping or from pairs (a repeated ticker keeps its last weight)."""
    pairs = weights.items() if isinstance(weights, Mapping) else weights
    return tuple((str(ticker), float(weight)) for ticker, weight in dict(pairs).items())


def _tickers(*groups: Sequence[str]) -> tuple[str, ...]:
    """The tickers of ``groups`` in first-seen order, each once."""
    return tuple(dict.fromkeys(t for group in groups for t in group))


@dataclass(frozen=True)
class StaticBook:
    """The same target on every row, or, with ``buy_and_hold``, on one row only.

    Attributes
    ----------
    book : Book or mapping
        Fractions of equity by ticker (shorts negative); tickers of the price data not in it get 0.
    buy_and_hold : bool
        Emit the target only on the first row where every ticker with a non-zero weight has a price (in
        every path), NaN after: with the engine's ``calendar="none"`` it is bought once and drifts with
        the market. Without it the target is on every row and a ticker without a price yet follows the
        engine's missing-asset policy.

    Returns ``(T, N)`` weights.
    """

    book: Book
    buy_and_hold: bool = False
    lookback: ClassVar[int] = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "book", as_book(self.book))

    @property
    def universe(self) -> tuple[str, ...]:
        return _tickers([t for t, _ in self.book])

    def weights(self, prices: np.ndarray, dates: np.ndarray, tickers: Sequence[str]) -> np.ndarray:
        n_days = prices.shape[-2]
        if not self.buy_and_hold:
            return static_weights(n_days, tickers, dict(self.book))
        held = column_positions(tickers, [t for t, w in self.book if w != 0.0])
        return first_row_only(static_weights(1, tickers, dict(self.book))[0], prices, held, n_days)


@dataclass(frozen=True)
class Glide:
    """Weights moving linearly in calendar time from ``start_book`` to ``end_book``.

    Each ticker's weight is ``a + (b - a) * f`` with ``a``/``b`` its weights in the two books (0 where a
    book lacks it) and ``f`` 0 at and before ``start``, 1 at and after ``end``
    (:func:`~strategies.signals.glide_fraction`). With ``rest`` set, that ticker holds instead the books'
    total less the other weights on each row, so the glide stays invested at exactly that total; its
    weights in the books then only fix its place in the universe, and the two books must have the same
    total. Weights depend on the dates only, never on prices: ``(T, N)``.

    Attributes
    ----------
    start_book, end_book : Book or mapping
        The weights at (and before) ``start`` and at (and after) ``end``.
    start, end : str
        ISO dates; ``end`` must be after ``start``.
    rest : str or None
        The ticker that holds what the others leave of the total.
    """

    start_book: Book
    end_book: Book
    start: str
    end: str
    rest: str | None = None
    lookback: ClassVar[int] = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "start_book", as_book(self.start_book))
        object.__setattr__(self, "end_book", as_book(self.end_book))
        glide_bounds(self.start, self.end)
        if self.rest is not None:
            if self.rest not in self.universe:
                raise StrategyError(f"glide: rest ticker {self.rest!r} is in neither book; add it to both")
            if abs(self._total(self.start_book) - self._total(self.end_book)) > 1e-12:
                raise StrategyError(
                    "glide: with a rest ticker both books must have the same total weight; "
                    f"got {self._total(self.start_book):g} and {self._total(self.end_book):g}"
                )

    @staticmethod
    def _total(book: Book) -> float:
        return math.fsum(w for _, w in book)

    @property
    def universe(self) -> tuple[str, ...]:
        return _tickers([t for t, _ in self.start_book], [t for t, _ in self.end_book])

    def weights(self, prices: np.ndarray, dates: np.ndarray, tickers: Sequence[str]) -> np.ndarray:
        fraction = glide_fraction(dates, self.start, self.end)
        start, end = dict(self.start_book), dict(self.end_book)
        gliding = [t for t in self.universe if t != self.rest]
        out = np.zeros((prices.shape[-2], len(tickers)))
        for ticker, position in zip(gliding, column_positions(tickers, gliding), strict=True):
            a, b = start.get(ticker, 0.0), end.get(ticker, 0.0)
            out[:, position] = a + (b - a) * fraction
        if self.rest is not None:
            others = out[:, column_positions(tickers, gliding)].sum(axis=1)
            out[:, column_positions(tickers, [self.rest])[0]] = self._total(self.start_book) - others
        return out


@dataclass(frozen=True)
class HedgedShort:
    """Equal-weight shorts summing to ``-size``, hedged by ``+size`` of ``hedge``.

    Only shorts with a price on row t share the short book on that row, so the hedge always equals in
    notional the shorts actually held (weights are fractions of equity at the rebalance). On a row where
    no short has a price the whole row is 0 (nothing to hedge). ``(T, N)``, or ``(P, T, N)`` when the
    listing dates differ between paths (see :func:`~strategies.signals.listed_mask`).

    Attributes
    ----------
    shorts : tuple of str
        Shorted in equal weight.
    hedge : str
        Held long with the same notional as the shorts.
    size : float
        Gross short as a fraction of equity.
    """

    shorts: tuple[str, ...]
    hedge: str
    size: float = 1.0
    lookback: ClassVar[int] = 0

    @property
    def universe(self) -> tuple[str, ...]:
        return _tickers(self.shorts, [self.hedge])

    def weights(self, prices: np.ndarray, dates: np.ndarray, tickers: Sequence[str]) -> np.ndarray:
        short_pos = column_positions(tickers, self.shorts)
        hedge_pos = column_positions(tickers, [self.hedge])[0]
        listed = listed_mask(prices)[..., short_pos]
        count = listed.sum(axis=-1, keepdims=True)
        per_short = np.divide(-self.size, count, out=np.zeros(count.shape), where=count > 0)
        weights = np.zeros(listed.shape[:-1] + (len(tickers),))
        weights[..., short_pos] = np.where(listed, per_short, 0.0)
        weights[..., hedge_pos] += np.where(count[..., 0] > 0, self.size, 0.0)
        return weights


@dataclass(frozen=True)
class ListedEqualWeight:
    """``total`` split equally over the ``tickers`` that have a close on row t (0 on a row where none has).

    Unlike a :class:`StaticBook` it keeps no target on a name that has not listed yet. ``(T, N)``, or
    ``(P, T, N)`` when the listing dates differ between paths.
    """

    tickers: tuple[str, ...]
    total: float = 1.0
    lookback: ClassVar[int] = 0

    @property
    def universe(self) -> tuple[str, ...]:
        return _tickers(self.tickers)

    def weights(self, prices: np.ndarray, dates: np.ndarray, tickers: Sequence[str]) -> np.ndarray:
        positions = column_positions(tickers, self.tickers)
        listed = listed_mask(prices)[..., positions]
        count = listed.sum(axis=-1, keepdims=True)
        share = np.divide(self.total, count, out=np.zeros(count.shape), where=count > 0)
        out = np.zeros(listed.shape[:-1] + (len(tickers),))
        out[..., positions] = np.where(listed, share, 0.0)
        return out


class _BasketSwitch:
    """What :class:`TrendFilter` and :class:`DrawdownSwitch` share: ``on``/``off`` rules switched by a signal
    on the equal-weight index of ``basket`` over ``window`` days (each class defines ``signal``)."""

    basket: tuple[str, ...]
    window: int
    on: Rule
    off: Rule
    buy_and_hold: bool

    @property
    def universe(self) -> tuple[str, ...]:
        return _tickers(self.on.universe, self.basket, self.off.universe)

    @property
    def lookback(self) -> int:
        return max(self.window, self.on.lookback, self.off.lookback)

    def level(self, prices: np.ndarray, tickers: Sequence[str]) -> np.ndarray:
        """The basket's equal-weight daily-return index, ``(T,)`` or ``(P, T)``."""
        return equal_weight_index(prices, column_positions(tickers, self.basket))

    def signal(self, prices: np.ndarray, tickers: Sequence[str]) -> np.ndarray:
        """The switch on each row of ``prices``, ``(T,)`` or ``(P, T)``."""
        return self.signal_of(self.level(prices, tickers))

    def signal_of(self, level: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """The switch on each row of the basket's ``level``."""
        raise NotImplementedError

    def weights(self, prices: np.ndarray, dates: np.ndarray, tickers: Sequence[str]) -> np.ndarray:
        return switch_weights(self.signal(prices, tickers), self.on, self.off, prices, dates, tickers,
                              self.buy_and_hold)

    def weights_at(self, prices: np.ndarray, dates: np.ndarray, tickers: Sequence[str],
                   rows: np.ndarray, level: np.ndarray | None = None) -> np.ndarray | None:
        """``weights(...)[..., rows, :]`` without the other rows, or None when that would not be the whole story.

        The signal needs every row; the switch between ``on`` and ``off`` is made on ``rows`` only (for a
        monthly book about one row in 20 of the ``(P, T, N)`` array). None when a row left out could matter
        to the engine: with ``buy_and_hold``, or when ``on`` or ``off`` has an all-NaN (hold) row, since a
        hold makes an earlier row the one in force. With the basket's ``level`` given (``(P, T)``, for
        paths that share their listings), ``prices`` need only be one path: ``on`` and ``off`` are read on it
        and must then be path-independent (``(T, N)``; None otherwise).
        """
        if self.buy_and_hold:
            return None
        on_weights = self.on.weights(prices, dates, tickers)
        off_weights = self.off.weights(prices, dates, tickers)
        if has_hold_row(on_weights) or has_hold_row(off_weights):
            return None
        if level is not None and (on_weights.ndim != 2 or off_weights.ndim != 2):
            return None
        state = (self.signal(prices, tickers) if level is None else self.signal_of(level))[..., rows, None]
        return np.where(state, on_weights[..., rows, :], off_weights[..., rows, :])

    def picks(self, prices: np.ndarray, dates: np.ndarray, tickers: Sequence[str],
              level: np.ndarray | None = None, first_row: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
        """``(palette (Q, N), picks (P, T))`` with ``palette[picks]`` equal to ``weights(...)``, or None.

        ``on`` and ``off`` must not depend on the path (``(T, N)``, as a static book or a listed equal weight
        on paths that share their listings); each gives one palette row when its rows are all the same, else
        one per day. The switch then picks, per path and day, which. None with ``buy_and_hold`` (its holds
        between switches are not a palette row) or path-dependent ``on``/``off`` weights. ``level`` as in
        :meth:`weights_at`; the picks are those of rows ``first_row ..`` (a primed rule's paths).
        """
        if self.buy_and_hold:
            return None
        on_weights = self.on.weights(prices, dates, tickers)
        off_weights = self.off.weights(prices, dates, tickers)
        if on_weights.ndim != 2 or off_weights.ndim != 2:
            return None
        on_rows, on_at = _distinct_rows(on_weights)
        off_rows, off_at = _distinct_rows(off_weights)
        state = self.signal(prices, tickers) if level is None else self.signal_of(level)
        picks = np.where(state[..., first_row:], on_at[first_row:], len(on_rows) + off_at[first_row:])
        return np.concatenate([on_rows, off_rows]), picks


@dataclass(frozen=True)
class TrendFilter(_BasketSwitch):
    """``on`` while a basket trends up, ``off`` otherwise (and before the trend is known).

    The basket is a NaN-aware equal-weight daily-return index of ``basket``
    (:func:`~strategies.signals.equal_weight_index`: names join the day after their first close). It is
    "on" on day t when its level is strictly above its trailing ``window``-day simple average, both from
    closes up to and including t (:func:`~strategies.signals.trend_on`); with fewer than ``window``
    observations the average is undefined and ``off`` is held. ``(T, N)`` only for a single price
    history; for paths the switch differs by path, so ``(P, T, N)``.

    Attributes
    ----------
    basket : tuple of str
        Tickers of the index whose trend is watched.
    window : int
        Days in the moving average; also the rule's ``lookback``.
    on, off : Rule
        What to hold while the trend is on and while it is off.
    buy_and_hold : bool
        Emit a target only on the first row and on each switch (NaN in between), so with the engine's
        ``calendar="none"`` the book is traded once per regime and drifts in between.
    """

    basket: tuple[str, ...]
    window: int
    on: Rule
    off: Rule
    buy_and_hold: bool = False

    def __post_init__(self) -> None:
        if self.window < 1:
            raise StrategyError(f"moving-average window must be at least 1 day; got {self.window}")

    def signal_of(self, level: np.ndarray) -> np.ndarray:
        """True where the basket's ``level`` is above its moving average; ``(T,)`` or ``(P, T)``."""
        return trend_on(level, self.window)


def _distinct_rows(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, at)`` with ``rows[at] == weights`` for ``(T, N)`` weights: one row when every row is the first
    (NaN where it has NaN), else every row."""
    first = weights[:1]
    same = (weights == first) | (np.isnan(weights) & np.isnan(first))
    if same.all():
        return first, np.zeros(len(weights), dtype=np.int64)
    return weights, np.arange(len(weights), dtype=np.int64)


def has_hold_row(weights: np.ndarray) -> bool:
    """Whether any row of ``weights`` (any path) is all NaN: "no new target"."""
    return bool(np.isnan(weights).all(axis=-1).any())


def switch_weights(
    on: np.ndarray, on_rule: Rule, off_rule: Rule, prices: np.ndarray, dates: np.ndarray, tickers: Sequence[str],
    buy_and_hold: bool = False,
) -> np.ndarray:
    """``on_rule``'s weights where the switch ``on`` ((T,) or (P, T)) holds, ``off_rule``'s elsewhere.

    With ``buy_and_hold`` only the first row and the rows where the switch flips keep their numbers (NaN in
    between), so with the engine's ``calendar="none"`` the book is traded once per regime.
    """
    state = on[..., None]
    dense = np.where(state, on_rule.weights(prices, dates, tickers), off_rule.weights(prices, dates, tickers))
    if not buy_and_hold:
        return dense
    # Keep the first row and the rows where the switch flips; the engine holds in between.
    changed = np.ones(state.shape, dtype=bool)
    changed[..., 1:, :] = state[..., 1:, :] != state[..., :-1, :]
    return np.where(changed, dense, np.nan)


@dataclass(frozen=True)
class DrawdownSwitch(_BasketSwitch):
    """``on`` while a basket is in a drawdown from its recent high, ``off`` otherwise (and before it is known).

    The basket is the equal-weight daily-return index of ``basket`` (as in :class:`TrendFilter`). Its
    drawdown on day t is its level over the highest level of the trailing ``window`` days, less 1
    (:func:`~strategies.signals.drawdown_from_high`, closes up to and including t). The switch turns on on
    a day the drawdown is ``enter`` or deeper (``<= -enter``) and off on a day it is back within ``leave``
    of the high (``>= -leave``); in between it keeps its state (hysteresis,
    :func:`~strategies.signals.hysteresis`), and it is off until ``window`` observations exist.
    ``(T, N)`` only for a single price history; for paths ``(P, T, N)``.

    Attributes
    ----------
    basket : tuple of str
        Tickers of the watched index.
    window : int
        Days over which the recent high is taken; also the rule's ``lookback``.
    enter, leave : float
        Drawdowns (positive fractions) that switch on and off; ``leave < enter``.
    on, off : Rule
        What to hold in a drawdown and otherwise.
    buy_and_hold : bool
        As in :class:`TrendFilter`.
    """

    basket: tuple[str, ...]
    window: int
    enter: float
    leave: float
    on: Rule
    off: Rule
    buy_and_hold: bool = False

    def __post_init__(self) -> None:
        if self.window < 1:
            raise StrategyError(f"recent-high window must be at least 1 day; got {self.window}")
        if not 0.0 <= self.leave < self.enter < 1.0:
            raise StrategyError(
                f"drawdown thresholds: need 0 <= leave < enter < 1 (fractions below the high); got enter "
                f"{self.enter!r}, leave {self.leave!r}"
            )

    def signal_of(self, level: np.ndarray) -> np.ndarray:
        """True while the basket's ``level`` is in a drawdown (between an ``enter`` and a ``leave`` day)."""
        return drawdown_switch(level, self.window, self.enter, self.leave)


@dataclass(frozen=True, eq=False)
class Primed:
    """``rule`` run on real history followed by the prices, so its signal starts with its look-back filled.

    For simulated paths that start on a past date: the history holds the closes of ``rule.universe`` on the
    days before the paths' first day (at least ``rule.lookback`` of them). Each ticker's history is rescaled
    so that its last close equals ``anchor`` (the price the paths start from, the day before their first
    row), so the signal sees the history's returns, then the path's returns, with no jump at the join; with
    ``anchor`` None the history is joined to the paths' first row (that row's return is then read as 0).
    The weights of the history rows are dropped: the rule's ``lookback`` is 0.

    Attributes
    ----------
    rule : Rule
        The rule to prime.
    history : ndarray
        ``(L, len(rule.universe))`` closes (NaN before a listing), in ``rule.universe`` order.
    dates : ndarray
        The L dates of ``history`` (datetime64).
    anchor : ndarray or None
        ``(len(rule.universe),)`` start prices of the paths.
    """

    rule: Rule
    history: np.ndarray
    dates: np.ndarray
    anchor: np.ndarray | None = None
    lookback: ClassVar[int] = 0
    #: float32 prices are taken as they are: :meth:`joined` copies them into float64 (exactly) in any case.
    reads_float32: ClassVar[bool] = True

    def __post_init__(self) -> None:
        history = np.asarray(self.history, dtype=float)
        if history.ndim != 2 or history.shape[1] != len(self.rule.universe) or len(self.dates) != len(history):
            raise StrategyError(
                f"primed history must be (days, {len(self.rule.universe)}) closes of {', '.join(self.rule.universe)} "
                f"with one date per day; got shape {history.shape} and {len(self.dates)} dates"
            )
        object.__setattr__(self, "history", history)
        object.__setattr__(self, "dates", np.asarray(self.dates, dtype="datetime64[ns]"))

    @property
    def universe(self) -> tuple[str, ...]:
        return tuple(self.rule.universe)

    def weights(self, prices: np.ndarray, dates: np.ndarray, tickers: Sequence[str]) -> np.ndarray:
        joined, joined_dates = self.joined(prices, dates, tickers)
        out = self.rule.weights(joined, joined_dates, tickers)
        return out[..., len(self.history):, :]

    def weights_at(self, prices: np.ndarray, dates: np.ndarray, tickers: Sequence[str],
                   rows: np.ndarray) -> np.ndarray | None:
        """The primed rule's ``weights_at`` on ``rows`` of the prices (None when the rule has none)."""
        at = getattr(self.rule, "weights_at", None)
        if at is None:
            return None
        rows = np.asarray(rows) + len(self.history)
        shared = self._switch_level(prices, dates, tickers)
        if shared is not None:
            found = at(*shared[1:], tickers, rows, level=shared[0])
            if found is not None:
                return found
        joined, joined_dates = self.joined(prices, dates, tickers)
        return at(joined, joined_dates, tickers, rows)

    def picks(self, prices: np.ndarray, dates: np.ndarray, tickers: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """The primed rule's ``picks`` on the rows of the prices (None when the rule has none or declines)."""
        picks_of = getattr(self.rule, "picks", None)
        if picks_of is None:
            return None
        shared = self._switch_level(prices, dates, tickers)
        if shared is not None:
            found = picks_of(*shared[1:], tickers, level=shared[0], first_row=len(self.history))
            if found is not None:
                return found
        joined, joined_dates = self.joined(prices, dates, tickers)
        found = picks_of(joined, joined_dates, tickers)
        if found is None:
            return None
        palette, picks = found
        return palette, picks[..., len(self.history):]

    def _switch_level(self, prices: np.ndarray, dates: np.ndarray, tickers: Sequence[str]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """For a basket switch on paths with every close (so with the same listings): ``(level (P, L + T), the
        first path joined, its dates)``, the basket's index over the joined rows computed without joining the
        paths (the ``(P, L + T, N)`` float64 copy and its index cost most of the signal). None otherwise."""
        if not self.whole_chunk or np.ndim(prices) != 3:
            return None
        others = [t for t in self.rule.universe if t not in self.rule.basket]
        in_universe = column_positions(self.rule.universe, self.rule.basket)
        lead = self._scaled_history(np.asarray(self.anchor, dtype=float))[:, in_universe]
        # Every close of the on and off books' names too, or the paths may list those names differently.
        level = equal_weight_index_after(lead, prices, column_positions(tickers, self.rule.basket),
                                         checked=column_positions(tickers, others))
        if level is None:
            return None
        return (level, *self.joined(prices[:1], dates, tickers))

    @property
    def whole_chunk(self) -> bool:
        """Whether a chunk of paths is best given in one call, with every column: a basket switch with an
        anchor reads the paths in place, in parallel (:meth:`_switch_level`)."""
        return isinstance(self.rule, _BasketSwitch) and self.anchor is not None

    def _scaled_history(self, join: np.ndarray) -> np.ndarray:
        """The history with each ticker rescaled so that its last close is ``join`` (``(..., U)``, the paths'
        start prices); ``(..., L, U)``, NaN where a ticker cannot be rescaled."""
        last = self.history[-1]
        scale = np.where(np.isfinite(last) & (last > 0), join / np.where(last > 0, last, 1.0), np.nan)
        return self.history * scale[..., None, :]

    def joined(self, prices: np.ndarray, dates: np.ndarray, tickers: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The rescaled history then ``prices`` (float64, whatever the prices' dtype), and their dates."""
        positions = column_positions(tickers, self.rule.universe)
        join = np.asarray(self.anchor, dtype=float) if self.anchor is not None else prices[..., 0, positions]
        n_lead = len(self.history)
        joined = np.empty(prices.shape[:-2] + (n_lead + prices.shape[-2],) + prices.shape[-1:])
        lead = joined[..., :n_lead, :]
        lead[...] = np.nan
        lead[..., positions] = self._scaled_history(join)
        joined[..., n_lead:, :] = prices
        return joined, np.concatenate([self.dates, dates])
