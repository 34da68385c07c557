"""The report's SVG figures: their labels are there as text, inside the picture, every time."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from intelligent_training.report import _figures as figures
from intelligent_training.report import _svg as svg

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
        ["fwd_ret_5m", "y_will_peak_60m_0.8", "predictability score", "selected", "0.6"],
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
            "2024-Jan",
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
            "0.60",
            "normalised importance",
        ],
    ),  # fmt: skip
    "agreement": (
        figures.agreement_figure,
        (
            "fwd_ret_5m",
            {"families": ["lightgbm", "linear"], "values": [[1.0, -0.25], [-0.25, 1.0]]},
        ),
        ["lightgbm", "linear", "1.00", "\u22120.25", "Spearman"],
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
            "0.250",
            "\u22120.031",
        ],
    ),  # fmt: skip
}


def _texts(svg_text):
    """Every text element's content (its lines joined by newlines)."""
    root = ET.fromstring(svg_text)
    return ["\n".join(t.itertext()) for t in root.iter("text")]


@pytest.fixture(scope="module", params=sorted(CASES))
def drawn(request):
    func, args, expected = CASES[request.param]
    return func(*args), func, args, expected


def test_figure_is_inline_svg_with_its_labels_as_text(drawn):
    text, _, _, expected = drawn
    assert text.startswith('<svg role="img" aria-label="') and text.endswith("</svg>")
    assert "http" not in text and "<?xml" not in text
    shown = "\n".join(_texts(text))
    for label in expected:
        assert label in shown, label


def test_figure_is_deterministic(drawn):
    text, func, args, _ = drawn
    assert func(*args) == text


def test_figure_text_stays_inside_the_picture(drawn):
    """Upright text: its measured extent lies within the viewBox (no clipped labels)."""
    text = drawn[0]
    root = ET.fromstring(text)
    width, height = (float(v) for v in root.get("viewBox").split()[2:])
    for node in root.iter("text"):
        if node.get("transform"):
            continue
        size = float(node.get("font-size"))
        spans = list(node.iter("tspan")) or [node]
        for span in spans:
            x, y = float(span.get("x")), float(span.get("y"))
            w = svg.text_width("".join(span.itertext()), size)
            x0 = {"start": x, "middle": x - w / 2, "end": x - w}[node.get("text-anchor")]
            assert -0.5 <= x0 and x0 + w <= width + 0.5, "".join(span.itertext())
            assert y - 0.8 * size >= -0.5 and y + 0.25 * size <= height + 0.5


def test_prefix_ids_makes_the_gradients_of_two_figures_distinct():
    func, args, _ = CASES["agreement"]
    one, two = (figures.prefix_ids(func(*args), p) for p in ("f1-", "f2-"))
    ids = re.findall(r'\bid="([^"]+)"', one + two)
    assert ids and len(ids) == len(set(ids))
    for ref in re.findall(r"url\(#([^)]+)\)", one):
        assert f'id="{ref}"' in one


def test_text_is_escaped():
    text = figures.skill_by_fold_figure(
        "a<b & c", {"folds": [0], "families": {"x&y": [0.1]}}, COLORS
    )
    assert "a&lt;b &amp; c" in text and html.unescape("a&lt;b &amp; c") in _texts(text)


def test_envelope_keeps_every_column_extreme_and_fewer_points():
    rng = np.random.default_rng(0)
    x = np.arange(5000, dtype=np.float64)
    y = rng.standard_normal(5000)
    xs, ys = svg.envelope(x, y, 100)
    assert len(xs) <= 4 * 100 and np.all(np.diff(xs) > 0)
    column = np.minimum((x / x[-1] * 100).astype(int), 99)
    kept = np.minimum((xs / x[-1] * 100).astype(int), 99)
    for c in range(100):
        part = y[column == c]
        assert ys[kept == c].min() == part.min() and ys[kept == c].max() == part.max()
    assert xs[0] == x[0] and xs[-1] == x[-1]


def test_envelope_leaves_short_or_gappy_series_alone():
    x = np.arange(50, dtype=np.float64)
    y = np.sin(x)
    assert svg.envelope(x, y, 100)[1] is y
    y_gap = np.r_[y, np.nan, y][:1000]
    assert len(svg.envelope(np.arange(len(y_gap), dtype=float), y_gap, 10)[1]) == len(y_gap)


@pytest.mark.parametrize(("lo", "hi"), [(-0.05, 0.93), (0.0, 1.0), (-1.0, 1.0), (1.0, 16.0)])
def test_number_ticks_are_round_and_share_their_decimals(lo, hi):
    ticks, labels = svg.number_ticks(lo, hi, 150.0)
    assert 2 <= len(ticks) <= 10
    assert np.all((ticks >= lo - 1e-12) & (ticks <= hi + 1e-12))
    assert len({len(s.split(".")[-1]) if "." in s else 0 for s in labels}) == 1
    assert all(float(s.replace("\u2212", "-")) == pytest.approx(t) for s, t in zip(labels, ticks))


def test_cached_figures_are_keyed_by_the_drawing_code(tmp_path, monkeypatch):
    from intelligent_training import DiskCacheMemory
    from intelligent_training.report import _html

    memory = DiskCacheMemory(tmp_path)
    func, args, _ = CASES["agreement"]
    first = _html._Drawer(memory)(func, *args)
    calls = []
    monkeypatch.setattr(figures, "agreement_figure", lambda *a: calls.append(a) or "<svg></svg>")
    assert _html._Drawer(memory)(func, *args) == first and not calls  # served by the cache
    monkeypatch.setattr(_html, "_drawing_code", lambda: "edited drawing code")
    assert _html._Drawer(memory)(func, *args) == "<svg></svg>" and calls  # drawn again
