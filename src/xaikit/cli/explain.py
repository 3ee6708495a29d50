"""``xaikit explain MODEL DATA --out result.xai``: explain a model file on the rows of a table.

The model is read by :func:`xaikit.models.files.load_model` (skops, ONNX, XGBoost JSON/UBJ, LightGBM
text, TorchScript, Keras; pickles only with ``--trust-pickle``), the rows and the background from CSV
or Parquet. When the model knows the columns it was fitted on, those columns are taken from the
files, by name and in the model's order (a file lacking one is refused, naming it); otherwise every
column is a feature, in the file's order. The result is one :func:`xaikit.explain` call, as in
Python with the same arguments, saved with ``result.save`` (atomically).

The global methods (``permutation-importance``, ``partial-dependence``, ``ale``, ``surrogate-tree``;
method names are accepted in kebab case and in snake case) are built from their registry class with
the options ``--labels`` (the column of DATA holding ``y``), ``--scoring``, ``--n-repeats``,
``--features``, ``--pairs``, ``--grid-resolution``, ``--bins``, ``--max-depth`` and ``--kind``; an
option that the chosen method does not take is refused, naming it. So are ``counterfactuals`` and
``anchors``, which read the rows they draw from in ``--reference FILE`` (the training data; DATA itself
when left out), with ``--n-counterfactuals``, ``--immutable`` and ``--threshold``.

With ``--chunk-rows N``, ``--resume``/``--no-resume`` or ``--overwrite``, or when ``--out`` ends with
``/`` (a folder), the command runs a dataset job
(:func:`xaikit.execution.dataset.explain_dataset`): DATA is streamed in chunks of ``--chunk-rows``
rows (default 50000), each chunk's attributions are written to ``OUT/chunk-NNNNNN.parquet`` with a
manifest, and a rerun resumes a job that was interrupted (``--no-resume`` refuses a folder that
holds one; ``--overwrite`` starts over). A dataset job explains rows with a local method: ``--method``
auto picks TreeShap for tree models and must be named otherwise; ``--rows`` and the options of the
global methods do not apply.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from typing import Any

from xaikit.cli._common import EXIT_OK, BadInput, Progress, check_out, load_global_methods, load_model_file, parse_target, read_table

__all__ = [
    "build_call", "build_dataset_job", "dataset_mode", "explain_global", "method_name", "parse_features", "parse_pairs", "parse_rows",
    "register", "resolve_method", "run", "run_dataset_job",
]

_OUTPUTS = ("auto", "probability", "log_odds", "raw", "label")

#: Options a method may or may not take: (option, attribute of the parsed arguments, library parameter).
_METHOD_OPTIONS = (
    ("--labels", "labels", "y"),
    ("--scoring", "scoring", "scoring"),
    ("--n-repeats", "n_repeats", "n_repeats"),
    ("--features", "features", "features"),
    ("--pairs", "pairs", "pairs"),
    ("--grid-resolution", "grid_resolution", "grid_resolution"),
    ("--bins", "bins", "bins"),
    ("--max-depth", "max_depth", "max_depth"),
    ("--kind", "kind", "kind"),
    ("--n-samples", "n_samples", "n_samples"),
    ("--random-state", "random_state", "random_state"),
    ("--layer", "layer", "layer"),
    ("--baseline", "baseline", "baseline"),
    ("--n-steps", "n_steps", "n_steps"),
    ("--composite", "composite", "composite"),
    ("--neuron", "neuron", "neuron"),
    ("--reference", "reference", "data"),
    ("--n-counterfactuals", "n_counterfactuals", "n"),
    ("--immutable", "immutable", "constraints"),
    ("--threshold", "threshold", "threshold"),
)
#: The method kinds built from their class (constructor, then explain) rather than by ``xaikit.explain``.
_BUILT_KINDS = ("global", "counterfactual", "rules")
#: The networks' options that go to the call as they are (after their type is checked by argparse).
_NETWORK_OPTIONS = ("layer", "baseline", "n_steps", "composite", "neuron")
#: The parameters ``--method auto`` (a Shapley method or TreeSHAP) takes among those.
_AUTO_PARAMETERS = frozenset({"n_samples", "random_state", "background"})
#: The library's parameter names and the command line's, for the errors of the global methods.
_OPTION_OF = {param: option for option, _, param in _METHOD_OPTIONS} | {
    "target": "--target", "output": "--output", "executor": "--executor", "X": "DATA",
}


def register(sub: Any) -> argparse.ArgumentParser:
    """Add the ``explain`` subcommand to ``sub`` (the main parser's subparsers)."""
    p = sub.add_parser(
        "explain",
        help="explain a model file on the rows of a CSV or Parquet file",
        description="Explain MODEL on the rows of DATA and save the result (.xai). MODEL: .skops, .onnx, XGBoost "
        ".json/.ubj, LightGBM .txt, TorchScript .pt/.pth, Keras .keras; .pkl/.pickle/.joblib only with "
        "--trust-pickle. DATA and --background: CSV or Parquet, with a header row.",
        epilog="Examples: xaikit explain model.json rows.csv --background bg.csv --out result.xai; "
        "xaikit explain model.skops test.csv --method permutation-importance --labels y --out importance.xai",
    )
    p.add_argument("model", metavar="MODEL", help="the model file")
    p.add_argument("data", metavar="DATA", help="rows to explain: a CSV or Parquet file with a header row")
    p.add_argument("--out", required=True, metavar="PATH",
                   help="where to save the result (.xai; its folder must exist), or the folder of a dataset job (see --chunk-rows)")
    p.add_argument(
        "--method",
        default="auto",
        help="a method of 'xaikit methods MODEL' (kebab or snake case: permutation-importance, partial-dependence, "
        "ale, surrogate-tree...), or auto (default: auto)",
    )
    p.add_argument("--background", metavar="FILE", help="background rows (CSV or Parquet) for the methods that need them")
    p.add_argument("--target", metavar="T", help="the output to explain, by position or name (default: every output)")
    p.add_argument("--output", choices=_OUTPUTS, default="auto", help="the response explained (default: auto; label: surrogate-tree only)")
    p.add_argument("--n-samples", type=int, metavar="N", help="budget of sampled methods (coalitions per row)")
    p.add_argument("--random-state", type=int, metavar="S", help="seed of sampled methods")
    p.add_argument("--executor", default="auto", help="auto, serial, threads:N or processes:N (default: auto)")
    p.add_argument("--rows", metavar="A:B", help="explain rows A to B-1 of DATA only (Python slice, e.g. 0:100)")
    j = p.add_argument_group("dataset jobs", "DATA streamed in chunks into the folder --out, resumable (local methods)")
    j.add_argument("--chunk-rows", type=int, metavar="N", help="rows per chunk of a dataset job (default: 50000)")
    j.add_argument("--resume", action=argparse.BooleanOptionalAction, default=None,
                   help="resume the job in --out (default); --no-resume refuses a folder that holds one")
    j.add_argument("--overwrite", action="store_true", help="delete the job files in --out and start over")
    p.add_argument(
        "--trust-pickle",
        action="store_true",
        help="load pickles, skops types skops does not trust and Keras lambdas: runs code from the file",
    )
    g = p.add_argument_group("global methods", "options of permutation-importance, partial-dependence, ale and surrogate-tree")
    g.add_argument("--labels", metavar="COLUMN", help="the column of DATA holding the labels y (left out of the features); "
                   "required by permutation-importance")
    g.add_argument("--scoring", action="append", metavar="NAME",
                   help="permutation-importance: a scikit-learn scorer name (repeat for several; default: accuracy or R^2)")
    g.add_argument("--n-repeats", type=int, metavar="N", help="permutation-importance: permutations of each feature (default: 5)")
    g.add_argument("--features", metavar="A,B,...", help="partial-dependence, ale: the features with a curve, by name")
    g.add_argument("--pairs", metavar="A:B,...", help="partial-dependence, ale: pairs of features with a 2-D effect, by name")
    g.add_argument("--grid-resolution", type=int, metavar="N", help="partial-dependence: grid points per feature (default: 100)")
    g.add_argument("--bins", type=int, metavar="N", help="ale: quantile bins per numeric feature (default: 20)")
    g.add_argument("--max-depth", type=int, metavar="N", help="surrogate-tree: depth of the tree (default: 4)")
    g.add_argument("--kind", choices=("average", "individual", "both"),
                   help="partial-dependence: the average, the ICE curves, or both (default: average)")
    d = p.add_argument_group("decisions", "options of counterfactuals and anchors")
    d.add_argument("--reference", metavar="FILE", help="the rows they draw from (CSV or Parquet; e.g. the training data; default: DATA)")
    d.add_argument("--n-counterfactuals", type=int, metavar="N", help="counterfactuals: how many per row (default: 4)")
    d.add_argument("--immutable", metavar="A,B,...", help="counterfactuals: features that must not change, by name")
    d.add_argument("--threshold", type=float, metavar="P", help="anchors: the precision an anchor must reach (default: 0.95)")
    n = p.add_argument_group("networks", "options of the gradient, layer, DeepLIFT, LRP and CAM methods (torch and Keras models)")
    n.add_argument("--layer", metavar="NAME", help="the layer a layer method or CAM reads (e.g. 0, features.3, base/conv_1)")
    n.add_argument("--baseline", type=float, metavar="X", help="the reference input of a path or ablation method (default: 0)")
    n.add_argument("--n-steps", type=int, metavar="N", help="integrated-gradients and layer methods: quadrature nodes (default: 50)")
    n.add_argument("--composite", metavar="NAME", help="lrp: the composite of rules (default: epsilon_plus)")
    n.add_argument("--neuron", type=int, metavar="N", help="neuron methods: the unit of the layer (its position in the layer's flattened output)")
    p.set_defaults(run=run)
    return p


def method_name(text: str) -> str:
    """The registry name of ``--method``: kebab case and snake case are both accepted.

    >>> method_name("permutation-importance"), method_name("tree_shap"), method_name(" ALE ")
    ('permutation_importance', 'tree_shap', 'ale')
    """
    return text.strip().lower().replace("-", "_")


def resolve_method(text: str) -> tuple[str, Any]:
    """``(name, class)`` of ``--method``: its registry name and explainer class (None for ``auto``).
    The global methods are imported when they are not registered yet; an unknown name is refused,
    listing the methods.

    >>> resolve_method("partial-dependence")[1].__name__
    'PartialDependence'
    >>> resolve_method("auto")
    ('auto', None)
    """
    name = method_name(text)
    if name == "auto":
        return name, None
    from xaikit.explainers.base import REGISTRY

    if name not in REGISTRY:
        load_global_methods()
    if name not in REGISTRY:
        known = ", ".join(m.replace("_", "-") for m in sorted(REGISTRY))
        raise BadInput(f"--method: expected auto or one of {known} (kebab or snake case), got {text!r}")
    return name, REGISTRY[name]


def _split_names(text: str, option: str, example: str) -> list[str]:
    items = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in items):
        raise BadInput(f"{option}: expected names separated by commas (e.g. {example}), got {text!r}")
    return items


