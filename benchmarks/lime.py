"""LIME speed and stability: xaikit.Lime next to the ``lime`` package, same models and rows, one run.

Four cases, each explained by both libraries with the same number of perturbations, the same
number of surrogate features (``--features`` 10: both use LIME's ``"auto"`` selection, which is
``"highest_weights"`` above 6 features and forward selection up to 6) and the same model function:

0. **german** (issue 22's case): scikit-learn ``RandomForestClassifier`` (100 trees,
   ``random_state=0``) on German credit (``xk.datasets.load_german_credit()``, the 13 categorical
   columns as integer codes, 80/20 split); ``--rows`` test rows, label 1 (bad risk);
   ``LimeTabularExplainer(X_train, categorical_features=..., discretize_continuous=True)`` against
   ``xk.TabularMasker(X_train, categorical_features=..., discretize="quartile")``.
1. **tabular**: scikit-learn ``RandomForestClassifier`` (100 trees, ``random_state=0``) on the
   Breast Cancer data (80/20 split); ``--rows`` 20 test rows, ``--samples`` 5,000 perturbations
   each; ``lime.lime_tabular.LimeTabularExplainer(X_train, discretize_continuous=True)`` (quartile
   bins) against ``xk.TabularMasker(X_train, discretize="quartile")``; label 1 (benign).
2. **text**: TF-IDF + ``LogisticRegression`` trained on the 20 Newsgroups training posts of
   alt.atheism and soc.religion.christian (read from disk by
   ``xaikit.datasets.external.load_newsgroups``; the case is skipped when the data are absent);
   the first ``--rows`` test posts, ``--samples`` perturbations; ``LimeTextExplainer`` against
   ``xk.TextMasker()`` (both: ``\\w+`` words, bag of words, removal, kernel width 25); label 1
   (soc.religion.christian). ``--text-features 6`` switches both to forward selection (lime fits one
   ridge regression per candidate word and step there, so its time grows with the document).
3. **image**: a small CNN (torch, seeded, trained here in a few seconds; its test accuracy is
   printed) on scikit-learn's 8x8 digits, upsampled bilinearly to 32x32 and repeated to three
   channels; ``--images`` 5 test images of ``--digit`` (default 3, correctly classified), that
   digit's probability explained with ``--image-samples`` 1,000 perturbations. Both libraries get
   the same segment map per image (quickshift with ``kernel_size=1, max_dist=6, ratio=0.5``,
   some 35 segments, computed once: given to lime as ``segmentation_fn`` and to
   ``xk.ImageMasker`` as the map) and fill hidden segments with their mean colour (lime's
   ``hide_color=None``, xaikit's ``fill="mean"``).

Both libraries call the same plain function (``predict_proba`` of the model, or the CNN's
softmax on ``(n, 32, 32, 3)`` float images), wrapped in a timer, with the same batches: tables and
documents in one call of all perturbations, images in calls of 100. Everything runs on one
thread (``OMP_NUM_THREADS=1``, torch threads 1; each worker process too). Before timing, each
library explains the first row once (and the pool two rows).

Every row is explained with ``--seeds`` 5 seeds (0..4) by lime, by xaikit and by xaikit on a
started pool of 2 processes (``xk.LocalExecutor(2)``, reused across cases), in that order for each
seed, so that a slow spell of the (shared) machine hits all of them. Printed per case:

* **Time** per explanation (ms), the mean over all rows and seeds: lime, xaikit serial, and their
  ratio lime/xaikit; the part of each spent outside the model ("out", from the timer around the
  model function) and its ratio; xaikit on 2 processes, its gain over serial xaikit, and the
  largest difference between its values and the serial ones (a seed gives the same values
  however the rows are split among workers).
* **Stability**: per row and library, the top 5 features by |weight| of each seed; the mean
  Jaccard overlap of the 10 pairs of seeds, averaged over the rows (1 = the same top 5 every
  time). ``--stability-rows k`` re-runs only the first k rows with seeds 1..4.
* **The physical limit**: the model alone on each explained row's ``--samples`` perturbations
  (drawn once by xaikit before the timings, in the batches both libraries use), timed in the same
  loop as the explanations; printed beside xaikit's time (default ``sampling="stratified"``),
  xaikit's with ``sampling="iid"`` and lime's, as ratios. Issue 22's bar: xaikit at most 1.1x.
* **Stability before and after**: the top-5 Jaccard of xaikit with ``sampling="iid"`` (LIME's
  independent draws), with the defaults (stratified sampling, and control variates for documents
  and images; bar: at least 0.95), and a variant: for tables ``share_draws=True`` (the rows of a
  group of up to 8 fit on each other's draws: LIME's estimand, up to 8 times the draws for the same
  model calls), for documents and images ``control_variates=False`` (the plain ridge fit, what the
  control variates bought); its time is printed beside the physical limit too.
* **Agreement**: the mean over all rows of ``|top 5 of lime & top 5 of xaikit| / 5``, seed 0.
  The libraries draw different perturbations, so it cannot be 1 everywhere; it shows that they
  fit the same local surrogate.

The bar, printed next to the numbers (nothing is asserted): xaikit not slower than lime
(lime/xaikit >= 1) in every case, and xaikit's top-5 stability at least lime's minus 0.05.

Run:  python benchmarks/lime.py [--cases german,tabular,text,image] [--rows 20] [--seeds 5] [--quick]
Issue 22's figures: python benchmarks/lime.py --rows 15 --seeds 3 --images 5 --image-samples 5000 --no-processes
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import shlex
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
# This file is called lime.py: keep its folder off the import path so that `import lime` finds
# the lime package (worker processes inherit the path).
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import numpy as np
import torch

import xaikit as xk
from xaikit.errors import DataNotFoundError

TORCH_THREADS = 1
TOP = 5  # features compared by the stability and agreement measures
IMAGE_BATCH = 100
QUICKSHIFT = {"kernel_size": 1, "max_dist": 6, "ratio": 0.5}


# --------------------------------------------------------------------------- models
class TimedFunction:
    """A plain function of a batch that records the time spent inside it (in this process)."""

    def __init__(self, fn: Callable[[Any], np.ndarray]) -> None:
        self.fn = fn
        self.seconds = 0.0
        self.rows = 0

    def reset(self) -> None:
        self.seconds, self.rows = 0.0, 0

    def __call__(self, X: Any) -> np.ndarray:
        start = time.perf_counter()
        out = self.fn(X)
        self.seconds += time.perf_counter() - start
        self.rows += len(X)
        return out


class DigitsCNN(torch.nn.Module):
    """Two 3x3 convolutions with max pooling, then a linear layer: (n, 3, 32, 32) -> 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        )
        self.head = torch.nn.Linear(16 * 8 * 8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class ImageClassifier:
    """Class probabilities of the CNN for a batch of (n, H, W, 3) float images."""

    def __init__(self, net: DigitsCNN) -> None:
        self.net = net.eval()

    def __call__(self, images: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(np.ascontiguousarray(np.moveaxis(np.asarray(images), -1, 1)), dtype=torch.float32)
        with torch.no_grad():
            return torch.softmax(self.net(x), dim=1).numpy().astype(np.float64)

    def __setstate__(self, state: dict[str, Any]) -> None:  # in a worker process: the same thread count
        torch.set_num_threads(TORCH_THREADS)
        self.__dict__.update(state)


# --------------------------------------------------------------------------- measures
def top_set(features: Sequence[Any], weights: Sequence[float], k: int = TOP) -> frozenset[Any]:
    """The ``k`` features of largest |weight| among those with a non-zero weight."""
    order = np.argsort(-np.abs(np.asarray(weights, dtype=np.float64)), kind="stable")
    return frozenset(features[j] for j in order[:k] if weights[j] != 0)


def jaccard_stability(sets: Sequence[frozenset[Any]]) -> float:
    """Mean pairwise Jaccard overlap of the sets (one per seed)."""
    return float(np.mean([len(a & b) / max(1, len(a | b)) for a, b in combinations(sets, 2)]))


@contextlib.contextmanager
def quiet():
    """Silence warnings and progress bars (lime's image explainer always draws one on stderr)."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- cases
@dataclass
class Case:
    """One model and its rows, explained by both libraries.

    ``run_lime(seed, rows)`` and ``run_xaikit(seed, rows, executor, sampling)`` return, per row, the
    list of feature ids and their weights; ``rows`` is a list of row indices. ``limit_inputs(i)``
    gives the model inputs of ``n_samples`` perturbations of row ``i`` (drawn by xaikit), in the
    batches both libraries use: the model alone on them is the physical limit of an explanation.
    """

    name: str
    title: str
    n_rows: int
    n_samples: int
    n_features: int
    model: TimedFunction
    run_lime: Callable[[int, list[int]], list[tuple[list[Any], np.ndarray]]]
    run_xaikit: Callable[..., list[tuple[list[Any], np.ndarray]]]
    limit_inputs: Callable[[int], list[Any]]
    #: also run a variant: tables with share_draws=True, documents and images with control_variates=False
    variant: bool = False


def _limit_inputs(explainer: xk.Lime, unit: Any, n: int, batch: int | None) -> list[Any]:
    """The model inputs of ``n`` of xaikit's perturbations of ``unit`` (an encoded row, a prepared
    document or image), in batches of ``batch`` (all at once when None)."""
    rng = np.random.default_rng(0)
    masker = explainer.masker
    if isinstance(masker, xk.TabularMasker):
        _, Z = masker.neighbourhood.sample(unit, n, rng)
        return [masker.decode(Z)]
    S = masker.sample(unit, n, rng)
    step = n if batch is None else batch
    return [masker.render(unit, S[i:i + step]) for i in range(0, n, step)]


def german_case(args: argparse.Namespace) -> Case:
    """The issue's case: a RandomForest of 100 trees on German credit, categories as integer codes."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    ds = xk.datasets.load_german_credit()
    frame = ds.frame
    cats = [frame.columns.get_loc(c) for c in ds.categorical_features]
    X = np.column_stack([frame[c].cat.codes.to_numpy() if frame[c].dtype == "category" else frame[c].to_numpy()
                         for c in frame.columns]).astype(np.float64)
    X_train, X_test, y_train, y_test = train_test_split(X, ds.target, test_size=0.2, random_state=0, stratify=ds.target)
    forest = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1).fit(X_train, y_train)
    rows = X_test[: args.rows]
    model = TimedFunction(forest.predict_proba)
    acc = forest.score(X_test, y_test)
    title = (f"german: RandomForestClassifier(100) on German credit ({X.shape[1]} features, {len(cats)} categorical "
             f"as codes; test accuracy {acc:.3f}), label 1 (bad), quartile bins")
    return _tabular("german", title, args, model, X_train, rows, cats, list(frame.columns))


