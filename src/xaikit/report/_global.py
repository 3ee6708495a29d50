"""Report sections of the global result kinds: :class:`~xaikit.results.importance.Importance`,
:class:`~xaikit.results.effects.Effects` and :class:`~xaikit.results.rules.Rules`.

Every chart is inline SVG drawn here; an output or term selector only shows and hides panels that
are all in the page (the page's script sets ``hidden``; it inserts no text), so the sections read
the same without the script, print the view chosen, and keep a size bounded by the limits below
whatever the number of rows.

>>> import numpy as np
>>> from xaikit.results.importance import Importance
>>> imp = Importance(values=[[[0.2, 0.4]], [[0.0, 0.0]]], feature_names=["a", "<b>"], output_names=["r2"], method="demo")
>>> html = global_section(0, GlobalEntry(imp, "demo", None, None, 0))
>>> html.count('class="xk-ibar"'), "&lt;b&gt;" in html, "<b>" in html
(2, True, False)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xaikit.report._charts import categorical_svg, heatmap_svg, interval_bars_svg, line_svg
from xaikit.report._encode import esc, fmt
from xaikit.report._parts import cell, kv_table, made_rows
from xaikit.report._svg import importance_svg, short
from xaikit.results.effects import Effects
from xaikit.results.importance import Importance
from xaikit.results.rules import Rules

__all__ = [
    "GLOBAL_KINDS",
    "GlobalEntry",
    "MAX_EFFECT_OUTPUTS",
    "MAX_EFFECT_TERMS",
    "MAX_ICE_LINES",
    "MAX_ICE_POINTS",
    "MAX_IMPORTANCE_BARS",
    "MAX_IMPORTANCE_OUTPUTS",
    "MAX_CATEGORIES",
    "MAX_RULES",
    "global_section",
]

#: The global result kinds the report draws.
GLOBAL_KINDS = (Importance, Effects, Rules)
#: Most features drawn in one importance chart (the table lists up to :data:`MAX_TABLE_ROWS`).
MAX_IMPORTANCE_BARS = 30
#: Most outputs (scorings, cohorts) of an Importance drawn, the one chosen first.
MAX_IMPORTANCE_OUTPUTS = 20
#: Most rows of a table of features or rules.
MAX_TABLE_ROWS = 100
#: Most terms of an Effects drawn (in the result's order).
MAX_EFFECT_TERMS = 30
#: Most outputs of an Effects drawn, the one chosen first.
MAX_EFFECT_OUTPUTS = 4
#: Most ICE curves drawn per term and output (rows evenly spread over the data).
MAX_ICE_LINES = 50
#: Most ICE points (curves x grid points) drawn in one Effects section; fewer curves per term when exceeded.
MAX_ICE_POINTS = 150_000
#: Most categories drawn in the chart of one categorical term (the first ones, in the result's order).
MAX_CATEGORIES = 50
#: Most characters of one rule's text (longer ones, e.g. with many categories, end with an ellipsis).
MAX_RULE_CHARS = 2000
#: Most rules listed.
MAX_RULES = MAX_TABLE_ROWS
#: Most outputs given a prediction column in the rule table.
MAX_RULE_OUTPUTS = 10


@dataclass
class GlobalEntry:
    """A global result added to a report, with what ``Report.add`` was told about it."""

    result: Any  # a global kind, or one of report._decisions.DECISION_KINDS
    name: str
    model: str | None
    data_summary: str | dict[str, Any] | None
    target: int


def other_kinds() -> tuple[type, ...]:
    """The result kinds with a section of their own beside the global ones: counterfactuals and accuracy
    under attack (:mod:`xaikit.report._decisions`; anchors are :class:`Rules`), and the quality of
    explanations (:mod:`xaikit.report._quality`: a QualityReport, or one metric's MetricScores), and a network's
    inside (:mod:`xaikit.report._internals`: training dynamics, layer activations, weights, feature visualisation)."""
    from xaikit.report import _decisions, _internals
    from xaikit.results.fairness import GroupFairness
    from xaikit.results.metric_scores import MetricScores
    from xaikit.results.quality import QualityReport

    return (*_decisions.DECISION_KINDS, QualityReport, MetricScores, GroupFairness, *_internals.INTERNAL_KINDS)


def _other(result: Any) -> tuple[Any, Any, Any] | None:
    """``(body, shape text, privacy text)`` functions of a result drawn by another module, None for the global kinds."""
    from xaikit.report import _decisions, _fairness, _internals, _quality
    from xaikit.results.fairness import GroupFairness
    from xaikit.results.quality import QualityReport

    if isinstance(result, _internals.INTERNAL_KINDS):
        return (_internals.internals_part, _internals.shape_text, _internals.privacy_text)
    if isinstance(result, GroupFairness):
        return (_fairness.fairness_section, lambda r: f"{len(r.group_names)} group(s), {int(r.n_rows.sum()):,} rows",
                lambda r, include_data: "No row of the data is in this section: counts and rates per group"
                + ("" if include_data else " (counts under 10 shown as <10)") + ".")
    from xaikit.results.metric_scores import MetricScores

    if isinstance(result, MetricScores):
        return (_quality.scores_section, lambda r: f"{r.metric}, {r.n_rows:,} rows",
                lambda r, include_data: "No row of the data is in this section: the metric per row (by position) and its curves.")
    if isinstance(result, QualityReport):
        return (_quality.quality_section, lambda r: f"{len(r.metric_names)} metric(s) of {len(r.method_names)} explanation(s), "
                f"{r.values.shape[2]:,} rows", lambda r, include_data: "No row of the data is in this section: metric values per row "
                "(by position) and what raw rows each explanation carries.")
    if isinstance(result, _decisions.DECISION_KINDS) or _decisions.is_anchors(result):
        return (lambda r, include_data: _decisions.decision_part(r, include_data=include_data), _decisions.shape_text,
                _decisions.privacy_text)
    return None


def global_section(k: int, entry: GlobalEntry, include_data: bool = False) -> str:
    """The HTML section of a global result, or of one drawn by another module (:func:`other_kinds`),
    the ``k``-th of the report."""
    result = entry.result
    other = _other(result)
    if other is not None:
        body = other[0](result, include_data)
        return (f'<section class="xk-result" id="xk-result-{k}"><h2>{esc(entry.name)}</h2>'
                f"{_model_part(entry, include_data)}{body}</section>")
    if isinstance(result, Importance):
        body = _importance_part(k, result, entry.target)
    elif isinstance(result, Effects):
        body = _effects_part(k, result, entry.target)
    else:
        body = _rules_part(result)
    return f'<section class="xk-result" id="xk-result-{k}"><h2>{esc(entry.name)}</h2>{_model_part(entry, include_data)}{body}</section>'


# ----------------------------------------------------------------------------- shared parts


def _output_order(names: Sequence[str], target: int, limit: int) -> list[int]:
    """The outputs drawn: the chosen one first, then the others in order, at most ``limit``."""
    return ([target] + [j for j in range(len(names)) if j != target])[:limit]


def _selector(axis: str, label: str, options: Sequence[tuple[str, str]], chosen: str) -> str:
    """A ``<select data-axis=...>`` whose options (value, escaped-here text) show panels with ``data-<axis>="value"``."""
    items = "".join(f'<option value="{esc(v)}"{" selected" if v == chosen else ""}>{esc(text)}</option>' for v, text in options)
    return f'<label>{esc(label)} <select class="xk-pick" data-axis="{axis}">{items}</select></label>'


def _model_part(entry: GlobalEntry, include_data: bool = False) -> str:
    result = entry.result
    other = _other(result)
    prov, params, diag = result.provenance, result.params, result.diagnostics
    rows: list[tuple[str, str]] = [
        ("model", esc(entry.model or prov.get("model") or "not recorded")),
        ("output", esc(prov.get("output") or params.get("output") or "not recorded")),
        ("method", esc(result.method)),
    ]
    shown = {k: v for k, v in params.items() if k not in ("output",)}
    if shown:
        rows.append(("parameters", kv_table([(str(key), cell(value)) for key, value in shown.items()])))
    rows += made_rows(prov, diag)
    skip = {"runtime_s", "seed", "train_rows", "test_rows", "fidelity", "fidelity_train", "fidelity_metric", "baseline_score"}
    rows.extend((key, cell(value)) for key, value in diag.items() if key not in skip)
    shape = other[1](result) if other is not None else _shape_text(result)
    data_rows: list[tuple[str, str]] = [("summarised", esc(shape))]
    if isinstance(entry.data_summary, str):
        data_rows.append(("description", esc(entry.data_summary)))
    elif isinstance(entry.data_summary, dict):
        data_rows.extend((key, cell(value)) for key, value in entry.data_summary.items())
    privacy = other[2](result, include_data) if other is not None else _privacy_text(result)
    data_rows.append(("data", esc(privacy)))
    return (
        '<section class="xk-part xk-model"><h3>Model and data</h3>'
        f"{kv_table(rows)}<h4>Data</h4>{kv_table(data_rows)}</section>"
    )


def _shape_text(result: Importance | Effects | Rules) -> str:
    if isinstance(result, Importance):
        return (f"{result.n_features:,} features or groups, {result.n_outputs} output(s), "
                f"{result.n_repeats} repeat(s)")
    if isinstance(result, Effects):
        ice = f", ICE curves of {result.n_rows:,} rows" if result.n_rows is not None else ""
        return f"{result.n_terms:,} term(s), {result.n_outputs} output(s){ice}"
    diag = result.diagnostics
    train, test = diag.get("train_rows"), diag.get("test_rows")
    rows = ""
    if isinstance(train, np.ndarray) and isinstance(test, np.ndarray):
        rows = f"; fitted on {len(train):,} rows, fidelity measured on {len(test):,} held-out rows"
    return f"{result.n_rules:,} rules over {result.n_features:,} features, {result.n_outputs} output(s){rows}"


def _privacy_text(result: Importance | Effects | Rules) -> str:
    if isinstance(result, Importance):
        return "No row of the data is in this section: only the importance scores."
    if isinstance(result, Effects):
        return ("No row of the data is in this section. The grid values, the deciles and ALE's bin edges are "
                "summaries of the data (quantiles or distinct values; ALE's outer edges are each feature's smallest "
                "and largest value); ICE curves are the model's outputs, one per row.")
    return ("No row of the data is in this section. The rule thresholds are midpoints between values of the data, "
            "and categorical conditions name its categories.")


# ----------------------------------------------------------------------------- importance


def _importance_meaning(imp: Importance) -> str:
    params = imp.params
    if "source_method" in params:
        what = "mean signed value" if params.get("signed") else "mean |value|"
        return f"Importance: the {what} of the local attributions ({params['source_method']}) over the rows."
    if imp.method == "permutation_importance" or "scoring" in params:
        return ("Importance: the model's score on the data minus its score with the feature (or group) permuted; "
                "larger means the model relies on it more, around 0 means it does not.")
    return f"Importance as computed by {imp.method}."


def _importance_part(k: int, imp: Importance, target: int) -> str:
    mean, std = imp.mean(), imp.std()
    if imp.std_err is not None or imp.n_repeats > 1:
        lower, upper = imp.ci(0.95)
        how = ("normal interval from the standard errors" if imp.std_err is not None
               else f"Student's t-interval over the {imp.n_repeats} repeats")
        whiskers = f"Whiskers: 95% confidence interval of the mean ({how})."
    else:
        lower = upper = np.full(mean.shape, np.nan)
        whiskers = "No interval: one repeat only."
    outputs = _output_order(imp.output_names, target, MAX_IMPORTANCE_OUTPUTS)
    baseline = imp.diagnostics.get("baseline_score")
    panels = []
    for j in outputs:
        order = np.argsort(-mean[:, j], kind="stable")
        names = [imp.feature_names[i] for i in order]
        drawn = order[:MAX_IMPORTANCE_BARS]
        chart = interval_bars_svg(names[:MAX_IMPORTANCE_BARS], mean[drawn, j], lower[drawn, j], upper[drawn, j],
                                  title=f"importance for {imp.output_names[j]}")
        notes = []
        if isinstance(baseline, np.ndarray) and baseline.shape == (imp.n_outputs,):
            notes.append(f"Score on the data unchanged: {fmt(baseline[j])}.")
        if len(order) > MAX_IMPORTANCE_BARS:
            notes.append(f"The {MAX_IMPORTANCE_BARS} most important of {len(order):,} features are drawn; the table lists more.")
        body = "".join(
            f'<tr><td>{esc(imp.feature_names[i])}</td><td class="xk-r">{esc(fmt(mean[i, j]))}</td>'
            f'<td class="xk-r">{esc(fmt(std[i, j]))}</td><td class="xk-r">{esc(fmt(lower[i, j]))}</td>'
            f'<td class="xk-r">{esc(fmt(upper[i, j]))}</td></tr>'
            for i in order[:MAX_TABLE_ROWS].tolist()
        )
        if len(order) > MAX_TABLE_ROWS:
            body += f'<tr><td colspan="5">{len(order) - MAX_TABLE_ROWS:,} more features with smaller mean importance not listed</td></tr>'
        table = (
            '<table class="xk-importance-table"><thead><tr><th>feature</th><th class="xk-r">mean</th><th class="xk-r">std</th>'
            f'<th class="xk-r">95% CI lower</th><th class="xk-r">95% CI upper</th></tr></thead><tbody>{body}</tbody></table>'
        )
        hidden = "" if j == target else " hidden"
        notes_html = "".join(f'<p class="xk-legend">{esc(n)}</p>' for n in notes)
        panels.append(
            f'<div class="xk-panel" data-panel="" data-output="{j}"{hidden}><h4>Output \u201c{esc(imp.output_names[j])}\u201d</h4>'
            f"{notes_html}{chart}{table}</div>"
        )
    controls = ""
    if len(outputs) > 1:
        options = [(str(j), imp.output_names[j]) for j in outputs]
        controls = f'<div class="xk-controls">{_selector("output", "Output", options, str(target))}</div>'
    more = ""
    if imp.n_outputs > len(outputs):
        more = f'<p class="xk-note">{imp.n_outputs - len(outputs):,} more outputs are left out (at most {MAX_IMPORTANCE_OUTPUTS} drawn).</p>'
    groups = _groups_table(imp.params.get("groups"))
    return (
        f'<section class="xk-part xk-global-importance xk-chooser" id="xk-importance-{k}"><h3>Importance</h3>'
        f"<p>{esc(_importance_meaning(imp))} {esc(whiskers)}</p>{groups}{controls}{more}{''.join(panels)}</section>"
    )


def _groups_table(groups: Any) -> str:
    if not isinstance(groups, Mapping) or not groups:
        return ""
    rows = [
        (str(name), esc(", ".join(str(c) for c in cols) if isinstance(cols, (list, tuple)) else str(cols)))
        for name, cols in list(groups.items())[:MAX_TABLE_ROWS]
    ]
    return f'<h4>Groups permuted together</h4><div class="xk-groups">{kv_table(rows)}</div>'


# ----------------------------------------------------------------------------- effects


def _effect_label(eff: Effects) -> str:
    method = eff.method.lower()
    kind = "ALE" if "ale" in method.split("_") or method == "ale" else "partial dependence" if "partial" in method else "effect"
    return f"centred {kind}" if eff.centered else kind


def _ice_rows(n: int, count: int) -> np.ndarray:
    if count <= 0:
        return np.zeros(0, dtype=np.intp)
    if n <= count:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, count).round().astype(np.intp))


def _effects_part(k: int, eff: Effects, target: int) -> str:
    terms = list(range(min(eff.n_terms, MAX_EFFECT_TERMS)))
    outputs = _output_order(eff.output_names, target, MAX_EFFECT_OUTPUTS)
    label = _effect_label(eff)
    ice_rows = np.zeros(0, dtype=np.intp)
    n_rows = eff.n_rows
    if n_rows:
        sizes = [math.prod(s) for s in eff.grid_shape]
        points = sum(sizes[t] for t in terms if len(eff.term_features[t]) == 1) * len(outputs)
        per_curve = max(points, 1)
        ice_rows = _ice_rows(n_rows, min(MAX_ICE_LINES, MAX_ICE_POINTS // per_curve))
    figures, cut = [], []
    for t in terms:
        part = eff.term(t)
        name = part["name"]
        individual = part["individual"]
        for j in outputs:
            title = f"{name} ({eff.output_names[j]})" if eff.n_outputs > 1 else name
            if len(part["features"]) == 2:
                decs = part["deciles"]
                svg = heatmap_svg(title, part["features"], part["grid_values"], part["labels"], part["average"][..., j], decs)
            else:
                ice = None if individual is None or not ice_rows.size else individual[ice_rows, :, j]
                lower = None if part["lower"] is None else part["lower"][:, j]
                upper = None if part["upper"] is None else part["upper"][:, j]
                labels = part["labels"][0]
                if labels is not None:
                    m = MAX_CATEGORIES
                    if len(labels) > m and j == outputs[0]:
                        cut.append(f"{name}: the first {m} of {len(labels):,} categories are drawn.")
                    svg = categorical_svg(title, part["features"][0], label, labels[:m], part["average"][:m, j],
                                          None if ice is None else ice[:, :m], None if lower is None else lower[:m],
                                          None if upper is None else upper[:m])
                else:
                    decs = None if part["deciles"] is None else part["deciles"][0]
                    svg = line_svg(title, part["features"][0], label, part["grid_values"][0], part["average"][:, j], ice, lower, upper, decs)
            hidden = "" if j == target else " hidden"
            figures.append(
                f'<figure class="xk-panel xk-term" data-panel="" data-term="{t}" data-output="{j}"{hidden}>{svg}'
                f"<figcaption>{esc(title)}</figcaption></figure>"
            )
    controls = []
    if len(outputs) > 1:
        controls.append(_selector("output", "Output", [(str(j), eff.output_names[j]) for j in outputs], str(target)))
    if len(terms) > 1:
        controls.append(_selector("term", "Term", [("*", f"all {len(terms)} terms")] + [(str(t), eff.term_names[t]) for t in terms], "*"))
    notes = []
    if eff.n_terms > len(terms):
        notes.append(f"{eff.n_terms - len(terms):,} more terms are left out: the first {MAX_EFFECT_TERMS} of {eff.n_terms:,} are drawn.")
    if eff.n_outputs > len(outputs):
        notes.append(f"{eff.n_outputs - len(outputs):,} more outputs are left out (at most {MAX_EFFECT_OUTPUTS} drawn).")
    notes.extend(cut)
    note_html = "".join(f'<p class="xk-note">{esc(n)}</p>' for n in notes)
    return (
        f'<section class="xk-part xk-effects xk-chooser" id="xk-effects-{k}"><h3>Effects</h3>'
        f"<p>{esc(_effects_legend(eff, label, len(ice_rows)))}</p>"
        f'{"<div class=xk-controls>" + "".join(controls) + "</div>" if controls else ""}{note_html}'
        f'<div class="xk-effect-grid">{"".join(figures)}</div></section>'
    )


def _effects_legend(eff: Effects, label: str, ice_drawn: int) -> str:
    parts = [f"The {label} of each term (vermillion line; bars for categorical features; a heat map for pairs of features, "
             "blue below the mean effect and vermillion above)."]
    if eff.n_rows:
        if ice_drawn:
            share = "each" if ice_drawn == eff.n_rows else f"{ice_drawn} of the {eff.n_rows:,} rows, evenly spread"
            parts.append(f"Grey: ICE curves, one per row ({share}).")
        else:
            parts.append("ICE curves are left out (too many terms and outputs to draw them within the size limit).")
    if eff.lower is not None and eff.upper is not None:
        level = eff.params.get("ci")
        resamples = eff.params.get("n_bootstrap")
        what = f"the {fmt(100 * level, 3)}% bootstrap interval" if isinstance(level, float) else "the band of the result"
        if isinstance(resamples, int):
            what += f" ({resamples} resamples)"
        parts.append(f"Shaded: {what}.")
    if eff.deciles is not None:
        parts.append("Ticks on the axis: the deciles of the feature in the data.")
    return " ".join(parts)


# ----------------------------------------------------------------------------- rules


def _rules_part(rules: Rules) -> str:
    diag = rules.diagnostics
    metric = str(diag.get("fidelity_metric", "not recorded"))
    metric_text = {"r2": "R\u00b2", "accuracy": "accuracy"}.get(metric, metric)
    held, train = diag.get("fidelity"), diag.get("fidelity_train")
    fid_rows = []
    if isinstance(held, np.ndarray) and held.shape == (rules.n_outputs,):
        for j, name in enumerate(rules.output_names):
            tr = train[j] if isinstance(train, np.ndarray) and train.shape == held.shape else None
            fid_rows.append((name, held[j], tr))
    elif isinstance(held, (int, float)):
        fid_rows.append(("predicted class", float(held), float(train) if isinstance(train, (int, float)) else None))
    fidelity = "".join(
        f'<tr><td>{esc(name)}</td><td class="xk-r xk-fidelity-test">{esc(fmt(h))}</td><td class="xk-r xk-fidelity-train">{esc(fmt(tr))}</td></tr>'
        for name, h, tr in fid_rows
    ) or '<tr><td colspan="3">not recorded</td></tr>'
    fidelity_table = (
        f'<table class="xk-fidelity"><thead><tr><th>output</th><th class="xk-r">{esc(metric_text)} on held-out rows</th>'
        f'<th class="xk-r">{esc(metric_text)} on fit rows</th></tr></thead><tbody>{fidelity}</tbody></table>'
    )
    outputs = list(range(min(rules.n_outputs, MAX_RULE_OUTPUTS)))
    labels = rules.labels
    head = "".join(f'<th class="xk-r">{esc(rules.output_names[j])}</th>' for j in outputs)
    shown = min(rules.n_rules, MAX_RULES)
    body = []
    for i in range(shown):
        cells = "".join(f'<td class="xk-r">{esc(fmt(rules.prediction[i, j]))}</td>' for j in outputs)
        label = f"<td>{esc(labels[i])}</td>" if labels is not None else ""
        body.append(
            f'<tr class="xk-rule"><td class="xk-r">{i + 1}</td><td class="xk-rule-text">{esc(short(rules.rule_text(i), MAX_RULE_CHARS))}</td>{cells}{label}'
            f'<td class="xk-r">{int(rules.support[i]):,}</td><td class="xk-r">{esc(fmt(100 * rules.support_fraction[i], 3))}%</td></tr>'
        )
    if rules.n_rules > shown:
        body.append(f'<tr><td colspan="{4 + len(outputs) + (labels is not None)}">{rules.n_rules - shown:,} more rules not listed</td></tr>')
    more_outputs = f" (the first {MAX_RULE_OUTPUTS} of {rules.n_outputs} outputs)" if rules.n_outputs > len(outputs) else ""
    table = (
        '<table class="xk-rules-table"><thead><tr><th class="xk-r">#</th><th>rule</th>'
        f'{head}{"<th>class</th>" if labels is not None else ""}<th class="xk-r">support</th><th class="xk-r">share</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )
    order = np.argsort(-rules.importance, kind="stable")
    importance = importance_svg([rules.feature_names[i] for i in order], rules.importance[order], title="surrogate tree importance by feature")
    task = "regression tree fitted to the model's outputs" if rules.task == "regression" else "classification tree fitted to the model's predicted class"
    intro = (
        f"A shallow {task}, read as one rule per leaf: the rules reproduce the surrogate exactly. Its fidelity to the model "
        f"({metric_text}) is measured on rows the surrogate did not see, and on the rows it was fitted to."
    )
    return (
        '<section class="xk-part xk-rules"><h3>Rules</h3>'
        f"<p>{esc(intro)}</p>"
        f"{fidelity_table}<h4>{esc(f'{rules.n_rules} rules{more_outputs}: prediction and support (fit rows reaching the rule)')}</h4>{table}"
        f"<h4>Features used by the surrogate</h4>{importance}</section>"
    )
