"""Shared results for the display tests: exact-known ones built directly, and real ones from tiny models."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import xaikit as xk  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def known():
    """4 rows x 3 features x 1 output, values known exactly; data present."""
    values = np.array(
        [[[3.0], [-1.0], [0.5]], [[-2.0], [0.5], [0.0]], [[1.0], [-2.0], [0.25]], [[2.0], [0.5], [-0.25]]]
    )
    data = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, np.nan], [7.0, 8.0, 9.0], [1.5, 2.5, 3.5]])
    return xk.Attribution(values=values, base_values=np.full((4, 1), 10.0), data=data, feature_names=["age", "income", "city"], method="demo")


@pytest.fixture(scope="session")
def two_outputs():
    rng = np.random.default_rng(1)
    return xk.Attribution(
        values=rng.normal(size=(5, 3, 2)), base_values=np.zeros((5, 2)), feature_names=["a", "b", "c"], output_names=["no", "yes"], method="demo"
    )


@pytest.fixture(scope="session")
def sampled():
    """A real KernelShap result with standard errors (12 features, sampled)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 12))
    w = np.arange(12.0)
    exp = xk.KernelShap(lambda Z: 10 * np.tanh(Z @ w / 10) + Z[:, 0] * Z[:, 1] * Z[:, 2], background=np.zeros((1, 12))).explain(
        X, n_samples=64, random_state=0
    )
    assert exp.diagnostics["std_err"].max() > 1e-3
    return exp


@pytest.fixture(scope="session")
def exact():
    """A real ExactShapley result without standard errors; X has a product interaction of x0 and x2."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    bg = np.zeros((1, 4))
    return xk.ExactShapley(lambda Z: 2 * Z[:, 0] + Z[:, 1] + Z[:, 0] * Z[:, 2] * 3, background=bg).explain(X)


@pytest.fixture(scope="session")
def documents():
    def model(docs):
        return np.array([[d.count("good") - d.count("bad")] for d in docs], dtype=float)

    return xk.Lime(model, masker=xk.TextMasker()).explain(["a good film, not bad", "bad bad good"], n_samples=50, random_state=0)


@pytest.fixture(scope="session")
def images():
    img = np.random.default_rng(0).random((1, 16, 16, 3))

    def model(X):
        return X.reshape(len(X), -1).mean(axis=1, keepdims=True)

    return xk.Lime(model, masker=xk.ImageMasker()).explain(img, n_samples=50, random_state=0), img[0]


@pytest.fixture(scope="session")
def interaction():
    v = np.zeros((3, 3, 3, 1))
    v[:, 0, 0, 0] = [1.0, -1.0, 2.0]
    v[:, 0, 2, 0] = v[:, 2, 0, 0] = [0.5, 0.5, -0.5]
    v[:, 1, 1, 0] = 0.1
    data = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 0.0], [3.0, 3.0, 1.0]])
    return xk.Interaction(values=v, base_values=np.zeros((3, 1)), data=data, feature_names=["a", "b", "c"], method="demo_inter")