def _tabular(name: str, title: str, args: argparse.Namespace, model: Any, X_train: np.ndarray, rows: np.ndarray,
             cats: list[int], names: list[str] | None) -> Case:
    """A table case: lime's LimeTabularExplainer and xaikit's Lime (quartile bins, label 1) on the same rows."""
    from lime.lime_tabular import LimeTabularExplainer

    masker = xk.TabularMasker(X_train, discretize="quartile", categorical_features=cats or None, feature_names=names)
    explainer = xk.Lime(model, masker=masker, n_features=args.features)

    def run_lime(seed: int, idx: list[int]) -> list[tuple[list[Any], np.ndarray]]:
        lime = LimeTabularExplainer(X_train, categorical_features=cats or None, discretize_continuous=True, random_state=seed)
        out = []
        for i in idx:
            exp = lime.explain_instance(rows[i], model, labels=(1,), num_features=args.features,
                                        num_samples=args.samples)
            pairs = exp.as_map()[1]
            out.append(([f for f, _ in pairs], np.array([w for _, w in pairs])))
        return out

    def run_xaikit(seed: int, idx: list[int], executor: Any = None,
                   sampling: str = "stratified", share: bool = False) -> list[tuple[list[Any], np.ndarray]]:
        exp = explainer.explain(rows[idx], labels=[1], n_samples=args.samples, random_state=seed, executor=executor,
                                sampling=sampling, share_draws=share)
        return [(list(range(exp.values.shape[1])), exp.values[r, :, 0]) for r in range(len(idx))]

    return Case(name, title, len(rows), args.samples, args.features, model, run_lime, run_xaikit,
                lambda i: _limit_inputs(explainer, rows[i], args.samples, None), variant=True)


