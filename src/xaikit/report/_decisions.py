"""Report sections of the results about single decisions: counterfactuals
(:class:`~xaikit.results.counterfactuals.CounterfactualSet`), anchors (a
:class:`~xaikit.results.rules.Rules` with precisions) and accuracy under attack
(:class:`~xaikit.results.robustness.Robustness`).

Counterfactuals and anchors describe the explained rows themselves (a counterfactual's change names
the row's value, an anchor the row's bin or category), so their values are written only with
``include_data=True``; without it the section keeps what can be shown without the rows: validity,
distances, the names of the features changed or anchored, precision and coverage.

>>> import numpy as np
>>> from xaikit.results.robustness import Robustness
>>> rob = Robustness(predicted=[[[1, 0], [0, 0]]], epsilons=[0.0, 0.1], labels=[1, 0], clean_predicted=[1, 0],
...                  attack_names=["pgd"], method="demo")
>>> html = decision_part(rob, include_data=False)
>>> html.count("xk-effect xk-line"), "accuracy under attack" in html
(1, True)
"""

from __future__ import annotations

import numpy as np

from xaikit.report._charts import line_svg
from xaikit.report._encode import esc, fmt
from xaikit.report._global import MAX_RULE_CHARS, MAX_TABLE_ROWS
from xaikit.report._svg import importance_svg, short
from xaikit.results.counterfactuals import CounterfactualSet
from xaikit.results.robustness import Robustness
from xaikit.results.rules import Rules

__all__ = ["DECISION_KINDS", "decision_part", "is_anchors", "privacy_text", "shape_text"]

#: The result kinds drawn here (and anchors: :class:`Rules` with precisions).
DECISION_KINDS = (CounterfactualSet, Robustness)
#: Most attacks drawn as curves.
MAX_ATTACKS = 8


def is_anchors(result: object) -> bool:
    """Whether ``result`` is a :class:`Rules` of anchors (rules with precisions, one per explained row)."""
    return isinstance(result, Rules) and result.precision is not None


def decision_part(result: CounterfactualSet | Robustness | Rules, *, include_data: bool) -> str:
    """The body of the section of ``result``."""
    if isinstance(result, CounterfactualSet):
        return _counterfactuals_part(result, include_data)
    if isinstance(result, Robustness):
        return _robustness_part(result)
    return _anchors_part(result, include_data)


def shape_text(result: CounterfactualSet | Robustness | Rules) -> str:
    """What the result summarises, in words."""
    if isinstance(result, CounterfactualSet):
        n_rows, n_cf, n_features = result.values.shape
        return f"{n_rows:,} rows, up to {n_cf} counterfactuals each, {n_features:,} features"
    if isinstance(result, Robustness):
        n_attacks, n_epsilons, n_rows = result.predicted.shape
        return f"{n_rows:,} labelled rows, {n_attacks} attack(s), {n_epsilons} perturbation size(s)"
    return f"{result.n_rules:,} anchors over {result.n_features:,} features"


def privacy_text(result: CounterfactualSet | Robustness | Rules, include_data: bool) -> str:
    """What of the data the section holds."""
    if isinstance(result, Robustness):
        return "No row of the data is in this section: only accuracies and the sizes of the perturbations."
    what = ("the values each counterfactual changes, from and to" if isinstance(result, CounterfactualSet)
            else "each anchor's conditions (bins and categories of the row)")
    if include_data:
        return f"This section names {what}: they describe the explained rows (include_data=True)."
    return (f"Left out (include_data=False): {what}, which describe the explained rows; the section lists only the "
            "names of the features involved and the measures.")


# ----------------------------------------------------------------------------- counterfactuals


