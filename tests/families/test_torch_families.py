"""Torch families: they learn planted signals, ignore noise, and follow the sklearn contract."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.metrics import r2_score, roc_auc_score

torch = pytest.importorskip("torch")

from intelligent_training.exceptions import (  # noqa: E402
    ConfigError,
    DataError,
    FamilyError,
    MissingDependencyError,
)
from intelligent_training.families import torch as tf  # noqa: E402
from intelligent_training.families.torch._base import validation_split  # noqa: E402

FAMILIES = ["mlp", "vae", "gan", "cnn1d", "lstm", "transformer"]
SEQUENCE = ["cnn1d", "lstm", "transformer"]
# small and quick: tiny data, few epochs, small batches so that each epoch has a few steps
FAST = {"max_epochs": 12, "batch_size": 128, "patience": 3}
FAST_ARCH = {
    "mlp": {"hidden_sizes": (32, 16)},
    "vae": {"encoder_sizes": (32,), "head_sizes": (16,)},
    "gan": {"generator_sizes": (32, 32), "discriminator_sizes": (16,), "n_draws": 8},
    "cnn1d": {"lookback": 6, "channels": 16},
    "lstm": {"lookback": 6, "hidden_size": 16},
    "transformer": {"lookback": 6, "d_model": 16, "n_heads": 2, "dim_feedforward": 32},
}


def _build(family: str, task: str, **extra: object) -> object:
    params = {**FAST, **FAST_ARCH[family], **extra}
    builder = getattr(tf, f"build_{family}")
    return builder(task, params, random_state=0, n_jobs=1, cpu_only=True)


def make_panel(
    n_symbols: int = 4, n_timestamps: int = 400, n_features: int = 6, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small panel with planted signals (contemporaneous and lagged) and noise targets."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2024-01-01", periods=n_timestamps, freq="5min")
    symbols = [f"S{i}" for i in range(n_symbols)]
    idx = pd.MultiIndex.from_product([ts, symbols], names=["timestamp", "symbol"])
    X = rng.normal(size=(n_timestamps, n_symbols, n_features)).astype(np.float32)
    lagged = np.zeros_like(X[:, :, 1])
    lagged[2:] = X[:-2, :, 1]  # feature 1 two bars earlier, same symbol
    future = np.zeros_like(X[:, :, 3])
    future[:-1] = X[1:, :, 3]  # feature 3 one bar LATER: not knowable at t
    signal = X[:, :, 0] - 0.6 * X[:, :, 2] + 0.6 * lagged
    y = signal + 0.7 * rng.normal(size=signal.shape)
    Xdf = pd.DataFrame(
        X.reshape(-1, n_features), index=idx, columns=[f"f{i:02d}" for i in range(n_features)]
    )
    Y = pd.DataFrame(
        {
            "y_reg": y.reshape(-1),
            "y_bin": (y.reshape(-1) > 0).astype(int),
            "y_lag_only": (lagged + 0.5 * rng.normal(size=lagged.shape)).reshape(-1),
            "y_future_only": (future + 0.5 * rng.normal(size=future.shape)).reshape(-1),
            "noise_reg": rng.normal(size=y.size),
            "noise_bin": rng.integers(0, 2, size=y.size),
        },
        index=idx,
    )
    return Xdf, Y


@pytest.fixture(scope="module")
def panel() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_panel()


def _time_split(X: pd.DataFrame, frac: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    ts = X.index.get_level_values("timestamp")
    cut = ts.unique()[int(frac * ts.nunique())]
    return np.flatnonzero(ts < cut), np.flatnonzero(ts >= cut)


# ------------------------------------------------------------------ learning
@pytest.mark.parametrize("family", FAMILIES)
def test_family_learns_signal_and_not_noise(family: str, panel: tuple) -> None:
    X, Y = panel
    train, test = _time_split(X)
    reg = _build(family, "regression").fit(X.iloc[train], Y["y_reg"].iloc[train])
    r2 = r2_score(Y["y_reg"].iloc[test], reg.predict(X.iloc[test]))
    assert r2 > 0.3, f"{family}: out-of-sample R2 {r2:.3f} on a planted signal"

    clf = _build(family, "binary").fit(X.iloc[train], Y["y_bin"].iloc[train])
    auc = roc_auc_score(Y["y_bin"].iloc[test], clf.predict_proba(X.iloc[test])[:, 1])
    assert auc > 0.75, f"{family}: out-of-sample AUC {auc:.3f} on a planted signal"

    noise = _build(family, "regression").fit(X.iloc[train], Y["noise_reg"].iloc[train])
    r2_noise = r2_score(Y["noise_reg"].iloc[test], noise.predict(X.iloc[test]))
    assert -0.1 < r2_noise < 0.03, f"{family}: R2 {r2_noise:.3f} on a noise target"

    noise_clf = _build(family, "binary").fit(X.iloc[train], Y["noise_bin"].iloc[train])
    auc_noise = roc_auc_score(
        Y["noise_bin"].iloc[test], noise_clf.predict_proba(X.iloc[test])[:, 1]
    )
    assert abs(auc_noise - 0.5) < 0.08, f"{family}: AUC {auc_noise:.3f} on a noise target"


@pytest.mark.parametrize("family", SEQUENCE)
def test_sequence_family_uses_the_past_but_never_the_future(family: str, panel: tuple) -> None:
    X, Y = panel
    train, test = _time_split(X)
    lag = _build(family, "regression", max_epochs=25).fit(
        X.iloc[train], Y["y_lag_only"].iloc[train]
    )
    r2_lag = r2_score(Y["y_lag_only"].iloc[test], lag.predict(X.iloc[test]))
    assert r2_lag > 0.25, f"{family} did not use its window: R2 {r2_lag:.3f} on a lagged signal"
    fut = _build(family, "regression").fit(X.iloc[train], Y["y_future_only"].iloc[train])
    r2_fut = r2_score(Y["y_future_only"].iloc[test], fut.predict(X.iloc[test]))
    assert r2_fut < 0.03, f"{family} saw the future: R2 {r2_fut:.3f} on a next-bar target"


def test_sequence_predictions_follow_rows_when_panel_is_shuffled(panel: tuple) -> None:
    X, Y = panel
    model = _build("lstm", "regression", max_epochs=2).fit(X, Y["y_reg"])
    perm = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_allclose(
        model.predict(X.iloc[perm]), model.predict(X)[perm], rtol=1e-5, atol=1e-5
    )


def test_multiclass_classifier(panel: tuple) -> None:
    X, Y = panel
    y = pd.cut(Y["y_reg"], [-np.inf, -0.7, 0.7, np.inf], labels=["lo", "mid", "hi"]).astype(str)
    train, test = _time_split(X)
    clf = _build("mlp", "multiclass").fit(X.iloc[train], y.iloc[train])
    proba = clf.predict_proba(X.iloc[test])
    assert list(clf.classes_) == ["hi", "lo", "mid"]
    assert proba.shape == (len(test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    acc = (clf.predict(X.iloc[test]) == y.iloc[test].to_numpy()).mean()
    assert acc > (y.iloc[test].value_counts(normalize=True).max() + 0.05)


# ------------------------------------------------------------ sklearn contract
@pytest.mark.parametrize("family", FAMILIES)
def test_deterministic_with_random_state(family: str, panel: tuple) -> None:
    X, Y = panel
    X, y = X.iloc[:600], Y["y_reg"].iloc[:600]
    a = _build(family, "regression", max_epochs=3).fit(X, y).predict(X)
    b = _build(family, "regression", max_epochs=3).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    est = getattr(tf, f"build_{family}")(
        "regression", {**FAST, **FAST_ARCH[family], "max_epochs": 3}, random_state=1
    )
    c = est.set_params(device="cpu", n_jobs=1).fit(X, y).predict(X)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("family", FAMILIES)
def test_clone_get_set_params(family: str) -> None:
    est = _build(family, "binary")
    params = est.get_params()
    assert params["random_state"] == 0 and params["device"] == "cpu"
    twin = clone(est)
    assert twin.get_params() == params
    assert is_classifier(est) and is_regressor(_build(family, "regression"))
    twin.set_params(max_epochs=1)
    assert est.max_epochs == FAST["max_epochs"] and twin.max_epochs == 1


def test_fit_does_not_touch_inputs_or_params_and_clone_is_unfitted(panel: tuple) -> None:
    X, Y = panel
    X = X.iloc[:400].copy()
    X.iloc[::7, 0] = np.nan
    X_before, y = X.copy(), Y["y_bin"].iloc[:400]
    est = _build("mlp", "binary", max_epochs=2)
    params = est.get_params()
    est.fit(X, y)
    pd.testing.assert_frame_equal(X, X_before)
    assert est.get_params() == params
    with pytest.raises(NotFittedError):
        clone(est).predict(X)


def test_nan_inputs_and_missing_labels(panel: tuple) -> None:
    X, Y = panel
    X = X.iloc[:800].copy()
    X.iloc[::5, 1] = np.nan
    X.iloc[::11, 2] = np.inf
    y = Y["y_reg"].iloc[:800].copy()
    y.iloc[::3] = np.nan
    est = _build("mlp", "regression", max_epochs=2).fit(X, y)
    assert list(est.standardizer_.indicator_columns_) == [1, 2]
    pred = est.predict(X)
    assert pred.shape == (800,) and np.isfinite(pred).all()
    no_ind = _build("mlp", "regression", max_epochs=2, missing_indicators=False).fit(X, y)
    assert no_ind.standardizer_.indicator_columns_.size == 0
    assert no_ind.module_.body[0].in_features == X.shape[1]
    assert est.module_.body[0].in_features == X.shape[1] + 2


def test_array_input_and_feature_checks(panel: tuple) -> None:
    X, Y = panel
    est = _build("gan", "regression", max_epochs=2).fit(X.to_numpy()[:500], Y["y_reg"][:500])
    assert est.predict(X.to_numpy()[:10]).shape == (10,)
    assert not hasattr(est, "feature_names_in_")
    with pytest.raises(DataError, match="features"):
        est.predict(X.to_numpy()[:10, :3])
    named = _build("mlp", "regression", max_epochs=1).fit(X.iloc[:300], Y["y_reg"].iloc[:300])
    assert list(named.feature_names_in_) == list(X.columns)
    with pytest.raises(DataError, match="columns"):
        named.predict(X.iloc[:10, ::-1])


def test_pickle_roundtrip(panel: tuple) -> None:
    X, Y = panel
    est = _build("transformer", "binary", max_epochs=1).fit(X.iloc[:400], Y["y_bin"].iloc[:400])
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.predict_proba(X.iloc[:50]), est.predict_proba(X.iloc[:50]))


def test_gan_prediction_is_repeatable_average_of_draws(panel: tuple) -> None:
    X, Y = panel
    est = _build("gan", "binary", max_epochs=2).fit(X.iloc[:400], Y["y_bin"].iloc[:400])
    p1 = est.predict_proba(X.iloc[:50])
    np.testing.assert_array_equal(p1, est.predict_proba(X.iloc[:50]))
    one_draw = clone(est).set_params(n_draws=1)
    assert one_draw.n_draws == 1 and est.n_draws == FAST_ARCH["gan"]["n_draws"]


# ------------------------------------------------------- training machinery
def test_validation_slice_is_the_end_in_whole_timestamps() -> None:
    keys = np.repeat(np.arange(10), 3)  # 10 timestamps x 3 symbols
    rows = np.arange(30)
    fit_rows, val_rows = validation_split(rows, keys, 0.2)
    assert keys[fit_rows].max() < keys[val_rows].min()
    assert set(keys[val_rows]) == {8, 9}
    shuffled = np.random.default_rng(0).permutation(30)
    fit2, val2 = validation_split(rows, keys[shuffled], 0.2)
    assert set(keys[shuffled][val2]) == {8, 9}
    assert validation_split(rows, keys, 0.0)[1].size == 0
    # a purge gap drops the timestamps just before the validation slice from fitting
    fit3, val3 = validation_split(rows, keys, 0.2, gap=3)
    assert set(keys[val3]) == {8, 9} and set(keys[fit3]) == {0, 1, 2, 3, 4}
    assert validation_split(rows, keys, 0.2, gap=8)[1].size == 0  # nothing left to fit


def test_validation_gap_is_used_in_fit(panel: tuple, monkeypatch) -> None:
    X, Y = panel
    X, y = X.iloc[:800], Y["y_reg"].iloc[:800]  # 200 timestamps x 4 symbols
    seen: list[int] = []
    original = tf.MLPRegressor._train

    def spy(self, module, inputs, y_t, train_rows, val_rows, device):
        seen.extend([train_rows.size, val_rows.size])
        return original(self, module, inputs, y_t, train_rows, val_rows, device)

    monkeypatch.setattr(tf.MLPRegressor, "_train", spy)
    _build("mlp", "regression", max_epochs=1, validation_gap=10).fit(X, y)
    _build("mlp", "regression", max_epochs=1).fit(X, y)
    assert seen[1] == seen[3] == 120  # 30 timestamps x 4 symbols validate
    assert seen[2] - seen[0] == 40  # 10 timestamps x 4 symbols purged
    with pytest.raises(ConfigError, match="validation_gap"):
        _build("mlp", "regression", validation_gap=-1).fit(X, y)


def test_early_stopping_restores_best_epoch(panel: tuple) -> None:
    X, Y = panel
    est = _build("mlp", "regression", max_epochs=40, patience=2, learning_rate=0.02)
    est.fit(X.iloc[:600], Y["noise_reg"].iloc[:600])
    curve = est.validation_loss_curve_
    assert len(curve) == est.n_epochs_ < 40  # stopped early on noise
    assert est.best_epoch_ == int(np.argmin(curve)) + 1
    assert est.best_validation_loss_ == pytest.approx(min(curve))
    assert est.n_epochs_ - est.best_epoch_ == 3  # patience 2 -> 3 bad epochs


def test_thread_count_is_set_during_fit_and_restored(panel: tuple, monkeypatch) -> None:
    X, Y = panel
    seen: list[int] = []
    original = tf.MLPRegressor._train_step

    def spy(self, *args):
        seen.append(torch.get_num_threads())
        return original(self, *args)

    monkeypatch.setattr(tf.MLPRegressor, "_train_step", spy)
    before = torch.get_num_threads()
    wanted = 2 if before == 1 else 1  # differs from the current setting
    est = _build("mlp", "regression", max_epochs=1).set_params(n_jobs=wanted)
    est.fit(X[:300], Y["y_reg"][:300])
    assert set(seen) == {wanted}
    assert torch.get_num_threads() == before


def test_fit_leaves_global_torch_rng_alone(panel: tuple) -> None:
    X, Y = panel
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _build("vae", "regression", max_epochs=1).fit(X[:300], Y["y_reg"][:300])
    assert torch.equal(torch.rand(3), expected)


def test_device_selection() -> None:
    est = tf.build_mlp("regression", {}, cpu_only=True)
    assert est.device == "cpu"
    auto = tf.build_mlp("regression", {})
    assert auto.device == "auto"
    if not torch.cuda.is_available():
        X, y = np.random.default_rng(0).normal(size=(50, 3)), np.arange(50.0)
        fitted = clone(auto).set_params(max_epochs=1).fit(X, y)
        assert fitted.device_ == "cpu"
        with pytest.raises(ConfigError, match="CUDA"):
            clone(auto).set_params(device="cuda").fit(X, y)


# ------------------------------------------------------------------ errors
def test_builders_reject_bad_tasks_and_params() -> None:
    with pytest.raises(FamilyError, match="multiclass"):
        tf.build_gan("multiclass", {})
    with pytest.raises(FamilyError, match="hidden_size"):
        tf.build_mlp("regression", {"hidden_size": 3})
    assert isinstance(tf.build_mlp("regression", {"hidden_sizes": [8]}).hidden_sizes, tuple)


@pytest.mark.parametrize(
    ("param", "value"),
    [("max_epochs", 0), ("learning_rate", -1.0), ("validation_fraction", 1.0), ("dropout", 1.5)],
)
def test_invalid_params_fail_in_fit_not_init(param: str, value: object) -> None:
    est = tf.MLPRegressor(**{param: value})  # storing is fine
    assert est.get_params()[param] == value
    with pytest.raises(ConfigError, match=param):
        est.fit(np.zeros((10, 2)), np.arange(10.0))


def test_bad_targets_are_clear_errors() -> None:
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(DataError, match="class"):
        tf.MLPClassifier(max_epochs=1).fit(X, np.ones(20))
    with pytest.raises(DataError, match="rows"):
        tf.MLPRegressor(max_epochs=1).fit(X, np.ones(19))
    with pytest.raises(DataError, match="binary"):
        tf.GANClassifier(max_epochs=1).fit(X, np.arange(20) % 3)
    with pytest.raises(ConfigError, match="n_heads"):
        tf.TransformerRegressor(d_model=10, n_heads=4).fit(X, np.arange(20.0))


def test_missing_torch_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"intelligent-training\[torch\]"):
        tf.build_lstm("regression", {})
    with pytest.raises(MissingDependencyError, match=r"intelligent-training\[torch\]"):
        tf.MLPRegressor().fit(np.zeros((4, 2)), np.arange(4.0))


def test_importing_the_families_does_not_import_torch() -> None:
    code = (
        "import sys, intelligent_training.families.torch as t; "
        "assert 'torch' not in sys.modules, 'torch imported'; print(len(t.__all__))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_packaged_defaults_are_valid_parameters() -> None:
    from importlib import resources

    import yaml

    text = resources.files("intelligent_training.families.torch").joinpath("defaults.yaml")
    table = yaml.safe_load(text.read_text())["families"]
    assert set(table) == {"mlp", "vae", "gan", "multi_task", "cnn1d", "lstm", "transformer"}
    for family, entry in table.items():
        est = getattr(tf, f"build_{family}")("regression", entry["params"])
        for key, value in entry["params"].items():
            got = est.get_params()[key]
            assert got == (tuple(value) if isinstance(value, list) else value), (family, key)
        # the yaml defaults are the estimator's own defaults
        default = type(est)().get_params()
        for key in entry["params"]:
            assert est.get_params()[key] == default[key], (family, key)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("family", FAMILIES)
def test_cuda_matches_cpu(family: str, panel: tuple) -> None:
    X, Y = panel
    cpu = _build(family, "regression", max_epochs=3).fit(X, Y["y_reg"])
    gpu = clone(cpu).set_params(device="cuda").fit(X, Y["y_reg"])
    assert gpu.device_.startswith("cuda")
    corr = np.corrcoef(cpu.predict(X), gpu.predict(X))[0, 1]
    assert corr > 0.95
    # the same fitted weights give the same predictions on either device
    moved = pickle.loads(pickle.dumps(cpu))
    moved.device_ = "cuda"
    np.testing.assert_allclose(moved.predict(X), cpu.predict(X), rtol=1e-3, atol=1e-4)


# sklearn's estimator checks of every torch family run in tests/test_common.py.


@pytest.mark.parametrize("family", [*FAMILIES, "multi_task"])
def test_family_learns_the_project_synthetic_panel(family: str, synthetic_xy: tuple) -> None:
    """On the shared synthetic panel: skill on planted targets, none on the noise targets."""
    X, Y, truth = synthetic_xy
    train, test = _time_split(X)
    reg, binary = truth.linear_target, "y_up_15m"
    noise_reg = next(t for t in truth.noise_targets if truth.tasks[t] == "regression")
    noise_bin = next(t for t in truth.noise_targets if truth.tasks[t] == "binary")
    params = {"max_epochs": 8, "batch_size": 512, "patience": 2}
    if family == "multi_task":
        params.update(trunk_sizes=(32, 16), head_sizes=(8,))
        cols = [reg, binary, noise_reg, noise_bin]
        model = tf.build_multi_task("multi", params, random_state=0, n_jobs=1, cpu_only=True)
        scores = model.fit(X.iloc[train], Y[cols].iloc[train]).predict_scores(X.iloc[test])
        preds = dict(zip(cols, scores.T))
    else:
        preds = {}
        for target in (reg, binary, noise_reg, noise_bin):
            task = truth.tasks[target]
            est = _build(family, task, **params).fit(X.iloc[train], Y[target].iloc[train])
            out = est.predict(X.iloc[test]) if task == "regression" else None
            preds[target] = out if out is not None else est.predict_proba(X.iloc[test])[:, 1]
    Yt = Y.iloc[test]
    assert r2_score(Yt[reg], preds[reg]) > 0.4, family
    assert roc_auc_score(Yt[binary], preds[binary]) > 0.68, family
    assert r2_score(Yt[noise_reg], preds[noise_reg]) < 0.02, family
    assert abs(roc_auc_score(Yt[noise_bin], preds[noise_bin]) - 0.5) < 0.08, family
