"""Is a target's skill more than luck? One p-value per target, q-values across targets.

Per target and family, the per-timestamp skill of the out-of-fold predictions
(:class:`~intelligent_training.ranking._evidence.TargetEvidence`) is tested with the
calibrated one-sided HAC test :func:`~intelligent_training.stats.hac_mean_test` (the
equal-weighted cosine long-run variance with a Student-t reference, its degrees of
freedom capped by the label horizon in bars: see :mod:`intelligent_training.stats._hac`).
The families of a target are fit on the same rows to the same label, so their
p-values agree by construction: they are combined with the **Cauchy combination**
(:func:`~intelligent_training.stats.combine_pvalues`), which stays valid whatever their
dependence (identical p-values give back that p-value). Across all candidate targets,
**Benjamini-Yekutieli** q-values (:func:`~intelligent_training.stats.fdr_qvalues`, valid
under any dependence) decide significance: ``q <= fdr``. A candidate without a p-value
(ineligible, every fit failed) counts among the tests and is never significant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.stats import t as student_t

from intelligent_training.stats import MeanTest, combine_pvalues, fdr_qvalues

__all__ = ["COMBINE_METHOD", "FDR_METHOD", "qvalues", "target_test"]

#: How the families' p-values of one target are combined (valid under any dependence).
COMBINE_METHOD = "cauchy"
#: False-discovery control across candidates (valid under any dependence).
FDR_METHOD = "by"


def target_test(tests: Mapping[str, MeanTest]) -> dict[str, Any]:
    """The target's columns from its families' tests.

    Returns
    -------
    dict
        ``p_value`` (Cauchy combination of the families' p-values), ``t_stat`` (the t
        whose one-sided p-value under the families' mean degrees of freedom is
        ``p_value``: the families' common t when they agree), ``hac_lag`` and, per
        family, ``<family>_t_stat`` and ``<family>_p_value``.
    """
    out: dict[str, Any] = {}
    pvalues, dfs, lags = [], [], []
    for family, test in tests.items():
        out[f"{family}_t_stat"] = float(test.t_stat)
        out[f"{family}_p_value"] = float(test.p_value)
        if np.isfinite(test.p_value):
            pvalues.append(float(test.p_value))
            dfs.append(float(test.df))
            lags.append(int(test.lag))
    if not pvalues:
        out.update(t_stat=np.nan, p_value=np.nan, hac_lag=np.nan)
        return out
    p = float(combine_pvalues(np.asarray(pvalues), method=COMBINE_METHOD))
    out["p_value"] = p
    out["t_stat"] = float(student_t.isf(p, float(np.mean(dfs))))
    out["hac_lag"] = int(max(lags))
    return out


def qvalues(pvalues: Any) -> np.ndarray:
    """Benjamini-Yekutieli q-values of all candidates (NaN p-values count, stay NaN)."""
    return fdr_qvalues(np.asarray(pvalues, dtype=np.float64), method=FDR_METHOD)