def _counterfactuals_part(cf: CounterfactualSet, include_data: bool) -> str:
    valid = cf.valid
    found = int(valid.any(axis=1).sum())
    distance = np.asarray(cf.distance, dtype=np.float64)
    changed = np.asarray(cf.changed, dtype=bool)
    intro = (
        f"For each row, up to {cf.n_counterfactuals} changes of its features that would give the desired decision, "
        "found by the model's own predictions (every counterfactual marked valid was predicted again after every "
        f"constraint was enforced). A valid counterfactual was found for {found:,} of {cf.n_rows:,} rows; "
        f"{int(valid.sum()):,} of {valid.size:,} counterfactuals are valid."
    )
    shown = min(cf.n_rows, MAX_TABLE_ROWS)
    body = []
    for i in range(shown):
        ok = np.flatnonzero(valid[i])
        if not ok.size:
            body.append(f'<tr class="xk-cf-row"><td class="xk-r">{i}</td><td class="xk-r">0/{cf.n_counterfactuals}</td>'
                        '<td colspan="3">no counterfactual found</td></tr>')
            continue
        k = int(ok[np.argmin(distance[i, ok])])
        if include_data:
            change = cf.text(i, k)
        else:
            change = "changes " + ", ".join(cf.feature_names[j] for j in np.flatnonzero(changed[i, k]))
        body.append(
            f'<tr class="xk-cf-row"><td class="xk-r">{i}</td><td class="xk-r">{ok.size}/{cf.n_counterfactuals}</td>'
            f'<td class="xk-cf-change">{esc(short(change, MAX_RULE_CHARS))}</td>'
            f'<td class="xk-r">{int(changed[i, k].sum())}</td><td class="xk-r">{esc(fmt(distance[i, k]))}</td></tr>'
        )
    if cf.n_rows > shown:
        body.append(f'<tr><td colspan="5">{cf.n_rows - shown:,} more rows not listed</td></tr>')
    table = (
        '<table class="xk-cf-table"><thead><tr><th class="xk-r">row</th><th class="xk-r">valid</th>'
        '<th>closest valid counterfactual</th><th class="xk-r">features changed</th><th class="xk-r">distance</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )
    # how often each feature is changed by a valid counterfactual
    counts = (changed & valid[:, :, None]).sum(axis=(0, 1)).astype(np.float64)
    order = np.argsort(-counts, kind="stable")
    chart = importance_svg([cf.feature_names[j] for j in order], counts[order], title="features changed by valid counterfactuals")
    return (
        '<section class="xk-part xk-counterfactuals"><h3>Counterfactuals</h3>'
        f"<p>{esc(intro)}</p><h4>The closest valid counterfactual of each row</h4>{table}"
        f"<h4>How often each feature is changed</h4>{chart}</section>"
    )


# ----------------------------------------------------------------------------- anchors


def _anchors_part(rules: Rules, include_data: bool) -> str:
    precision = np.asarray(rules.precision, dtype=np.float64)
    lower = rules.precision_lower
    threshold = rules.params.get("threshold")
    intro = (
        "For each row, an anchor: conditions on its own features under which the model keeps its decision with the "
        "precision shown (estimated on samples that meet the conditions, with a KL lower confidence bound), and the "
        "share of the data that meets them (coverage)."
        + (f" The precision asked for was {fmt(float(threshold))}." if isinstance(threshold, (int, float)) else "")
    )
    rows = rules.row if rules.row is not None else np.arange(rules.n_rules)
    labels = rules.labels
    shown = min(rules.n_rules, MAX_TABLE_ROWS)
    body = []
    for i in range(shown):
        if include_data:
            text = rules.rule_text(i)
        else:
            names = sorted({c["feature"] for c in rules.conditions[i]})
            text = "anchored on " + (", ".join(names) if names else "no condition")
        bound = f"{fmt(float(lower[i]))}" if lower is not None else "n/a"
        label = esc(labels[i]) if labels is not None else ""
        body.append(
            f'<tr class="xk-anchor"><td class="xk-r">{int(rows[i])}</td><td class="xk-rule-text">{esc(short(text, MAX_RULE_CHARS))}</td>'
            f'<td>{label}</td><td class="xk-r">{esc(fmt(float(precision[i])))}</td><td class="xk-r">{esc(bound)}</td>'
            f'<td class="xk-r">{esc(fmt(100 * float(rules.support_fraction[i]), 3))}%</td></tr>'
        )
    if rules.n_rules > shown:
        body.append(f'<tr><td colspan="6">{rules.n_rules - shown:,} more anchors not listed</td></tr>')
    table = (
        '<table class="xk-anchors-table"><thead><tr><th class="xk-r">row</th><th>anchor</th><th>decision</th>'
        '<th class="xk-r">precision</th><th class="xk-r">lower bound</th><th class="xk-r">coverage</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )
    order = np.argsort(-rules.importance, kind="stable")
    chart = importance_svg([rules.feature_names[j] for j in order], np.asarray(rules.importance)[order],
                           title="share of anchors using each feature")
    return (
        '<section class="xk-part xk-anchors"><h3>Anchors</h3>'
        f"<p>{esc(intro)}</p>{table}<h4>Features the anchors use</h4>{chart}</section>"
    )


# ----------------------------------------------------------------------------- robustness


def _robustness_part(rob: Robustness) -> str:
    accuracy = np.asarray(rob.accuracy, dtype=np.float64)
    n_attacks, _, n_rows = rob.predicted.shape
    epsilons = np.asarray(rob.epsilons, dtype=np.float64)
    norm = rob.params.get("norm", "not recorded")
    intro = (
        f"Accuracy of the model on {n_rows:,} labelled rows when each row is perturbed by an attack within a ball of "
        f"radius epsilon (norm {norm}); clean accuracy {fmt(rob.clean_accuracy)}. A row counts as robust at epsilon only "
        "if no attack found a perturbation of that size that changes its prediction."
    )
    charts = []
    head = "".join(f'<th class="xk-r">{esc(fmt(float(e)))}</th>' for e in epsilons)
    lines = []
    for a in range(min(n_attacks, MAX_ATTACKS)):
        name = rob.attack_names[a]
        charts.append(line_svg(f"accuracy under attack: {name}", "epsilon", "accuracy", epsilons, accuracy[a], None, None, None, None))
        cells = "".join(f'<td class="xk-r">{esc(fmt(float(v)))}</td>' for v in accuracy[a])
        lines.append(f'<tr class="xk-attack"><td>{esc(name)}</td>{cells}</tr>')
    table = (
        f'<table class="xk-robustness-table"><thead><tr><th>attack \\ epsilon</th>{head}</tr></thead>'
        f"<tbody>{''.join(lines)}</tbody></table>"
    )
    return (
        '<section class="xk-part xk-robustness"><h3>Accuracy under attack</h3>'
        f"<p>{esc(intro)}</p>{table}{''.join(charts)}</section>"
    )
