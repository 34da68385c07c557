"""LightGBM fed a block of rows at a time bins and trains exactly as on the copied rows."""

from __future__ import annotations

import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm")

from intelligent_training.families._lightgbm_native import (  # noqa: E402
    binned_dataset,
    row_views,
    valid_rows,
)


class _Rows:
    """A matrix-like that is not an ndarray (as the selector's ShadowedMatrix)."""

    def __init__(self, X: np.ndarray) -> None:
        self.X, self.shape = X, X.shape

    def __getitem__(self, rows):
        return self.X[rows]

    def column(self, j, rows):
        return self.X[rows, j]


def _features(seed: int, n: int = 3000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6)).astype(np.float32)
    X[rng.random((n, 6)) < 0.1] = np.nan  # missing values
    X[:, 1] = np.round(X[:, 1])  # many exact zeros (sparse in LightGBM's sample)
    X[:, 2] = 0.0  # constant
    X[:, 3] = rng.integers(0, 4, n)  # a few levels
    X[:, 5] = np.float32(1e-36) * (rng.random(n) < 0.5)  # values under the zero threshold
    return X


def _params(seed: int, **extra) -> dict:
    return {
        "objective": "regression",
        "num_leaves": 15,
        "min_data_in_leaf": 5,
        "max_bin": 31,
        "bin_construct_sample_cnt": 500,  # a sample smaller than the rows: the seed decides it
        "seed": seed,
        "feature_pre_filter": False,
        "num_threads": 1,
        "verbose": -1,
        **extra,
    }


def _model(train, params, y, rows, test_rows=None, X=None):
    sub = train.subset(rows, params=dict(params)).construct()
    sub.set_label(y)
    booster = lgb.Booster(params={**params, "num_iterations": 12}, train_set=sub)
    scores = None
    if test_rows is not None:
        valid = lgb.Dataset(valid_rows(X, test_rows), reference=sub, params=dict(params))
        booster.add_valid(valid.construct(), "test")
    for _ in range(12):
        booster.update()
    if test_rows is not None:
        scores = booster.predict(np.ascontiguousarray(X[test_rows]))
    return booster.model_to_string(), scores


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("layout", ["F", "matrix-like", "C, many runs"])
def test_pushed_rows_give_the_model_of_the_copied_rows(seed, layout):
    X = _features(seed)
    rng = np.random.default_rng(seed)
    base = np.sort(rng.choice(len(X), size=2000, replace=False))  # many runs: no views
    rows = base[rng.random(len(base)) < 0.8]
    positions = np.searchsorted(base, rows)
    test_rows = np.setdiff1d(np.arange(len(X)), base)
    y = X[rows, 0] * 2 + np.nan_to_num(X[rows, 3]) + rng.standard_normal(len(rows))
    params = _params(seed)
    label = np.zeros(len(base), dtype=np.float32)

    copied = lgb.Dataset(np.ascontiguousarray(X[base]), label=label, params=dict(params))
    expected, expected_scores = _model(copied.construct(), params, y, positions, test_rows, X)

    source = {"F": np.asfortranarray(X), "matrix-like": _Rows(X), "C, many runs": X}[layout]
    if layout == "C, many runs":
        assert row_views(source, base) is None or len(row_views(source, base)) > 1
    pushed = binned_dataset(source, base, params, label=label)
    assert pushed.num_data() == len(base)
    got, got_scores = _model(pushed, params, y, positions, test_rows, X)
    assert got == expected
    np.testing.assert_array_equal(got_scores, expected_scores)


def test_the_seed_decides_the_sample_as_for_copied_rows():
    # LightGBM's own Sequence input drops `seed` from the sample: here it must not.
    X = np.asfortranarray(_features(3))
    base = np.arange(0, len(X), 2)
    y = np.nan_to_num(X[base, 0])
    models = {}
    for seed in (0, 5):
        params = _params(seed, bin_construct_sample_cnt=50)
        label = np.zeros(len(base), dtype=np.float32)
        pushed = binned_dataset(X, base, params, label=label)
        models[seed], _ = _model(pushed, params, y, np.arange(len(base)))
        copied = lgb.Dataset(np.ascontiguousarray(X[base]), label=label, params=dict(params))
        assert models[seed] == _model(copied.construct(), params, y, np.arange(len(base)))[0]
    assert models[0] != models[5]  # a 50-row sample: the bins depend on which rows


def test_c_ordered_runs_are_views():
    X = _features(0, n=100)
    views = row_views(X, np.r_[0:10, 20:30])
    assert views is not None and len(views) == 2
    assert all(np.shares_memory(v, X) for v in views)
    assert row_views(np.asfortranarray(X), np.r_[0:10]) is None
    assert row_views(_Rows(X), np.r_[0:10]) is None


def test_fold_bins_free_the_base_after_the_last_expected_cell():
    from intelligent_training.evaluation import FoldBins

    X = np.asfortranarray(_features(4))
    base = np.arange(2500)
    params = {k: v for k, v in _params(4).items() if k != "objective"}
    native = {**params, "objective": "regression"}
    rng = np.random.default_rng(4)
    fits = [np.sort(rng.choice(base, size=2000, replace=False)) for _ in range(2)]
    labels = [rng.standard_normal(2000) for _ in range(2)]

    kept = FoldBins("lightgbm", base, params)  # not counted: the base stays (as on Dask)
    counted = FoldBins("lightgbm", base, params)
    counted.expect_cell()
    counted.expect_cell()
    for k, (rows, y) in enumerate(zip(fits, labels)):
        a = _booster(kept, X, rows, y, native).model_to_string()
        b = _booster(counted, X, rows, y, native).model_to_string()
        assert a == b
        assert (counted._base is None) == (k == 1)  # freed after the second cell
        assert kept._base is not None
    # a cell after the last one rebuilds the same bins
    assert _booster(counted, X, fits[0], labels[0], native).model_to_string() == (
        _booster(kept, X, fits[0], labels[0], native).model_to_string()
    )


def _booster(bins, X, rows, y, native):
    return bins.fit(X, rows, y, native, 8, task="regression", n_classes=0).booster
