"""Scenario specifications: a TOML text -> validated, frozen dataclasses.

A scenario names groups of tickers and, for each phase of the timeline, the market's drift and volatility
factor plus each group's excess drift and volatility multiplier; crash events add one-day log-return jumps.

Conventions (the generators in ``data.generators`` follow them):

* Drifts are **annual log drifts** (continuously compounded growth of the *median* path): a ticker with drift
  ``d`` has an expected daily log return of ``d / 252``. Its arithmetic expected return is higher by
  ``sigma**2 / 2``; we do not subtract ``sigma**2 / 2`` because the figures we write down (e.g. "3-5x in ten
  years") already are geometric growth rates.
* A ticker's drift in a phase is ``market_drift + excess_drift[group] + excess_drift[ticker]`` (a ticker key is
  optional and refines its group); its daily volatility is ``calibrated vol x market_vol x vol_mult[group] x
  vol_mult[ticker]`` (missing multipliers are 1).
* Phases are sorted by start date and may not overlap or leave gaps; days before the first phase use the first
  phase and days after the last phase's end (which may be omitted) use the last phase.
* ``prior`` (optional, in [0, 1]) is the scenario's probability before any evidence, stated with its source in
  a comment; studies renormalise the priors of the scenarios they run so that they sum to 1. ``order``
  (optional integer) places the scenario in listings (the essay's numbering for the shipped files).
* A crash event happens once per path on a day drawn uniformly from the business days of its window; ``size`` is
  a log-return jump between :data:`MIN_JUMP` (-3: a 95% fall) and :data:`MAX_JUMP` (1: x2.7 in a day), either
  one number applied to every ticker of ``groups`` or a table ``{group or ticker: size}``. Its window must lie
  on the scenario's timeline (not before the first phase starts, nor after a last phase that ends). A day
  drawn outside the simulated dates means the crash does not happen on that path.

Errors are ``DataError`` with one line naming the file, the line and the key, with a close-match suggestion
for misspelt keys, groups and tickers.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from theses.data.errors import DataError
from theses.util import TomlLocator, suggest, toml_key_lines, unknown_key

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
TRADING_DAYS_PER_YEAR = 252
#: One-day log-return jumps a crash may have: -3 is a 95% fall, 1 a rise to 2.7x (beyond: a typo, e.g. 5 = x148).
MIN_JUMP, MAX_JUMP = -3.0, 1.0
#: A scenario file is a page of text; a larger one is not a scenario.
MAX_SPEC_BYTES = 1 << 20

_TOP_KEYS = ("name", "description", "t_df", "prior", "order", "groups", "phases", "crashes")
_PHASE_KEYS = ("start", "end", "market_drift", "market_vol", "excess_drift", "vol_mult", "description")
_CRASH_KEYS = ("name", "start", "end", "size", "groups", "description")
_TICKER_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-^=]*$")

#: Kept for callers of the old name: each key path's line (see :func:`theses.util.toml_key_lines`).
key_lines = toml_key_lines


@dataclass(frozen=True)
class PhaseSpec:
    """One phase of a scenario's timeline.

    Attributes
    ----------
    name : the phase's key in ``[phases.<name>]``.
    start, end : first and last calendar day (``end`` is None for an open-ended last phase).
    market_drift : annual log drift of every ticker before group/ticker excess.
    market_vol : factor on every ticker's calibrated volatility.
    excess_drift : ``{group or ticker: annual log excess drift}``.
    vol_mult : ``{group or ticker: volatility multiplier}``.
    """

    name: str
    start: pd.Timestamp
    end: pd.Timestamp | None
    market_drift: float
    market_vol: float = 1.0
    excess_drift: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    vol_mult: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class CrashEvent:
    """A one-day log-return jump on a seeded random business day inside ``[start, end]``.

    Attributes
    ----------
    name : label used in messages.
    start, end : the window (inclusive).
    sizes : ``{group or ticker: log-return jump}``; a ticker key overrides its group's size.
    """

    name: str
    start: pd.Timestamp
    end: pd.Timestamp
    sizes: Mapping[str, float]


@dataclass(frozen=True)
class ScenarioSpec:
    """A validated scenario (see the module docstring for the conventions).

    ``prior`` is the file's ``prior`` (None when it states none); ``order`` its place in listings.
    """

    name: str
    description: str
    t_df: float
    groups: Mapping[str, tuple[str, ...]]
    phases: tuple[PhaseSpec, ...]
    crashes: tuple[CrashEvent, ...]
    source: str = "<scenario>"
    prior: float | None = None
    order: int | None = None

    @property
    def tickers(self) -> tuple[str, ...]:
        """Every simulated ticker, in group order then listing order."""
        return tuple(t for members in self.groups.values() for t in members)

    def group_of(self, ticker: str) -> str:
        """The group a ticker belongs to."""
        for group, members in self.groups.items():
            if ticker in members:
                return group
        raise KeyError(ticker)

    def phase_at(self, date: pd.Timestamp) -> PhaseSpec:
        """The phase that governs ``date`` (first phase before the timeline, last phase after it)."""
        chosen = self.phases[0]
        for phase in self.phases:
            if phase.start <= date:
                chosen = phase
        return chosen


class _Context(TomlLocator):
    """Raises DataError messages that name the source, line and key path."""

    def fail(self, path: tuple[Any, ...], problem: str) -> DataError:
        dotted = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[")
        return DataError(f"{self.where(path)}: {dotted or 'top level'}: {problem}")


def _suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = suggest(word, choices)
    return f" (did you mean '{close}'?)" if close else ""


def _check_keys(ctx: _Context, path: tuple[Any, ...], table: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    key = unknown_key(table, allowed)
    if key is not None:
        raise ctx.fail((*path, key), f"unknown key{_suggest(key, allowed)}; allowed keys: {', '.join(allowed)}")


def _number(ctx: _Context, path: tuple[Any, ...], value: Any, *, low: float | None = None,
            high: float | None = None, allow_inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.fail(path, f"expected a number, got {value!r}; write e.g. 0.05")
    number = float(value)
    if math.isnan(number) or (math.isinf(number) and not allow_inf):
        raise ctx.fail(path, f"{value!r} is not a finite number; write a finite value")
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"between {low} and {high}" if low is not None and high is not None else (
            f"at least {low}" if low is not None else f"at most {high}")
        raise ctx.fail(path, f"{number} is out of range; use a value {bounds}")
    return number


def _date(ctx: _Context, path: tuple[Any, ...], value: Any) -> pd.Timestamp:
    if isinstance(value, dt.datetime):
        return pd.Timestamp(value.date())
    if isinstance(value, dt.date):
        return pd.Timestamp(value)
    if isinstance(value, str):
        try:
            return pd.Timestamp(dt.date.fromisoformat(value))
        except ValueError:
            pass
    raise ctx.fail(path, f"expected a date, got {value!r}; write e.g. 2027-01-01")


def _table(ctx: _Context, path: tuple[Any, ...], value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ctx.fail(path, f"expected a table ({what}), got {type(value).__name__}")
    return value


def _parse_groups(ctx: _Context, raw: Any) -> dict[str, tuple[str, ...]]:
    table = _table(ctx, ("groups",), raw, "group name = [tickers]")
    if not table:
        raise ctx.fail(("groups",), "no groups; add e.g. index = [\"SPY\"]")
    groups: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for group, members in table.items():
        path = ("groups", group)
        if not isinstance(members, list) or not members:
            raise ctx.fail(path, "expected a non-empty list of tickers, e.g. [\"SPY\", \"RSP\"]")
        tickers = []
        for member in members:
            if not isinstance(member, str) or not _TICKER_RE.match(member.strip().upper()):
                raise ctx.fail(path, f"{member!r} is not a ticker; write tickers as strings like \"SPY\"")
            ticker = member.strip().upper()
            if ticker in seen:
                raise ctx.fail(path, f"ticker {ticker} is already in group '{seen[ticker]}'; "
                                     "list each ticker in one group only")
            seen[ticker] = group
            tickers.append(ticker)
        groups[group] = tuple(tickers)
    return groups


def _parse_targets(ctx: _Context, path: tuple[Any, ...], raw: Any, groups: Mapping[str, tuple[str, ...]],
                   *, low: float, high: float, what: str) -> MappingProxyType:
    """A ``{group or ticker: number}`` table, validated against the defined groups and tickers."""
    table = _table(ctx, path, raw, what)
    names = list(groups) + [t for members in groups.values() for t in members]
    out: dict[str, float] = {}
    for key, value in table.items():
        name = key if key in groups else key.upper()
        if name not in names:
            raise ctx.fail((*path, key), f"unknown group or ticker{_suggest(key, names)}; "
                                         "use a group defined in [groups] or one of its tickers")
        out[name] = _number(ctx, (*path, key), value, low=low, high=high)
    return MappingProxyType(out)


def _parse_phases(ctx: _Context, raw: Any, groups: Mapping[str, tuple[str, ...]]) -> tuple[PhaseSpec, ...]:
    table = _table(ctx, ("phases",), raw, "[phases.<name>] sub-tables")
    if not table:
        raise ctx.fail(("phases",), "no phases; add at least one [phases.<name>] table")
    phases: list[PhaseSpec] = []
    for name, body in table.items():
        path = ("phases", name)
        body = _table(ctx, path, body, "start, end, market_drift, ...")
        _check_keys(ctx, path, body, _PHASE_KEYS)
        for required in ("start", "market_drift"):
            if required not in body:
                raise ctx.fail(path, f"missing key '{required}'; add it to [phases.{name}]")
        start = _date(ctx, (*path, "start"), body["start"])
        end = _date(ctx, (*path, "end"), body["end"]) if "end" in body else None
        if end is not None and end < start:
            raise ctx.fail((*path, "end"), f"end {end.date()} is before start {start.date()}; swap them")
        phases.append(PhaseSpec(
            name=name, start=start, end=end,
            market_drift=_number(ctx, (*path, "market_drift"), body["market_drift"], low=-2.0, high=2.0),
            market_vol=_number(ctx, (*path, "market_vol"), body.get("market_vol", 1.0), low=1e-6, high=20.0),
            excess_drift=_parse_targets(ctx, (*path, "excess_drift"), body.get("excess_drift", {}), groups,
                                        low=-2.0, high=2.0, what="group = annual log excess drift"),
            vol_mult=_parse_targets(ctx, (*path, "vol_mult"), body.get("vol_mult", {}), groups,
                                    low=1e-6, high=20.0, what="group = volatility multiplier"),
        ))
    phases.sort(key=lambda p: p.start)
    for before, after in zip(phases, phases[1:], strict=False):
        if before.end is None:
            raise ctx.fail(("phases", before.name, "start"),
                           f"phase '{before.name}' has no end but phase '{after.name}' follows it; "
                           f"add end = {(after.start - pd.Timedelta(days=1)).date()}")
        if after.start <= before.end:
            raise ctx.fail(("phases", after.name, "start"),
                           f"{after.start.date()} overlaps phase '{before.name}' (ends {before.end.date()}); "
                           f"start it on {(before.end + pd.Timedelta(days=1)).date()}")
        if after.start > before.end + pd.Timedelta(days=1):
            raise ctx.fail(("phases", after.name, "start"),
                           f"{after.start.date()} leaves a gap after phase '{before.name}' "
                           f"(ends {before.end.date()}); start it on {(before.end + pd.Timedelta(days=1)).date()}")
    return tuple(phases)


def _parse_crashes(ctx: _Context, raw: Any, groups: Mapping[str, tuple[str, ...]]) -> tuple[CrashEvent, ...]:
    if not isinstance(raw, list):
        raise ctx.fail(("crashes",), "expected [[crashes]] tables (an array of tables)")
    events = []
    for number, body in enumerate(raw):
        path = ("crashes", number)
        body = _table(ctx, path, body, "name, start, end, size, groups")
        _check_keys(ctx, path, body, _CRASH_KEYS)
        for required in ("start", "end", "size"):
            if required not in body:
                raise ctx.fail(path, f"missing key '{required}'; add it to this [[crashes]] table")
        start = _date(ctx, (*path, "start"), body["start"])
        end = _date(ctx, (*path, "end"), body["end"])
        if end < start:
            raise ctx.fail((*path, "end"), f"end {end.date()} is before start {start.date()}; swap them")
        if not len(pd.bdate_range(start, end)):
            raise ctx.fail((*path, "end"), "the window holds no business day; widen it")
        name = str(body.get("name", f"crash {number + 1}"))
        size = body["size"]
        if isinstance(size, dict):
            if "groups" in body:
                raise ctx.fail((*path, "groups"), "give either size = {group = jump} or groups + one size, not both")
            sizes = _parse_targets(ctx, (*path, "size"), size, groups, low=MIN_JUMP, high=MAX_JUMP,
                                   what="group = log-return jump")
        else:
            jump = _number(ctx, (*path, "size"), size, low=MIN_JUMP, high=MAX_JUMP)
            members = body.get("groups")
            if not isinstance(members, list) or not members:
                raise ctx.fail(path, "missing key 'groups'; name the groups the crash hits, e.g. groups = [\"compute\"]")
            sizes = _parse_targets(ctx, (*path, "groups"), {g: jump for g in members if isinstance(g, str)},
                                   groups, low=MIN_JUMP, high=MAX_JUMP, what="group names")
        if not sizes:
            raise ctx.fail((*path, "size"), "the crash hits nothing; name at least one group")
        events.append(CrashEvent(name=name, start=start, end=end, sizes=sizes))
    return tuple(events)


def _check_crash_windows(ctx: _Context, crashes: tuple[CrashEvent, ...], phases: tuple[PhaseSpec, ...]) -> None:
    """Every crash window lies on the timeline: not before the first phase, nor after a last phase's end."""
    first, last = phases[0], phases[-1]
    for number, event in enumerate(crashes):
        if event.end < first.start:
            raise ctx.fail(("crashes", number, "end"),
                           f"crash '{event.name}' ends {event.end.date()}, before the first phase "
                           f"'{first.name}' starts ({first.start.date()}); move it onto the timeline")
        if last.end is not None and event.start > last.end:
            raise ctx.fail(("crashes", number, "start"),
                           f"crash '{event.name}' starts {event.start.date()}, after the last phase "
                           f"'{last.name}' ends ({last.end.date()}); move it onto the timeline")


