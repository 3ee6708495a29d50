"""Sanity checks (Adebayo et al. 2018): each flags an explanation that ignores the model (the input itself)
and passes one that tracks it; values recomputed by hand with scipy; the re-initialised copies of networks."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.metrics.sanity import data_randomisation, label_randomisation, parameter_randomisation, spearman_abs
from xaikit.models._randomize import randomized_copies, weight_layers

D = 8


class InputItself:
    """An "explainer" that ignores its model: the attribution is the input (an edge detector would do the same)."""

    def __init__(self, model) -> None:
        self.model = model

    def explain(self, X, **kwargs) -> xk.Attribution:
        A = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        return xk.Attribution(values=A[:, :, None], base_values=np.zeros((len(A), 1)), method="input")


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, D))
    y = X @ np.array([8.0, -6.0, 4.0, -3.0, 2.0, -1.0, 0.5, 0.2]) + 0.1 * rng.normal(size=300)
    return X, y


@pytest.fixture(scope="module")
def linear(data):
    from sklearn.linear_model import LinearRegression

    return LinearRegression().fit(*data)


def exact(bg: np.ndarray):
    return lambda m: xk.ExactShapley(m, background=bg)


@pytest.mark.parametrize("check", [label_randomisation, data_randomisation])
def test_refit_checks_flag_the_input_and_pass_exact_shapley(check, data, linear) -> None:
    X, y = data
    tracks = check(linear, X[:40], y[:40], exact(X[:5]), random_state=0)
    ignores = check(linear, X[:40], y[:40], InputItself, random_state=0)
    np.testing.assert_allclose(ignores.values, 1.0, atol=1e-12)
    assert not ignores.diagnostics["passed"].any() and ignores.diagnostics["pass_rate"] == 0.0
    assert tracks.mean() < 0.5 and tracks.diagnostics["pass_rate"] >= 0.6
    np.testing.assert_array_equal(tracks.diagnostics["passed"], tracks.values < 0.5)
    assert abs(tracks.floor_mean()) < 0.2 and tracks.higher_is_better is False
    assert tracks.above_floor() < -0.1  # |x| is common to both explanations: more similar than a random one, far below 1
    assert tracks.params["threshold"] == 0.5 and tracks.metric == check.__name__


def test_label_randomisation_by_hand(data, linear) -> None:
    from scipy.stats import spearmanr
    from sklearn.base import clone

    X, y = data[0][:40], data[1][:40]
    s = label_randomisation(linear, X, y, exact(X[:5]), random_state=7)
    perm = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(0,))).permutation(40)
    refit = clone(linear).fit(X, y[perm])
    a = exact(X[:5])(linear).explain(X).values[:, :, 0]
    b = exact(X[:5])(refit).explain(X).values[:, :, 0]
    expected = [spearmanr(np.abs(u), np.abs(v)).statistic for u, v in zip(a, b)]
    np.testing.assert_allclose(s.values, expected, rtol=1e-12, atol=1e-12)
    again = label_randomisation(linear, X, y, exact(X[:5]), random_state=7)
    np.testing.assert_array_equal(s.values, again.values)


def test_tree_shap_of_a_tree_passes_label_randomisation(data) -> None:
    from sklearn.tree import DecisionTreeRegressor

    X, y = data
    tree = DecisionTreeRegressor(max_depth=6, random_state=0).fit(X, y)
    s = label_randomisation(tree, X[:100], y[:100], lambda m: xk.TreeShap(m), random_state=0)
    assert s.diagnostics["pass_rate"] > 0.8


def test_data_randomisation_noise_and_frames(data, linear) -> None:
    pd = pytest.importorskip("pandas")
    from sklearn.linear_model import LinearRegression

    X, y = data
    s = data_randomisation(linear, X[:30], y[:30], InputItself, how="noise", random_state=0)
    assert s.params["how"] == "noise" and s.diagnostics["pass_rate"] == 0.0
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(D)])
    model = LinearRegression().fit(frame, y)  # the clone is refitted on a frame with the same columns
    t = data_randomisation(model, frame.iloc[:30], y[:30], exact(frame.iloc[:5]), how="permute", random_state=0)
    assert t.diagnostics["pass_rate"] >= 0.6


@pytest.fixture(scope="module")
def net():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(D, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
                               torch.nn.Linear(16, 2)).double()


def test_parameter_randomisation_of_a_torch_network(net, data) -> None:
    import torch

    X = data[0][:30]
    before = [p.detach().clone() for p in net.parameters()]
    s = parameter_randomisation(net, X, lambda m: xk.Saliency(m), random_state=0)
    ignores = parameter_randomisation(net, X, InputItself, random_state=0)
    assert s.diagnostics["randomised"] == ["4", "2", "0"] and s.curves.shape == (30, 3)
    np.testing.assert_array_equal(s.values, s.curves[:, -1])
    assert s.diagnostics["pass_rate"] >= 0.8
    np.testing.assert_allclose(ignores.curves, 1.0, atol=1e-12)
    assert ignores.diagnostics["pass_rate"] == 0.0
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))  # the network is not changed
    ind = parameter_randomisation(net, X, lambda m: xk.Saliency(m), layers="independent", random_state=0)
    np.testing.assert_array_equal(ind.values, np.nanmax(ind.curves, axis=1))
    # the top layer alone is re-initialised the same way in both modes
    np.testing.assert_allclose(ind.curves[:, 0], s.curves[:, 0], atol=1e-12)
    again = parameter_randomisation(net, X, lambda m: xk.Saliency(m), random_state=0)
    np.testing.assert_array_equal(s.values, again.values)


def test_randomized_copies_of_torch(net) -> None:
    import torch

    assert weight_layers(net) == ["0", "2", "4"]
    cascade = randomized_copies(net, layers="cascading", seed=3)
    single = randomized_copies(net, layers="independent", seed=3)
    top_down = ["4", "2", "0"]
    for k, ((name, c), (name2, i)) in enumerate(zip(cascade, single)):
        assert name == name2 == top_down[k]
        for layer in top_down:
            original, casc, ind = net.get_submodule(layer).weight, c.get_submodule(layer).weight, i.get_submodule(layer).weight
            assert torch.equal(casc, original) is (layer not in top_down[: k + 1])
            assert torch.equal(ind, original) is (layer != name)
            if layer == name:
                assert torch.equal(casc, ind)  # layer j gets the same seed in every copy
    again = randomized_copies(net, layers="cascading", seed=3)
    assert torch.equal(again[-1][1].get_submodule("0").weight, cascade[-1][1].get_submodule("0").weight)


def test_parameter_randomisation_of_a_keras_network(data) -> None:
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((D,)), keras.layers.Dense(12, activation="tanh", name="hidden"),
                              keras.layers.Dense(1, name="top")])
    X = data[0][:20].astype(np.float32)
    s = parameter_randomisation(model, X, lambda m: xk.Saliency(m), random_state=0)
    assert s.diagnostics["randomised"] == ["top", "hidden"]
    assert s.diagnostics["pass_rate"] >= 0.7
    assert parameter_randomisation(model, X, InputItself, random_state=0).diagnostics["pass_rate"] == 0.0
    copies = randomized_copies(model, layers="independent", seed=1)
    w = model.get_layer("hidden").get_weights()[0]
    assert np.array_equal(copies[0][1].get_layer("hidden").get_weights()[0], w)
    assert not np.array_equal(copies[1][1].get_layer("hidden").get_weights()[0], w)


def test_spearman_abs_against_scipy() -> None:
    from scipy.stats import spearmanr

    rng = np.random.default_rng(4)
    A, B = rng.normal(size=(5, 7)), rng.normal(size=(5, 7))
    B[0, :3] = B[0, 3]  # ties
    expected = [spearmanr(np.abs(a), np.abs(b)).statistic for a, b in zip(A, B)]
    np.testing.assert_allclose(spearman_abs(A, B), expected, rtol=1e-12)
    assert np.isnan(spearman_abs(np.ones((1, 3)), A[:1, :3])[0])


def test_errors(data, linear, net) -> None:
    X, y = data[0][:10], data[1][:10]
    with pytest.raises(InvalidParameterError, match="explainer_factory: expected a function"):
        label_randomisation(linear, X, y, "tree")
    with pytest.raises(InvalidParameterError, match=r"threshold: expected a similarity in \[-1, 1\], got 2"):
        label_randomisation(linear, X, y, InputItself, threshold=2.0)
    with pytest.raises(InvalidParameterError, match="y: expected 10 labels"):
        label_randomisation(linear, X, y[:5], InputItself)
    with pytest.raises(InvalidParameterError, match="how"):
        data_randomisation(linear, X, y, InputItself, how="shuffle")
    with pytest.raises(InvalidParameterError, match="explain_params: expected no 'random_state'"):
        label_randomisation(linear, X, y, InputItself, explain_params={"random_state": 0})
    with pytest.raises(UnsupportedModelError, match="model: expected a scikit-learn-style estimator"):
        label_randomisation(lambda Z: Z[:, 0], X, y, InputItself)
    with pytest.raises(UnsupportedModelError, match="model: expected a torch.nn.Module or a Keras model"):
        parameter_randomisation(linear, X, InputItself)
    with pytest.raises(InvalidParameterError, match="layers"):
        parameter_randomisation(net, X, InputItself, layers="all")
    with pytest.raises(InvalidParameterError, match="explainer_factory: expected a function of a model returning an explainer"):
        label_randomisation(linear, X, y, lambda m: 3)


def test_scores_save_load_and_slice(tmp_path, data, linear) -> None:
    from xaikit.results.metric_scores import MetricScores

    X, y = data[0][:12], data[1][:12]
    s = label_randomisation(linear, X, y, exact(X[:3]), random_state=1)
    s.save(tmp_path / "s.xai")
    back = MetricScores.load(tmp_path / "s.xai")
    np.testing.assert_array_equal(back.values, s.values)
    np.testing.assert_array_equal(back.diagnostics["passed"], s.diagnostics["passed"])
    np.testing.assert_array_equal(s[3:5].diagnostics["passed"], s.diagnostics["passed"][3:5])
