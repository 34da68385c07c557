"""What a fitted pipeline remembers of its training features: names, dtypes, distributions.

:class:`FeatureProfile` is fitted with the pipeline (``IntelligentPipeline.feature_profile_``)
and pickled with it, so new data can be checked without the training data:

- **schema** (:meth:`FeatureProfile.check_columns`): the new data must have every
  training feature, no other feature column, and each numeric (its width may differ:
  every feature becomes float32 anyway). Missing, extra and re-typed columns are named
  in one :class:`~intelligent_training.exceptions.DataError`.
- **drift** (:meth:`FeatureProfile.drift`): the population stability index of each
  feature the models use, on the training deciles,

  .. math:: \\mathrm{PSI} = \\sum_b (p_b - q_b) \\ln(p_b / q_b),

  ``q_b`` the training share of bin ``b``, ``p_b`` the new data's, over the bins cut at
  the training deciles plus one bin of missing values (shares floored at ``1e-4``).
  The customary reading: below 0.1 no shift, 0.1-0.25 a moderate one, above 0.25 a
  significant one. A feature is reported as drifted when its PSI exceeds
  :data:`DRIFT_THRESHOLD` (0.25) **and** the level chance reaches in 1 % of samples
  from an unchanged distribution, judged only on enough independent rows. Both matter
  for the persistent features of market data: ``n`` rows of a feature with lag-1
  autocorrelation ``ρ`` weigh like ``n_eff = n (1 - ρ) / (1 + ρ)`` independent ones
  (``ρ`` measured on the new rows, within each symbol); two samples of one
  distribution, of ``n_eff`` and ``m_eff`` independent rows, give
  ``PSI ≈ χ²(k - 1) (1/n_eff + 1/m_eff)`` over ``k`` bins, an approximation that holds
  when every decile bin expects 5 rows, so the PSI is judged from
  :data:`MIN_EFFECTIVE_ROWS` (50) effective new rows on. 300 new rows of an AR(1)
  feature with ``ρ = 0.97`` weigh like 5 independent ones: however far they sit from the
  training deciles, they cannot tell a shifted distribution from a slow excursion, and
  no warning is given (``feature_drift`` shows ``n_effective``).

The reference is a strided sample of at most :data:`REFERENCE_ROWS` training rows (the
deciles of 100 000 rows are exact to about 0.3 percentile points); it holds at most
``bins - 1`` edges and ``bins + 1`` shares per feature.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.exceptions import DataError

__all__ = [
    "CHANCE_QUANTILE",
    "DRIFT_THRESHOLD",
    "MIN_EFFECTIVE_ROWS",
    "REFERENCE_ROWS",
    "FeatureProfile",
]

#: PSI above which a feature is reported as drifted (a "significant shift").
DRIFT_THRESHOLD = 0.25
#: Fewest effectively independent new rows a drift verdict needs (5 per decile bin).
MIN_EFFECTIVE_ROWS = 50
#: Chance level of the PSI: its quantile under an unchanged distribution.
CHANCE_QUANTILE = 0.99
#: Training rows the reference summary is computed from (a strided sample).
REFERENCE_ROWS = 100_000
_N_BINS = 10
_FLOOR = 1e-4


def _is_numeric(dtype: Any) -> bool:
    """A numeric or boolean dtype (a name pandas does not know, e.g. an Arrow type's, is not)."""
    try:
        return bool(
            pd.api.types.is_bool_dtype(dtype)
            or (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype))
        )
    except TypeError:
        return False


def _bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of ``values`` per bin cut at ``edges``, then the share of NaN (last)."""
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    bins = np.searchsorted(edges, values[~missing], side="right")
    counts = np.bincount(bins, minlength=len(edges) + 1).astype(np.float64)
    counts = np.append(counts, float(missing.sum()))
    return counts / max(len(values), 1)


def _consecutive_pairs(X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(earlier, later)`` of consecutive rows of one symbol (by time)."""
    from intelligent_training.families.torch._windows import sequence_keys

    symbols, time_key = sequence_keys(X, len(X))
    order = np.lexsort((time_key, symbols))
    same = symbols[order[1:]] == symbols[order[:-1]]
    return order[:-1][same], order[1:][same]


