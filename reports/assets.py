"""Static parts of the report page: its style sheet and the small scripts beside the chart loader."""

from __future__ import annotations

CSS = """
:root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f3f4f6; --card:#ffffff; --accent:#2563eb;
  --good:#15803d; --bad:#b91c1c; }
* { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body { margin:0; background:var(--bg); color:var(--ink); line-height:1.5; -webkit-font-smoothing:antialiased;
  font-family: Inter, "Segoe UI", system-ui, -apple-system, Roboto, "Helvetica Neue", Arial, sans-serif; }
header.hero { background: linear-gradient(135deg, #0f172a 0%, #1e3a8a 60%, #2563eb 100%); color:#fff;
  padding: 40px 0 28px; }
.wrap { max-width: 1320px; margin: 0 auto; padding: 0 28px; }
.eyebrow { text-transform: uppercase; letter-spacing: .14em; font-size: 12px; color:#bfdbfe; font-weight:600; }
h1 { font-size: 34px; line-height:1.15; margin: 6px 0 6px; font-weight: 750; letter-spacing:-.02em; }
.subtitle { color:#dbeafe; font-size: 16px; margin: 0 0 22px; }
dl.facts { display:grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 10px; margin:0; }
dl.facts div { background: rgba(255,255,255,.09); border:1px solid rgba(255,255,255,.16); border-radius: 10px;
  padding: 9px 13px; }
dl.facts dt { font-size: 11px; text-transform: uppercase; letter-spacing:.08em; color:#bfdbfe; }
dl.facts dd { margin: 2px 0 0; font-size: 13.5px; color:#fff; overflow-wrap:anywhere; }
nav.toc { position: sticky; top:0; z-index: 10; background: rgba(255,255,255,.92); backdrop-filter: blur(6px);
  border-bottom:1px solid var(--line); }
nav.toc .wrap { display:flex; gap: 6px; flex-wrap: wrap; padding-top:9px; padding-bottom:9px; }
nav.toc a { color:#374151; text-decoration:none; font-size:13px; padding:4px 11px; border-radius: 999px; }
nav.toc a:hover { background:#eef2ff; color: var(--accent); }
main { padding: 26px 0 40px; }
section { margin: 0 0 26px; }
h2 { font-size: 21px; margin: 0 0 4px; letter-spacing:-.01em; }
p.lede { color: var(--muted); margin: 0 0 14px; font-size: 14px; }
.card { background: var(--card); border:1px solid var(--line); border-radius: 14px; padding: 18px 20px;
  box-shadow: 0 1px 2px rgba(16,24,40,.04), 0 4px 12px rgba(16,24,40,.04); }
.chart { padding: 8px 8px 4px; margin-bottom: 18px; }
.kpis { display:grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 14px; }
.kpi .label { font-size: 12px; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); }
.kpi .value { font-size: 30px; font-weight: 720; letter-spacing:-.02em; margin: 2px 0; font-variant-numeric: tabular-nums; }
.kpi .who { font-size: 14px; color: #374151; font-weight: 600; }
.kpi .ref { font-size: 12.5px; color: var(--muted); }
.table-scroll { overflow-x: auto; }
table.metrics { border-collapse: separate; border-spacing: 0; width: 100%; font-size: 13.5px;
  font-variant-numeric: tabular-nums; }
table.metrics th { text-align: right; font-weight: 600; color: #4b5563; font-size: 12px; text-transform: uppercase;
  letter-spacing: .05em; padding: 10px 10px; border-bottom: 2px solid var(--line); white-space: nowrap;
  cursor: pointer; user-select: none; position: sticky; top: 0; background: #fff; }
table.metrics th:first-child, table.metrics td:first-child { text-align: left; }
table.metrics th::after { content: " \\2195"; color: #d1d5db; font-size: 11px; }
table.metrics th[data-dir="asc"]::after { content: " \\2191"; color: var(--accent); }
table.metrics th[data-dir="desc"]::after { content: " \\2193"; color: var(--accent); }
table.metrics td { text-align: right; padding: 9px 10px; border-bottom: 1px solid #f1f5f9; white-space: nowrap; }
table.metrics tbody tr:hover td { background: #f8fafc; }
table.metrics td.name { font-weight: 600; color: var(--ink); }
.swatch { display:inline-block; width:10px; height:10px; border-radius: 3px; margin-right: 8px; vertical-align: 0; }
tr.benchmark td { color: #4b5563; background: #fafafa; }
tr.benchmark td.name { font-weight: 500; font-style: italic; }
.badge { display:inline-block; font-size: 10.5px; font-style: normal; text-transform: uppercase; letter-spacing:.06em;
  color:#6b7280; border:1px solid #d1d5db; border-radius: 999px; padding: 0 7px; margin-left: 8px; }
td.pos { color: var(--good); } td.neg { color: var(--bad); }
td.best { font-weight: 700; background: #eff6ff !important; }
ul.strategies { list-style:none; padding:0; margin: 14px 0 0; display:grid; grid-template-columns: repeat(auto-fill, minmax(340px,1fr)); gap: 6px 22px; }
ul.strategies li { font-size: 13px; color:#4b5563; }
ul.strategies b { color: var(--ink); }
table.scen { border-collapse: separate; border-spacing: 0; width:100%; font-size: 13px; font-variant-numeric: tabular-nums; }
table.scen th { text-align:center; padding: 9px 10px; font-size: 12px; color:#4b5563; text-transform: uppercase;
  letter-spacing:.05em; border-bottom: 2px solid var(--line); }
table.scen th:first-child { text-align:left; }
table.scen td { text-align:center; padding: 8px 10px; border-bottom: 1px solid #f1f5f9; }
table.scen td:first-child { text-align:left; font-weight:600; }
table.scen .big { font-size: 16px; font-weight: 700; display:block; }
table.scen .small { font-size: 11.5px; color:#6b7280; display:block; }
.notes { font-size: 13px; color: var(--muted); padding-left: 38px; }
.notes li { margin: 2px 0; }
.notes li.warning { color: #92400e; background: #fef3c7; border-radius: 6px; padding: 2px 8px; font-weight: 600; }
footer { color: var(--muted); font-size: 12.5px; padding: 0 0 40px; }
.chart .plotly-graph-div { width: 100%; }
p.nochart { color: var(--bad); padding: 18px; }
p.foot { color: var(--muted); font-size: 12.5px; margin: 10px 2px 0; }
.controls { display:flex; gap: 14px; align-items:center; flex-wrap: wrap; margin: 0 0 14px; font-size: 14px; }
.controls label { font-weight: 600; color: #374151; }
.controls select { font: inherit; padding: 5px 10px; border-radius: 8px; border: 1px solid #d1d5db; background: #fff; }
.controls .hint { color: var(--muted); font-size: 13px; }
.sticky-controls { position: sticky; top: 44px; z-index: 9; background: var(--bg); padding: 8px 0; }
.tear-grid { display:grid; grid-template-columns: 1fr 1fr; gap: 0 18px; }
.tear-grid .wide { grid-column: 1 / -1; }
@media (max-width: 1000px) { .tear-grid { grid-template-columns: 1fr; } }
table.metrics.dd td, table.metrics.dd th { text-align: right; }
[data-show] { display: none; }
[data-show].shown { display: block; }
h3 { font-size: 16px; margin: 4px 0 2px; }
@media print { nav.toc { display:none; } .card { box-shadow:none; } }
"""

SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.querySelectorAll("thead th");
  heads.forEach(function (th, col) {
    th.addEventListener("click", function () {
      var dir = th.dataset.dir === "desc" ? "asc" : "desc";
      heads.forEach(function (h) { delete h.dataset.dir; });
      th.dataset.dir = dir;
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var sign = dir === "asc" ? 1 : -1;
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.value, y = b.cells[col].dataset.value;
        var nx = parseFloat(x), ny = parseFloat(y);
        if (isNaN(nx) || isNaN(ny)) {
          if (!isNaN(nx)) return -1;
          if (!isNaN(ny)) return 1;
          return sign * String(x).localeCompare(String(y));
        }
        return sign * (nx - ny);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""



FOCUS_JS = """
(function () {
  var select = document.getElementById("focus");
  if (!select) return;
  var FADED = 0.13;
  function apply(div) {
    if (!div.data) return;
    var book = select.value, widths = [], opacities = [];
    div.data.forEach(function (t) {
      var meta = t.meta || {}, own = meta.book === book;
      if (div._baseWidths === undefined) div._baseWidths = div.data.map(function (d) { return (d.line || {}).width || 2; });
      var base = div._baseWidths[widths.length];
      opacities.push(!book || own || meta.benchmark ? 1 : FADED);
      widths.push(book && own ? base + 1.6 : base);
    });
    Plotly.restyle(div, {"opacity": opacities, "line.width": widths});
  }
  select.addEventListener("change", function () {
    document.querySelectorAll("[data-focus]").forEach(function (div) { apply(div); });
  });
  document.addEventListener("report:drawn", function (e) {
    if (e.detail.hasAttribute("data-focus") && select.value) apply(e.detail);
  });
})();
"""

SELECT_JS = """
document.querySelectorAll("select[data-group]").forEach(function (select) {
  var group = select.id;
  function show() {
    document.querySelectorAll('[data-show^="' + group + ':"]').forEach(function (el) {
      el.classList.toggle("shown", el.getAttribute("data-show") === group + ":" + select.value);
    });
  }
  select.addEventListener("change", function () { show(); window.__report && window.__report.redraw(group); });
  show();
});
"""
