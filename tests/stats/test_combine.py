"""Combination of dependent p-values against direct formulas, and its validity."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import kstest, norm

from intelligent_training.exceptions import ConfigError, DataError
from intelligent_training.stats import combine_pvalues


def direct_cauchy(p: list[float], w: list[float] | None = None) -> float:
    w = [1.0] * len(p) if w is None else w
    total = sum(w)
    t = sum(wi / total * math.tan((0.5 - pi) * math.pi) for wi, pi in zip(w, p))
    return 0.5 - math.atan(t) / math.pi


@pytest.mark.parametrize(
    "p", [[0.01, 0.2], [0.5, 0.5, 0.5], [1e-8, 0.9, 0.3], [0.04], [0.3, 0.7, 0.99, 0.001]]
)
def test_cauchy_matches_its_formula(p: list[float]) -> None:
    assert combine_pvalues(p) == pytest.approx(direct_cauchy(p), rel=1e-9)
    w = list(range(1, len(p) + 1))
    assert combine_pvalues(p, weights=w) == pytest.approx(direct_cauchy(p, w), rel=1e-9)


def test_agreeing_families_give_back_their_pvalue() -> None:
    for p in (1e-12, 1e-4, 0.03, 0.5, 0.97):
        for method in ("cauchy", "median"):
            expected = p if method == "cauchy" else min(1.0, 2 * p)  # K=2: median = Bonferroni
            assert combine_pvalues([p, p], method=method) == pytest.approx(expected, rel=1e-9)
        assert combine_pvalues([p] * 5, method="median") == pytest.approx(min(1.0, p * 5 / 3))


def test_median_and_bonferroni_match_their_definitions() -> None:
    p = [0.2, 0.01, 0.05, 0.5, 0.03]
    # K = 5, k = ceil(5/2) = 3: the 3rd smallest (0.05) times 5/3.
    assert combine_pvalues(p, method="median") == pytest.approx(0.05 * 5 / 3)
    assert combine_pvalues(p, method="bonferroni") == pytest.approx(0.05)
    assert combine_pvalues([0.6, 0.9], method="bonferroni") == 1.0


def test_nan_families_are_left_out_and_axis_is_respected() -> None:
    matrix = np.array([[0.01, np.nan, 0.03], [np.nan, np.nan, np.nan], [0.2, 0.4, 0.6]])
    out = combine_pvalues(matrix)
    assert out[0] == pytest.approx(direct_cauchy([0.01, 0.03]))
    assert np.isnan(out[1])
    assert out[2] == pytest.approx(direct_cauchy([0.2, 0.4, 0.6]))
    np.testing.assert_allclose(combine_pvalues(matrix.T, axis=0), out)
    assert combine_pvalues(matrix, method="median")[0] == pytest.approx(0.02)


def test_validity_under_independence_and_perfect_dependence() -> None:
    rng = np.random.default_rng(0)
    independent = combine_pvalues(rng.uniform(size=(4000, 3)))
    assert kstest(independent, "uniform").pvalue > 0.01
    same = rng.uniform(size=4000)
    np.testing.assert_allclose(combine_pvalues(np.column_stack([same, same])), same, rtol=1e-9)
    # Correlated normal statistics (rho = 0.8): the tail stays close to nominal.
    z = rng.standard_normal((20000, 1)) * np.sqrt(0.8) + rng.standard_normal((20000, 3)) * np.sqrt(
        0.2
    )
    dependent = combine_pvalues(norm.sf(z))
    for level in (0.05, 0.01):
        assert (dependent < level).mean() <= 1.2 * level
    median = combine_pvalues(norm.sf(z), method="median")
    assert (median < 0.05).mean() <= 0.05


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ConfigError, match="'fisher'"):
        combine_pvalues([0.1, 0.2], method="fisher")
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        combine_pvalues([0.1, -0.2])
    with pytest.raises(DataError, match="weights"):
        combine_pvalues([0.1, 0.2], weights=[1.0])
    with pytest.raises(ConfigError, match="cauchy"):
        combine_pvalues([0.1, 0.2], method="median", weights=[1.0, 2.0])
