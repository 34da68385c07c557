"""The model search: ModelTrainer(tuning=...) over the purged folds and cells."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from intelligent_training import ModelTrainer
from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.evaluation import record_cells
from intelligent_training.exceptions import ConfigError, MissingDependencyError
from intelligent_training.training import TuningSettings, packaged_search_spaces

pytest.importorskip("optuna", reason="the model search needs optuna (the 'tune' extra)")

#: A deliberately weak default: 4 leaves, 20 rounds.
WEAK = {"lightgbm": {"num_leaves": 4, "n_estimators": 20}}
#: A small space that searches the strength of the trees (fast trials).
SPACE = {
    "lightgbm": {
        "num_leaves": {"type": "int", "low": 4, "high": 31, "log": True},
        "n_estimators": {"type": "int", "low": 20, "high": 200, "log": True},
        "learning_rate": {"type": "log-float", "low": 0.03, "high": 0.3},
        "min_child_samples": {"type": "int", "low": 5, "high": 100, "log": True},
    }
}
PREDICTABLE, NOISE = "fwd_ret_5m", "fwd_ret_60m"


def _panel(seed: int = 0, n_timestamps: int = 500):
    panel, truth = make_synthetic_panel(
        n_symbols=4, n_timestamps=n_timestamps, n_features=12, random_state=seed
    )
    X = panel.drop(columns=list(truth.tasks))
    return X, panel[list(truth.tasks)]


@pytest.fixture(scope="module")
def xy():
    return _panel()


def _mean(trainer: ModelTrainer, target: str, family: str = "lightgbm") -> pd.Series:
    m = trainer.cv_metrics_
    return m[(m["fold"] == "mean") & (m["target"] == target) & (m["family"] == family)].iloc[0]


def _tuned(X, Y, **tuning):
    settings = {"n_trials": 8, "search_spaces": SPACE, "n_startup_trials": 3, **tuning}
    return ModelTrainer(families=WEAK, cv=4, random_state=0, tuning=settings).fit(X, Y)


# ---------------------------------------------------------------- search spaces
def test_packaged_spaces_cover_the_families_and_name_real_parameters():
    from intelligent_training.families import validate_family_params

    spaces = packaged_search_spaces()
    assert {"lightgbm", "xgboost", "random_forest", "linear", "mlp"} <= set(spaces)
    for family, space in spaces.items():
        assert space, family
        validate_family_params(family, dict.fromkeys(space))  # raises on a typo


def test_user_space_in_yaml_with_every_type(tmp_path, xy):
    X, Y = xy
    path = tmp_path / "space.yaml"
    path.write_text(
        textwrap.dedent(
            """
            lightgbm:
              num_leaves: {type: int, low: 4, high: 12, step: 4}
              subsample: {type: float, low: 0.6, high: 0.9}
              learning_rate: {type: log-float, low: 0.05, high: 0.2}
              max_bin: {type: categorical, choices: [31, 63]}
            """
        )
    )
    trainer = ModelTrainer(
        families=WEAK,
        cv=3,
        random_state=0,
        tuning={"n_trials": 5, "search_spaces": str(path), "pruner": "none"},
    ).fit(X, Y[PREDICTABLE])
    params = pd.DataFrame(list(trainer.tuning_trials_["params"]))
    assert set(params.columns) == {"num_leaves", "subsample", "learning_rate", "max_bin"}
    assert params["num_leaves"].isin([4, 8, 12]).all()
    assert params["subsample"].between(0.6, 0.9).all()
    assert params["learning_rate"].between(0.05, 0.2).all()
    assert params["max_bin"].isin([31, 63]).all()
    assert (trainer.tuning_trials_["state"] == "complete").all()  # no pruner
    # the final model is refitted with the best trial's parameters
    best = trainer.best_params_[(PREDICTABLE, "lightgbm")]
    model = trainer.models_[(PREDICTABLE, "lightgbm")]
    assert {k: model.get_params()[k] for k in best} == best
    assert model.get_params()["n_estimators"] == 20  # not searched: the user's value


def test_categorical_lists_come_back_as_lists():
    from intelligent_training.training._search_space import CategoricalParam

    class Trial:  # the one method a categorical asks of an Optuna trial
        def suggest_categorical(self, name, choices):
            return choices[1]

    param = CategoricalParam(type="categorical", choices=[[32], [64, 32]])
    assert param.suggest(Trial(), "hidden_sizes") == [64, 32]


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"lightgbm": {"num_leaves": {"type": "integer", "low": 2, "high": 8}}}, "log-float"),
        ({"lightgbm": {"num_leaves": {"type": "int", "low": 9, "high": 8}}}, "at most high"),
        ({"lightgbm": {"learning_rate": {"type": "log-float", "low": 0, "high": 1}}}, "low > 0"),
        ({"lightgbm": {"num_leave": {"type": "int", "low": 2, "high": 8}}}, "num_leaves"),
        ({"lightgbm": {"num_leaves": {"type": "int", "low": 2, "hi": 8}}}, "hi"),
        ({"nofamily": {"x": {"type": "int", "low": 2, "high": 8}}}, "nofamily"),
    ],
)
def test_bad_spaces_are_config_errors_naming_the_problem(space, message):
    from intelligent_training.training._search_space import resolve_tuning

    with pytest.raises(ConfigError, match=message):
        resolve_tuning({"search_spaces": space})


def test_bad_settings_fail_at_fit_naming_the_key(xy):
    X, Y = xy
    with pytest.raises(ConfigError, match="n_trial"):
        ModelTrainer(families=WEAK, tuning={"n_trial": 3}).fit(X, Y[PREDICTABLE])
    with pytest.raises(ConfigError, match="duration"):
        ModelTrainer(families=WEAK, tuning={"timeout": "soon"}).fit(X, Y[PREDICTABLE])
    with pytest.raises(ConfigError, match="tuning"):
        ModelTrainer(families=WEAK, tuning=[3]).fit(X, Y[PREDICTABLE])


def test_timeout_reads_durations():
    assert TuningSettings(timeout="10min").timeout == 600.0
    assert TuningSettings(timeout="90s").timeout == 90.0
    assert TuningSettings(timeout=5).timeout == 5.0


def test_missing_optuna_is_a_clear_error(xy, monkeypatch):
    X, Y = xy
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    with pytest.raises(MissingDependencyError, match=r"intelligent-training\[tune\]"):
        ModelTrainer(families=WEAK, tuning={"n_trials": 2}).fit(X, Y[PREDICTABLE])


def test_clone_keeps_the_settings():
    trainer = ModelTrainer(tuning={"n_trials": 3}, tuning_storage="x.db")
    copy = clone(trainer)
    assert copy.get_params()["tuning"] == {"n_trials": 3}
    assert copy.get_params()["tuning_storage"] == "x.db"


# ---------------------------------------------------------------- the search
@pytest.fixture(scope="module")
def weak_and_tuned(xy):
    X, Y = xy
    Y2 = Y[[PREDICTABLE, NOISE]]
    weak = ModelTrainer(families=WEAK, cv=4, random_state=0).fit(X, Y2)
    with record_cells() as log:
        tuned = _tuned(X, Y2)
    return weak, tuned, log


def test_tuning_raises_the_skill_of_a_weak_default(weak_and_tuned):
    weak, tuned, _ = weak_and_tuned
    before = _mean(weak, PREDICTABLE)["skill"]
    after = _mean(tuned, PREDICTABLE)["skill"]
    assert after > before + 0.03, (before, after)
    row = tuned.tuning_results_.set_index("target").loc[PREDICTABLE]
    assert row["best_value"] == pytest.approx(after)  # the final CV is the best trial's
    assert row["deflated_pvalue"] < 1e-3  # real skill survives the deflation


def test_noise_target_raw_best_is_not_significant_once_deflated(weak_and_tuned):
    _, tuned, _ = weak_and_tuned
    row = tuned.tuning_results_.set_index("target").loc[NOISE]
    assert row["oof_skill_expected_max"] > 0  # N trials of noise find something
    assert row["oof_skill_deflated"] < row["oof_skill"]
    assert row["deflated_pvalue"] > 0.05
    assert row["raw_pvalue"] < row["deflated_pvalue"]  # what a search without deflation says


def test_cv_metrics_show_raw_and_deflated_beside_skill(weak_and_tuned):
    weak, tuned, _ = weak_and_tuned
    columns = list(tuned.cv_metrics_.columns)
    at = columns.index("skill")
    assert columns[at + 1 : at + 7] == [
        "n_trials",
        "oof_skill",
        "oof_skill_expected_max",
        "oof_skill_deflated",
        "deflated_pvalue",
        "pbo",
    ]
    mean = _mean(tuned, PREDICTABLE)
    assert mean["n_trials"] == 8
    assert mean["oof_skill_deflated"] == pytest.approx(
        mean["oof_skill"] - mean["oof_skill_expected_max"]
    )
    folds = tuned.cv_metrics_[tuned.cv_metrics_["fold"] != "mean"]
    assert folds["n_trials"].isna().all()
    assert "n_trials" not in weak.cv_metrics_.columns  # untouched without a search
    assert 0.0 <= mean["pbo"] <= 1.0


def test_trials_are_cells_of_the_engine_and_pruned_trials_stop_early(weak_and_tuned):
    _, tuned, log = weak_and_tuned
    trials = tuned.tuning_trials_
    pruned = trials[trials["state"] == "pruned"]
    complete = trials[trials["state"] == "complete"]
    assert len(pruned) and (pruned["n_folds"] < 4).all()
    assert (complete["n_folds"] == 4).all()
    searched = [c for c in log.cells if c["fold"] is not None and not c["cached"]]
    # every trial fold is one cell; the strategy's CV of the best trial is served again
    assert len(searched) == int(trials["n_folds"].sum())


def test_same_seed_same_search(xy):
    X, Y = xy
    a = _tuned(X, Y[PREDICTABLE], n_trials=4)
    b = _tuned(X, Y[PREDICTABLE], n_trials=4)
    assert a.best_params_ == b.best_params_
    assert a.tuning_trials_["value"].equals(b.tuning_trials_["value"])


def test_stored_study_resumes_and_rerun_is_served_from_the_cache(xy, tmp_path):
    X, Y = xy
    y = Y[PREDICTABLE]
    whole = _tuned(X, y, n_trials=6)
    storage = tmp_path / "study.db"
    memory = tmp_path / "cache"

    def fit(n_trials):
        return ModelTrainer(
            families=WEAK,
            cv=4,
            random_state=0,
            memory=str(memory),
            tuning_storage=storage,
            tuning={"n_trials": n_trials, "search_spaces": SPACE, "n_startup_trials": 3},
        ).fit(X, y)

    fit(3)
    resumed = fit(6)
    row = resumed.tuning_results_.iloc[0]
    assert (row["n_resumed"], row["n_trials"]) == (3, 6)
    assert resumed.best_params_ == whole.best_params_
    assert resumed.tuning_trials_["value"].tolist() == whole.tuning_trials_["value"].tolist()
    with record_cells() as log:
        again = fit(6)
    assert again.tuning_results_.iloc[0]["n_resumed"] == 6  # no new trial
    assert all(c["cached"] for c in log.cells if c["fold"] is not None)
    assert again.best_params_ == whole.best_params_


def test_study_is_kept_in_the_memory_location(xy, tmp_path):
    X, Y = xy
    ModelTrainer(
        families=WEAK,
        cv=3,
        random_state=0,
        memory=str(tmp_path),
        tuning={"n_trials": 2, "search_spaces": SPACE},
    ).fit(X, Y[PREDICTABLE])
    assert (tmp_path / "tuning" / "study.db").is_file()


_CHILD = """
import os, signal, sys
from intelligent_training.training import _tuning
sys.path.insert(0, {tests!r})
from test_tuning import _panel, _tuned

