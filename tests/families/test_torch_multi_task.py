"""multi_task family: shared trunk, mixed regression/binary heads, masked NaN labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import r2_score, roc_auc_score

torch = pytest.importorskip("torch")

from intelligent_training.exceptions import ConfigError, DataError  # noqa: E402
from intelligent_training.families.torch import MultiTaskNetwork, build_multi_task  # noqa: E402

FAST = {"trunk_sizes": (32, 16), "head_sizes": (8,), "max_epochs": 15, "batch_size": 128}


def _data(n: int = 1600, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"f{i}" for i in range(6)])
    latent = X["f0"] - 0.7 * X["f1"]
    Y = pd.DataFrame(
        {
            "fwd_ret": 0.01 * (latent + 0.6 * rng.normal(size=n)) + 0.002,
            "y_up": np.where(latent + 0.6 * rng.normal(size=n) > 0, "up", "down"),
            "tgt_other": X["f2"] * 2.0 + rng.normal(size=n),
            "noise": rng.normal(size=n),
        }
    )
    return X, Y


def test_mixed_heads_learn_out_of_sample() -> None:
    X, Y = _data()
    cut = 1100
    model = build_multi_task("multi", FAST, random_state=0, n_jobs=1, cpu_only=True)
    model.fit(X.iloc[:cut], Y.iloc[:cut])
    assert model.targets_ == list(Y.columns)
    assert model.tasks_ == {
        "fwd_ret": "regression",
        "y_up": "binary",
        "tgt_other": "regression",
        "noise": "regression",
    }
    assert list(model.classes_["y_up"]) == ["down", "up"]
    pred = model.predict(X.iloc[cut:])
    assert pred.shape == (len(X) - cut, 4)
    assert set(pred[:, 1]) <= {"down", "up"}
    scores = model.predict_scores(X.iloc[cut:])
    test = Y.iloc[cut:]
    assert r2_score(test["fwd_ret"], scores[:, 0]) > 0.3  # in original units
    assert r2_score(test["tgt_other"], scores[:, 2]) > 0.3
    assert roc_auc_score(test["y_up"] == "up", scores[:, 1]) > 0.75
    assert r2_score(test["noise"], scores[:, 3]) < 0.03
    proba = model.predict_proba(X.iloc[cut:])
    assert list(proba) == ["y_up"]
    np.testing.assert_allclose(proba["y_up"][:, 1], scores[:, 1])
    np.testing.assert_allclose(proba["y_up"].sum(axis=1), 1.0)


def test_nan_labels_are_masked_per_head() -> None:
    X, Y = _data()
    Y = Y[["fwd_ret", "tgt_other"]].copy()
    Y.loc[Y.index[:800], "tgt_other"] = np.nan  # one head misses half its labels
    Y.loc[Y.index[1000:1050], :] = np.nan  # rows with no label at all
    model = MultiTaskNetwork(**FAST, random_state=0, device="cpu").fit(X.iloc[:1300], Y.iloc[:1300])
    scores = model.predict(X.iloc[1300:])
    assert np.isfinite(scores).all()
    assert r2_score(Y["tgt_other"].iloc[1300:], scores[:, 1]) > 0.3
    # the masked loss ignores NaN entries: equal with the NaN rows dropped entirely
    loss = model._supervised_loss(
        torch.zeros(4, 2), torch.tensor([[1.0, np.nan], [np.nan, np.nan], [3.0, 2.0], [1.0, 0.0]])
    )
    expected = np.mean([np.mean([1.0, 9.0, 1.0]), np.mean([4.0, 0.0])])
    assert float(loss) == pytest.approx(expected)


def test_tasks_parameter_and_1d_target() -> None:
    X, Y = _data(400)
    y01 = (Y["y_up"] == "up").astype(float)
    as_reg = MultiTaskNetwork(**{**FAST, "max_epochs": 2}, tasks="regression", device="cpu")
    assert as_reg.fit(X, y01).tasks_ == {"y_up": "regression"}
    as_bin = MultiTaskNetwork(**{**FAST, "max_epochs": 2}, device="cpu").fit(X, y01.to_numpy())
    assert as_bin.tasks_ == {"y0": "binary"} and as_bin.predict(X).shape == (400, 1)
    by_name = MultiTaskNetwork(**{**FAST, "max_epochs": 2}, tasks={"noise": "regression"})
    assert by_name.set_params(device="cpu").fit(X, Y[["y_up", "noise"]]).tasks_["y_up"] == "binary"
    with pytest.raises(ConfigError, match="unknown target"):
        clone(by_name).set_params(tasks={"nope": "binary"}).fit(X, Y)
    with pytest.raises(ConfigError, match="multiclass"):
        clone(by_name).set_params(tasks="multiclass").fit(X, Y[["noise"]])
    with pytest.raises(DataError, match="exactly 2"):
        clone(by_name).set_params(tasks="binary").fit(X, Y[["noise"]])


def test_deterministic_and_clone() -> None:
    X, Y = _data(600)
    Y = Y[["fwd_ret", "y_up"]]
    a = build_multi_task("multi", {**FAST, "max_epochs": 3}, random_state=3, cpu_only=True)
    b = clone(a)
    assert b.get_params() == a.get_params()
    np.testing.assert_array_equal(a.fit(X, Y).predict_scores(X), b.fit(X, Y).predict_scores(X))