def tabular_case(args: argparse.Namespace) -> Case:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    forest = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1).fit(X_train, y_train)
    rows = X_test[: args.rows]
    model = TimedFunction(forest.predict_proba)
    acc = forest.score(X_test, y_test)
    title = (f"tabular: RandomForestClassifier(100) on breast cancer ({X.shape[1]} features, test accuracy "
             f"{acc:.3f}), label 1, quartile bins")
    return _tabular("tabular", title, args, model, X_train, rows, [], None)


def text_case(args: argparse.Namespace) -> Case:
    from lime.lime_text import LimeTextExplainer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from xaikit.datasets.external import load_newsgroups

    categories = ("alt.atheism", "soc.religion.christian")
    train = load_newsgroups("train", categories=categories)
    test = load_newsgroups("test", categories=categories)
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)).fit(train.data, train.target)
    docs = test.data[: args.rows]
    model = TimedFunction(pipe.predict_proba)
    explainer = xk.Lime(model, masker=xk.TextMasker(), n_features=args.text_features)

    def run_lime(seed: int, idx: list[int]) -> list[tuple[list[Any], np.ndarray]]:
        lime = LimeTextExplainer(class_names=list(categories), random_state=seed)
        out = []
        for i in idx:
            exp = lime.explain_instance(docs[i], model, labels=(1,), num_features=args.text_features,
                                        num_samples=args.samples)
            pairs = exp.as_list(label=1)
            out.append(([str(f) for f, _ in pairs], np.array([w for _, w in pairs])))
        return out

    def run_xaikit(seed: int, idx: list[int], executor: Any = None,
                   sampling: str = "stratified", plain: bool = False) -> list[tuple[list[Any], np.ndarray]]:
        exp = explainer.explain([docs[i] for i in idx], labels=[1], n_samples=args.samples,
                                batch_size=args.samples, random_state=seed, executor=executor, sampling=sampling,
                                control_variates=not plain)
        return [(list(exp[r].feature_names), exp[r].values[0, :, 0]) for r in range(len(idx))]

    acc = pipe.score(test.data, test.target)
    words = np.mean([len(xk.TextMasker().prepare(d)[0].feature_names) for d in docs])
    title = (f"text: TF-IDF + LogisticRegression, 20 Newsgroups atheism vs christian (test accuracy {acc:.3f}), "
             f"label 1, {words:.0f} distinct words per document on average")
    return Case("text", title, len(docs), args.samples, args.text_features, model, run_lime, run_xaikit,
                lambda i: _limit_inputs(explainer, explainer.masker.prepare(docs[i])[0], args.samples, args.samples),
                variant=True)


