"""report.json holds the fitted pipeline's numbers, the same from the pipeline and from disk."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from intelligent_training.report import build_report
from intelligent_training.report._data import SIGNIFICANCE_COLUMNS
from intelligent_training.report._inputs import Selection
from intelligent_training.report._selection_data import _stability

REL = 1e-5  # report.json keeps 6 significant digits


def _approx(values):
    return pytest.approx(values, rel=REL, abs=1e-9, nan_ok=True)


def test_leaderboard_holds_the_rankings(fitted):
    data = build_report(fitted)
    rankings = fitted.rankings_
    rows = data["leaderboard"]["rows"]
    assert [r["target"] for r in rows] == list(rankings.index)
    assert [r["score"] for r in rows] == _approx(rankings["score"].tolist())
    assert data["leaderboard"]["families"] == ["lightgbm", "xgboost"]
    for row in rows:
        for family, value in row["family_scores"].items():
            assert value == _approx(rankings.loc[row["target"], f"{family}_score"])
        expected = "selected" if row["target"] in fitted.selected_targets_ else row["status"]
        assert row["status"] == expected
    assert data["selected_targets"] == fitted.selected_targets_
    assert data["summary"]["best_target"] == fitted.selected_targets_[0]
    assert data["leaderboard"]["significance"] == list(SIGNIFICANCE_COLUMNS)  # issue 11


def test_skill_by_fold_and_by_horizon_come_from_the_rankings(fitted):
    data = build_report(fitted)
    rankings = fitted.rankings_
    for target, entry in data["skill_by_fold"].items():
        for family, values in entry["families"].items():
            cols = [f"{family}_fold{k}" for k in entry["folds"]]
            assert values == _approx(rankings.loc[target, cols].astype(float).tolist())
    groups = {g["stem"]: g for g in data["skill_by_horizon"]}
    fwd = groups["fwd_ret_*"]
    assert fwd["horizons"] == ["5m", "30m", "1h"]  # shortest first
    assert fwd["score"] == _approx(rankings.loc[fwd["targets"], "score"].tolist())
    assert "y_*" not in groups  # y_up_15m and y_will_peak_60m_0.8 differ in more than the horizon


def test_skill_over_time_summarises_the_per_timestamp_skill(fitted):
    data = build_report(fitted)
    skill = fitted.skill_by_timestamp_
    for target, entry in data["skill_over_time"].items():
        task = fitted.ranker_.tasks_[target]
        assert entry["metric"] == {"regression": "rank IC", "binary": "AUC − ½"}[task]
        assert entry["baseline"] == 0.0
        for family, series in entry["families"].items():
            part = skill[(skill["stage"] == "ranking") & (skill["target"] == target)]
            part = part[part["family"] == family].sort_values("timestamp")
            assert series["n_points"] == len(part)
            assert series["mean"] == _approx(part["value"].mean())
            assert len(series["t"]) == len(series["value"]) == len(series["rolling"])
            assert series["t"][-1] == part["timestamp"].iloc[-1].isoformat()
        assert [f["fold"] for f in entry["folds"]] == [0, 1, 2]


def test_selections_hold_the_selectors_tables(fitted):
    data = build_report(fitted)
    assert list(data["selections"]) == fitted.selected_targets_
    for target, sel in data["selections"].items():
        selector = fitted.selectors_[target]
        assert sel["features"] == fitted.selected_features_[target]
        imp = sel["importance"]
        assert imp["features"][: imp["n_selected"]] == fitted.selected_features_[target]
        table = selector.importances_
        for j, column in enumerate(imp["columns"]):
            family, method = column.split("/")
            expected = table.loc[imp["features"], (family, method)].tolist()
            assert [row[j] for row in imp["values"]] == pytest.approx(expected, rel=1e-3, abs=1e-6)
        agreement = selector.agreement_matrix_
        assert sel["agreement"]["families"] == list(agreement.columns)
        assert np.array(sel["agreement"]["values"]) == pytest.approx(agreement.to_numpy(), abs=1e-4)
        stability = sel["stability"]
        assert stability["folds"] == [0, 1, 2]
        assert stability["top_m"] == len(fitted.selected_features_[target])


def test_training_rows_hold_the_cv_metrics_and_the_ensemble(fitted):
    data = build_report(fitted)
    rows = {(r["target"], r["family"]): r for r in data["training"]["rows"]}
    for target in fitted.selected_targets_:
        cv = fitted.trainers_[target].cv_metrics_
        for _, summary in cv[cv["fold"] == "mean"].iterrows():
            row = rows[(target, summary["family"])]
            assert row["skill"] == _approx(summary["skill"])
            folds = cv[(cv["family"] == summary["family"]) & (cv["fold"] != "mean")]
            assert row["skill_std"] == _approx(folds["skill"].std(ddof=0))
        skill = fitted.skill_by_timestamp_
        ens = skill[(skill["stage"] == "training") & (skill["target"] == target)]
        ens = ens[ens["family"] == "ensemble"]
        assert rows[(target, "ensemble")]["oof_per_timestamp"] == _approx(ens["value"].mean())


def test_directory_and_pipeline_give_the_same_numbers(fitted, saved_dir):
    from_pipe = build_report(fitted)
    from_dir = build_report(saved_dir)
    for key in (
        "leaderboard",
        "skill_over_time",
        "skill_by_fold",
        "skill_by_horizon",
        "selections",
        "training",
        "tearsheet",
        "selected_targets",
        "figures",
    ):
        assert from_dir[key] == from_pipe[key], key
    assert from_dir["run"]["warnings"] == from_pipe["run"]["warnings"]
    written = json.loads((saved_dir / "report.json").read_text())
    assert written["leaderboard"] == from_pipe["leaderboard"]


def test_significance_columns_are_shown_when_the_ranker_has_them(fitted, monkeypatch):
    rankings = fitted.rankings_.copy()
    n = len(rankings)
    extra = {
        "t_stat": np.linspace(5, -1, n),
        "p_value": np.linspace(0.001, 0.9, n),
        "q_value": np.linspace(0.002, 1.0, n),
        "significant": [True] * 3 + [False] * (n - 3),
        "stopped_after_folds": [np.nan] * (n - 1) + [2],
    }
    monkeypatch.setattr(fitted, "rankings_", rankings.assign(**extra))
    data = build_report(fitted)
    assert data["leaderboard"]["significance"] == list(SIGNIFICANCE_COLUMNS)
    rows = data["leaderboard"]["rows"]
    assert [r["q_value"] for r in rows] == _approx(list(extra["q_value"]))
    assert rows[0]["significant"] is True and rows[-1]["significant"] is False
    assert rows[-1]["status"] == "stopped early"


def test_stability_of_planted_fold_rankings():
    features = [f"f{i}" for i in range(6)]
    rows = []
    # folds 0 and 1 rank f0 > f1 > f2 > ...; fold 2 swaps f1 and f4
    for fold in range(3):
        order = [0, 1, 2, 3, 4, 5] if fold < 2 else [0, 4, 2, 3, 1, 5]
        for rank, i in enumerate(order):
            for family in ("a", "b"):
                rows.append((features[i], family, "native", fold, 6.0 - rank))
    folds = pd.DataFrame(rows, columns=["feature", "family", "method", "fold", "importance"])
    stability = _stability(Selection(features=["f0", "f1"], fold_importances=folds))
    assert stability["features"][:2] == ["f0", "f1"]
    freq = dict(zip(stability["features"], stability["frequency"]))
    assert freq == pytest.approx({"f0": 1.0, "f1": 2 / 3, "f4": 1 / 3}, abs=1e-4)
    # top-2 sets {f0,f1}, {f0,f1}, {f0,f4}: Jaccard 1, 1/3, 1/3
    assert stability["mean_jaccard"] == pytest.approx(5 / 9, rel=1e-5)
    assert stability["selected_in_every_fold"] == 0.5


def test_cached_fit_timings_are_labelled(fitted):
    from intelligent_training.report import render_html
    from intelligent_training.report._data import _fit_from_cache

    run = {"timings_s": {"fit": 0.2, "total": 3.28}, "fit_timings_s": {"selection": 9.82}}
    assert not _fit_from_cache(run)  # no cache hit: the fit ran in this run
    run["cache"] = {"hits": 3}
    assert _fit_from_cache(run)
    run["timings_s"]["fit"] = 12.0  # cache hits inside a fit that did run
    assert not _fit_from_cache(run)
    data = build_report(fitted)
    data["run"].update(
        timings_s={"fit": 0.2, "total": 3.28}, fit_timings_s={"selection": 9.82},
        cache={"hits": 3}, fit_from_cache=True,
    )  # fmt: skip
    html = render_html(data)
    assert "time total (this run)" in html
    assert "fit selection (from the cache: measured when the cached fit ran)" in html
    assert "fit from the cache" in html


def test_tearsheet_options_override_the_defaults(fitted):
    default = build_report(fitted)["tearsheet"]
    assert default["options"] == {"quantiles": 5, "cost_bps": 5.0}
    # the fixture has 4 symbols: too few for 5 buckets, a note says so
    assert all("too few" in e["note"] for e in default["targets"].values() if e["return_column"])
    cheap = build_report(fitted, options={"quantiles": 3})["tearsheet"]
    costly = build_report(fitted, options={"cost_bps": 50.0, "quantiles": 3})["tearsheet"]
    assert costly["options"] == {"quantiles": 3, "cost_bps": 50.0}
    target = next(t for t, e in cheap["targets"].items() if e.get("sharpe") is not None)
    a, b = cheap["targets"][target], costly["targets"][target]
    assert len(b["bucket_mean_return"]) == 3 and b["mean_gross_return"] == a["mean_gross_return"]
    assert b["total_cost"] > a["total_cost"]
