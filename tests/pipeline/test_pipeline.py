"""IntelligentPipeline orchestration with stub estimators: rank/select/train, manual
targets/features, failure policy, caching, predict, save/load and the output layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from intelligent_training import DiskCacheMemory, IntelligentPipeline
from intelligent_training.exceptions import DataError, IntelligentTrainingError
from intelligent_training.pipeline._pipeline import JOINT

from ._stubs import FIT_CALLS, StubRanker, StubSelector, StubTrainer, make_xy


@pytest.fixture
def xy():
    return make_xy()


def _pipe(**kwargs):
    kwargs.setdefault("ranker", StubRanker(top_n=2))
    kwargs.setdefault("selector", StubSelector(top_m=2))
    kwargs.setdefault("trainer", StubTrainer())
    return IntelligentPipeline(**kwargs)


def test_rank_select_train(xy):
    X, Y = xy
    X_before, Y_before = X.copy(), Y.copy()
    pipe = _pipe().fit(X, Y)
    assert pipe.selected_targets_ == ["fwd_ret_5m", "y_up_15m"]
    assert pipe.rankings_.index[0] == "fwd_ret_5m"
    assert "f0" in pipe.selected_features_["fwd_ret_5m"]
    assert "f1" in pipe.selected_features_["y_up_15m"]
    assert all(len(f) == 2 for f in pipe.selected_features_.values())
    assert set(pipe.selectors_) == set(pipe.trainers_) == set(pipe.selected_targets_)
    assert pipe.selectors_["fwd_ret_5m"] is not pipe.selectors_["y_up_15m"]
    pred = pipe.predict(X)
    assert list(pred.columns) == pipe.selected_targets_
    assert pred.index.equals(X.index)
    assert np.corrcoef(pred["fwd_ret_5m"], Y["fwd_ret_5m"])[0, 1] > 0.9
    pd.testing.assert_frame_equal(X, X_before)
    pd.testing.assert_frame_equal(Y, Y_before)


def test_fit_on_a_whole_panel_splits_targets_by_pattern(xy):
    X, Y = xy
    panel = X.join(Y)
    pipe = _pipe().fit(panel)
    assert pipe.selected_targets_ == ["fwd_ret_5m", "y_up_15m"]
    assert list(pipe.feature_names_in_) == list(X.columns)
    custom = _pipe(target_patterns=["^fwd_"]).fit(panel)
    assert "y_up_15m" in custom.feature_names_in_  # no longer a target


def test_params_are_not_changed_by_fit_and_clone_works(xy):
    pipe = _pipe(memory=None)
    params = pipe.get_params(deep=False)
    pipe.fit(*xy)
    assert pipe.get_params(deep=False) == params
    assert pipe.ranker.__dict__.get("rankings_") is None  # the ranker was cloned
    assert not hasattr(clone(pipe), "trainers_")


def test_manual_targets_and_features_skip_steps(xy):
    X, Y = xy
    FIT_CALLS.clear()
    pipe = _pipe(targets=["fwd_ret_60m"], features=["f3", "f4"]).fit(X, Y)
    assert FIT_CALLS["rank"] == 0 and FIT_CALLS["select"] == 0
    assert pipe.rankings_ is None and pipe.selectors_ == {"fwd_ret_60m": None}
    assert pipe.selected_features_ == {"fwd_ret_60m": ["f3", "f4"]}
    per_target = _pipe(targets=["fwd_ret_5m", "y_up_15m"], features={"fwd_ret_5m": ["f2"]})
    per_target.fit(X, Y)
    assert per_target.selected_features_["fwd_ret_5m"] == ["f2"]
    assert per_target.selectors_["y_up_15m"] is not None


def test_stage_clones_share_the_rankers_horizons(xy):
    ranker = StubRanker(top_n=2, horizons={"fwd_ret_5m": 7}, default_horizon="30min")
    pipe = _pipe(ranker=ranker).fit(*xy)
    for stage in [*pipe.selectors_.values(), *pipe.trainers_.values()]:
        assert stage.horizons == {"fwd_ret_5m": 7}
        assert stage.default_horizon == "30min"
    assert ranker.horizons == {"fwd_ret_5m": 7}  # the templates are untouched
    # a stage's own setting wins over the ranker's
    own = _pipe(ranker=ranker, selector=StubSelector(horizons={"y_up_15m": 2})).fit(*xy)
    assert own.selectors_["y_up_15m"].horizons == {"y_up_15m": 2}
    assert own.trainers_["y_up_15m"].horizons == {"fwd_ret_5m": 7}


def test_unknown_manual_names_are_data_errors(xy):
    with pytest.raises(DataError, match="nope"):
        _pipe(targets=["nope"]).fit(*xy)
    with pytest.raises(DataError, match="f99"):
        _pipe(features=["f99"]).fit(*xy)


def test_failed_selection_falls_back_to_all_features_with_a_warning(xy, tmp_path):
    X, Y = xy
    pipe = _pipe(selector=StubSelector(fail_on="y_up_15m")).fit(X, Y)
    assert pipe.selected_features_["y_up_15m"] == list(X.columns)
    assert pipe.selectors_["y_up_15m"] is None
    assert any("y_up_15m" in w and "all 5 features" in w for w in pipe.warnings_)
    pipe.save(tmp_path)
    logged = (tmp_path / "training_results" / "logs" / "warnings.txt").read_text()
    assert "feature selection failed for target 'y_up_15m'" in logged


def test_failed_target_is_skipped(xy):
    pipe = _pipe(trainer=StubTrainer(fail_on="fwd_ret_5m")).fit(*xy)
    assert pipe.selected_targets_ == ["y_up_15m"]
    assert "fwd_ret_5m" in pipe.failed_targets_
    assert list(pipe.predict(xy[0]).columns) == ["y_up_15m"]


def test_unusable_manual_targets_are_skipped(xy):
    X, Y = xy
    Y = Y.assign(y_const_5m=1.0, fwd_nan_5m=np.nan)
    pipe = _pipe(targets=["fwd_ret_5m", "y_const_5m", "fwd_nan_5m"]).fit(X, Y)
    assert pipe.selected_targets_ == ["fwd_ret_5m"]
    assert "constant" in pipe.failed_targets_["y_const_5m"]
    assert "NaN" in pipe.failed_targets_["fwd_nan_5m"]
    assert any("y_const_5m" in w for w in pipe.warnings_)


def test_all_targets_failing_is_an_error(xy):
    with pytest.raises(IntelligentTrainingError, match="every selected target"):
        _pipe(targets=["fwd_ret_5m"], trainer=StubTrainer(fail_on="fwd_ret_5m")).fit(*xy)


def test_joint_strategy_trains_one_trainer_on_the_union(xy):
    X, Y = xy
    pipe = _pipe(trainer=StubTrainer(strategy="multi_task")).fit(X, Y)
    assert list(pipe.trainers_) == [JOINT]
    targets, feats = pipe.training_groups_[JOINT]
    assert targets == pipe.selected_targets_
    assert set(feats) == set().union(*map(set, pipe.selected_features_.values()))
    assert list(pipe.predict(X).columns) == targets


def test_predict_needs_the_features(xy):
    X, Y = xy
    pipe = _pipe().fit(X, Y)
    with pytest.raises(DataError, match="lacks the features"):
        pipe.predict(X.drop(columns=pipe.selected_features_["fwd_ret_5m"][0]))


def test_bad_inputs(xy):
    X, Y = xy
    with pytest.raises(DataError, match="same index"):
        _pipe().fit(X, Y.iloc[:-3])
    with pytest.raises(DataError, match="DataFrames"):
        _pipe().fit(X.to_numpy(), Y)


def test_cache_serves_every_step_and_invalidates_on_changes(xy, tmp_path):
    X, Y = xy
    memory = DiskCacheMemory(tmp_path / "cache")
    FIT_CALLS.clear()
    first = _pipe(memory=memory).fit(X, Y)
    assert FIT_CALLS == {"rank": 1, "select": 2, "train": 2}
    second = _pipe(memory=DiskCacheMemory(tmp_path / "cache")).fit(X, Y)
    assert FIT_CALLS == {"rank": 1, "select": 2, "train": 2}
    pd.testing.assert_frame_equal(first.predict(X), second.predict(X))
    # a changed parameter recomputes only the steps it affects
    _pipe(memory=memory, trainer=StubTrainer(fail_on="zzz")).fit(X, Y)
    assert FIT_CALLS == {"rank": 1, "select": 2, "train": 4}
    # changed data recomputes everything
    X2 = X.copy()
    X2.iloc[0, 0] += 1.0
    _pipe(memory=memory).fit(X2, Y)
    assert FIT_CALLS == {"rank": 2, "select": 4, "train": 6}
    # refresh recomputes and overwrites
    _pipe(memory=DiskCacheMemory(tmp_path / "cache", refresh=True)).fit(X, Y)
    assert FIT_CALLS == {"rank": 3, "select": 6, "train": 8}


def test_memory_as_a_path(xy, tmp_path):
    _pipe(memory=str(tmp_path / "c")).fit(*xy)
    assert (tmp_path / "c").is_dir()


def test_save_layout_and_load_predicts_identically(xy, tmp_path):
    X, Y = xy
    pipe = _pipe().fit(X, Y)
    out = tmp_path / "out"
    (out / "cache").mkdir(parents=True)
    (out / "cache" / "keep.txt").write_text("x")
    pipe.save(out)
    assert (out / "cache" / "keep.txt").exists()  # other entries are kept
    for rel in (
        "target_rankings/target_predictability_rankings.csv",
        "target_rankings/target_predictability_rankings.yaml",
        "feature_selections/fwd_ret_5m/selected_features.txt",
        "feature_selections/fwd_ret_5m/feature_importance_multi_model.csv",
        "feature_selections/fwd_ret_5m/model_agreement_matrix.csv",
        "training_results/models/pipeline.joblib",
        "training_results/metrics/cv_metrics.csv",
        "training_results/predictions/fwd_ret_5m.parquet",
        "training_results/logs/warnings.txt",
    ):
        assert (out / rel).is_file(), rel
    assert (out / "target_rankings" / "feature_importances").is_dir()
    selected = (out / "feature_selections/fwd_ret_5m/selected_features.txt").read_text().split()
    assert selected == pipe.selected_features_["fwd_ret_5m"]
    imp = pd.read_csv(out / "feature_selections/fwd_ret_5m/feature_importance_multi_model.csv")
    assert {"consensus_importance", "stub/native"} <= set(imp.columns)
    ranks = pd.read_csv(out / "target_rankings/target_predictability_rankings.csv")
    assert list(ranks["target"]) == list(pipe.rankings_.index)
    loaded = IntelligentPipeline.load(out)
    pd.testing.assert_frame_equal(loaded.predict(X), pipe.predict(X))
    assert not list(tmp_path.glob(".out.partial-*"))


def test_save_failure_leaves_the_published_results(xy, tmp_path, monkeypatch):
    """A save that fails midway publishes nothing: the previous results stay whole."""
    from intelligent_training.pipeline import _outputs

    X, Y = xy
    out = tmp_path / "out"
    first = _pipe().fit(X, Y).save(out)
    before = (out / "manifest.json").read_text()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(_outputs, "_write_training", boom)
    with pytest.raises(OSError, match="disk full"):
        _pipe(selector=StubSelector(top_m=1)).fit(X, Y).save(first)
    assert (out / "manifest.json").read_text() == before
    assert not list((out / "runs").glob(".incomplete-*"))
    pd.testing.assert_frame_equal(
        IntelligentPipeline.load(out).predict(X), _pipe().fit(X, Y).predict(X)
    )
    fresh = tmp_path / "fresh"
    with pytest.raises(OSError, match="disk full"):
        _pipe().fit(X, Y).save(fresh)
    assert not (fresh / "current").exists() and not (fresh / "manifest.json").exists()


def test_load_of_a_missing_directory(tmp_path):
    with pytest.raises(DataError, match="not found"):
        IntelligentPipeline.load(tmp_path)


def test_nothing_selected_names_the_significance_rule():
    from intelligent_training.pipeline._stages import _nothing_selected

    rankings = pd.DataFrame(
        {
            "score": [0.05, -0.01],
            "eligible": True,
            "leakage_flag": False,
            "significant": pd.array([False, False], dtype="boolean"),
            "q_value": [0.4, 1.0],
        },
        index=pd.Index(["noise_a", "noise_b"], name="target"),
    )
    text = _nothing_selected(rankings, None)
    assert "noise_a: score 0.0500 but not significant (q-value 0.4 above fdr)" in text
    assert "noise_b: score -0.0100 <= 0" in text and "--fdr none" in text
    rankings["significant"] = pd.array([pd.NA, pd.NA], dtype="boolean")  # fdr=None
    assert "noise_a: score 0.0500, not selected" in _nothing_selected(rankings, None)


def test_unknown_trainer_family_fails_before_any_stage_runs(xy):
    from intelligent_training import ModelTrainer
    from intelligent_training.exceptions import FamilyError

    X, Y = xy
    pipe = _pipe(trainer=ModelTrainer(families=["ridge"]))
    with pytest.raises(FamilyError, match="ridge"):
        pipe.fit(X, Y)
    assert not hasattr(pipe, "rankings_")  # the ranker never ran


def test_a_wrong_stage_setting_is_raised_not_a_per_target_fallback(xy):
    from intelligent_training import FeatureSelector
    from intelligent_training.exceptions import ParameterError

    X, Y = xy
    # valid alone, but wrong for the families given: found only when the selector fits
    selector = FeatureSelector(families=["lightgbm"], require_min_models=2)
    with pytest.raises(ParameterError, match="require_min_models"):
        _pipe(selector=selector).fit(X, Y)
