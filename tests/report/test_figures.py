"""The report's plotly figures: JSON specifications with their labels, hover values and axes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from intelligent_training.report import _figures as figures

COLORS = figures.family_colors(["lightgbm", "xgboost", "linear"])
STAMPS = [f"2024-01-0{2 + i // 100}T{i % 24:02d}:00:00" for i in range(600)]


def _series(n, seed):
    rng = np.random.default_rng(seed)
    value = 0.5 + 0.2 * rng.standard_normal(n)
    rolling = np.convolve(value, np.ones(20) / 20, mode="same")
    return value.round(4).tolist(), rolling.round(4).tolist()


def _over_time(t):
    families = {}
    for i, family in enumerate(["lightgbm", "xgboost"]):
        value, rolling = _series(len(t), i)
        families[family] = {"t": t, "value": value, "rolling": rolling, "mean": 0.51 + i / 100}
    folds = [{"fold": k, "start": t[k * 200], "end": t[k * 200 + 199]} for k in range(3)]
    return {"metric": "rank IC", "baseline": 0.0, "families": families, "folds": folds}


# Each case: the figure function, its arguments, and texts the figure must show.
CASES = {
    "leaderboard": (
        figures.leaderboard_figure,
        (
            {
                "rows": [
                    {"target": "fwd_ret_5m", "score": 0.62, "status": "selected"},
                    {"target": "y_will_peak_60m_0.8", "score": -0.08, "status": "not significant"},
                    {"target": "tgt_never_scored", "score": None, "status": "failed"},
                ]
            },
        ),
        ["fwd_ret_5m", "y_will_peak_60m_0.8", "predictability score", "selected"],
    ),
    "skill_over_time": (
        figures.skill_over_time_figure,
        ("fwd_ret_5m", _over_time(STAMPS), COLORS),
        [
            "fwd_ret_5m: out-of-fold rank IC per timestamp",
            "rank IC",
            "fold 2",
            "lightgbm (mean 0.51)",
            "xgboost (mean 0.52)",
        ],
    ),  # fmt: skip
    "skill_over_time_numeric": (
        figures.skill_over_time_figure,
        ("y_up_15m", _over_time(list(range(600))), COLORS),
        ["y_up_15m: out-of-fold rank IC per timestamp", "fold 0", "lightgbm (mean 0.51)"],
    ),
    "skill_by_fold": (
        figures.skill_by_fold_figure,
        (
            "fwd_ret_5m",
            {
                "folds": [0, 1, 2],
                "families": {"lightgbm": [0.1, -0.2, None], "linear": [0.3, 0.2, 0.1]},
            },
            COLORS,
        ),
        ["fwd_ret_5m", "fold 0", "fold 2", "skill", "lightgbm", "linear"],
    ),  # fmt: skip
    "horizon": (
        figures.horizon_figure,
        (
            {
                "stem": "fwd_ret_*",
                "targets": ["a", "b"],
                "horizons": ["5m", "1h"],
                "score": [0.4, None],
                "families": {"lightgbm": [0.41, 0.1]},
            },
            COLORS,
        ),
        ["fwd_ret_{horizon}", "5m", "1h", "horizon", "skill / score", "score", "lightgbm"],
    ),  # fmt: skip
    "importance": (
        figures.importance_figure,
        (
            "fwd_ret_5m",
            {
                "features": ["f02", "a_much_longer_feature_name"],
                "n_selected": 1,
                "columns": ["lightgbm/native", "linear/permutation"],
                "values": [[0.6, 0.4], [None, 0.001]],
            },
        ),
        [
            "f02",
            "a_much_longer_feature_name",
            "lightgbm",
            "permutation",
            "normalised<br>importance",
        ],
    ),  # fmt: skip
    "agreement": (
        figures.agreement_figure,
        (
            "fwd_ret_5m",
            {"families": ["lightgbm", "linear"], "values": [[1.0, -0.25], [-0.25, 1.0]]},
        ),
        ["lightgbm", "linear", "Spearman"],
    ),
    "stability": (
        figures.stability_figure,
        (
            "fwd_ret_5m",
            {
                "folds": [0, 1],
                "features": ["f02", "f11"],
                "selected": [True, False],
                "rank": [[1, 2], [3, 1]],
                "in_top": [[True, True], [False, True]],
                "frequency": [1.0, 0.5],
                "n_features": 12,
            },
        ),
        ["f02  100%", "f11 (not selected)  50%", "fold 1", "rank in the fold", "(1 = best)"],
    ),  # fmt: skip
    "training": (
        figures.training_figure,
        (
            {
                "targets": ["fwd_ret_5m", "y_up_15m"],
                "families": ["ensemble", "lightgbm"],
                "metric": {"fwd_ret_5m": "rank IC", "y_up_15m": "AUC \u2212 \u00bd"},
                "rows": [
                    {"target": "fwd_ret_5m", "family": "lightgbm", "oof_per_timestamp": 0.25},
                    {"target": "y_up_15m", "family": "ensemble", "oof_per_timestamp": -0.031},
                ],
            },
        ),
        [
            "fwd_ret_5m (rank IC)",
            "y_up_15m (AUC \u2212 \u00bd)",
            "ensemble",
        ],
    ),  # fmt: skip
}


SHEET = {
    "quantiles": 3,
    "cost_bps": 5.0,
    "return_column": "fwd_ret_5m",
    "bucket_mean_return": [-0.2, 0.01, 0.3],
    "bucket_counts": [10, 10, 10],
    "cumulative": {"t": STAMPS[:3], "net": [0.1, 0.2, 0.15], "gross": [0.1, 0.21, 0.17],
                   "drawdown": [0.0, 0.0, -0.05]},
    "rank_autocorrelation": {"lags": [1, 2], "values": [0.9, 0.8]},
    "skill_decay": [
        {"target": "fwd_ret_5m", "horizon_bars": 1, "metric": "rank IC", "skill": 0.3},
        {"target": "fwd_ret_30m", "horizon_bars": 6, "metric": "rank IC", "skill": 0.05},
    ],
}  # fmt: skip
CASES.update(
    {
        "buckets": (figures.buckets_figure, ("fwd_ret_5m", SHEET), ["Q1", "Q3", "fwd_ret_5m"]),
        "cumulative": (
            figures.cumulative_figure,
            ("fwd_ret_5m", SHEET),
            ["net of 5 bp", "gross", "drawdown"],
        ),
        "autocorrelation": (
            figures.rank_autocorrelation_figure,
            ("fwd_ret_5m", SHEET),
            ["rank autocorrelation", "lag (bars)"],
        ),
        "decay": (figures.decay_figure, ("fwd_ret_5m", SHEET), ["fwd_ret_30m", "rank IC"]),
    }
)


@pytest.fixture(scope="module", params=sorted(CASES))
def drawn(request):
    func, args, expected = CASES[request.param]
    return func(*args), func, args, expected


def test_figure_is_a_json_spec_with_its_labels(drawn):
    spec, _, _, expected = drawn
    assert set(spec) == {"data", "layout"} and spec["data"]
    text = json.dumps(spec, allow_nan=False, ensure_ascii=False)  # JSON-ready, no NaN
    for label in expected:
        assert label in text, label


def test_figure_is_deterministic(drawn):
    spec, func, args, _ = drawn
    assert json.dumps(func(*args)) == json.dumps(spec)


def test_every_trace_shows_its_values_on_hover(drawn):
    spec, *_ = drawn
    for trace in spec["data"]:
        if trace.get("hoverinfo") == "skip":
            continue  # markers drawn over a heatmap that has the hover
        assert "%{" in trace["hovertemplate"]


def test_time_axes_are_date_axes_and_zoomable():
    spec = figures.skill_over_time_figure("t", CASES["skill_over_time"][1][1], COLORS)
    assert spec["layout"]["xaxis"]["type"] == "date"
    assert spec["layout"].get("dragmode", "zoom") == "zoom"
    numeric = figures.skill_over_time_figure("t", CASES["skill_over_time_numeric"][1][1], COLORS)
    assert numeric["layout"]["xaxis"]["type"] == "linear"
    assert figures.cumulative_figure("t", SHEET)["layout"]["xaxis"]["type"] == "date"


def test_families_are_legend_entries_that_toggle_their_lines():
    spec = figures.skill_over_time_figure("t", CASES["skill_over_time"][1][1], COLORS)
    shown = [t for t in spec["data"] if t.get("showlegend", True)]
    assert [t["name"] for t in shown] == ["lightgbm (mean 0.51)", "xgboost (mean 0.52)"]
    groups = {t["legendgroup"] for t in spec["data"]}
    assert groups == {"lightgbm", "xgboost"}  # a click hides a family's thin and thick line


def test_horizon_families_are_drawn_over_the_score():
    group, colors = CASES["horizon"][1]
    spec = figures.horizon_figure(group, colors)
    names = [t["name"] for t in spec["data"]]
    assert names[0] == "score"  # drawn first: below every family line
    score, family = spec["data"][0], spec["data"][1]
    assert score["line"]["width"] > family["line"]["width"] and score["opacity"] < 1


def test_heatmaps_keep_missing_cells_empty():
    _, args, _ = CASES["importance"]
    spec = figures.importance_figure(*args)
    assert spec["data"][0]["z"][1][0] is None
    assert spec["layout"]["shapes"][0]["y0"] == 0.5  # the line under the selected features


def test_family_colors_are_stable_and_the_ensemble_is_black():
    a = figures.family_colors(["lightgbm", "linear", "ensemble"])
    assert a == figures.family_colors(["lightgbm", "linear"])
    assert a["ensemble"] == "#111111" and len(set(a.values())) == 3
    assert np.unique(list(figures.family_colors([f"f{i}" for i in range(8)]).values())).size == 9