def digits_images(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """sklearn's digits, bilinearly upsampled to 32x32 in [0, 1], three equal channels; 75/25 split."""
    from skimage.transform import resize
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = np.stack([resize(im / 16.0, (32, 32), order=1) for im in digits.images])
    images = np.repeat(images[..., None], 3, axis=-1)
    return tuple(train_test_split(images, digits.target, test_size=0.25, random_state=seed,
                                  stratify=digits.target))  # type: ignore[return-value]


def train_cnn(X: np.ndarray, y: np.ndarray, epochs: int) -> DigitsCNN:
    torch.manual_seed(0)
    net = DigitsCNN()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    xt = torch.as_tensor(np.moveaxis(X, -1, 1), dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        for start in range(0, len(xt), 64):
            batch = order[start : start + 64]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xt[batch]), yt[batch])
            loss.backward()
            opt.step()
    return net.eval()


def image_case(args: argparse.Namespace) -> Case:
    from lime.lime_image import LimeImageExplainer
    from skimage.segmentation import quickshift

    X_train, X_test, y_train, y_test = digits_images()
    start = time.perf_counter()
    net = train_cnn(X_train, y_train, epochs=args.epochs)
    train_s = time.perf_counter() - start
    classify = ImageClassifier(net)
    pred = classify(X_test).argmax(axis=1)
    acc = float((pred == y_test).mean())
    chosen = np.flatnonzero((y_test == args.digit) & (pred == args.digit))[: args.images]
    images = X_test[chosen]
    segments = []
    for image in images:  # one fixed map per image, labels 0..d-1, shared by both libraries
        raw = quickshift(image, **QUICKSHIFT, rng=0)
        segments.append(np.unique(raw, return_inverse=True)[1].reshape(raw.shape))
    seg = np.stack(segments)
    model = TimedFunction(classify)
    explainers: dict[tuple[int, ...], xk.Lime] = {}

    def run_lime(seed: int, idx: list[int]) -> list[tuple[list[Any], np.ndarray]]:
        lime = LimeImageExplainer(random_state=seed)
        out = []
        for i in idx:
            exp = lime.explain_instance(images[i], model, labels=(args.digit,), top_labels=None, hide_color=None,
                                        num_features=args.features, num_samples=args.image_samples,
                                        batch_size=IMAGE_BATCH, segmentation_fn=lambda _, s=seg[i]: s)
            pairs = exp.local_exp[args.digit]
            out.append(([int(f) for f, _ in pairs], np.array([w for _, w in pairs])))
        return out

    def run_xaikit(seed: int, idx: list[int], executor: Any = None,
                   sampling: str = "stratified", plain: bool = False) -> list[tuple[list[Any], np.ndarray]]:
        key = tuple(idx)
        if key not in explainers:  # the masker holds one segment map per image explained
            masker = xk.ImageMasker(segmentation=seg[idx], fill="mean")
            explainers[key] = xk.Lime(model, masker=masker, n_features=args.features)
        exp = explainers[key].explain(images[idx], labels=[args.digit], n_samples=args.image_samples,
                                      batch_size=IMAGE_BATCH, random_state=seed, executor=executor, sampling=sampling,
                                      control_variates=not plain)
        return [(list(range(len(exp[r].feature_names))), exp[r].values[0, :, 0]) for r in range(len(idx))]

    n_seg = np.mean([s.max() + 1 for s in seg])
    title = (f"image: CNN on 8x8 digits upsampled to 32x32x3 (trained in {train_s:.1f} s, test accuracy {acc:.3f}), "
             f"digit {args.digit}, quickshift {n_seg:.0f} segments per image on average, mean fill")
    def limit_inputs(i: int) -> list[Any]:
        masker = xk.ImageMasker(segmentation=seg[i], fill="mean")
        return _limit_inputs(xk.Lime(model, masker=masker), masker.prepare(images[i])[0], args.image_samples, IMAGE_BATCH)

    return Case("image", title, len(images), args.image_samples, args.features, model, run_lime, run_xaikit,
                limit_inputs, variant=True)


