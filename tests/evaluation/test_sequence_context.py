"""Sequence families predict a test block with the preceding rows as context: full
windows, the same predictions as with the whole history, and never a label."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from intelligent_training.evaluation import (
    Cell,
    EvalData,
    Measure,
    fit_cell,
    resolve_cv,
    resolve_targets,
)
from intelligent_training.families.torch._windows import (
    context_rows,
    lookback_indices,
    sequence_keys,
)
from intelligent_training.model_selection import get_timestamps

LOOKBACK = 6


def _panel(n_ts=90, symbols=("A", "B", "C")):
    index = pd.MultiIndex.from_product(
        [pd.date_range("2024-01-01", periods=n_ts, freq="5min"), list(symbols)],
        names=["timestamp", "symbol"],
    )
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((len(index), 3)), index=index, columns=["a", "b", "c"])
    y = X.groupby(level="symbol")["a"].transform(lambda s: s.rolling(3, min_periods=1).mean())
    return X.astype(np.float32), (y + 0.1 * rng.standard_normal(len(y))).rename("fwd_ret_5m")


def test_context_rows_are_the_preceding_rows_of_each_symbol():
    X, _ = _panel(n_ts=20)
    keys = sequence_keys(X, len(X))
    test = np.arange(30, 60)  # timestamps 10..19, three symbols
    context = context_rows(keys, test, LOOKBACK)
    assert len(context) == (LOOKBACK - 1) * 3
    ts = X.index.get_level_values("timestamp")
    assert set(ts[context]) == set(ts[15:30])  # the 5 timestamps before the block
    brute = set()
    for i in test:
        same = np.flatnonzero(keys[0] == keys[0][i])
        earlier = same[keys[1][same] < keys[1][i]]
        brute |= set(earlier[-(LOOKBACK - 1) :])
    assert set(context) == brute - set(test)


def test_test_windows_are_full_and_see_no_label():
    pytest.importorskip("torch")
    X, y = _panel()
    resolved = resolve_targets(
        y.to_frame(),
        X,
        timestamps=get_timestamps(X),
        cv=resolve_cv(2, default_n_splits=2, owner="t"),
        owner="t",
    )
    data = EvalData.from_features(X, resolved.specs)
    fold = resolved["fwd_ret_5m"].folds[-1]
    cell = Cell(
        stage="train",
        target="fwd_ret_5m",
        family="lstm",
        fold=fold.index,
        train=fold.train,
        test=fold.test,
        params={
            "lookback": LOOKBACK,
            "hidden_size": 4,
            "max_epochs": 2,
            "batch_size": 64,
            "validation_fraction": 0.0,
        },
        seed=0,
        label_horizon=0,
        measure=Measure(scores=True),
        cpu_only=True,
    )
    view, _ = fit_cell(cell, data)
    seen: list[pd.DataFrame] = []
    predict = view.estimator.predict

    def spy(frame):
        seen.append(frame)
        return predict(frame)

    view.estimator.predict = spy
    scores = view.scores(data.X[cell.test])[:, 0]
    frame = seen[-1]
    # features only, the test rows and the lookback - 1 rows of each symbol before them
    assert list(frame.columns) == list(X.columns)
    context = frame.index.difference(X.index[cell.test])
    assert len(context) == (LOOKBACK - 1) * 3
    windows = lookback_indices(frame, LOOKBACK)[frame.index.isin(X.index[cell.test])]
    assert (windows >= 0).all()  # no padded step in any test window
    # the same predictions as with the whole history
    np.testing.assert_allclose(scores, predict(X)[cell.test], rtol=1e-5, atol=1e-6)
    # labels never reach predict: scrambling every label after the fit changes nothing
    spec = data.targets["fwd_ret_5m"]
    data.targets["fwd_ret_5m"] = replace(
        spec, labels=np.random.default_rng(1).permutation(spec.labels)
    )
    np.testing.assert_array_equal(view.scores(data.X[cell.test])[:, 0], scores)
