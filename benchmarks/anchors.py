"""Anchors on Adult: xaikit.Anchors next to alibi's AnchorTabular, same model, data, rows and settings.

The model: scikit-learn ``RandomForestClassifier`` (50 trees, depth 10, ``random_state=0``, one
thread) on the Adult training rows (``xaikit.datasets.load_adult()``), the 8 categorical columns as
integer codes (a missing value is the category ``"?"``). Both libraries explain the first ``--rows``
(20) rows of the Adult test set, with the training rows as their data, at precision ``threshold``
0.95 with ``delta`` 0.1, ``tau``/``epsilon`` 0.15, beam size 1, 100 samples per step, 10,000 coverage
samples, quartile bins of the numeric features, the categorical ones by value.

Printed per library: the time per explanation (ms, mean over the rows, one thread), the precision of
the anchors measured on fresh data (the Adult test rows that satisfy the anchor, the share the model
gives the explained row's class: the population the anchor's perturbation distribution stands for,
never seen by either search), the share of anchors whose fresh precision reaches 0.95, the coverage
(over the training rows: a direct count), and the rule length; then the ratios alibi / xaikit.

alibi (under a non-open licence) is used only here, as a reference, and only when importable: install
it into a folder of its own and point ``PYTHONPATH`` at it, e.g.
``pip install --target /tmp/alibi_pkgs alibi==0.9.6`` then
``PYTHONPATH=/tmp/alibi_pkgs OMP_NUM_THREADS=1 .venv/bin/python benchmarks/anchors.py``.
Only alibi's anchor modules are loaded (its package ``__init__`` imports spaCy and transformers
models that anchors do not need).

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/anchors.py [--rows 20]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
import time
import types
from typing import Any

import numpy as np


def _alibi_anchor_tabular() -> Any:
    """alibi's AnchorTabular without running alibi's package ``__init__`` files, or None when absent."""
    spec = importlib.util.find_spec("alibi")
    if spec is None or spec.origin is None:
        return None
    root = os.path.dirname(spec.origin)
    for name in ("alibi", "alibi.explainers", "alibi.explainers.anchors", "alibi.utils"):
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__path__ = [os.path.join(root, *name.split(".")[1:])]
            sys.modules[name] = module
    from alibi.explainers.anchors.anchor_tabular import AnchorTabular

    return AnchorTabular


def _data() -> tuple[np.ndarray, np.ndarray, list[str], dict[int, list[str]]]:
    from xaikit.datasets import load_adult

    train, test = load_adult().frame, load_adult("test").frame
    names = [str(c) for c in train.columns]
    cats: dict[int, list[str]] = {}
    out = []
    for frame in (train, test):
        cols = []
        for j, c in enumerate(names):
            col = frame[c]
            if col.dtype.kind in "biuf" and str(col.dtype) != "category":
                cols.append(col.to_numpy(dtype=np.float64))
                continue
            values = col.astype(object).where(col.notna(), "?").astype(str)
            if j not in cats:
                cats[j] = sorted(set(train[c].astype(object).where(train[c].notna(), "?").astype(str)) | {"?"})
            index = {v: k for k, v in enumerate(cats[j])}
            cols.append(np.array([index.get(v, index["?"]) for v in values], dtype=np.float64))
        out.append(np.stack(cols, axis=1))
    return out[0], out[1], names, cats


_BETWEEN = re.compile(r"^(?P<a>-?[\d.]+) < (?P<f>.+) <= (?P<b>-?[\d.]+)$")
_ONE = re.compile(r"^(?P<f>.+?) (?P<op><=|>|<|>=) (?P<v>-?[\d.]+)$")
_EQUAL = re.compile(r"^(?P<f>.+?) = (?P<v>.+)$")


def _alibi_rule(anchor: list[str], cats: dict[int, list[str]], names: list[str]) -> list[dict[str, Any]]:
    """alibi's anchor strings as conditions evaluate_rule takes (features named x0, x1... as in an array)."""
    out: list[dict[str, Any]] = []
    for text in anchor:
        m = _BETWEEN.match(text)
        if m:
            f = f"x{names.index(m['f'])}"
            out += [{"feature": f, "operator": ">", "threshold": float(m["a"])}, {"feature": f, "operator": "<=", "threshold": float(m["b"])}]
            continue
        m = _ONE.match(text)
        if m and m["op"] in ("<=", ">"):
            out.append({"feature": f"x{names.index(m['f'])}", "operator": m["op"], "threshold": float(m["v"])})
            continue
        m = _EQUAL.match(text)
        if m and m["f"] in names:
            j = names.index(m["f"])
            out.append({"feature": f"x{j}", "operator": "in", "categories": [float(cats[j].index(m["v"]))]})
            continue
        raise ValueError(f"cannot read alibi's condition {text!r}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20)
    args = parser.parse_args()

    from sklearn.ensemble import RandomForestClassifier

    from xaikit.explainers.rules.anchors import Anchors
    from xaikit.explainers.rules.evaluate import evaluate_rule

    X_train, X_test, names, cats = _data()
    y_train = np.asarray(__import__("xaikit").datasets.load_adult().target)
    model = RandomForestClassifier(n_estimators=50, max_depth=10, random_state=0, n_jobs=1).fit(X_train, y_train)
    rows = X_test[: args.rows]
    labels = model.predict_proba(rows).argmax(axis=1)
    print(f"Adult: {len(X_train)} training rows, {len(X_test)} test rows, {len(names)} features; "
          f"random forest test accuracy {np.mean(model.predict(X_test) == np.asarray(__import__('xaikit').datasets.load_adult('test').target)):.3f}")
    print(f"{args.rows} test rows explained, threshold 0.95, delta 0.1, tau 0.15, beam 1, batch 100, coverage sample 10000\n")

    def summary(rules: list[list[dict[str, Any]]], seconds: float) -> dict[str, float]:
        fresh, cover, length = [], [], []
        for conds, label in zip(rules, labels):
            ev_test = evaluate_rule(model, conds, X_test, label=int(label))
            ev_train = evaluate_rule(model, conds, X_train, label=int(label))
            fresh.append(ev_test.precision)
            cover.append(ev_train.coverage)
            length.append(len({c["feature"] for c in conds}))
        f = np.array(fresh)
        return {"ms": 1000 * seconds / len(rules), "precision": float(np.nanmean(f)), "reach": float(np.mean(f >= 0.95)),
                "coverage": float(np.mean(cover)), "length": float(np.mean(length))}

    explainer = Anchors(model, data=X_train, categorical=sorted(cats), threshold=0.95, delta=0.1, epsilon=0.15, beam_size=1,
                        samples_per_step=100, init_samples=100, coverage_samples=10000)
    explainer.explain(rows[:1], random_state=0, executor="serial")  # warm up
    start = time.perf_counter()
    result = explainer.explain(rows, random_state=0, executor="serial")
    ours = summary([result.conditions[i] for i in range(len(rows))], time.perf_counter() - start)
    table = {"xaikit": ours}

    AnchorTabular = _alibi_anchor_tabular()
    if AnchorTabular is None:
        print("alibi is not importable: install it into a folder of its own (pip install --target /tmp/alibi_pkgs alibi==0.9.6) "
              "and run with PYTHONPATH=/tmp/alibi_pkgs")
    else:
        alibi = AnchorTabular(model.predict_proba, feature_names=names, categorical_names=cats, seed=0)
        alibi.fit(X_train, disc_perc=(25, 50, 75))
        alibi.explain(rows[0], threshold=0.95)  # warm up
        anchors = []
        start = time.perf_counter()
        for x in rows:
            exp = alibi.explain(x, threshold=0.95, delta=0.1, tau=0.15, batch_size=100, coverage_samples=10000, beam_size=1)
            anchors.append(exp.anchor)
        seconds = time.perf_counter() - start
        table["alibi"] = summary([_alibi_rule(a, cats, names) for a in anchors], seconds)

    print(f"{'library':<8} {'ms/explanation':>15} {'fresh precision':>16} {'share >= 0.95':>14} {'coverage':>9} {'rule length':>12}")
    for lib, s in table.items():
        print(f"{lib:<8} {s['ms']:>15.1f} {s['precision']:>16.3f} {s['reach']:>14.2f} {s['coverage']:>9.3f} {s['length']:>12.2f}")
    if "alibi" in table:
        a, o = table["alibi"], ours
        print(f"{'ratio':<8} {a['ms'] / o['ms']:>15.2f} {a['precision'] / o['precision']:>16.3f} {'':>14} "
              f"{a['coverage'] / o['coverage']:>9.2f} {a['length'] / o['length']:>12.2f}   (alibi / xaikit; time: alibi / xaikit = speed-up)")


if __name__ == "__main__":
    main()