# --------------------------------------------------------------------------- running
@dataclass
class Result:
    case: Case
    lime_s: float
    xaikit_s: float
    lime_model_s: float
    xaikit_model_s: float
    procs_s: float | None
    procs_diff: float | None
    stab_rows: int
    stab_lime: float
    stab_xaikit: float
    agreement: float
    limit_s: float = float("nan")  # the model alone on each explanation's perturbations
    iid_s: float = float("nan")  # xaikit with sampling="iid"
    stab_iid: float = float("nan")
    variant_s: float = float("nan")  # xaikit's variant (Case.variant)
    stab_variant: float = float("nan")


def run_case(case: Case, args: argparse.Namespace, pool: Any) -> Result:
    all_rows = list(range(case.n_rows))
    stab_idx = all_rows[: args.stability_rows]
    limits = {i: case.limit_inputs(i) for i in all_rows}  # drawn once, outside the timings
    with quiet():  # warm-up: imports, first calls, the pool's copy of the model
        case.run_lime(0, [0])
        case.run_xaikit(0, [0], None)
        case.run_xaikit(0, [0], None, "iid")
        if case.variant:
            case.run_xaikit(0, all_rows[:2], None, "stratified", True)
        for batch in limits[0]:
            case.model.fn(batch)
        if pool is not None:
            case.run_xaikit(0, all_rows[:2], pool)

    seconds = {"lime": 0.0, "xaikit": 0.0, "procs": 0.0, "iid": 0.0, "variant": 0.0, "limit": 0.0}
    libs = ("lime", "xaikit", "iid", "variant", "limit") if case.variant else ("lime", "xaikit", "iid", "limit")
    model_s = {"lime": 0.0, "xaikit": 0.0}
    explained = 0
    procs_diff = 0.0
    sets: dict[str, list[list[frozenset[Any]]]] = {lib: [[] for _ in stab_idx] for lib in libs if lib != "limit"}
    first: dict[str, list[tuple[list[Any], np.ndarray]]] = {}
    for seed in range(args.seeds):  # the libraries alternate, so that a slow spell of the machine hits both
        idx = all_rows if seed == 0 else stab_idx
        runs: dict[str, list[tuple[list[Any], np.ndarray]]] = {}
        for lib in libs:
            case.model.reset()
            start = time.perf_counter()
            if lib == "lime":
                with quiet():
                    runs[lib] = case.run_lime(seed, idx)
            elif lib == "limit":  # the model alone on each row's perturbations, in the same batches
                for i in idx:
                    for batch in limits[i]:
                        case.model.fn(batch)
            elif lib == "variant":
                runs[lib] = case.run_xaikit(seed, idx, None, "stratified", True)
            else:
                runs[lib] = case.run_xaikit(seed, idx, None, "stratified" if lib == "xaikit" else "iid")
            seconds[lib] += time.perf_counter() - start
            if lib in model_s:
                model_s[lib] += case.model.seconds
        if pool is not None:
            start = time.perf_counter()
            par = case.run_xaikit(seed, idx, pool)
            seconds["procs"] += time.perf_counter() - start
            procs_diff = max([procs_diff] + [float(np.abs(a[1] - b[1]).max()) for a, b in zip(par, runs["xaikit"])])
        explained += len(idx)
        for lib in sets:
            for k in range(len(stab_idx)):
                sets[lib][k].append(top_set(*runs[lib][k]))
        if seed == 0:
            first = runs
        progress(f"{case.name}: seed {seed}, {len(idx)} rows: lime {seconds['lime']:.1f} s, "
                 f"xaikit {seconds['xaikit']:.1f} s, iid {seconds['iid']:.1f} s, model alone {seconds['limit']:.1f} s, "
                 f"2 processes {seconds['procs']:.1f} s (running totals)")
    agreement = float(np.mean([len(top_set(*a) & top_set(*b)) / TOP for a, b in zip(first["lime"], first["xaikit"])]))

    def stability(lib: str) -> float:
        return float(np.mean([jaccard_stability(s) for s in sets[lib]])) if args.seeds > 1 else float("nan")

    return Result(
        case, seconds["lime"] / explained, seconds["xaikit"] / explained, model_s["lime"] / explained,
        model_s["xaikit"] / explained, None if pool is None else seconds["procs"] / explained,
        None if pool is None else procs_diff, len(stab_idx), stability("lime"), stability("xaikit"), agreement,
        seconds["limit"] / explained, seconds["iid"] / explained, stability("iid"),
        seconds["variant"] / explained if case.variant else float("nan"),
        stability("variant") if case.variant else float("nan"),
    )


