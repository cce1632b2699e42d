"""Parameter grids: ``"window=100:300:50,switch_band=0,0.02"`` -> typed points -> one strategy per point.

Syntax: dimensions are ``NAME=VALUES`` separated by commas; a comma-separated item without ``=`` is one more
value of the dimension before it. A value is a number, ``true``/``false``, ``none`` (for an optional
parameter), text, or an inclusive range ``START:STOP:STEP`` (``100:300:50`` = 100, 150, 200, 250, 300).
The grid is the cartesian product of the dimensions, the first varying slowest.

Names are checked against what the strategy lets one vary: a registered strategy's parameter dataclass
fields (numbers, text, true/false, optional ones), rebuilt with ``dataclasses.replace(params, **point)``
and the module's ``make_strategy``; a portfolio ``.toml``'s keys (``band_abs``, ``trend_filter.window``,
``weights.NVDA``, ``costs.fees_bps``), rebuilt from the file with the key set. A wrong name, a value of the
wrong type, an empty or repeated dimension, or a point the strategy refuses is one error line that names
it (and the nearest field, for a misspelt name).
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import math
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from theses.studies.errors import StudyError
from theses.util import did_you_mean

if TYPE_CHECKING:
    from theses.strategies import Strategy

GridValue = int | float | str | bool | None
MAX_POINTS = 10_000
EXAMPLE = 'e.g. --grid "window=100:300:50,switch_band=none,0.25"'
_INT = re.compile(r"^[-+]?\d+$")
_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class Dimension:
    """One swept parameter and its values, in the order given."""

    name: str
    values: tuple[GridValue, ...]


@dataclass(frozen=True)
class Grid:
    """The cartesian product of its dimensions (the first varies slowest)."""

    dimensions: tuple[Dimension, ...]

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    @property
    def size(self) -> int:
        return math.prod(len(d.values) for d in self.dimensions)

    def points(self) -> list[dict[str, GridValue]]:
        """Every grid point as ``{name: value}``."""
        names = self.names
        return [dict(zip(names, combo, strict=True))
                for combo in itertools.product(*(d.values for d in self.dimensions))]


def point_label(point: Mapping[str, GridValue]) -> str:
    """``window=150, switch_band=none``: a point as text for tables and messages."""
    return ", ".join(f"{k}={format_value(v)}" for k, v in point.items())


def format_value(value: GridValue) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


# ----------------------------------------------------------------------------------------------- parsing
def split_grid(text: str | Sequence[str]) -> list[tuple[str, list[str]]]:
    """``"a=1,2,b=x"`` (or several such texts) -> ``[("a", ["1", "2"]), ("b", ["x"])]``, names unchecked."""
    texts = [text] if isinstance(text, str) else list(text)
    dims: list[tuple[str, list[str]]] = []
    for item in (part.strip() for t in texts for part in str(t).split(",")):
        if "=" in item:
            name, _, value = item.partition("=")
            name = name.strip()
            if not _NAME.match(name):
                raise StudyError(f"--grid: {name!r} is not a parameter name; {EXAMPLE}")
            if any(name == d for d, _ in dims):
                raise StudyError(f"--grid names {name} twice; give all of its values in one place, e.g. {name}=1,2,3")
            dims.append((name, [value.strip()] if value.strip() else []))
        elif not item:
            continue
        elif not dims:
            raise StudyError(f"--grid item {item!r} has no NAME=; start with a parameter name, {EXAMPLE}")
        else:
            dims[-1][1].append(item)
    if not dims:
        raise StudyError(f"--grid is empty; name at least one parameter and its values, {EXAMPLE}")
    for name, values in dims:
        if not values:
            raise StudyError(f"--grid: {name}= has no values; give some, e.g. {name}=1,2 or {name}=10:50:10")
    return dims


def expand_range(name: str, text: str) -> list[int | float]:
    """``START:STOP:STEP`` -> the values from START to STOP inclusive (whole numbers when all three are)."""
    parts = [p.strip() for p in text.split(":")]
    if len(parts) != 3 or not all(_FLOAT.match(p) for p in parts):
        raise StudyError(f"--grid: {name}={text} is not a range START:STOP:STEP of numbers, e.g. {name}=100:300:50")
    start, stop, step = (float(p) for p in parts)
    if step <= 0:
        raise StudyError(f"--grid: {name}={text}: the step must be positive, e.g. {name}=100:300:50")
    if stop < start:
        raise StudyError(f"--grid: {name}={text} is an empty range (STOP below START); write {name}={parts[1]}:{parts[0]}:{parts[2]}")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_POINTS:
        raise StudyError(f"--grid: {name}={text} has {count} values; use a coarser step (at most {MAX_POINTS})")
    if all(_INT.match(p) for p in parts):
        return [int(start) + i * int(step) for i in range(count)]
    return [float(np.round(start + i * step, 12)) for i in range(count)]


def literal(text: str) -> GridValue:
    """A value as text -> int, float, bool, None or the text itself (quotes removed)."""
    lowered = text.lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text.strip("\"'")


def raw_values(name: str, items: Sequence[Any]) -> list[GridValue]:
    """One dimension's values: texts expanded (ranges) and read as literals; Python values kept."""
    values: list[GridValue] = []
    for item in items:
        if isinstance(item, str) and ":" in item and not re.match(r"^\d{4}-", item):
            values.extend(expand_range(name, item))
        elif isinstance(item, str):
            values.append(literal(item))
        else:
            values.append(item)
    return values


