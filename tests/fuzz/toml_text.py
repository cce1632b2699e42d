"""A small TOML writer for generated documents (tomllib reads only), and value pools shared by the fuzz tests."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import strategies as st

#: Scalars a user might write anywhere: right and wrong types, extreme and non-finite numbers, odd text.
SCALARS = st.one_of(
    st.sampled_from([0, 1, -1, 0.5, -0.5, 2, 5, 1e9, -1e9, 1e308, -1e308, 1e-9, math.inf, -math.inf, math.nan,
                     True, False, "", "x", "SPY", "spy", "monthly", "none", "cash", "renormalize", "=1+1", "5%",
                     "a\nb", "<b>x</b>", "**x**", "😀", "2025-01-01", "2027-12-31", "0.05"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=12),
)


def _key(key: str) -> str:
    return key if key and all(c.isalnum() or c in "_-" for c in key) else json.dumps(key)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_scalar(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value), ensure_ascii=False)


def dumps(document: dict[str, Any]) -> str:
    """TOML text of ``document``: scalars first, then ``[tables]`` (nested tables dotted), lists of tables."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    arrays: list[tuple[str, list[dict[str, Any]]]] = []

    def walk(prefix: str, table: dict[str, Any]) -> None:
        for key, value in table.items():
            name = f"{prefix}.{_key(key)}" if prefix else _key(key)
            if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
                walk(name, value)
            elif isinstance(value, dict):
                tables.append((name, value))
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                arrays.append((name, value))

    for key, value in document.items():
        if not (isinstance(value, dict) or (isinstance(value, list) and value and
                                            all(isinstance(v, dict) for v in value))):
            lines.append(f"{_key(key)} = {_scalar(value)}")
    walk("", {k: v for k, v in document.items() if isinstance(v, dict | list)})
    for name, table in tables:
        lines.append(f"[{name}]")
        lines += [f"{_key(k)} = {_scalar(v)}" for k, v in table.items()]
    for name, items in arrays:
        for item in items:
            lines.append(f"[[{name}]]")
            lines += [f"{_key(k)} = {_scalar(v)}" for k, v in item.items() if not isinstance(v, dict)]
            for k, v in item.items():
                if isinstance(v, dict):
                    lines.append(f"[{name}.{_key(k)}]")
                    lines += [f"{_key(kk)} = {_scalar(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


@st.composite
def mutated_text(draw: st.DrawFn, base: str) -> str:
    """``base`` with a few characters deleted, inserted or a line duplicated (syntax errors and near-misses)."""
    text = base
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["delete", "insert", "dup_line", "drop_line"]))
        pos = draw(st.integers(0, max(len(text) - 1, 0)))
        if kind == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 5)):]
        elif kind == "insert":
            text = text[:pos] + draw(st.sampled_from(["[", "]", "=", '"', "\n", "#", ".", "-", "0", "\x00", "é"])) + text[pos:]
        else:
            lines = text.splitlines()
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                lines = lines[: i + 1] + [lines[i]] + lines[i + 1:] if kind == "dup_line" else lines[:i] + lines[i + 1:]
                text = "\n".join(lines) + "\n"
    return text


@st.composite
def perturbed(draw: st.DrawFn, base: dict[str, Any], values: st.SearchStrategy = SCALARS) -> dict[str, Any]:
    """A deep copy of ``base`` with 0-2 changes: a value replaced, a key removed, or an unknown key added,
    anywhere in the nested tables (so about a third of the documents stay valid)."""
    doc = json.loads(json.dumps(base))
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2]))):
        table = doc
        while True:  # walk down to a random nested table
            subtables = [k for k, v in table.items() if isinstance(v, dict)]
            lists = [k for k, v in table.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
            choices = subtables + lists
            if not choices or draw(st.booleans()):
                break
            key = draw(st.sampled_from(choices))
            table = table[key] if isinstance(table[key], dict) else table[key][0]
        kind = draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        if kind == "add" or not table:
            table[draw(st.sampled_from(["bogus", "prior", "Start", "groups", "weights"]))] = draw(values)
        elif kind == "remove":
            del table[draw(st.sampled_from(sorted(table)))]
        else:
            table[draw(st.sampled_from(sorted(table)))] = draw(values)
    return doc