def parse_features(text: str | None) -> list[str] | None:
    """``--features A,B`` as a list of names.

    >>> parse_features("age, income"), parse_features(None)
    (['age', 'income'], None)
    >>> parse_features("age,,income")
    Traceback (most recent call last):
    ...
    xaikit.cli._common.BadInput: --features: expected names separated by commas (e.g. age,income), got 'age,,income'
    """
    return None if text is None else _split_names(text, "--features", "age,income")


def parse_pairs(text: str | None) -> list[tuple[str, str]] | None:
    """``--pairs A:B,C:D`` as a list of pairs of names.

    >>> parse_pairs("age:income,age:debt")
    [('age', 'income'), ('age', 'debt')]
    >>> parse_pairs("age")
    Traceback (most recent call last):
    ...
    xaikit.cli._common.BadInput: --pairs: expected pairs A:B separated by commas (e.g. age:income,age:debt), got 'age'
    """
    if text is None:
        return None
    pairs = []
    for item in _split_names(text, "--pairs", "age:income,age:debt"):
        parts = [part.strip() for part in item.split(":")]
        if len(parts) != 2 or not all(parts):
            raise BadInput(f"--pairs: expected pairs A:B separated by commas (e.g. age:income,age:debt), got {text!r}")
        pairs.append((parts[0], parts[1]))
    return pairs


