"""Expected gradients, the torch families' SHAP explainer, on a fitted network."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from intelligent_training.families import get_family, make_estimator
from intelligent_training.families.torch._explain import expected_gradients


def _data(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6)).astype(np.float32)
    X[rng.random(X.shape) < 0.03] = np.nan  # missing indicators carry attribution too
    y = 2.0 * np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 1]) + 0.3 * rng.standard_normal(n)
    return X, y


@pytest.mark.parametrize("task", ["regression", "binary"])
def test_expected_gradients_find_the_planted_features_and_add_up(task):
    X, y = _data()
    if task == "binary":
        y = (y > 0).astype(float)
    est = make_estimator("mlp", task, {"max_epochs": 8}, random_state=0).fit(X[:1000], y[:1000])
    rows, background = X[1000:1200], X[1000:]
    phi = expected_gradients(est, rows, background, np.random.RandomState(0), n_samples=64)
    assert phi.shape == (200, 6, 1)
    importance = np.abs(phi).mean(axis=(0, 2))
    assert set(np.argsort(-importance)[:2]) == {0, 1}
    assert importance[:2].min() > 3 * importance[2:].max()
    # local accuracy in expectation: sum of attributions ~ f(x) - E f(background)
    raw = est._raw_outputs(rows)[:, 0]
    centre = est._raw_outputs(background)[:, 0].mean()
    residual = phi.sum(axis=1)[:, 0] - (raw - centre)
    assert np.std(residual) < 0.3 * np.std(raw)


def test_the_torch_families_declare_it_and_sequence_models_are_not_explained():
    assert get_family("mlp").explainer("shap").endswith("_explain:expected_gradients")
    assert get_family("lstm").explainer("shap") is None  # windows: permutation only
    X, y = _data(120)
    lstm = make_estimator("lstm", "regression", {"max_epochs": 1}, random_state=0).fit(X, y)
    assert expected_gradients(lstm, X[:10], X, np.random.RandomState(0)) is None