def parse_scenario(text: str, source: str = "<scenario>", name: str | None = None) -> ScenarioSpec:
    """Parse and validate a scenario TOML text.

    Parameters
    ----------
    text : the TOML text.
    source : what to call the text in error messages (usually the file name).
    name : the scenario's name when the text has no ``name`` key (usually the file stem).

    Returns
    -------
    ScenarioSpec

    Raises
    ------
    DataError
        One line naming ``source``, the line and the key, and how to fix it.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{source}: invalid TOML: {exc}; fix the syntax there") from None
    ctx = _Context(text, source)
    _check_keys(ctx, (), raw, _TOP_KEYS)
    for required in ("groups", "phases"):
        if required not in raw:
            raise ctx.fail((), f"missing [{required}] table; see data/scenarios/jetsons.toml for an example")
    scenario_name = raw.get("name", name or Path(source).stem)
    if not isinstance(scenario_name, str) or not scenario_name:
        raise ctx.fail(("name",), "expected a non-empty string")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ctx.fail(("description",), "expected a string")
    # df > 2 keeps the variance finite (the shocks are scaled to unit variance); inf means normal shocks.
    t_df = _number(ctx, ("t_df",), raw.get("t_df", 5.0), low=2.5, allow_inf=True)
    prior = _number(ctx, ("prior",), raw["prior"], low=0.0, high=1.0) if "prior" in raw else None
    order = raw.get("order")
    if order is not None and (isinstance(order, bool) or not isinstance(order, int)):
        raise ctx.fail(("order",), f"expected a whole number, got {order!r}; write e.g. order = 3")
    groups = _parse_groups(ctx, raw["groups"])
    phases = _parse_phases(ctx, raw["phases"], groups)
    crashes = _parse_crashes(ctx, raw.get("crashes", []), groups)
    _check_crash_windows(ctx, crashes, phases)
    return ScenarioSpec(name=scenario_name, description=" ".join(description.split()), t_df=t_df,
                        groups=MappingProxyType(groups), phases=phases, crashes=crashes, source=source,
                        prior=prior, order=order)


def read_spec_text(path: Path) -> str:
    """The text of a scenario file; DataError (one line) when it is too large, unreadable or not UTF-8."""
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise DataError(f"scenario file {path} is {size:,} bytes; a scenario is a short TOML text "
                            f"(at most {MAX_SPEC_BYTES:,} bytes): check the path")
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"scenario file {path} cannot be read ({exc.strerror or exc}); check its permissions") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"scenario file {path} line {line}: not UTF-8 text (byte {data[exc.start]:#04x}); "
                        "save it as UTF-8") from None


def list_scenarios() -> list[str]:
    """Names of the scenarios shipped in ``data/scenarios/``, by their ``order`` key (the essay's), then name."""

    def position(path: Path) -> tuple[float, str]:
        try:
            order = tomllib.loads(path.read_text(encoding="utf-8")).get("order")
        except (OSError, tomllib.TOMLDecodeError):  # load_scenario reports a broken file in one line
            order = None
        return (float(order) if isinstance(order, int) and not isinstance(order, bool) else math.inf, path.stem)

    return [p.stem for p in sorted(SCENARIO_DIR.glob("*.toml"), key=position)]


def load_scenario(name_or_path: str | Path) -> ScenarioSpec:
    """Load a shipped scenario by name (``"jetsons"``) or a user's spec by path (``"my/spec.toml"``)."""
    text_name = str(name_or_path)
    path = Path(text_name)
    if text_name.endswith(".toml") or path.is_file():
        if not path.is_file():
            raise DataError(f"scenario file {path} not found; check the path")
        return parse_scenario(read_spec_text(path), source=str(path), name=path.stem)
    shipped = list_scenarios()
    if text_name not in shipped:
        raise DataError(f"unknown scenario '{text_name}'{_suggest(text_name, shipped)}; "
                        f"use one of {', '.join(shipped)}, 'all' or a path to a .toml spec")
    file = SCENARIO_DIR / f"{text_name}.toml"
    return parse_scenario(file.read_text(encoding="utf-8"), source=f"data/scenarios/{file.name}", name=text_name)
