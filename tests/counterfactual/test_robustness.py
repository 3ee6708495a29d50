"""Accuracy under attack (xaikit robustness), its display, and the max-sensitivity of explanations."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xaikit as xk  # noqa: E402
from xaikit.errors import InvalidParameterError  # noqa: E402
from xaikit.explainers.adversarial.robustness import explanation_robustness, perturbation_samples, robustness  # noqa: E402
from xaikit.results import Result  # noqa: E402


@pytest.fixture(scope="module")
def mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()


@pytest.fixture(scope="module")
def cnn() -> torch.nn.Module:
    torch.manual_seed(1)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(27, 4)
    ).double()


@pytest.fixture(scope="module")
def data(mlp) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(20, 4))
    y = mlp(torch.tensor(X)).argmax(1).numpy()
    y[:3] = (y[:3] + 1) % 3  # three rows misclassified already
    return X, y


EPS = [0.0, 0.05, 0.1, 0.2, 0.4]


@pytest.fixture(scope="module")
def rob(mlp, data):
    X, y = data
    return robustness(mlp, X, y, epsilons=EPS, attack=["fgsm", "pgd"], random_state=0)


def _predict(net, Z):
    return net(torch.tensor(Z)).argmax(1).numpy()


def test_accuracy_recounted_from_the_examples(rob, mlp, data):
    X, y = data
    acc = rob.accuracy
    assert acc.shape == (2, len(EPS))
    for a in range(2):
        for e in range(len(EPS)):
            adv = rob.adversarial_examples(a, e)
            assert np.abs(adv - X).max() <= EPS[e] + 1e-12
            pred = _predict(mlp, adv)
            np.testing.assert_array_equal(pred, rob.predicted[a, e])
            assert acc[a, e] == (pred == y).mean()


def test_epsilon_zero_is_clean_and_accuracy_decreases(rob, mlp, data):
    X, y = data
    clean = (_predict(mlp, X) == y).mean()
    assert rob.clean_accuracy == clean == 17 / 20
    np.testing.assert_array_equal(rob.accuracy[:, 0], [clean, clean])
    assert (np.diff(rob.accuracy, axis=1) <= 0).all()
    assert rob.accuracy[1, -1] < clean  # PGD does fool the model at the largest epsilon
    # the rows misclassified already need no perturbation; the others' smallest fooling epsilon is one tested
    assert (rob.min_epsilon[:, :3] == 0).all()
    fooled = np.isfinite(rob.min_epsilon[1])
    assert set(rob.min_epsilon[1, fooled].tolist()) <= set(EPS)
    for r in np.flatnonzero(fooled):
        e = EPS.index(rob.min_epsilon[1, r])
        assert rob.predicted[1, e, r] != y[r] and (e == 0 or rob.predicted[1, e - 1, r] == y[r] or r < 3)


def test_pgd_cnn_monotone_and_seeded(cnn):
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, size=(8, 1, 8, 8))
    y = _predict(cnn, X)
    a = robustness(cnn, X, y, epsilons=[0.0, 0.02, 0.05, 0.1], attack="pgd", norm=2, bounds=(0.0, 1.0), random_state=3)
    b = robustness(cnn, X, y, epsilons=[0.0, 0.02, 0.05, 0.1], attack="pgd", norm=2, bounds=(0.0, 1.0), random_state=3)
    np.testing.assert_array_equal(a.adversarial, b.adversarial)
    assert a.accuracy[0, 0] == 1.0
    assert (np.diff(a.accuracy[0]) <= 0).all()
    adv = a.adversarial_examples("pgd", 3)
    assert adv.shape == X.shape and adv.min() >= 0.0 and adv.max() <= 1.0
    assert np.linalg.norm((adv - X).reshape(8, -1), axis=1).max() <= 0.1 + 1e-9


def test_boundary_attack_on_a_linear_classifier():
    w, b = np.array([1.2, -0.8, 0.4]), 0.1

    def clf(Z):  # a logistic model's two class probabilities
        p = 1.0 / (1.0 + np.exp(-(Z @ w + b)))
        return np.stack([1.0 - p, p], axis=1)

    def decide(Z):
        return (Z @ w + b > 0).astype(int)

    X = np.random.default_rng(0).normal(size=(10, 3))
    y = decide(X)
    y[:2] = 1 - y[:2]  # two rows misclassified
    rob = robustness(clf, X, y, epsilons=[0.0, 0.2, 0.5, 1.0], attack="boundary", norm=2, random_state=0)
    true = np.abs(X @ w + b) / np.linalg.norm(w)
    ok = decide(X) == y
    # the accuracy at epsilon counts the correct rows whose boundary is farther than epsilon (2% search tolerance)
    for e, eps in enumerate([0.0, 0.2, 0.5, 1.0]):
        lo, hi = (ok & (true > eps)).mean(), (ok & (true * 1.02 > eps)).mean()
        assert lo <= rob.accuracy[0, e] <= hi
        np.testing.assert_array_equal(decide(rob.adversarial_examples(0, e)), rob.predicted[0, e])


def test_save_load_and_display(rob, tmp_path):
    path = tmp_path / "rob.xai"
    rob.save(path)
    back = Result.load(path)
    np.testing.assert_array_equal(back.accuracy, rob.accuracy)
    assert back.attack_names == ["fgsm", "pgd"]
    np.testing.assert_array_equal(back.adversarial_examples("pgd", 2), rob.adversarial_examples("pgd", 2))
    sliced = rob["pgd"]
    assert sliced.n_attacks == 1 and sliced.accuracy.tolist() == [rob.accuracy[1].tolist()]
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from xaikit.plots.robustness import RobustnessDisplay

    disp = RobustnessDisplay.from_explanation(rob)
    assert sorted(disp.lines_) == ["fgsm", "pgd"]
    np.testing.assert_array_equal(disp.lines_["pgd"].get_ydata(), rob.accuracy[1])
    np.testing.assert_array_equal(disp.lines_["fgsm"].get_xdata(), EPS)
    assert disp.clean_line_ is not None and disp.clean_line_.get_ydata()[0] == rob.clean_accuracy
    import matplotlib.pyplot as plt

    plt.close(disp.figure_)
    with pytest.raises(InvalidParameterError, match="exp: expected an Robustness for RobustnessDisplay"):
        RobustnessDisplay.from_explanation(xk.Attribution(values=np.zeros((1, 2, 1)), base_values=[[0.0]], method="demo"))


def test_robustness_errors(mlp, data):
    X, y = data
    with pytest.raises(InvalidParameterError, match="epsilons: expected a list of increasing"):
        robustness(mlp, X, y, epsilons=[0.2, 0.1])
    with pytest.raises(InvalidParameterError, match="attack: expected one of"):
        robustness(mlp, X, y, epsilons=[0.1], attack="cw")
    with pytest.raises(InvalidParameterError, match="keep_examples: expected True or False"):
        robustness(mlp, X, y, epsilons=[0.1], keep_examples=1)
    no = robustness(mlp, X, y, epsilons=[0.1], attack="fgsm", keep_examples=False)
    with pytest.raises(InvalidParameterError, match="adversarial: this result does not hold"):
        no.adversarial_examples()


# --------------------------------------------------------------------------------- explanation robustness


def test_saliency_on_a_linear_model_is_insensitive():
    torch.manual_seed(2)
    net = torch.nn.Linear(5, 3).double()
    X = np.random.default_rng(2).normal(size=(6, 5))
    res = explanation_robustness(xk.Saliency(net, abs=False), X, epsilon=0.3, n_samples=8, random_state=0)
    np.testing.assert_array_equal(res.sensitivity, np.zeros(6))
    assert (res.n_kept > 0).all()


class Quadratic(torch.nn.Module):
    """f(x) = sum_j a_j x_j^2: Integrated Gradients from a zero baseline gives exactly a_j x_j^2."""

    def __init__(self, a: np.ndarray) -> None:
        super().__init__()
        self.a = torch.tensor(a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.a * x**2).sum(dim=1, keepdim=True)


def test_integrated_gradients_on_a_quadratic_matches_the_closed_form():
    a = np.array([1.0, 2.0, 0.5, 3.0])
    X = np.random.default_rng(3).uniform(0.5, 1.5, size=(5, 4))
    ig = xk.IntegratedGradients(Quadratic(a))
    res = explanation_robustness(ig, X, epsilon=0.2, n_samples=12, explain_params={"baseline": 0.0}, random_state=5)
    samples = perturbation_samples(X, epsilon=0.2, n_samples=12, random_state=np.random.SeedSequence(5).spawn(1)[0])
    phi = a * X**2
    ratios = np.linalg.norm(a * samples**2 - phi, axis=2) / np.linalg.norm(phi, axis=1)  # (n_samples, n)
    np.testing.assert_allclose(res.sensitivity, ratios.max(axis=0), rtol=1e-6)
    np.testing.assert_allclose(res.worst, samples[ratios.argmax(axis=0), np.arange(5)], rtol=0, atol=0)
    assert (res.n_kept == 12).all()  # one output, always > 0: every sample keeps the decision
    assert res.max() == pytest.approx(ratios.max(), rel=1e-6)


def test_shapley_and_lime_explainers_and_kept_class():
    """Model-agnostic explainers work too, and only samples that keep the predicted class count."""
    w = np.array([1.0, -1.0, 0.5])

    def model(Z):
        s = Z @ w
        return np.stack([s, -s], axis=1)

    X = np.array([[0.05, 0.0, 0.0], [1.0, -1.0, 0.0]])  # row 0 sits near the boundary
    bg = np.zeros((1, 3))
    res = explanation_robustness(xk.ExactShapley(model, background=bg), X, epsilon=0.2, n_samples=10, random_state=0)
    assert res.n_kept[0] < 10 and res.n_kept[1] == 10
    samples = perturbation_samples(X, epsilon=0.2, n_samples=10, random_state=np.random.SeedSequence(0).spawn(1)[0])
    keep = (samples @ w > 0) == (X @ w > 0)
    np.testing.assert_array_equal(res.n_kept, keep.sum(axis=0))
    # the attribution of a linear model from a zero background is w * x: the closed form on the kept samples
    ratios = np.where(keep, np.linalg.norm(w * samples - w * X, axis=2) / np.linalg.norm(w * X, axis=1), 0.0)
    np.testing.assert_allclose(res.sensitivity, ratios.max(axis=0), rtol=1e-9)
    lime = xk.Lime(model, masker=xk.TabularMasker(np.random.default_rng(0).normal(size=(30, 3))))
    a = explanation_robustness(lime, X[1:], epsilon=0.05, n_samples=3, explain_params={"n_samples": 200}, random_state=1)
    b = explanation_robustness(lime, X[1:], epsilon=0.05, n_samples=3, explain_params={"n_samples": 200}, random_state=1)
    np.testing.assert_array_equal(a.sensitivity, b.sensitivity)
    assert np.isfinite(a.sensitivity).all()


def test_explanation_robustness_errors_and_save(tmp_path):
    with pytest.raises(InvalidParameterError, match="explainer: expected an xaikit explainer"):
        explanation_robustness(lambda X: X, np.zeros((1, 2)), epsilon=0.1)
    net = torch.nn.Linear(2, 2).double()
    with pytest.raises(InvalidParameterError, match="epsilon: expected a number >= 0"):
        explanation_robustness(xk.Saliency(net), np.zeros((1, 2)), epsilon=-1.0)
    res = explanation_robustness(xk.Saliency(net), np.ones((2, 2)), epsilon=0.1, n_samples=2, random_state=0)
    res.save(tmp_path / "s.xai")
    back = Result.load(tmp_path / "s.xai")
    np.testing.assert_array_equal(back.worst, res.worst)
    assert type(back).__name__ == "ExplanationRobustness"
