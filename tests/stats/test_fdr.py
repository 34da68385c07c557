"""Benjamini-Yekutieli / Benjamini-Hochberg q-values against direct formulas and scipy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from intelligent_training.exceptions import ConfigError, DataError
from intelligent_training.stats import fdr_qvalues, significance_thresholds, significant


def direct_qvalues(p: list[float], method: str) -> list[float]:
    """q_i = min over j with p_j >= p_i of min(1, m c(m) p_j / rank_j), by brute force."""
    m = len(p)
    c = sum(1.0 / k for k in range(1, m + 1)) if method == "by" else 1.0
    order = sorted(range(m), key=lambda i: (p[i], i))
    rank = {i: r + 1 for r, i in enumerate(order)}
    return [
        min(min(1.0, m * c * p[j] / rank[j]) for j in range(m) if rank[j] >= rank[i])
        for i in range(m)
    ]


def direct_selection(p: list[float], fdr: float, method: str) -> set[int]:
    """The step-up procedure itself: reject the k smallest, k the largest with p_(k) <= k q/(m c)."""
    m = len(p)
    c = sum(1.0 / k for k in range(1, m + 1)) if method == "by" else 1.0
    order = sorted(range(m), key=lambda i: (p[i], i))
    k_max = max((k for k in range(1, m + 1) if p[order[k - 1]] <= k * fdr / (m * c)), default=0)
    return set(order[:k_max])


@settings(max_examples=100, deadline=None)
@given(
    p=st.lists(st.floats(0.0, 1.0, allow_subnormal=False), min_size=1, max_size=40),
    method=st.sampled_from(["by", "bh"]),
    fdr=st.sampled_from([0.05, 0.1, 0.2]),
)
def test_qvalues_match_direct_formula_and_step_up_procedure(p, method, fdr) -> None:
    q = fdr_qvalues(p, method=method)
    np.testing.assert_allclose(q, direct_qvalues(p, method), rtol=1e-12)
    if hasattr(scipy.stats, "false_discovery_control"):  # scipy >= 1.11
        np.testing.assert_allclose(
            q, scipy.stats.false_discovery_control(p, method=method), rtol=1e-10
        )
    assert set(np.flatnonzero(significant(p, fdr, method=method))) == direct_selection(
        p, fdr, method
    )


def test_nan_pvalues_count_in_m_and_are_never_significant() -> None:
    p = [0.001, np.nan, 0.02, np.nan]
    q = fdr_qvalues(p)
    c4 = 1 + 1 / 2 + 1 / 3 + 1 / 4
    assert q[0] == pytest.approx(min(4 * c4 * 0.001 / 1, 4 * c4 * 0.02 / 2))
    assert q[2] == pytest.approx(4 * c4 * 0.02 / 2)
    assert np.isnan(q[1]) and np.isnan(q[3])
    assert significant(p, 0.5).tolist() == [True, False, True, False]
    assert np.isnan(fdr_qvalues([np.nan, np.nan])).all()


def test_by_is_more_conservative_than_bh() -> None:
    p = np.random.default_rng(0).uniform(0, 0.05, size=20)
    assert (fdr_qvalues(p, method="by") >= fdr_qvalues(p, method="bh")).all()


@settings(max_examples=100, deadline=None)
@given(
    others=st.lists(st.floats(0.0, 1.0), min_size=0, max_size=30),
    gap=st.floats(1e-9, 0.5),
    fdr=st.sampled_from([0.05, 0.1]),
    method=st.sampled_from(["by", "bh"]),
)
def test_significance_thresholds_hold_whatever_the_other_pvalues(others, gap, fdr, method) -> None:
    m = len(others) + 1
    always, possible = significance_thresholds(m, fdr, method=method)
    assert always <= possible
    # Above `possible`: never significant, whatever the others.
    assert not significant([min(possible + gap, 1.0), *others], fdr, method=method)[0]
    # At `always`: significant whatever the others.
    assert significant([always, *others], fdr, method=method)[0]
    # At `possible`, with every other p-value tiny: significant (the bound is tight).
    assert significant([possible, *[0.0] * len(others)], fdr, method=method)[0]


def test_bad_input_is_rejected() -> None:
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        fdr_qvalues([0.5, 1.5])
    with pytest.raises(DataError, match="1-D"):
        fdr_qvalues([[0.1]])
    with pytest.raises(ConfigError, match="fdr=1.5"):
        significant([0.1], 1.5)
    with pytest.raises(ConfigError, match="'holm'"):
        fdr_qvalues([0.1], method="holm")
    with pytest.raises(ConfigError, match="n_tests=0"):
        significance_thresholds(0)
