"""Faithfulness metrics: closed forms on linear models, noise floors, batching, determinism, documents, images, errors."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.metrics.faithfulness import deletion, faithfulness_correlation, infidelity, insertion, monotonicity, road

W = np.array([5.0, -3.0, 1.0, 0.5, 0.0, 2.0])


def linear(Z):
    return Z @ W


def linear_abs(Z):
    return Z @ np.abs(W)


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(300, 6))
    X = data[:25]
    exp = xk.ExactShapley(linear, background=np.zeros((1, 6))).explain(X)
    return data, X, exp


def test_deletion_curve_of_a_linear_model_is_exact(table):
    _, X, exp = table
    s = deletion(linear, X, exp, baseline=0.0, random_state=0)
    phi = X * W
    order = np.argsort(-phi, axis=1, kind="stable")
    for i in range(len(X)):
        expected = [phi[i].sum() - phi[i, order[i, :k]].sum() for k in range(7)]
        np.testing.assert_allclose(s.curves[i], expected, rtol=0, atol=1e-12)
    fractions = np.linspace(0, 1, 7)
    np.testing.assert_allclose(s.values, np.trapezoid(s.curves, fractions, axis=1), rtol=0, atol=1e-12)
    ins = insertion(linear, X, exp, baseline=0.0, random_state=0)
    for i in range(len(X)):
        np.testing.assert_allclose(ins.curves[i], [phi[i, order[i, :k]].sum() for k in range(7)], rtol=0, atol=1e-12)
    assert s.params["higher_is_better"] is False and ins.params["higher_is_better"] is True
    assert s.diagnostics["fractions"] == pytest.approx(fractions.tolist())


def test_exact_shapley_beats_floor_and_a_random_attribution(table):
    _, X, exp = table
    rng = np.random.default_rng(1)
    noise = rng.normal(size=X.shape)  # an attribution with no information about the model
    for metric, sign in ((deletion, -1.0), (insertion, 1.0)):
        good = metric(linear, X, exp, baseline=0.0, floor_steps=7, random_state=0)
        bad = metric(linear, X, noise, baseline=0.0, random_state=0)
        # the exact order is optimal for an additive model: every row is at least as good as each of its
        # 10 random orders, evaluated whole (the curve of the sorted order dominates), and on average better by a clear margin
        assert (sign * (good.values - good.floor) >= -1e-12).all()
        assert good.above_floor() > 0.5
        assert sign * (good.mean() - bad.mean()) > 0.5
        assert abs(bad.above_floor()) < good.above_floor() / 2


def test_sampled_floor_is_unbiased_for_the_mean_area_of_random_orders():
    # oracle: the mean deletion and insertion areas over all 4! = 24 orders of a nonlinear model's features, by enumeration
    from itertools import permutations

    x = np.array([[1.0, -2.0, 0.5, 3.0]])

    def model(Z):
        return np.tanh(Z @ np.array([1.0, 0.5, -2.0, 0.3])) + Z[:, 0] * Z[:, 3]

    fractions = np.linspace(0, 1, 5)
    for metric, adding in ((deletion, False), (insertion, True)):
        areas = []
        for order in permutations(range(4)):
            curve = []
            for k in range(5):
                keep = np.zeros(4, dtype=bool) if adding else np.ones(4, dtype=bool)
                keep[list(order[:k])] = adding
                curve.append(model(np.where(keep, x, 0.0))[0])
            areas.append(np.trapezoid(curve, fractions))
        truth = float(np.mean(areas))
        whole = metric(model, x, x, baseline=0.0, n_random=4000, floor_steps=5, random_state=1)
        sampled = metric(model, x, x, baseline=0.0, n_random=4000, floor_steps=1, random_state=2)
        spread = float(np.std(areas))
        assert whole.params["floor_steps"] == 5 and sampled.params["floor_steps"] == 1
        # 4000 draws: standard errors below spread / 60 (whole curves) and below the range / 60 (one point each)
        assert abs(whole.floor[0] - truth) < 4 * spread / np.sqrt(4000)
        points = [model(np.where(m, x, 0.0))[0] for m in np.ndindex(2, 2, 2, 2)]
        assert abs(sampled.floor[0] - truth) < 4 * np.ptp(points) / np.sqrt(4000)
        default = metric(model, x, x, baseline=0.0, random_state=3)
        assert default.params["floor_steps"] == 1 and default.diagnostics["n_model_calls"] == 2


def test_normalized_curve_runs_from_one_to_zero(table):
    _, X, exp = table
    s = deletion(linear, X, exp, baseline=0.0, normalize=True, random_state=0)
    finite = np.isfinite(s.curves[:, 0])
    np.testing.assert_allclose(s.curves[finite, 0], 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.curves[finite, -1], 0.0, rtol=0, atol=1e-12)


def test_model_calls_are_batched_and_independent_of_rows(table):
    data, X, exp = table
    calls = []

    def counting(Z):
        calls.append(len(Z))
        return linear(Z)

    for n in (3, 25):
        calls.clear()
        s = deletion(counting, X[:n], exp[:n], baseline=0.0, random_state=0)
        assert len(calls) == 2 and s.diagnostics["n_model_calls"] == 2
        assert calls[1] == n * (7 + 10)  # the curve and one point of each of 10 random curves (floor_steps 1 of 7), in one call
    calls.clear()
    deletion(counting, X[:5], exp[:5], baseline=0.0, batch_size=100, random_state=0)
    assert max(calls[1:]) <= 100 and sum(calls[1:]) == 5 * (7 + 10)
    for metric in (faithfulness_correlation, monotonicity, infidelity):
        calls.clear()
        metric(counting, X, exp, random_state=0)
        assert len(calls) == 2, metric.__name__


def test_deterministic_under_random_state_and_row_independent(table):
    _, X, exp = table
    a = faithfulness_correlation(linear, X, np.random.default_rng(2).normal(size=X.shape), random_state=3)
    b = faithfulness_correlation(linear, X, np.random.default_rng(2).normal(size=X.shape), random_state=3)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.floor, b.floor)
    c = faithfulness_correlation(linear, X, np.random.default_rng(2).normal(size=X.shape), random_state=4)
    assert not np.array_equal(a.values, c.values)
    d1 = deletion(linear, X, exp, random_state=5)
    d2 = deletion(linear, X[:4], exp[:4], random_state=5)
    np.testing.assert_array_equal(d1.floor[:4], d2.floor)  # a row's draws do not depend on the other rows


def test_faithfulness_correlation_and_monotonicity(table):
    _, X, exp = table
    s = faithfulness_correlation(linear, X, exp, baseline=0.0, random_state=0)
    np.testing.assert_allclose(s.values, 1.0, rtol=0, atol=1e-12)  # sums of exact attributions are the drops
    assert s.floor.mean() < 0.9
    # positive contributions added in increasing order: each step adds at least as much as the previous one
    # (monotone); a random order is not convex, and adding the features largest first is concave
    pos = np.abs(X) + 0.1
    m = monotonicity(linear_abs, pos, pos * np.abs(W), baseline=0.0, random_state=0)
    np.testing.assert_array_equal(m.values, 1.0)
    signed = monotonicity(linear, X, exp, baseline=0.0, random_state=0)
    assert signed.values.mean() < 0.5  # negative contributions make the output fall as they are added


def test_infidelity_of_exact_attributions_of_a_linear_model_is_zero(table):
    data, X, exp = table
    for perturbation in ("gaussian", "subset"):
        s = infidelity(linear, X, exp, perturbation=perturbation, baseline=0.0, random_state=0)
        np.testing.assert_allclose(s.values, 0.0, rtol=0, atol=1e-12)
        assert (s.floor > 1e-3).all()
    # with a background mean as the reference, Shapley values of a linear model are w (x - mean)
    bg = data[100:140]
    exp_bg = xk.ExactShapley(linear, background=bg.mean(axis=0, keepdims=True)).explain(X[:5])
    s = infidelity(linear, X[:5], exp_bg, baseline="mean", data=bg, random_state=0)
    np.testing.assert_allclose(s.values, 0.0, rtol=0, atol=1e-12)
    # a gradient (w itself) is exact without dividing by the inputs
    grads = np.broadcast_to(W, X.shape)
    np.testing.assert_allclose(infidelity(linear, X, grads, multiply_by_inputs=False, random_state=0).values, 0.0, atol=1e-12)


def test_infidelity_equals_captum():
    torch = pytest.importorskip("torch")
    from captum.metrics import infidelity as captum_infidelity

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
    X = np.random.default_rng(0).normal(size=(6, 4))
    attr = np.random.default_rng(1).normal(size=(6, 4))
    n_samples = 20
    perturbations = np.random.default_rng(2).normal(0, 0.2, size=(6, n_samples, 4))
    lookup = {tuple(np.round(x, 12)): p for x, p in zip(X, perturbations)}

    def ours_perturbation(x, n, rng):
        return lookup[tuple(np.round(x, 12))]

    flat = torch.tensor(perturbations.reshape(-1, 4))

    def captum_perturbation(inputs):
        return flat, inputs - flat

    for normalize in (False, True):
        expected = captum_infidelity(net, captum_perturbation, torch.tensor(X), torch.tensor(attr), target=1,
                                     n_perturb_samples=n_samples, normalize=normalize).numpy()
        got = infidelity(net, X, attr, target=1, perturbation=ours_perturbation, multiply_by_inputs=False,
                         normalize=normalize, n_samples=n_samples, random_state=0)
        np.testing.assert_allclose(got.values, expected, rtol=1e-10, atol=1e-12)


def test_road_tables(table):
    data, X, exp = table
    morf = road(linear, X, exp, data=data, noise=0.0, random_state=0)
    lerf = road(linear, X, exp, data=data, order="lerf", noise=0.0, random_state=0)
    assert morf.higher_is_better is False and lerf.higher_is_better is True
    # independent features (data are i.i.d. normal): the conditional mean is close to the mean (~0)
    assert morf.above_floor() > 0.3 and lerf.above_floor() > 0.3
    assert lerf.mean() > morf.mean()
    noisy = road(linear, X, exp, data=data, noise=0.1, random_state=0)
    assert not np.array_equal(noisy.values, morf.values)
    with pytest.raises(InvalidParameterError, match="data"):
        road(linear, X, exp, random_state=0)


# ----------------------------------------------------------------------------- documents and images


def keyword_model(docs):
    return np.array([[3.0 * d.split().count("great") - 2.0 * d.split().count("awful") + 0.1 * len(d.split())] for d in docs])


def test_documents():
    docs = ["a great film with an awful end", "great great fun", "awful plot and awful acting"]
    exp = xk.ExactShapley(keyword_model, masker=xk.TextMasker()).explain(docs)
    good = deletion(keyword_model, docs, exp, random_state=0)
    assert good.above_floor() > 0.2
    ins = insertion(keyword_model, None, exp, random_state=0)
    assert ins.above_floor() > 0.2
    # removing every word leaves the empty document: the curve ends at the model's output there
    np.testing.assert_allclose(good.curves[:, -1], keyword_model([""] * 3).ravel(), atol=1e-12)
    masked = deletion(keyword_model, docs, exp, baseline="xx", random_state=0)
    np.testing.assert_allclose(masked.curves[:, -1], [0.1 * len(d.split()) for d in docs], atol=1e-12)
    assert faithfulness_correlation(keyword_model, docs, exp, random_state=0).mean() > 0.5
    with pytest.raises(InvalidParameterError, match="road applies to tables and images"):
        road(keyword_model, docs, exp, random_state=0)


def patch_model(images):
    return images[:, :4, :4].reshape(len(images), -1).mean(axis=1, keepdims=True)  # only the top-left patch matters


def test_images_segments_and_patches():
    rng = np.random.default_rng(0)
    images = rng.random((3, 8, 8)) + 1.0
    segments = np.zeros((8, 8), dtype=int)
    segments[:4, 4:], segments[4:, :4], segments[4:, 4:] = 1, 2, 3
    exp = xk.ExactShapley(patch_model, masker=xk.ImageMasker(segments, fill="constant")).explain(images)
    s = deletion(patch_model, images, exp, baseline=0.0, floor_steps=5, random_state=0)  # whole random curves: 3 rows only
    np.testing.assert_allclose(s.curves[:, 1], 0.0, atol=1e-12)  # the one segment that matters goes first
    assert s.above_floor() > 0.2
    # an attribution per pixel (the model's gradient times the input), grouped into 4x4 patches
    per_pixel = np.zeros((3, 64, 1))
    per_pixel[:, [r * 8 + c for r in range(4) for c in range(4)], 0] = images[:, :4, :4].reshape(3, -1) / 16
    pix = xk.Attribution(values=per_pixel, base_values=np.zeros((3, 1)), input_shape=(8, 8), method="demo")
    p = deletion(patch_model, images, pix, baseline=0.0, patch_size=4, random_state=0)
    np.testing.assert_allclose(p.curves, s.curves, atol=1e-12)
    blur = insertion(patch_model, images, pix, patch_size=4, floor_steps=5, random_state=0)
    assert blur.above_floor() > 0.0
    # ROAD: a bright top-left quadrant imputed from its darker neighbours loses its brightness
    bright = images.copy()
    bright[:, :4, :4] += 2.0
    exp_bright = xk.ExactShapley(patch_model, masker=xk.ImageMasker(segments, fill="constant")).explain(bright)
    r = road(patch_model, bright, exp_bright, noise=0.0, floor_steps=5, random_state=0)
    assert r.curves.shape == (3, 5) and r.above_floor() > 0.3
    assert (r.curves[:, 1] < r.curves[:, 0] - 1.0).all()
    inf = infidelity(patch_model, images, pix, perturbation="gaussian", multiply_by_inputs=False, random_state=0)
    assert inf.mean() < inf.floor_mean()


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda X, e: deletion(linear, X[:, :3], e), "X: expected the 25 explained rows"),
        (lambda X, e: deletion(linear, X, e, n_steps=1), "n_steps"),
        (lambda X, e: deletion(linear, X, e, n_random=0), "n_random"),
        (lambda X, e: deletion(linear, X, e, batch_size=0), "batch_size"),
        (lambda X, e: deletion(linear, X, e, random_state="x"), "random_state"),
        (lambda X, e: deletion(linear, X, e, baseline="median"), "baseline"),
        (lambda X, e: deletion(linear, X, e, baseline="mean"), "data"),
        (lambda X, e: deletion(linear, X, e, target=3), "target"),
        (lambda X, e: deletion(linear, X, "abc"), "explanation"),
        (lambda X, e: deletion(linear, X, deletion(linear, X, e, random_state=0)), "explanation: expected an Attribution"),
        (lambda X, e: insertion(linear, X, e, normalize="yes"), "normalize"),
        (lambda X, e: infidelity(linear, X, e, perturbation="square"), "perturbation"),
        (lambda X, e: infidelity(linear, X, e, perturbation=lambda x, n, rng: np.zeros((2, 2))), "perturbation"),
        (lambda X, e: road(linear, X, e, order="up"), "order"),
        (lambda X, e: faithfulness_correlation(linear, X, e, n_samples=1), "n_samples"),
    ],
)
def test_errors_name_the_parameter(table, call, match):
    _, X, exp = table
    with pytest.raises(InvalidParameterError, match=match):
        call(X, exp)


def test_classifier_target_defaults_to_the_predicted_class():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    clf = LogisticRegression().fit(X, y)
    exp = xk.ExactShapley(clf, background=X[:20]).explain(X[:6])
    s = deletion(clf, X[:6], exp, data=X[:20], random_state=0)
    full = clf.predict_proba(X[:6])
    np.testing.assert_allclose(s.curves[:, 0], full.max(axis=1), atol=1e-12)
    one = deletion(clf, X[:6], exp, data=X[:20], target=1, random_state=0)
    np.testing.assert_allclose(one.curves[:, 0], full[:, 1], atol=1e-12)
    assert s.above_floor() > 0.0


def test_curve_display(table):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from xaikit.plots.curves import CurveDisplay

    _, X, exp = table
    s = deletion(linear, X, exp, baseline=0.0, random_state=0)
    disp = CurveDisplay.from_scores(s)
    np.testing.assert_allclose(disp.line_.get_ydata(), s.curves.mean(axis=0), atol=1e-12)
    floor_curve = np.asarray(s.diagnostics["floor_curve"])
    np.testing.assert_allclose(disp.floor_line_.get_ydata(), floor_curve[np.isfinite(floor_curve)], atol=1e-12)
    assert disp.floor_line_.get_linestyle() == "--"
    with pytest.raises(InvalidParameterError, match="scores"):
        CurveDisplay.from_scores(infidelity(linear, X, exp, random_state=0))
    with pytest.raises(InvalidParameterError, match="exp"):
        CurveDisplay.from_scores(exp)
    import matplotlib.pyplot as plt

    plt.close("all")
