"""The report's charts as data: each series stored once, plotly.js inlined once (compressed), drawn by a loader.

A report holds many figures that share series (the same equity curve in the comparison, the small multiples
and a tearsheet; the same dates under every curve). :class:`FigureStore` keeps every figure as plotly's JSON
with its arrays replaced by references into one table of arrays, each distinct array stored once; dates are
written as day steps (``2015-01-02`` then ``+3, +1, +1``), numbers rounded to six significant digits (the
charts round further, to the precision they show), and plotly's layout template once for the page.

plotly.js (4.8 MB minified) is inlined once, gzip-compressed and base64-encoded (2 MB); the loader unpacks it
with the browser's ``DecompressionStream`` (Chrome/Edge 80, Firefox 113, Safari 16.4 and later), so the text
and tables paint at once and the charts draw after, those on screen first and the rest one by one.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np
import plotly.graph_objects as go

ARRAY_KEYS = frozenset({"x", "y", "z", "text", "customdata", "base", "lowerfence", "q1", "median", "q3",
                        "upperfence", "width"})
"""Trace attributes whose values go into the array table (when longer than ``INLINE_LIMIT``)."""
INLINE_LIMIT = 6
SIGNIFICANT_DIGITS = 6
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH = np.datetime64("1970-01-01", "D")


def _number(value: Any) -> Any:
    """A JSON number rounded to ``SIGNIFICANT_DIGITS`` (None for NaN/inf); other values unchanged."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            return None
        rounded = float(f"{v:.{SIGNIFICANT_DIGITS}g}")
        return int(rounded) if rounded.is_integer() and abs(rounded) < 1e15 else rounded
    return value


def _typed_array(value: Any) -> Any:
    """plotly's ``{"dtype", "bdata"[, "shape"]}`` form of a numpy array (from ``to_plotly_json``) as the array."""
    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if shape:
            array = array.reshape([int(n) for n in str(shape).split(",")])
        return array
    return value


def _numbers(values: np.ndarray) -> list[Any]:
    """A 1-D numeric array as a list rounded to ``SIGNIFICANT_DIGITS`` (vectorised; NaN/inf become None)."""
    if values.dtype.kind in "iu":
        return values.tolist()
    a = values.astype(np.float64)
    finite = np.isfinite(a)
    safe = np.where(finite & (a != 0), np.abs(a), 1.0)
    scale = 10.0 ** (SIGNIFICANT_DIGITS - 1 - np.floor(np.log10(safe)))
    rounded = np.where(finite, np.round(a * scale) / scale, 0.0)
    whole = finite & (rounded == np.round(rounded)) & (np.abs(rounded) < 1e15)
    out: list[Any] = rounded.astype(np.int64).tolist() if whole[finite].all() and finite.any() else rounded.tolist()
    if whole.any() and not whole[finite].all():
        for i in np.flatnonzero(whole):
            out[i] = int(rounded[i])
    for i in np.flatnonzero(~finite):
        out[i] = None
    return out


def encode_array(values: Any) -> Any:
    """An array in the store's form: ``{"d": [first day, steps...]}`` for ISO dates, else a (nested) list."""
    if isinstance(values, np.ndarray):
        if values.dtype.kind in "fiu":
            return [encode_array(v) for v in values] if values.ndim > 1 else _numbers(values)
        values = values.tolist()
    values = list(values)
    if values and all(isinstance(v, str) and _DATE.match(v) for v in values):
        days = (np.array(values, dtype="datetime64[D]") - _EPOCH).astype(np.int64)
        return {"d": [int(days[0]), *np.diff(days).tolist()]}
    return [encode_array(v) if isinstance(v, list | tuple | np.ndarray) else _number(v) for v in values]


class FigureStore:
    """Figures by key, their arrays deduplicated in one table; :meth:`payload` is what the page embeds."""

    def __init__(self) -> None:
        self.arrays: list[Any] = []
        self._by_digest: dict[str, int] = {}
        self.figures: dict[str, dict[str, Any]] = {}
        self.template: dict[str, Any] = page_template()

    def add(self, key: str, figure: go.Figure | dict[str, Any]) -> str:
        """Store ``figure`` (a plotly figure or its plain JSON) under ``key``, returned; templates are dropped."""
        spec = figure if isinstance(figure, dict) else figure.to_plotly_json()
        layout = dict(spec.get("layout", {}))
        layout.pop("template", None)
        self.figures[key] = {"data": [self._trace(t) for t in spec.get("data", [])], "layout": self._plain(layout)}
        return key

    def _trace(self, trace: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in trace.items():
            value = _typed_array(value)
            is_array = isinstance(value, np.ndarray | list | tuple)
            if name in ARRAY_KEYS and is_array and np.size(value) > INLINE_LIMIT:
                out[name] = {"$r": self._intern(encode_array(value))}
            else:
                out[name] = self._plain(value)
        return out

    def _intern(self, encoded: Any) -> int:
        text = json.dumps(encoded, separators=(",", ":"))
        digest = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
        if digest not in self._by_digest:
            self._by_digest[digest] = len(self.arrays)
            self.arrays.append(encoded)
        return self._by_digest[digest]

    def _plain(self, value: Any) -> Any:
        """Layout and small trace values as plain JSON (numpy arrays to lists, NaN to null)."""
        value = _typed_array(value)
        if isinstance(value, dict):
            return {k: self._plain(v) for k, v in value.items()}
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, list | tuple):
            return [self._plain(v) for v in value]
        return _number(value)

    def payload(self) -> str:
        """The JSON text embedded in the page (``</`` escaped so it cannot close the script element)."""
        doc = {"arrays": self.arrays, "figures": self.figures, "template": self.template}
        text = json.dumps(doc, separators=(",", ":"), allow_nan=False)
        return text.replace("</", "<\\/")