def parse_rows(text: str | None, n: int) -> slice:
    """``--rows A:B`` as a slice of ``range(n)`` (either end may be left out; negative counts from the end).

    >>> parse_rows("2:5", 10), parse_rows(None, 10), parse_rows(":-1", 10)
    (slice(2, 5, None), slice(0, 10, None), slice(0, 9, None))
    >>> parse_rows("5", 10)
    Traceback (most recent call last):
    ...
    xaikit.cli._common.BadInput: --rows: expected A:B (e.g. 0:100), got '5'
    """
    if text is None:
        return slice(0, n)
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        start = int(parts[0]) if parts[0].strip() else None
        stop = int(parts[1]) if parts[1].strip() else None
    except ValueError:
        raise BadInput(f"--rows: expected A:B (e.g. 0:100), got {text!r}") from None
    a, b, _ = slice(start, stop).indices(n)
    if b <= a:
        raise BadInput(f"--rows: expected a range holding rows of DATA ({n} rows), got {text!r}, which selects none")
    return slice(a, b)


def _columns(frame: Any, names: list[str] | None, what: str, path: str) -> Any:
    """The model's columns of ``frame`` in its order (refusing a file that lacks one), or every column."""
    if names is None:
        return frame
    missing = [c for c in names if c not in frame.columns]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise BadInput(f"{what}: {path!r} lacks {len(missing)} column(s) the model was fitted on: {shown}")
    return frame[names]