def _lag_correlation(values: np.ndarray, pairs: tuple[np.ndarray, np.ndarray]) -> float:
    """Lag-1 autocorrelation over the ``pairs``, clipped to ``[0, 0.99]`` (0 when unknown)."""
    a, b = values[pairs[0]], values[pairs[1]]
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.clip(np.corrcoef(a, b)[0, 1], 0.0, 0.99))


def _shorten(names: Sequence[str], n: int = 10) -> str:
    shown = ", ".join(repr(str(x)) for x in names[:n])
    return f"[{shown}{', ...' if len(names) > n else ''}]"


class FeatureProfile:
    """Reference summary of the training features: dtypes and decile-bin shares.

    Parameters
    ----------
    features : sequence of str
        Every training feature (the schema), in training order.
    dtypes : mapping, optional
        Feature → dtype name at training (``None``: dtypes unknown, not checked).
    edges, shares : mapping, optional
        Feature → bin edges (the distinct training deciles) and the training share of
        each bin plus the share of missing values; only for the features the models
        use.
    n_rows : int, default 0
        Training rows the summary describes (the sample they were measured on has at
        most :data:`REFERENCE_ROWS`).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> X = pd.DataFrame({"a": np.arange(1000.0), "b": np.ones(1000)})
    >>> profile = FeatureProfile.from_frame(X, used=["a"])
    >>> profile.features, len(profile.edges["a"])
    (['a', 'b'], 9)
    >>> round(float(profile.drift(X).loc["a", "psi"]), 6)
    0.0
    """

    def __init__(
        self,
        features: Sequence[str],
        dtypes: Mapping[str, str] | None = None,
        edges: Mapping[str, np.ndarray] | None = None,
        shares: Mapping[str, np.ndarray] | None = None,
        n_rows: int = 0,
    ) -> None:
        self.features = [str(f) for f in features]
        self.dtypes = dict(dtypes) if dtypes is not None else None
        self.edges = dict(edges or {})
        self.shares = dict(shares or {})
        self.n_rows = int(n_rows)

    @classmethod
    def from_frame(
        cls,
        X: pd.DataFrame,
        used: Iterable[str] | None = None,
        *,
        n_bins: int = _N_BINS,
        max_rows: int = REFERENCE_ROWS,
    ) -> FeatureProfile:
        """Summarise the training features ``X``.

        Parameters
        ----------
        X : DataFrame
            The training features (every column is part of the schema).
        used : iterable of str, optional
            Features whose distribution is kept (default: every column).
        n_bins : int, default 10
            Quantile bins (deciles).
        max_rows : int, default 100_000
            Rows of the strided sample the bins and shares come from.
        """
        step = max(1, math.ceil(len(X) / max_rows))
        quantiles = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
        edges: dict[str, np.ndarray] = {}
        shares: dict[str, np.ndarray] = {}
        columns = [str(c) for c in X.columns]
        for name in dict.fromkeys(str(u) for u in (columns if used is None else used)):
            if name not in columns or not _is_numeric(X[name].dtype):
                continue
            sample = np.asarray(X[name].to_numpy()[::step], dtype=np.float64)
            finite = sample[~np.isnan(sample)]
            cut = np.unique(np.quantile(finite, quantiles)) if finite.size else np.empty(0)
            edges[name] = cut
            shares[name] = _bin_shares(sample, cut)
        n_rows = len(X)
        dtypes = {c: str(X[c].dtype) for c in columns}
        return cls(columns, dtypes, edges, shares, n_rows)

    # ---------------------------------------------------------------- schema
    def check_columns(
        self,
        columns: Mapping[str, Any],
        *,
        ignore: Callable[[str], bool] = lambda name: False,
        where: str = "X",
    ) -> None:
        """Raise one :class:`DataError` naming every missing, extra and re-typed column.

        Parameters
        ----------
        columns : mapping
            Column name → dtype (a numpy/pandas dtype or an Arrow type name) of the new
            data, including columns a loader dropped as non-numeric.
        ignore : callable, optional
            Columns that are not features (targets): neither extra nor checked.
        where : str, default "X"
            What the columns are, for the message (``"X"``, a data directory).
        """
        expected = set(self.features)
        missing = [f for f in self.features if f not in columns]
        extra = [str(c) for c in columns if str(c) not in expected and not ignore(str(c))]
        retyped = [
            f"{f!r} is {columns[f]}"
            + (f" (trained as {self.dtypes[f]})" if self.dtypes and f in self.dtypes else "")
            for f in self.features
            if f in columns and not _is_numeric(columns[f])
        ]
        if not (missing or extra or retyped):
            return
        parts = []
        if missing:
            parts.append(f"lacks the features {_shorten(missing)}")
        if retyped:
            parts.append(f"has non-numeric features: {'; '.join(retyped[:10])}")
        if extra:
            parts.append(f"has columns the models were not trained on {_shorten(extra)}")
        raise DataError(
            f"{where} does not match the training features: {', '.join(parts)}. Give the "
            f"{len(self.features)} training features (feature_names_in_) under the same "
            "names, as numbers, and no other feature column (target columns are ignored)."
        )

    # ----------------------------------------------------------------- drift
    def drift(self, X: pd.DataFrame, threshold: float | None = DRIFT_THRESHOLD) -> pd.DataFrame:
        """PSI of each profiled feature of ``X``, the level chance gives it, the verdict.

        Parameters
        ----------
        X : DataFrame
            New rows (a ``(timestamp, symbol)`` index: persistence is measured per symbol).
        threshold : float or None, default 0.25
            PSI above which a feature counts as drifted (``None``: none does).

        Returns
        -------
        DataFrame
            One row per feature that has a reference and is a column of ``X``, largest
            PSI first. Columns ``psi``; ``rho``, the lag-1 autocorrelation of the new
            rows within each symbol (clipped to [0, 0.99]); ``n_effective``, the rows'
            weight in independent rows; ``chance``, the :data:`CHANCE_QUANTILE` quantile
            of the PSI of two samples of one distribution of these weights; ``drifted``:
            ``psi`` above ``threshold`` and ``chance``, on at least
            :data:`MIN_EFFECTIVE_ROWS` effective rows.
        """
        from scipy.stats import chi2

        names = [f for f in self.edges if f in X.columns] if len(X) else []
        pairs = _consecutive_pairs(X) if names else (np.empty(0, int), np.empty(0, int))
        limit = np.inf if threshold is None else float(threshold)
        rows = []
        for name in names:
            values = np.asarray(X[name].to_numpy(), dtype=np.float64)
            expected = np.maximum(self.shares[name], _FLOOR)
            actual = np.maximum(_bin_shares(values, self.edges[name]), _FLOOR)
            psi = float(np.sum((actual - expected) * np.log(actual / expected)))
            rho = _lag_correlation(values, pairs)
            shrink = (1.0 - rho) / (1.0 + rho)
            n_new = max(len(values) * shrink, 1.0)
            n_ref = max(self.n_rows * shrink, 1.0)
            k = int(np.count_nonzero((self.shares[name] > 0) | (actual > _FLOOR)))
            chance = float(chi2.ppf(CHANCE_QUANTILE, max(k - 1, 1))) * (1 / n_new + 1 / n_ref)
            drifted = psi > limit and psi > chance and n_new >= MIN_EFFECTIVE_ROWS
            rows.append((name, psi, rho, n_new, chance, drifted))
        table = pd.DataFrame(
            rows, columns=["feature", "psi", "rho", "n_effective", "chance", "drifted"]
        ).set_index("feature")
        table = table.astype({c: np.float64 for c in ("psi", "rho", "n_effective", "chance")})
        table["drifted"] = table["drifted"].astype(bool)
        return table.sort_values("psi", ascending=False, kind="stable")

    def __repr__(self) -> str:
        return (
            f"FeatureProfile({len(self.features)} features, {len(self.edges)} with "
            f"reference bins, n_rows={self.n_rows})"
        )
