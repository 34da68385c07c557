"""Average uniqueness of overlapping labels against a loop over bars."""

from __future__ import annotations

import numpy as np
import pytest

from intelligent_training.stats import average_uniqueness


def _loop(time_codes, symbol_codes, labelled, h):
    """López de Prado's definition, one (symbol, bar) at a time."""
    h = max(h, 1)
    spans = {
        i: [(s, t + k) for k in range(1, h + 1)]
        for i, (t, s, ok) in enumerate(zip(time_codes, symbol_codes, labelled))
        if ok
    }
    concurrency: dict[tuple[int, int], int] = {}
    for bars in spans.values():
        for bar in bars:
            concurrency[bar] = concurrency.get(bar, 0) + 1
    raw = {i: np.mean([1.0 / concurrency[bar] for bar in bars]) for i, bars in spans.items()}
    mean = np.mean(list(raw.values()))
    out = np.full(len(time_codes), np.nan)
    for i, u in raw.items():
        out[i] = u / mean
    return out


@pytest.mark.parametrize("h", [0, 1, 3, 12])
def test_matches_the_definition_with_gaps_and_symbols(h):
    rng = np.random.default_rng(h)
    n_t, n_s = 80, 3
    t = np.tile(np.arange(n_t), n_s)
    s = np.repeat(np.arange(n_s), n_t)
    keep = rng.random(len(t)) > 0.1  # missing rows of some symbols
    t, s = t[keep], s[keep]
    order = rng.permutation(len(t))  # any row order
    t, s = t[order], s[order]
    labelled = rng.random(len(t)) > 0.15  # unlabelled rows (NaN labels)
    got = average_uniqueness(t, s, labelled, h)
    expected = _loop(t, s, labelled, h)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert np.isnan(got[~labelled]).all()
    assert got[labelled].mean() == pytest.approx(1.0)


def test_a_complete_grid_weighs_interior_labels_alike():
    t = np.tile(np.arange(200), 2)
    s = np.repeat([0, 1], 200)
    w = average_uniqueness(t, s, np.ones(400, bool), 12)
    interior = w[(t >= 12) & (t < 188)]
    assert np.ptp(interior) < 1e-12
    assert w[t == 199].max() > interior[0]  # the last labels share their bars with fewer
    # one bar: every label is unique, all weights 1
    np.testing.assert_array_equal(average_uniqueness(t, s, np.ones(400, bool), 1), 1.0)


def test_no_labelled_row():
    assert np.isnan(average_uniqueness([0, 1], [0, 0], [False, False], 3)).all()