# ---------------------------------------------------------------------------------------------- targets
@dataclass(frozen=True)
class Field:
    """A parameter the grid may set: its kind (``int``, ``float``, ``bool``, ``str``, ``any``) and ``None``-ability."""

    name: str
    kind: str
    optional: bool = False

    def coerce(self, value: GridValue) -> GridValue:
        """``value`` as this field's type, or a StudyError naming the field."""
        if value is None:
            if self.optional or self.kind == "any":
                return None
            raise StudyError(f"--grid: {self.name} cannot be none; give {self._kind_text()}")
        if self.kind == "any":
            return value
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value),
            "bool": isinstance(value, bool),
            "str": isinstance(value, str),
        }[self.kind]
        if not ok:
            raise StudyError(f"--grid: {self.name}={format_value(value)}: {self.name} takes {self._kind_text()}")
        return float(value) if self.kind == "float" else value

    def _kind_text(self) -> str:
        text = {"int": "whole numbers", "float": "numbers", "bool": "true or false", "str": "text"}[self.kind]
        return text + (" or none" if self.optional else "")


def _field_kind(annotation: Any) -> tuple[str, bool] | None:
    """(kind, optional) of a dataclass field's type, or None for a type the grid cannot set (tuples ...)."""
    optional = False
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) != 1:
            return None
        annotation = args[0]
    kinds = {int: "int", float: "float", bool: "bool", str: "str"}
    return (kinds[annotation], optional) if annotation in kinds else None


class ParamsTarget:
    """A registered strategy: grid names are fields of its parameter dataclass."""

    def __init__(self, strategy: Strategy) -> None:
        params = strategy.params
        if not dataclasses.is_dataclass(params):
            raise StudyError(f"strategy {strategy.name} has no parameter dataclass to sweep")
        self.strategy = strategy
        self.params = params
        self.module = importlib.import_module(type(params).__module__)
        hints = typing.get_type_hints(type(params))
        self.fields: dict[str, Field | None] = {}
        for f in dataclasses.fields(params):
            kind = _field_kind(hints.get(f.name))
            self.fields[f.name] = Field(f.name, *kind) if kind else None

    @property
    def name(self) -> str:
        return self.strategy.name

    def field(self, name: str) -> Field:
        if name not in self.fields:
            raise StudyError(f"--grid: {self.name} has no parameter {name!r}; {did_you_mean(name, self.fields, 0.5)}"
                             f"its parameters: {', '.join(self.fields)}")
        found = self.fields[name]
        if found is None:
            raise StudyError(f"--grid: {self.name}'s {name} is not a number, text or true/false and cannot be "
                             "swept; write the book as a portfolio .toml to vary it")
        return found

    def default_point(self, names: Iterable[str]) -> dict[str, GridValue]:
        return {name: getattr(self.params, name) for name in names}

    def build(self, point: Mapping[str, GridValue]) -> Strategy:
        return self.module.make_strategy(dataclasses.replace(self.params, **point))

    def identity(self) -> dict[str, Any]:
        return {"strategy": self.name, "params": repr(self.params)}