def _as_array(frame: Any, what: str) -> Any:
    """A numeric DataFrame as a float64 array (strings are refused, naming the columns)."""
    import numpy as np

    bad = [str(c) for c, dtype in frame.dtypes.items() if dtype.kind not in "biuf"]
    if bad:
        raise BadInput(
            f"{what}: expected numeric columns for this model, got non-numeric column(s) {', '.join(bad[:10])}"
        )
    return frame.to_numpy(dtype=np.float64)


def _check_options(args: argparse.Namespace, name: str, cls: Any) -> None:
    """Refuse, naming it, an option the method does not take; ``--labels`` where the method needs labels."""
    from xaikit.explainers.base import REGISTRY

    accepted = _AUTO_PARAMETERS if cls is None else _parameters(cls)
    shown = name.replace("_", "-")
    for option, attr, param in _METHOD_OPTIONS:
        if getattr(args, attr) is None or param in accepted:
            continue
        takers = sorted(m.replace("_", "-") for m, c in REGISTRY.items() if param in _parameters(c))
        listed = ", ".join(takers[:6]) + (", ..." if len(takers) > 6 else "")
        raise BadInput(f"{option}: method {shown!r} takes no such option; it is an option of {listed or 'no method'}")
    if cls is not None and "layer" in _required(cls) and args.layer is None:
        raise BadInput(f"--layer: method {shown!r} reads a layer of the network: name it (--layer NAME; e.g. 0 or features.3)")
    if cls is not None and "neuron" in _required(cls) and args.neuron is None:
        raise BadInput(f"--neuron: method {shown!r} explains one unit of a layer: give its position (--neuron N)")
    if cls is not None and "y" in _required(cls) and args.labels is None:
        raise BadInput(f"--labels: method {shown!r} scores the model against labels: name the column of DATA holding them (--labels COLUMN)")
    if args.output == "label" and name != "surrogate_tree":
        raise BadInput(f"--output: 'label' (the predicted class) applies to surrogate-tree only, got method {shown!r}")
    if args.background is not None and cls is not None and cls.kind in _BUILT_KINDS:
        more = "; give the rows it draws from with --reference FILE" if cls.kind != "global" else ""
        raise BadInput(f"--background: method {args.method!r} takes no background rows; leave --background out{more}")
    parse_features(args.features)  # their form, checked before any work
    parse_pairs(args.pairs)


