"""The report's inline stylesheet and script (no external resource: the page works offline and
under a Content-Security-Policy that forbids every network request).

The script reads each explorer's data from a ``<script type="application/json">`` element and
draws the chosen row's waterfall (SVG), its table of values and, for documents, the highlighted
text. It inserts every string with ``textContent`` (never ``innerHTML``). In the sections of global
results (importance, effects) it only shows and hides the panels an output or term selector picks.
"""

from __future__ import annotations

__all__ = ["CSS", "JS"]

CSS = """
:root { --pos: #D55E00; --neg: #0072B2; --neutral: #999999; --ink: #1a1a1a; --rule: #d9d9d9; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #ffffff; line-height: 1.45;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header.xk-head { padding: 1.2rem 1.5rem .6rem; border-bottom: 3px solid var(--neg); }
header.xk-head h1 { margin: 0 0 .3rem; font-size: 1.6rem; overflow-wrap: anywhere; }
.xk-meta { color: #555; font-size: .85rem; margin: 0; }
nav.xk-nav ul { list-style: none; padding: 0; margin: .4rem 0 0; display: flex; flex-wrap: wrap; gap: .4rem 1rem; }
nav.xk-nav a { color: var(--neg); }
main { max-width: 1120px; margin: 0 auto; padding: 0 1.5rem 3rem; }
section.xk-result > h2 { font-size: 1.35rem; margin: 1.6rem 0 .4rem; padding-bottom: .2rem; border-bottom: 1px solid var(--rule); overflow-wrap: anywhere; }
section.xk-part { margin: 1rem 0 1.6rem; }
section.xk-part > h3 { font-size: 1.1rem; margin: 0 0 .5rem; }
table { border-collapse: collapse; font-size: .88rem; }
th, td { border-bottom: 1px solid var(--rule); padding: .2rem .6rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f3f3f3; font-weight: 600; }
td.xk-r, th.xk-r { text-align: right; font-variant-numeric: tabular-nums; }
table.xk-kv th { width: 15rem; }
.xk-note { background: #fff8e6; border-left: 4px solid #E69F00; padding: .45rem .8rem; margin: .5rem 0; }
.xk-privacy { background: #eef5fb; border-left: 4px solid var(--neg); padding: .45rem .8rem; margin: .5rem 0; }
.xk-chart { max-width: 100%; height: auto; font-size: 12px; display: block; }
.xk-chart text { fill: var(--ink); font-family: inherit; }
.xk-chart .xk-tick { fill: #555; font-size: 11px; }
.xk-waterfall-svg { font-size: 14px; }
.xk-waterfall-svg .xk-tick { font-size: 12px; }
.xk-controls { display: flex; flex-wrap: wrap; gap: .5rem 1.2rem; align-items: center; margin: .4rem 0; }
.xk-controls select { font: inherit; padding: .15rem .3rem; max-width: 22rem; }
.xk-caption { font-weight: 600; margin: .3rem 0; }
.xk-doc { border: 1px solid var(--rule); padding: .6rem .8rem; margin: .6rem 0; white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.9; }
.xk-doc mark { color: inherit; padding: 0 1px; border-radius: 2px; }
.xk-legend { font-size: .85rem; color: #444; }
.xk-legend .xk-pos { color: var(--pos); font-weight: 600; }
.xk-legend .xk-neg { color: var(--neg); font-weight: 600; }
.xk-images { display: flex; flex-wrap: wrap; gap: 1rem; }
.xk-images figure { margin: 0; }
.xk-images img { width: 180px; height: auto; image-rendering: pixelated; border: 1px solid var(--rule); display: block; }
.xk-images figcaption { font-size: .8rem; color: #444; max-width: 180px; overflow-wrap: anywhere; }
.xk-two { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1rem; }
@media (max-width: 900px) { .xk-two { grid-template-columns: minmax(0, 1fr); } }
[hidden] { display: none !important; }
.xk-effect-grid { display: flex; flex-wrap: wrap; gap: .8rem 1.2rem; }
.xk-effect-grid figure { margin: 0; }
.xk-effect-grid figcaption { font-size: .85rem; color: #444; text-align: center; max-width: 380px; overflow-wrap: anywhere; }
.xk-effect .xk-axis-label { font-size: 12px; }
td.xk-rule-text { min-width: 18rem; }
footer.xk-foot { color: #666; font-size: .8rem; border-top: 1px solid var(--rule); padding: .8rem 1.5rem; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { background: #ffffff; color: #000000; font-size: 11pt; }
  nav.xk-nav, .xk-noprint, .xk-controls { display: none !important; }
  header.xk-head { border-bottom-color: #000; }
  main { max-width: none; padding: 0; }
  th { background: #ffffff; }
  section.xk-result + section.xk-result, section.xk-part + section.xk-part { break-before: page; page-break-before: always; }
  .xk-chart, figure, tr { break-inside: avoid; page-break-inside: avoid; }
  .xk-two { grid-template-columns: minmax(0, 1fr); }
  a { color: inherit; text-decoration: none; }
}
"""