TEMPLATE = "plotly_white"
"""The plotly template of every chart of the page, written once."""


@lru_cache(maxsize=1)
def page_template() -> dict[str, Any]:
    """The page's plotly template as plain JSON."""
    import plotly.io as pio

    return json.loads(json.dumps(pio.templates[TEMPLATE].to_plotly_json(), default=_plain_default))


def _plain_default(value: Any) -> Any:
    return _number(value) if isinstance(value, np.generic) else str(value)


@contextmanager
def no_default_template() -> Iterator[None]:
    """Build figures without plotly's default template (the page supplies one): 20x faster figures."""
    import plotly.io as pio

    saved = pio.templates.default
    pio.templates.default = None
    try:
        yield
    finally:
        pio.templates.default = saved


@lru_cache(maxsize=1)
def plotly_bundle() -> str:
    """plotly.js, gzip-compressed (deterministic: no timestamp) and base64-encoded."""
    from plotly.offline import get_plotlyjs

    return base64.b64encode(gzip.compress(get_plotlyjs().encode("utf-8"), 9, mtime=0)).decode("ascii")


LOADER_JS = r"""
(function () {
  var R = window.__report = {start: performance.now(), drawn: 0};
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var cache = {};
  function days(d) {
    var out = new Array(d.length), day = 0;
    for (var i = 0; i < d.length; i++) {
      day += d[i];
      out[i] = new Date(day * 86400000).toISOString().slice(0, 10);
    }
    return out;
  }
  function array(i) {
    if (!(i in cache)) { var a = DATA.arrays[i]; cache[i] = a && a.d ? days(a.d) : a; }
    return cache[i];
  }
  function resolve(v) {
    if (Array.isArray(v)) return v.map(resolve);
    if (v && typeof v === "object") {
      if ("$r" in v) return array(v["$r"]);
      var o = {}; for (var k in v) o[k] = resolve(v[k]); return o;
    }
    return v;
  }
  R.figure = function (key) {
    var f = DATA.figures[key];
    if (key.charAt(0) === "#") {  // a figure that travels with its div (see reports.html.figure_html)
      var inline = document.getElementById(key.slice(1));
      f = inline ? JSON.parse(inline.textContent) : null;
    }
    if (!f) return null;
    var layout = resolve(f.layout); layout.template = DATA.template;
    return {data: resolve(f.data), layout: layout};
  };
  R.keyOf = function (div) {
    var key = div.getAttribute("data-figure"), group = div.getAttribute("data-select");
    if (group) { var sel = document.getElementById(group); key = key.replace("{}", sel ? sel.value : "0"); }
    return key;
  };
  R.draw = function (div) {
    var f = R.figure(R.keyOf(div));
    if (!f) return;
    var config = JSON.parse(div.getAttribute("data-config") || "{}");
    var first = !div.classList.contains("js-plotly-plot");
    Plotly.react(div, f.data, f.layout, config);
    if (first) { R.drawn += 1; document.dispatchEvent(new CustomEvent("report:drawn", {detail: div})); }
  };
  function onScreen(div) { var r = div.getBoundingClientRect(); return r.top < window.innerHeight && r.bottom > 0; }
  function start() {
    var divs = Array.prototype.slice.call(document.querySelectorAll("[data-figure]"));
    var now = divs.filter(onScreen), later = divs.filter(function (d) { return !onScreen(d); });
    now.forEach(R.draw);
    R.firstScreen = performance.now();
    (function next() {
      if (!later.length) {
        R.allDone = performance.now();
        document.documentElement.setAttribute("data-charts", "drawn");
        return;
      }
      R.draw(later.shift());
      setTimeout(next, 0);
    })();
  }
  R.redraw = function (group) {
    document.querySelectorAll('[data-select="' + group + '"]').forEach(function (div) {
      if (div.classList.contains("js-plotly-plot")) R.draw(div);
    });
  };
  function fail(message) {
    document.querySelectorAll("[data-figure]").forEach(function (div) {
      div.innerHTML = '<p class="nochart">' + message + "</p>";
    });
  }
  if (!("DecompressionStream" in window)) {
    fail("This browser cannot unpack the charts (it lacks DecompressionStream): open the report in a current "
         + "Chrome, Edge, Firefox or Safari. The tables above and below hold every figure.");
    return;
  }
  var packed = atob(document.getElementById("plotly-gz").textContent);
  var bytes = new Uint8Array(packed.length);
  for (var i = 0; i < packed.length; i++) bytes[i] = packed.charCodeAt(i);
  var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  new Response(stream).text().then(function (code) {
    var script = document.createElement("script");
    script.textContent = code;
    document.head.appendChild(script);
    R.plotlyReady = performance.now();
    start();
  }).catch(function (e) { console.error("report: could not unpack plotly.js: " + e); });
})();
"""