def _labels(frame: Any, column: str, names: list[str] | None, path: str) -> tuple[Any, Any]:
    """``(frame without the column, the column)``: the labels ``y`` of ``--labels COLUMN``."""
    if column not in frame.columns:
        shown = ", ".join(map(str, frame.columns[:20])) + (", ..." if len(frame.columns) > 20 else "")
        raise BadInput(f"--labels: expected a column of DATA, got {column!r}, which {path!r} lacks (its columns: {shown})")
    if names is not None and column in names:
        raise BadInput(f"--labels: expected a column the model was not fitted on, got {column!r}, one of the model's features")
    y = frame[column]
    missing = int(y.isna().sum())
    if missing:
        raise BadInput(f"--labels: expected a label in every row, got {missing} missing value(s) in column {column!r}")
    return frame.drop(columns=[column]), y


def _check_names(items: list[str], columns: list[str], option: str) -> None:
    unknown = [c for c in items if c not in columns]
    if unknown:
        shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
        raise BadInput(f"{option}: expected features of DATA ({shown}), got unknown name(s) {', '.join(map(repr, unknown))}")


def _global_params(args: argparse.Namespace, columns: list[str]) -> dict[str, Any]:
    """The global methods' parameters set on the command line (the options were checked to apply)."""
    params: dict[str, Any] = {}
    if args.scoring is not None:
        params["scoring"] = args.scoring[0] if len(args.scoring) == 1 else list(args.scoring)
    for key in ("n_repeats", "grid_resolution", "bins", "max_depth", "kind"):
        if getattr(args, key) is not None:
            params[key] = getattr(args, key)
    features, pairs = parse_features(args.features), parse_pairs(args.pairs)
    if features is not None:
        _check_names(features, columns, "--features")
        params["features"] = features
    if pairs is not None:
        _check_names([c for pair in pairs for c in pair], columns, "--pairs")
        params["pairs"] = pairs
        if features is None:  # --pairs alone: the pairs only, whatever the method's default
            params["features"] = []
    return params


def _decision_params(args: argparse.Namespace, data: Any, names: list[str] | None, wants_frame: bool) -> dict[str, Any]:
    """Counterfactuals' and anchors' parameters: ``data`` (``--reference``, else DATA itself), ``n``,
    ``constraints`` (``--immutable``) and ``threshold``."""
    import xaikit as xk

    params: dict[str, Any] = {}
    reference = data
    if args.reference is not None:
        reference = _columns(read_table(args.reference, "--reference"), names, "--reference", args.reference)
        if names is None and list(reference.columns) != list(data.columns):
            raise BadInput(f"--reference: expected the columns of DATA ({', '.join(map(str, data.columns[:10]))}), "
                           f"got {', '.join(map(str, reference.columns[:10]))}")
    params["data"] = reference if wants_frame else _as_array(reference, "--reference")
    if args.n_counterfactuals is not None:
        params["n"] = args.n_counterfactuals
    if args.immutable is not None:
        immutable = _split_names(args.immutable, "--immutable", "age,sex")
        _check_names(immutable, [str(c) for c in data.columns], "--immutable")
        params["constraints"] = xk.Constraints(immutable=immutable)
    if args.threshold is not None:
        params["threshold"] = args.threshold
    return params