KILL_AT = int(sys.argv[2])
original = _tuning.ModelSearch._trial
done = {{"n": 0}}


def trial_then_kill(self, *args, **kwargs):
    if done["n"] == KILL_AT:  # the middle of trial KILL_AT: after its first fold
        original_run = _tuning.run_cells

        def one_fold_then_die(*a, **k):
            yield from original_run(*a, **k)
            os.kill(os.getpid(), signal.SIGKILL)

        _tuning.run_cells = one_fold_then_die
    done["n"] += 1
    return original(self, *args, **kwargs)


_tuning.ModelSearch._trial = trial_then_kill
X, Y = _panel()
from intelligent_training import ModelTrainer
from test_tuning import WEAK, SPACE, PREDICTABLE
ModelTrainer(
    families=WEAK, cv=4, random_state=0, memory=sys.argv[1] + "/cache",
    tuning_storage=sys.argv[1] + "/study.db",
    tuning={{"n_trials": 6, "search_spaces": SPACE, "n_startup_trials": 3}},
).fit(X, Y[PREDICTABLE])
"""


@pytest.mark.slow  # a child process (imports, about 20 s on a busy machine)
def test_killed_search_resumes_with_the_same_best_parameters(xy, tmp_path):
    X, Y = xy
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(tests=str(Path(__file__).parent)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.run(
        [sys.executable, str(script), str(tmp_path), "3"], env=env, capture_output=True
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    resumed = ModelTrainer(
        families=WEAK,
        cv=4,
        random_state=0,
        memory=str(tmp_path / "cache"),
        tuning_storage=tmp_path / "study.db",
        tuning={"n_trials": 6, "search_spaces": SPACE, "n_startup_trials": 3},
    ).fit(X, Y[PREDICTABLE])
    row = resumed.tuning_results_.iloc[0]
    assert row["n_resumed"] == 3 and row["n_failed"] == 1  # the killed trial
    whole = _tuned(X, Y[PREDICTABLE], n_trials=6)
    assert resumed.best_params_ == whole.best_params_
    finished = resumed.tuning_trials_[resumed.tuning_trials_["state"] != "fail"]
    assert finished["value"].tolist() == whole.tuning_trials_["value"].tolist()


def test_time_budget_stops_starting_trials(xy, caplog):
    X, Y = xy
    y = Y[[PREDICTABLE, NOISE]]
    start = time.perf_counter()
    untuned = ModelTrainer(families=WEAK, cv=4, random_state=0).fit(X, y)
    refit = time.perf_counter() - start  # what the final CV + fit of one setting costs
    budget = 3.0
    start = time.perf_counter()
    with caplog.at_level("WARNING", logger="intelligent_training.training._tuning"):
        tuned = _tuned(X, y, n_trials=10_000, timeout=budget)
    wall = time.perf_counter() - start
    assert wall < budget + 2 * refit + 1.0, (wall, refit)
    results = tuned.tuning_results_
    assert results["stopped"].str.contains("time budget").all()
    assert (results["n_trials"] < 10_000).all()
    assert "time budget" in caplog.text
    assert set(tuned.models_) == set(untuned.models_)


# ---------------------------------------------------------------- acceptance
@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_acceptance_over_seeds(seed):
    """Tuning lifts the weak default on a predictable target; the noise target's best
    trial is not significant once deflated for the trials."""
    X, Y = _panel(seed, n_timestamps=800)
    Y2 = Y[[PREDICTABLE, "tgt_nonlin_10m", NOISE, "y_will_peak_60m_0.8"]]
    weak = ModelTrainer(families=WEAK, cv=4, random_state=seed).fit(X, Y2)
    tuned = ModelTrainer(
        families=WEAK,
        cv=4,
        random_state=seed,
        tuning={"n_trials": 20, "search_spaces": SPACE},
    ).fit(X, Y2)
    results = tuned.tuning_results_.set_index("target")
    for target in (PREDICTABLE, "tgt_nonlin_10m"):
        assert _mean(tuned, target)["skill"] > _mean(weak, target)["skill"] + 0.02
        assert results.loc[target, "deflated_pvalue"] < 0.01
    noise = (NOISE, "y_will_peak_60m_0.8")
    for target in noise:
        # not significant at 5% for the two noise targets together (Bonferroni)
        assert results.loc[target, "deflated_pvalue"] > 0.05 / len(noise)
        assert results.loc[target, "deflated_pvalue"] > results.loc[target, "raw_pvalue"]
    assert np.isfinite(results["pbo"]).all()


def test_results_are_json_friendly(weak_and_tuned):
    _, tuned, _ = weak_and_tuned
    json.dumps(tuned.best_params_[(PREDICTABLE, "lightgbm")])
    json.dumps([dict(p) for p in tuned.tuning_trials_["params"]])


# ---------------------------------------------------------------- config and CLI
def test_config_training_tuning_is_checked_and_built(tmp_path):
    from intelligent_training.app._build import build_pipeline
    from intelligent_training.config import load_config

    cfg = load_config(
        {"training": {"tuning": {"n_trials": 7, "timeout": "2min", "pruner": "none"}}},
        overrides={"runtime": {"output_dir": str(tmp_path / "out")}},
    )
    trainer = build_pipeline(cfg).trainer
    assert trainer.tuning == {"n_trials": 7, "timeout": "2min", "pruner": "none"}
    assert trainer.tuning_storage == str((tmp_path / "out" / "tuning" / "study.db").resolve())
    assert build_pipeline(load_config()).trainer.tuning is None
    with pytest.raises(ConfigError, match="n_trails"):
        load_config({"training": {"tuning": {"n_trails": 7}}})
    with pytest.raises(ConfigError, match="num_leave"):
        load_config(
            {
                "training": {
                    "tuning": {
                        "search_spaces": {
                            "lightgbm": {"num_leave": {"type": "int", "low": 2, "high": 4}}
                        }
                    }
                }
            }
        )


def test_cli_flags_map_onto_training_tuning():
    from intelligent_training.cli._parser import build_parser, overrides_from_args
    from intelligent_training.config import load_config

    args = build_parser().parse_args(
        ["--tune-trials", "12", "--time-budget", "90s", "--mlflow-uri", "file:///tmp/m"]
    )
    overrides = overrides_from_args(args)
    assert overrides["training"]["tuning"] == {"enabled": True, "n_trials": 12, "timeout": 90.0}
    assert overrides["runtime"]["mlflow_uri"] == "file:///tmp/m"
    cfg = load_config(
        {"training": {"tuning": {"n_trials": 3, "pruner": "none", "enabled": False}}},
        overrides=overrides,
    )
    assert cfg.training.tuning.settings() == {"n_trials": 12, "timeout": 90.0, "pruner": "none"}
    budget_only = overrides_from_args(build_parser().parse_args(["--time-budget", "10min"]))
    assert budget_only["training"]["tuning"] == {"enabled": True, "timeout": 600.0}
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--time-budget", "soon"])
