"""The tree surrogate of RegressionAdjustedShap: its Shapley values are exact for the function it fitted."""

import numpy as np
import pytest

from xaikit.explainers.shapley._binary_boosting import fit_surrogate
from xaikit.explainers.shapley.exact import all_coalitions, shapley_from_table


@pytest.mark.parametrize("k, depth", [(3, 2), (6, 4), (8, 5)])
def test_surrogate_shapley_equals_enumeration_of_its_own_game(k, depth):
    rng = np.random.default_rng(k)
    Z = rng.random((400, k)) < 0.5
    y = np.sin(Z @ rng.normal(size=k)) + Z[:, 0] * Z[:, 1] * Z[:, -1] + 0.1 * rng.normal(size=400)
    sur = fit_surrogate(Z, y, rng.random(400) + 0.1, n_trees=15, depth=depth)
    table = sur(all_coalitions(k))[:, None]
    np.testing.assert_allclose(sur.shapley, shapley_from_table(table)[:, 0], atol=1e-12)


def test_fitted_values_match_prediction_and_reduce_error():
    rng = np.random.default_rng(0)
    Z = rng.random((300, 5)) < 0.5
    y = 2.0 * Z[:, 0] * Z[:, 1] - Z[:, 2]
    w = np.ones(300)
    sur = fit_surrogate(Z, y, w)
    np.testing.assert_allclose(sur.fitted, sur(Z), atol=1e-12)
    centred = y - y.mean()
    assert np.mean((centred - sur.fitted) ** 2) < 0.05 * np.mean(centred**2)
