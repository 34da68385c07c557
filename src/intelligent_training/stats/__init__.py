"""Statistics that make rankings and selections survive multiple testing.

Pure, vectorised functions (numpy/scipy) used by the ranker and the selector:

* per-timestamp skill of out-of-fold predictions (:func:`skill_by_timestamp`,
  :func:`auc_by_timestamp`, :func:`pooled_skill_by_timestamp`) and its one-sided
  one-sided HAC test (:func:`skill_test`, :func:`hac_mean_test`, :func:`ewc_dof`), and
  the textbook Newey-West statistic (:func:`newey_west_tstat`, :func:`newey_west_lag`);
* one p-value per target from its families' p-values, valid under dependence
  (:func:`combine_pvalues`);
* Benjamini-Yekutieli q-values across candidates (:func:`fdr_qvalues`,
  :func:`significant`, :func:`significance_thresholds`);
* racing bounds and the early-stopping rule (:func:`fold_mean_bounds`,
  :func:`skill_fold_std`, :func:`tstat_bounds`, :func:`pvalue_bounds`,
  :func:`racing_stops`);
* autocorrelation-preserving shadow features and the shadow tally
  (:func:`shadow_features`, :func:`shadow_shifts`, :func:`shadow_wins`);
* sample weights for overlapping labels (:func:`average_uniqueness`).
"""

from intelligent_training.stats._combine import combine_pvalues
from intelligent_training.stats._fdr import fdr_qvalues, significance_thresholds, significant
from intelligent_training.stats._hac import (
    MeanTest,
    ewc_dof,
    hac_mean_test,
    newey_west_lag,
    newey_west_tstat,
)
from intelligent_training.stats._racing import (
    fold_mean_bounds,
    pvalue_bounds,
    racing_stops,
    skill_fold_std,
    tstat_bounds,
)
from intelligent_training.stats._shadow import (
    ShadowShifts,
    shadow_features,
    shadow_shifts,
    shadow_wins,
)
from intelligent_training.stats._skill import (
    MIN_ROWS_CROSS_SECTION,
    SkillTest,
    auc_by_timestamp,
    pooled_skill_by_timestamp,
    skill_by_timestamp,
    skill_method,
    skill_test,
)
from intelligent_training.stats._uniqueness import average_uniqueness

__all__ = [
    "MIN_ROWS_CROSS_SECTION",
    "MeanTest",
    "ShadowShifts",
    "SkillTest",
    "auc_by_timestamp",
    "average_uniqueness",
    "combine_pvalues",
    "ewc_dof",
    "fdr_qvalues",
    "fold_mean_bounds",
    "hac_mean_test",
    "newey_west_lag",
    "newey_west_tstat",
    "pooled_skill_by_timestamp",
    "pvalue_bounds",
    "racing_stops",
    "shadow_features",
    "shadow_shifts",
    "shadow_wins",
    "significance_thresholds",
    "significant",
    "skill_by_timestamp",
    "skill_fold_std",
    "skill_method",
    "skill_test",
    "tstat_bounds",
]