def print_tables(results: list[Result], seeds: int) -> None:
    ms = 1000.0
    header = (f"{'case':<8} {'rows':>4} {'samples':>7} {'feats':>5} {'lime ms':>9} {'xaikit ms':>9} "
              f"{'lime/xaikit':>11} {'lime out':>9} {'xaikit out':>10} {'out ratio':>9} "
              f"{'2 procs ms':>10} {'gain':>6} {'max|diff|':>9}")
    print("\nTime per explanation, mean over every explanation of every seed; 'out' = time outside the model")
    print(header)
    print("-" * len(header))
    for r in results:
        c = r.case
        out_lime, out_ours = r.lime_s - r.lime_model_s, r.xaikit_s - r.xaikit_model_s
        procs = (f"{r.procs_s * ms:>10.1f} {r.xaikit_s / r.procs_s:>5.2f}x {r.procs_diff:>9.1e}"
                 if r.procs_s is not None else f"{'-':>10} {'-':>6} {'-':>9}")
        print(f"{c.name:<8} {c.n_rows:>4} {c.n_samples:>7} {c.n_features:>5} {r.lime_s * ms:>9.1f} "
              f"{r.xaikit_s * ms:>9.1f} {r.lime_s / r.xaikit_s:>10.2f}x {out_lime * ms:>9.1f} {out_ours * ms:>10.1f} "
              f"{out_lime / max(out_ours, 1e-9):>8.2f}x {procs}")
    header = (f"{'case':<8} {'rows':>4} {'seeds':>5} {'lime jaccard':>12} {'xaikit jaccard':>14} "
              f"{'top-5 agreement':>15}")
    print(f"\nTop-{TOP} stability (mean pairwise Jaccard over {seeds} seeds) and agreement "
          f"(lime vs xaikit, seed 0, all rows)")
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.case.name:<8} {r.stab_rows:>4} {seeds:>5} {r.stab_lime:>12.3f} {r.stab_xaikit:>14.3f} "
              f"{r.agreement:>15.3f}")
    header = (f"{'case':<8} {'samples':>7} {'model alone ms':>14} {'xaikit ms':>9} {'xaikit/model':>12} "
              f"{'iid ms':>8} {'iid/model':>9} {'variant ms':>10} {'variant/model':>13} {'lime ms':>9} {'lime/model':>10}")
    print("\nThe physical limit: the model alone on each explanation's perturbations (same batches), per explanation")
    print(header)
    print("-" * len(header))
    for r in results:
        c = r.case
        print(f"{c.name:<8} {c.n_samples:>7} {r.limit_s * ms:>14.1f} {r.xaikit_s * ms:>9.1f} {r.xaikit_s / r.limit_s:>11.2f}x "
              f"{r.iid_s * ms:>8.1f} {r.iid_s / r.limit_s:>8.2f}x {r.variant_s * ms:>10.1f} {r.variant_s / r.limit_s:>12.2f}x "
              f"{r.lime_s * ms:>9.1f} {r.lime_s / r.limit_s:>9.2f}x")
    header = (f"{'case':<8} {'rows':>4} {'seeds':>5} {'lime':>7} {'xaikit iid':>10} {'xaikit default':>14} "
              f"{'variant':>8}")
    print(f"\nTop-{TOP} stability over seeds (mean pairwise Jaccard): sampling='iid', the default (stratified; control "
          "variates for documents and images), and the variant: tables with share_draws=True (the rows of a group fit "
          "on each other's draws), documents and images with control_variates=False (the plain ridge fit)")
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.case.name:<8} {r.stab_rows:>4} {seeds:>5} {r.stab_lime:>7.3f} {r.stab_iid:>10.3f} {r.stab_xaikit:>14.3f} "
              f"{r.stab_variant:>8.3f}")
    print("\nBar: lime/xaikit >= 1 in every case; xaikit jaccard >= lime jaccard - 0.05; issue 22: xaikit/model <= 1.1 "
          "and xaikit stability >= 0.95. Nothing is asserted.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default="german,tabular,text,image")
    parser.add_argument("--rows", type=int, default=20, help="explained rows (tabular) and documents (text)")
    parser.add_argument("--images", type=int, default=5, help="explained images")
    parser.add_argument("--samples", type=int, default=5000, help="perturbations per row and document")
    parser.add_argument("--image-samples", type=int, default=1000, help="perturbations per image")
    parser.add_argument("--features", type=int, default=10, help="surrogate features (tabular, image)")
    parser.add_argument("--text-features", type=int, default=10, help="surrogate features (text)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds of the stability measure")
    parser.add_argument("--stability-rows", type=int, default=None,
                        help="rows of each case re-run with seeds 1.. (default: all)")
    parser.add_argument("--digit", type=int, default=3, help="the digit whose images are explained")
    parser.add_argument("--epochs", type=int, default=8, help="CNN training epochs")
    parser.add_argument("--no-processes", action="store_true", help="skip the 2-process column")
    parser.add_argument("--quick", action="store_true", help="smoke test: few rows, samples and seeds")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.images, args.samples, args.image_samples = 4, 2, 1000, 200
        args.seeds, args.stability_rows, args.epochs = 3, 2, 3
    if args.stability_rows is None:
        args.stability_rows = max(args.rows, args.images)

    wall = time.perf_counter()
    torch.set_num_threads(TORCH_THREADS)
    from importlib.metadata import version

    import skimage
    import sklearn

    print("LIME benchmark: xaikit.Lime vs lime, same models, rows and perturbation counts, one run")
    print("command: " + shlex.join([os.path.relpath(sys.executable), *sys.argv]))
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, lime {version('lime')}, "
        f"scikit-learn {sklearn.__version__}, scikit-image {skimage.__version__}, torch {torch.__version__} "
        f"({torch.get_num_threads()} thread), xaikit {xk.__version__}, CPUs {os.cpu_count()}"
    )

    pool = None if args.no_processes else xk.LocalExecutor(2)
    builders = {"german": german_case, "tabular": tabular_case, "text": text_case, "image": image_case}
    results = []
    try:
        for name in args.cases.split(","):
            name = name.strip()
            if name not in builders:
                parser.error(f"--cases: unknown case {name!r}; expected some of {', '.join(builders)}")
            try:
                case = builders[name](args)
            except DataNotFoundError as exc:
                print(f"{name}: skipped: {exc}")
                continue
            print(case.title, flush=True)
            results.append(run_case(case, args, pool))
    finally:
        if pool is not None:
            pool.close()
    if results:
        print_tables(results, args.seeds)
    print(f"\nwall time of the whole script: {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
