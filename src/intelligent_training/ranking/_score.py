"""The composite predictability score of a target.

Every (family, fold) cell gets a *correlation-equivalent skill* from
:func:`intelligent_training.metrics.skill_score`: for regression the correlation
implied by the rank correlation ``rho_s`` of forecast and outcome,
``2 sin(pi rho_s / 6)``; for classification the binormal latent correlation
implied by the AUC, ``sqrt(2) sin(pi (AUC - 1/2) / 2)``. Both are 0 for a constant
(naive) forecast and equal the correlation ``rho`` between forecast and (latent)
outcome, so regression and classification targets share one scale.

The score combines the ``F x K`` skill matrix ``s[f, k]`` in two steps::

    family_score[f] = mean_k s[f, k] - lambda_fold   * std_k s[f, k]
    score           = mean_f family_score[f] - lambda_family * std_f family_score[f]

(population standard deviations; NaN cells, e.g. a failed fit, are ignored). The
first step rewards consistency across folds, the second agreement across families.
Nothing is clipped or capped, so two targets only tie if their skills tie.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LAMBDA_FAMILY", "LAMBDA_FOLD", "composite_score", "family_scores"]

LAMBDA_FOLD = 0.5
LAMBDA_FAMILY = 0.5


def _mean_minus_std(values: np.ndarray, lam: float, axis: int) -> np.ndarray:
    finite = np.isfinite(values)
    count = finite.sum(axis=axis)
    filled = np.where(finite, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=axis) / count
        centred = np.where(finite, values - np.expand_dims(mean, axis), 0.0)
        std = np.sqrt((centred**2).sum(axis=axis) / count)
    out = mean - lam * std
    return np.where(count > 0, out, np.nan)


def family_scores(skills: np.ndarray, lambda_fold: float = LAMBDA_FOLD) -> np.ndarray:
    """Per-family score ``mean - lambda_fold * std`` over folds (axis 1).

    Parameters
    ----------
    skills : ndarray of shape (n_families, n_folds)
        Correlation-equivalent skill of every cell; NaN for a missing cell.
    lambda_fold : float, default=0.5

    Returns
    -------
    ndarray of shape (n_families,)
        NaN for a family without any finite cell.
    """
    skills = np.atleast_2d(np.asarray(skills, dtype=np.float64))
    return _mean_minus_std(skills, lambda_fold, axis=1)


def composite_score(
    skills: np.ndarray,
    lambda_fold: float = LAMBDA_FOLD,
    lambda_family: float = LAMBDA_FAMILY,
) -> float:
    """The composite predictability score of one target (see the module docstring).

    Parameters
    ----------
    skills : ndarray of shape (n_families, n_folds)
        Correlation-equivalent skill per family and fold (NaN = missing).
    lambda_fold, lambda_family : float, default=0.5
        Penalties on the spread across folds and across families.

    Returns
    -------
    float
        NaN when no cell is finite.

    Examples
    --------
    >>> import numpy as np
    >>> round(composite_score(np.array([[0.3, 0.3], [0.3, 0.3]])), 6)
    0.3
    >>> composite_score(np.array([[0.2, 0.4], [0.3, 0.3]])) < 0.3
    True
    """
    fam = family_scores(skills, lambda_fold)
    return float(_mean_minus_std(fam[None, :], lambda_family, axis=1)[0])