JS = r"""
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var STYLE = JSON.parse(document.getElementById("xk-style").textContent);
  var MAX_BARS = 12, MAX_TABLE = 50, MAX_LABEL = 40;

  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, String(attrs[k])); } }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function fmt(v) {
    if (v === null || v === undefined || typeof v !== "number" || !isFinite(v)) { return v === null || v === undefined ? "n/a" : String(v); }
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) { return v.toExponential(3).replace(/\.?0+e/, "e"); }
    return String(Number(v.toPrecision(4)));
  }
  function signed(v) { return (v > 0 ? "+" : "") + fmt(v); }
  function shortName(s) { s = String(s); return s.length > MAX_LABEL ? s.slice(0, MAX_LABEL - 1) + "\u2026" : s; }
  function rgba(v, vmax) {
    var s = Math.min(Math.abs(v) / (vmax > 0 ? vmax : 1), 1), t = v >= 0 ? STYLE.pos_rgb : STYLE.neg_rgb;
    function c(x) { return Math.round((1 + s * (x - 1)) * 255); }
    return "rgba(" + c(t[0]) + "," + c(t[1]) + "," + c(t[2]) + "," + (0.15 + 0.85 * s).toFixed(3) + ")";
  }

  function niceTicks(lo, hi) {
    var span = hi - lo, raw = span / 5, mag = Math.pow(10, Math.floor(Math.log10(raw))), step = mag, out = [], k;
    [1, 2, 2.5, 5, 10].some(function (m) { step = m * mag; return raw <= step; });
    for (k = Math.ceil(lo / step); k * step <= hi + 1e-12 * span; k++) { out.push(Math.abs(k * step) < 1e-12 * span ? 0 : k * step); }
    return out;
  }

  function rowOf(P, i, j) {
    var names, vals = [], se = null, data = null, k, n;
    if (P.ragged) {
      names = P.row_features[i]; n = names.length;
      for (k = 0; k < n; k++) { vals.push(P.values[i][k * P.o + j]); }
      if (P.se) { se = []; for (k = 0; k < n; k++) { se.push(P.se[i][k * P.o + j]); } }
    } else {
      names = P.features; n = P.d;
      var off = i * P.d * P.o;
      for (k = 0; k < n; k++) { vals.push(P.values[off + k * P.o + j]); }
      if (P.se) { se = []; for (k = 0; k < n; k++) { se.push(P.se[off + k * P.o + j]); } }
      if (P.data) { data = P.data.slice(i * P.d, (i + 1) * P.d); }
    }
    return { names: names, vals: vals, se: se, data: data, base: P.base[i * P.o + j] };
  }
  function order(vals) {
    var idx = vals.map(function (v, k) { return k; });
    idx.sort(function (a, b) { return (Math.abs(vals[b]) - Math.abs(vals[a])) || (a - b); });
    return idx;
  }

  function waterfall(holder, r) {
    var idx = order(r.vals), items = [], q;
    idx.slice(0, MAX_BARS).forEach(function (k) {
      items.push({ label: r.names[k], value: r.vals[k], se: r.se ? r.se[k] : null, data: r.data ? r.data[k] : null });
    });
    var rest = idx.slice(MAX_BARS);
    if (rest.length) {
      var s = 0; rest.forEach(function (k) { s += r.vals[k]; });
      items.push({ label: rest.length + " other features", value: s, se: null, data: null, rest: true });
    }
    var n = items.length, starts = [], ends = [], cum = r.base;
    for (q = n - 1; q >= 0; q--) { starts[q] = cum; cum += items[q].value; ends[q] = cum; }
    var fx = cum, lo = Math.min(r.base, fx), hi = Math.max(r.base, fx);
    for (q = 0; q < n; q++) {
      var e = items[q].se || 0;
      lo = Math.min(lo, starts[q], ends[q] - e); hi = Math.max(hi, starts[q], ends[q] + e);
    }
    var pad = (hi - lo) * 0.06 || Math.abs(hi) * 0.1 || 1;
    lo -= pad; hi += pad;
    var labelW = 290, plotW = 430, rowH = 24, top = 34, width = labelW + plotW + 30, height = top + n * rowH + 50;
    function x(v) { return labelW + (v - lo) / (hi - lo) * plotW; }
    var root = svg("svg", { "class": "xk-chart xk-waterfall-svg", role: "img", viewBox: "0 0 " + width + " " + height, width: width });
    root.appendChild(svg("title", {}, "waterfall: from E[f(X)] = " + fmt(r.base) + " to f(x) = " + fmt(fx)));
    var bottom = top + n * rowH;
    root.appendChild(svg("line", { x1: x(r.base), x2: x(r.base), y1: top - 4, y2: bottom + 4, stroke: "#888", "stroke-dasharray": "3,3" }));
    root.appendChild(svg("line", { x1: x(fx), x2: x(fx), y1: top - 12, y2: bottom, stroke: "#888", "stroke-dasharray": "3,3" }));
    root.appendChild(svg("text", { x: x(fx), y: top - 16, "text-anchor": "middle", "class": "xk-fx" }, "f(x) = " + fmt(fx)));
    for (q = 0; q < n; q++) {
      var it = items[q], y = top + q * rowH, a = x(Math.min(starts[q], ends[q])), b = x(Math.max(starts[q], ends[q]));
      var colour = it.rest ? STYLE.neutral : (it.value >= 0 ? STYLE.pos : STYLE.neg);
      var label = (it.data !== null && it.data !== undefined ? fmt(it.data) + " = " : "") + shortName(it.label);
      var t = svg("text", { x: labelW - 8, y: y + 16, "text-anchor": "end", "class": "xk-label" }, label);
      t.appendChild(svg("title", {}, String(it.label)));
      root.appendChild(t);
      var rect = svg("rect", { "class": "xk-wbar", x: a, y: y + 4, width: Math.max(b - a, 1), height: rowH - 8, fill: colour });
      rect.appendChild(svg("title", {}, String(it.label) + ": " + signed(it.value) + (it.se ? " \u00b1 " + fmt(it.se) : "")));
      root.appendChild(rect);
      var endX = b;
      if (it.se) {
        var ex0 = x(ends[q] - it.se), ex1 = x(ends[q] + it.se), mid = y + rowH / 2;
        var path = "M" + ex0 + "," + mid + "H" + ex1 + "M" + ex0 + "," + (mid - 4) + "V" + (mid + 4) + "M" + ex1 + "," + (mid - 4) + "V" + (mid + 4);
        root.appendChild(svg("path", { "class": "xk-err", d: path, stroke: "#000", fill: "none" }));
        endX = Math.max(endX, ex1);
      }
      var inside = endX + 60 > width;
      root.appendChild(svg("text", { x: inside ? a - 4 : endX + 4, y: y + 16, "text-anchor": inside ? "end" : "start", "class": "xk-num" }, signed(it.value)));
    }
    root.appendChild(svg("line", { x1: labelW, x2: labelW + plotW, y1: bottom + 4, y2: bottom + 4, stroke: "#444" }));
    niceTicks(lo, hi).forEach(function (v) {
      root.appendChild(svg("line", { x1: x(v), x2: x(v), y1: bottom + 4, y2: bottom + 8, stroke: "#444" }));
      root.appendChild(svg("text", { x: x(v), y: bottom + 20, "text-anchor": "middle", "class": "xk-tick" }, fmt(v)));
    });
    root.appendChild(svg("text", { x: x(r.base), y: bottom + 40, "text-anchor": "middle", "class": "xk-base" }, "E[f(X)] = " + fmt(r.base)));
    holder.replaceChildren(root);
    return fx;
  }

  function table(holder, r) {
    var tbl = el("table", "xk-values"), head = el("tr");
    head.appendChild(el("th", null, "feature"));
    head.appendChild(el("th", "xk-r", "value"));
    if (r.se) { head.appendChild(el("th", "xk-r", "std. error")); }
    if (r.data) { head.appendChild(el("th", "xk-r", "feature value")); }
    var thead = el("thead"); thead.appendChild(head); tbl.appendChild(thead);
    var body = el("tbody"), idx = order(r.vals);
    idx.slice(0, MAX_TABLE).forEach(function (k) {
      var tr = el("tr");
      tr.appendChild(el("td", null, r.names[k]));
      var td = el("td", "xk-r", signed(r.vals[k]));
      td.style.color = r.vals[k] > 0 ? STYLE.pos : (r.vals[k] < 0 ? STYLE.neg : "inherit");
      tr.appendChild(td);
      if (r.se) { tr.appendChild(el("td", "xk-r", fmt(r.se[k]))); }
      if (r.data) { tr.appendChild(el("td", "xk-r", fmt(r.data[k]))); }
      body.appendChild(tr);
    });
    if (idx.length > MAX_TABLE) {
      var more = el("tr"), cell = el("td", null, (idx.length - MAX_TABLE) + " more features with smaller |value| not listed");
      cell.colSpan = 4; more.appendChild(cell); body.appendChild(more);
    }
    tbl.appendChild(body);
    holder.replaceChildren(tbl);
  }

  function documentView(holder, P, i, r) {
    if (!P.texts) { holder.hidden = true; return; }
    holder.hidden = false;
    var chars = Array.from(P.texts[i]), spans = P.spans[i], marks = [], vmax = 0;
    r.vals.forEach(function (v) { vmax = Math.max(vmax, Math.abs(v)); });
    spans.forEach(function (list, k) { list.forEach(function (se) { marks.push([se[0], se[1], k]); }); });
    marks.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    var frag = document.createDocumentFragment(), pos = 0;
    marks.forEach(function (m) {
      if (m[0] < pos || m[1] > chars.length) { return; }
      if (m[0] > pos) { frag.appendChild(document.createTextNode(chars.slice(pos, m[0]).join(""))); }
      var mark = el("mark", "xk-token", chars.slice(m[0], m[1]).join(""));
      mark.style.backgroundColor = rgba(r.vals[m[2]], vmax);
      mark.title = String(r.names[m[2]]) + ": " + signed(r.vals[m[2]]);
      frag.appendChild(mark);
      pos = m[1];
    });
    if (pos < chars.length) { frag.appendChild(document.createTextNode(chars.slice(pos).join(""))); }
    holder.replaceChildren(frag);
  }

  function init(root) {
    var P = JSON.parse(document.getElementById(root.getAttribute("data-payload")).textContent);
    var rowSel = root.querySelector("select.xk-row"), outSel = root.querySelector("select.xk-output");
    var caption = root.querySelector(".xk-caption");
    P.rows.forEach(function (r, i) { var o = el("option", null, "row " + r); o.value = String(i); rowSel.appendChild(o); });
    P.outputs.forEach(function (name, j) { var o = el("option", null, name); o.value = String(j); outSel.appendChild(o); });
    outSel.value = String(P.target);
    if (P.outputs.length < 2) { outSel.parentNode.hidden = true; }
    function draw() {
      var i = Number(rowSel.value) || 0, j = Number(outSel.value) || 0, r = rowOf(P, i, j);
      var fx = waterfall(root.querySelector(".xk-waterfall"), r);
      table(root.querySelector(".xk-table"), r);
      documentView(root.querySelector(".xk-doc"), P, i, r);
      caption.textContent = "Row " + P.rows[i] + ", output \u201c" + P.outputs[j] + "\u201d: f(x) = " + fmt(fx) + ", E[f(X)] = " + fmt(r.base);
    }
    rowSel.addEventListener("change", draw);
    outSel.addEventListener("change", draw);
    draw();
  }
  Array.prototype.forEach.call(document.querySelectorAll("section.xk-explorer"), init);

  // Output and term selectors of the global sections: every panel is already in the page; a panel
  // is shown when, for each selector, the choice is "*" or equals the panel's data-<axis> attribute.
  function chooser(root) {
    var selects = root.querySelectorAll("select[data-axis]"), panels = root.querySelectorAll("[data-panel]");
    function show() {
      Array.prototype.forEach.call(panels, function (p) {
        var on = true;
        Array.prototype.forEach.call(selects, function (s) {
          var have = p.getAttribute("data-" + s.getAttribute("data-axis"));
          if (s.value !== "*" && have !== null && have !== s.value) { on = false; }
        });
        p.hidden = !on;
      });
    }
    Array.prototype.forEach.call(selects, function (s) { s.addEventListener("change", show); });
    show();
  }
  Array.prototype.forEach.call(document.querySelectorAll("section.xk-chooser"), chooser);
})();
"""