class TomlTarget:
    """A portfolio ``.toml``: grid names are its keys (``band_abs``, ``trend_filter.window``, ``weights.NVDA``)."""

    def __init__(self, text: str, source: str) -> None:
        import tomllib

        from theses.strategies import strategy_from_toml
        from theses.strategies.user_portfolio import COST_KEYS, TOP_KEYS, TREND_KEYS

        self.text, self.source = text, source
        self.strategy = strategy_from_toml(text, source=source)
        self.raw = tomllib.loads(text)
        allowed = {k: None for k in TOP_KEYS if k not in ("weights", "trend_filter", "costs")}
        allowed |= {f"trend_filter.{k}": None for k in TREND_KEYS if k != "basket"}
        allowed |= {f"costs.{k}": None for k in COST_KEYS}
        allowed |= {f"weights.{t}": None for t in self.raw.get("weights", {})}
        self.fields = list(allowed)

    @property
    def name(self) -> str:
        return self.strategy.name

    def field(self, name: str) -> Field:
        if name not in self.fields:
            raise StudyError(f"--grid: {self.source} has no key {name!r} to sweep; {did_you_mean(name, self.fields, 0.5)}"
                             f"keys: {', '.join(self.fields)}")
        return Field(name, "any")

    def _lookup(self, name: str) -> Any:
        node: Any = self.raw
        for part in name.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def default_point(self, names: Iterable[str]) -> dict[str, GridValue]:
        return {name: self._lookup(name) for name in names}

    def build(self, point: Mapping[str, GridValue]) -> Strategy:
        import copy

        import tomli_w

        from theses.strategies import StrategyError, strategy_from_toml

        raw = copy.deepcopy(self.raw)
        for name, value in point.items():
            *tables, key = name.split(".")
            node = raw
            for table in tables:
                node = node.setdefault(table, {})
            if value is None:
                node.pop(key, None)
            else:
                node[key] = value
        try:
            return strategy_from_toml(tomli_w.dumps(raw), source="<grid>")
        except StrategyError as exc:
            message = re.sub(r"^<grid>( line \d+)?: ", "", str(exc))
            raise StudyError(f"--grid point {point_label(point)}: {message}") from None

    def identity(self) -> dict[str, Any]:
        return {"strategy": self.name, "toml": self.text}


def grid_target(strategy: Strategy, toml_text: str | None = None, source: str | None = None) -> ParamsTarget | TomlTarget:
    """What a grid varies: the TOML file when the strategy came from one, else the parameter dataclass."""
    if toml_text is not None:
        return TomlTarget(toml_text, source or "portfolio.toml")
    return ParamsTarget(strategy)


def build_grid(spec: str | Sequence[str] | Mapping[str, Any], target: ParamsTarget | TomlTarget) -> Grid:
    """Parse and type-check a grid against ``target``: ``"a=1:3:1,b=x,y"`` or ``{"a": [1, 2], "b": "1:3:1"}``."""
    if isinstance(spec, Mapping):
        items = [(str(k), [v] if isinstance(v, str | int | float | bool) or v is None else list(v))
                 for k, v in spec.items()]
        if not items:
            raise StudyError(f"--grid is empty; name at least one parameter and its values, {EXAMPLE}")
    else:
        items = split_grid(spec)
    dims = []
    for name, raw in items:
        field = target.field(name)
        values = [field.coerce(v) for v in raw_values(name, raw)]
        if not values:
            raise StudyError(f"--grid: {name} has no values; give some, e.g. {name}=1,2")
        repeated = [format_value(v) for i, v in enumerate(values) if v in values[:i]]
        if repeated:
            raise StudyError(f"--grid: {name} lists {repeated[0]} twice; give each value once")
        dims.append(Dimension(name, tuple(values)))
    grid = Grid(tuple(dims))
    if grid.size > MAX_POINTS:
        raise StudyError(f"--grid has {grid.size} points; at most {MAX_POINTS}: use fewer values or coarser steps")
    return grid


def build_strategies(target: ParamsTarget | TomlTarget, points: Sequence[Mapping[str, GridValue]]) -> list[Strategy]:
    """One strategy per point, each tried on a small made-up price panel so a value it refuses fails now.

    Raises
    ------
    StudyError
        Naming the first point the strategy refuses and why (e.g. a moving-average window below 1).
    """
    import pandas as pd

    from theses.strategies import StrategyError

    built = []
    for point in points:
        try:
            strategy = target.build(point)
            days = pd.bdate_range("2020-01-01", periods=30)
            wave = 100.0 * (1.0 + 0.01 * np.sin(np.arange(len(days)) / 3.0))
            prices = np.repeat(wave[:, None], len(strategy.universe), axis=1)
            strategy.target_weights_array(prices, days, list(strategy.universe))
        except StudyError:
            raise
        except (StrategyError, ValueError, TypeError, IndexError) as exc:
            raise StudyError(f"--grid point {point_label(point)}: {' '.join(str(exc).split())}") from None
        built.append(strategy)
    return built