def build_call(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    """Load the model and the tables named by ``args``: ``(model, X, params)`` for
    ``xaikit.explain(model, X, **params)``. A global method's parameters include ``y`` (from
    ``--labels``) and, when the model does not know its columns, ``feature_names`` (those of DATA)."""
    import xaikit as xk
    from xaikit.models.files import feature_names_of

    name, cls = resolve_method(args.method)
    _check_options(args, name, cls)
    model = load_model_file(args.model, trust_pickle=args.trust_pickle)
    names = feature_names_of(model)
    frame = read_table(args.data, "DATA")
    y = None
    if args.labels is not None:
        frame, y = _labels(frame, args.labels, names, args.data)
    data = _columns(frame, names, "DATA", args.data)
    rows = parse_rows(args.rows, len(data))
    data = data.iloc[rows]
    background = None
    if args.background is not None:
        background = _columns(read_table(args.background, "--background"), names, "--background", args.background)
        if names is None and list(background.columns) != list(data.columns):
            raise BadInput(
                f"--background: expected the columns of DATA ({', '.join(map(str, data.columns[:10]))}), "
                f"got {', '.join(map(str, background.columns[:10]))}"
            )
    wants_frame = hasattr(model, "feature_names_in_")
    X = data if wants_frame else _as_array(data, "DATA")
    params: dict[str, Any] = {"method": name, "output": args.output, "executor": args.executor}
    for key, value in (("n_samples", args.n_samples), ("random_state", args.random_state), ("target", parse_target(args.target)),
                       *((key, getattr(args, key)) for key in _NETWORK_OPTIONS)):
        if value is not None:
            params[key] = value
    feature_names = None if wants_frame else [str(c) for c in data.columns]
    if cls is not None and cls.kind in ("counterfactual", "rules"):
        if "output" not in _parameters(cls):  # anchors: the decision is the model's class
            if args.output != "auto":
                raise BadInput(f"--output: method {args.method!r} explains the model's decision (its class); leave --output out")
            del params["output"]
        params.update(_decision_params(args, data, names, wants_frame))
        if feature_names is not None:
            params["feature_names"] = feature_names
        return model, X, params
    if cls is not None and cls.kind == "global":
        params.update(_global_params(args, [str(c) for c in data.columns]))
        if y is not None:
            params["y"] = y.iloc[rows].to_numpy()
        if feature_names is not None:
            params["feature_names"] = feature_names
        return model, X, params
    bg = None if background is None else (background if wants_frame else _as_array(background, "--background"))
    accepted = set() if cls is None else _parameters(cls)
    if cls is None or "background" in accepted:  # auto, a Shapley method, TreeShap, GradientShap
        if bg is not None:
            params["background"] = bg
        if feature_names is not None and (cls is None or "feature_names" in accepted):
            params["feature_names"] = feature_names
    elif "masker" in accepted:  # LIME, occlusion: a tabular masker on the background
        if bg is None:
            raise BadInput(f"--background: method {args.method!r} needs background rows (--background FILE)")
        params["masker"] = xk.TabularMasker(bg, feature_names=feature_names)
    elif bg is not None:
        raise BadInput(f"--background: method {args.method!r} takes no background rows; leave --background out")
    return model, X, params


def explain_global(model: Any, X: Any, params: dict[str, Any]) -> Any:
    """Run a global method as :func:`build_call` describes it: ``cls(model, **constructor parameters)
    .explain(X, **the others)``, the class taken from the registry. ``feature_names`` (a model that
    does not know its columns) name the adapted model's columns, so the result names the features as
    DATA does. A parameter the library refuses is named as the command line's option.
    """
    import inspect

    from xaikit.errors import InvalidParameterError
    from xaikit.explainers.base import get_explainer_class

    params = dict(params)
    cls = get_explainer_class(params.pop("method"))
    names = params.pop("feature_names", None)
    init_names = set(inspect.signature(cls).parameters) - {"model"}
    try:
        explainer = cls(model, **{k: v for k, v in params.items() if k in init_names})
        adapted = getattr(explainer, "model", None)
        if names is not None and adapted is not None and getattr(adapted, "feature_names_in", None) is None:
            adapted.feature_names_in = list(names)
        return explainer.explain(X, **{k: v for k, v in params.items() if k not in init_names})
    except InvalidParameterError as exc:
        text = " ".join(str(exc).split())
        match = re.match(r"(\w+)(\[[^\]]*\])?: ", text)
        if match is None or match.group(1) not in _OPTION_OF:
            raise
        raise BadInput(f"{_OPTION_OF[match.group(1)]}: {text[match.end():]}") from exc


def _parameters(cls: Any) -> set[str]:
    import inspect

    return set(inspect.signature(cls).parameters) | set(inspect.signature(cls.explain).parameters)


def _required(cls: Any) -> set[str]:
    """The parameters of ``cls``'s constructor and ``explain`` that have no default."""
    import inspect

    from xaikit.explainers.pipeline import REQUIRED

    init = {name for name, p in inspect.signature(cls).parameters.items()
            if p.default is inspect.Parameter.empty and p.kind is p.KEYWORD_ONLY}
    return init | {p.name for p in getattr(cls, "explain_parameters", ()) if p.default is REQUIRED}


def _is_global(name: str) -> bool:
    """Whether the method is built from its class (global methods, counterfactuals, anchors)."""
    from xaikit.explainers.base import REGISTRY

    cls = REGISTRY.get(name)
    return cls is not None and cls.kind in _BUILT_KINDS


def dataset_mode(args: argparse.Namespace) -> bool:
    """Whether ``args`` ask for a dataset job (a folder ``--out``) rather than one ``.xai`` file."""
    out = str(args.out)
    return args.chunk_rows is not None or args.resume is not None or bool(args.overwrite) or out.endswith(("/", os.sep))


#: Options that do not apply to a dataset job.
_NOT_IN_JOBS = ("rows", "labels", "scoring", "n_repeats", "features", "pairs", "grid_resolution", "bins", "max_depth",
                "kind", "reference", "n_counterfactuals", "immutable", "threshold")
#: The library's parameter names of ``explain_dataset`` and the command line's, for its errors.
_JOB_OPTION_OF = {"out": "--out", "chunk_rows": "--chunk-rows", "data": "DATA", "columns": "DATA", "executor": "--executor",
                  "target": "--target", "random_state": "--random-state", "n_samples": "--n-samples"}


def build_dataset_job(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """``(explainer, keyword arguments of explain_dataset but the data)`` for a dataset job: the
    explainer built from its class (``auto``: TreeShap for a tree model), the model's columns taken
    from DATA by name when it knows them."""
    import inspect

    import xaikit as xk
    from xaikit.explainers.auto import _tree_route
    from xaikit.explainers.base import get_explainer_class
    from xaikit.models.files import feature_names_of

    for key in _NOT_IN_JOBS:
        if getattr(args, key, None) is not None:
            raise BadInput(f"--{key.replace('_', '-')}: does not apply to a dataset job (--out folder); leave it out")
    if args.chunk_rows is not None and args.chunk_rows < 1:
        raise BadInput(f"--chunk-rows: expected a positive number of rows, got {args.chunk_rows}")
    name, cls = resolve_method(args.method)
    if cls is not None and cls.kind != "local":
        raise BadInput(f"--method: a dataset job (--out folder) explains rows with a local method, got {args.method!r}, a {cls.kind} "
                       "method; save it to a .xai file instead")
    model = load_model_file(args.model, trust_pickle=args.trust_pickle)
    names = feature_names_of(model)
    wants_frame = hasattr(model, "feature_names_in_")
    bg = None
    if args.background is not None:
        background = _columns(read_table(args.background, "--background"), names, "--background", args.background)
        bg = background if wants_frame else _as_array(background, "--background")
    init: dict[str, Any] = {"output": args.output}
    if cls is None:
        tree_output, reason = _tree_route(model, {"output": args.output, "background": bg})
        if tree_output is None:
            why = f" ({reason})" if reason else ""
            raise BadInput(f"--method: a dataset job (--out folder) needs the method named when the model is not a tree model{why}; "
                           "e.g. --method kernel-shap")
        cls, init["output"] = get_explainer_class("tree_shap"), tree_output
    accepted = set(inspect.signature(cls).parameters) - {"model"}
    explain_names = {p.name for p in getattr(cls, "explain_parameters", ())}
    if bg is not None:
        if "background" in accepted:
            init["background"] = bg
        elif "masker" in accepted:
            init["masker"] = xk.TabularMasker(bg)
        else:
            raise BadInput(f"--background: method {args.method!r} takes no background rows; leave --background out")
    elif "masker" in accepted and "background" not in accepted:
        raise BadInput(f"--background: method {args.method!r} needs background rows (--background FILE)")
    explain_params: dict[str, Any] = {}
    for key in ("n_samples", *_NETWORK_OPTIONS):
        value = getattr(args, key)
        if value is None:
            continue
        if key in accepted:
            init[key] = value
        elif key in explain_names:
            explain_params[key] = value
        else:
            raise BadInput(f"--{key.replace('_', '-')}: method {cls.name.replace('_', '-')!r} does not take it; leave it out")
    if "output" not in accepted:
        init.pop("output")
    try:
        explainer = cls(model, **init)
    except xk.InvalidParameterError as exc:
        raise BadInput(_job_message(exc)) from exc
    kwargs: dict[str, Any] = {
        "out": args.out, "executor": args.executor, "target": parse_target(args.target), "columns": names,
        "random_state": 0 if args.random_state is None else args.random_state,
        "resume": True if args.resume is None else args.resume, "overwrite": bool(args.overwrite),
        "progress": False if args.quiet else None, **explain_params,
    }
    if args.chunk_rows is not None:
        kwargs["chunk_rows"] = args.chunk_rows
    return explainer, kwargs


def _job_message(exc: Exception) -> str:
    """A library error's message with the library's parameter named as the command line's option."""
    text = " ".join(str(exc).split())
    match = re.match(r"(\w+)(\[[^\]]*\])?: ", text)
    if match is None:
        return text
    option = _JOB_OPTION_OF.get(match.group(1)) or _OPTION_OF.get(match.group(1))
    return text if option is None else f"{option}: {text[match.end():]}"


def run_dataset_job(args: argparse.Namespace) -> int:
    """Run ``xaikit explain`` as a dataset job (see the module docstring)."""
    from xaikit.errors import InvalidParameterError
    from xaikit.execution.dataset import explain_dataset

    explainer, kwargs = build_dataset_job(args)
    start = time.perf_counter()
    try:
        ds = explain_dataset(explainer, args.data, **kwargs)
    except InvalidParameterError as exc:
        raise BadInput(_job_message(exc)) from exc
    took = time.perf_counter() - start
    shown = ", ".join(map(str, ds.output_names[:5])) + (", ..." if len(ds.output_names) > 5 else "")
    print(f"{ds.method}: {ds.n_rows} rows, {ds.n_outputs} output(s) ({shown}) in {took:.2f} s; {len(ds.chunks)} chunk(s) in {args.out}")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Run ``xaikit explain`` with parsed arguments."""
    import xaikit as xk
    from xaikit.explainers.pipeline import on_progress

    if dataset_mode(args):
        return run_dataset_job(args)
    check_out(args.out)
    model, X, params = build_call(args)
    start = time.perf_counter()
    with Progress(f"explaining {len(X)} rows", quiet=args.quiet) as progress, on_progress(progress.update):
        result = explain_global(model, X, params) if _is_global(params["method"]) else xk.explain(model, X, **params)
    took = time.perf_counter() - start
    result.save(args.out)
    outputs = getattr(result, "output_names", None) or []
    shown = ", ".join(map(str, outputs[:5])) + (", ..." if len(outputs) > 5 else "")
    found = ""
    valid = getattr(result, "valid", None) if result.kind == "counterfactuals" else None
    if valid is not None:
        found = f"; a valid counterfactual for {int(valid.any(axis=1).sum())} of {len(X)} rows"
    print(
        f"{result.method}: {len(X)} rows, {len(outputs)} output(s) ({shown}) in {took:.2f} s{found}; saved {args.out}"
    )
    return EXIT_OK
