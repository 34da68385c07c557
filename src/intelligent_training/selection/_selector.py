"""FeatureSelector: consensus feature selection across model families, as an sklearn selector."""

from __future__ import annotations

import logging
import numbers
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from intelligent_training._progress import progress
from intelligent_training.data import grid_step, horizon_in_bars, infer_task, parse_horizon
from intelligent_training.exceptions import ConfigError, DataError, FamilyError
from intelligent_training.families import get_family, resolve_families
from intelligent_training.model_selection import PurgedTimeSeriesSplit, get_timestamps
from intelligent_training.selection._clustering import correlation_clusters, spearman_abs_corr
from intelligent_training.selection._consensus import (
    agreement_matrix,
    consensus_select,
    normalise_importance,
)
from intelligent_training.selection._fold import FoldResult, FoldTask, measure_fold

__all__ = ["FeatureSelector"]

logger = logging.getLogger(__name__)

IMPORTANCE_METHODS: tuple[str, ...] = ("native", "shap", "permutation")
DEFAULT_N_SPLITS = 3


class FeatureSelector(SelectorMixin, BaseEstimator):
    """Select the features of one target by consensus across model families.

    For every family and every purged walk-forward fold, a model is fit on the fold's
    training rows and its feature importance is measured **out of sample** on the
    fold's test rows (native importance comes from the fold model; SHAP and
    permutation importance are computed on the test rows). Importances are
    normalised per family and method, averaged over folds (and over symbols when
    ``aggregate_symbols=True``), and combined across families by rank aggregation.
    A feature is eligible only when at least ``require_min_models`` families rank it
    in their top set, and the ``top_m`` best eligible features are selected.
    Highly correlated features are clustered first and ranked as one candidate, so
    near-copies of a strong signal cannot crowd a distinct signal out of the top-M;
    the cluster's best member is kept. See ``docs/selection.md``.

    Parameters
    ----------
    families : list of str, dict or None, default=None
        Model families (registry names), or ``{name: {param: value}}`` overrides;
        ``None`` uses the configured default families.
    importance : tuple of {"native", "shap", "permutation"}, default=all three
        Importance methods. A method a family cannot provide (no native importance,
        SHAP for sequence families) is skipped for that family.
    top_m : int, default=100
        Number of features to select at most; also the size of each family's top
        set in the vote.
    require_min_models : int, default=2
        Families that must rank a feature in their top set for it to be eligible;
        also the minimum number of families that must fit successfully.
    cv : int, cross-validation splitter or None, default=None
        ``None`` or an int gives a :class:`~intelligent_training.PurgedTimeSeriesSplit`
        with 3 (or ``cv``) splits whose purge horizon is parsed from the name of
        ``y`` (e.g. ``fwd_ret_15m``) when ``y`` is a named Series with a datetime
        panel; a splitter object is used as given.
    aggregate_symbols : bool, default=False
        Measure SHAP and permutation importance on every symbol's test rows
        separately, normalise per symbol, then average over symbols, so every symbol
        weighs the same whatever its volatility. Needs a ``symbol`` index level.
    correlation_threshold : float in (0, 1] or None, default=0.9
        Features whose absolute Spearman correlation (on at most 5000 sampled rows)
        is at least this are clustered together; ``None`` disables clustering.
    shap_sample_size : int, default=1000
        Test rows explained by SHAP per fold at most.
    n_repeats : int, default=3
        Shuffles per feature for permutation importance.
    permutation_sample_size : int or None, default=5000
        Test rows (a random subset) on which permutation importance is measured per
        fold; ``None`` uses every test row. Its cost is
        ``n_features * n_repeats`` predictions of this many rows; raise it when the
        signals are weak and the estimate noisy.
    random_state : int, RandomState or None, default=None
        Seeds the families, the shuffles and the row samples.
    n_jobs : int or None, default=None
        Parallel (family, fold) jobs through joblib. With ``None`` or 1 the jobs run
        one after the other and every model gets ``n_jobs=None`` (its own default
        thread count); with more, each model runs single-threaded.
    verbose : bool, int or None, default=None
        Progress bar over the (family, fold) jobs; ``None`` shows it on a terminal.

    Attributes
    ----------
    feature_importances_ : ndarray of shape (n_features,)
        Consensus score in ``[0, 1]`` of every input feature: its mean rank score over
        the families (1 = ranked first by every family).
    importances_ : DataFrame of shape (n_features, n_families * n_methods)
        Normalised importance (summing to 1 per column), averaged over folds, indexed
        by feature, with ``(family, method)`` columns.
    agreement_matrix_ : DataFrame of shape (n_families, n_families)
        Spearman rank correlation between the families' importances.
    selected_features_ : list of str
        Selected features, best first.
    support_ : ndarray of bool of shape (n_features,)
        Mask of the selected features.
    feature_clusters_ : Series of int
        Correlation cluster of every feature (index: feature names).
    votes_ : Series of int
        Number of families that put the feature's cluster in their top set.
    families_ : list of str
        Families that succeeded (their importances were used).
    family_errors_ : dict of str to str
        Family -> reason, for every family that failed and was skipped.
    fold_importances_ : DataFrame
        Long format, one row per (feature, family, method, fold): the importance of
        that fold alone, normalised like ``importances_`` (averaged over symbols when
        ``aggregate_symbols=True``); what the report's selection stability is built on.
    fold_report_ : DataFrame
        One row per (family, fold): training and test rows, out-of-sample test loss
        (squared error or log-loss), wall seconds spent fitting, wall seconds in all,
        CPU seconds of the job's process, error.
    task_ : str
        ``"regression"``, ``"binary"`` or ``"multiclass"`` (inferred from ``y``).
    cv_ : cross-validation splitter
        The splitter that built the folds.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names.

    Raises
    ------
    FamilyError
        When fewer than ``require_min_models`` families succeed.

    Examples
    --------
    >>> from intelligent_training import FeatureSelector
    >>> from intelligent_training.datasets import make_synthetic_panel
    >>> panel, truth = make_synthetic_panel(n_symbols=3, n_timestamps=600, random_state=0)
    >>> X, y = panel[truth.features], panel["fwd_ret_5m"]
    >>> selector = FeatureSelector(
    ...     families=["linear", "lightgbm"], importance=("native", "permutation"),
    ...     top_m=3, random_state=0,
    ... ).fit(X, y)
    >>> sorted(selector.selected_features_) == sorted(truth.informative_features["fwd_ret_5m"])
    True
    """

    def __init__(
        self,
        families: Any = None,
        importance: Iterable[str] | str = IMPORTANCE_METHODS,
        top_m: int = 100,
        require_min_models: int = 2,
        cv: Any = None,
        aggregate_symbols: bool = False,
        correlation_threshold: float | None = 0.9,
        shap_sample_size: int = 1000,
        n_repeats: int = 3,
        permutation_sample_size: int | None = 5000,
        random_state: Any = None,
        n_jobs: int | None = None,
        verbose: bool | int | None = None,
    ) -> None:
        self.families = families
        self.importance = importance
        self.top_m = top_m
        self.require_min_models = require_min_models
        self.cv = cv
        self.aggregate_symbols = aggregate_symbols
        self.correlation_threshold = correlation_threshold
        self.shap_sample_size = shap_sample_size
        self.n_repeats = n_repeats
        self.permutation_sample_size = permutation_sample_size
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ validation

    def _check_params(self) -> tuple[str, ...]:
        """Validate the constructor arguments; return the importance methods."""
        methods = (self.importance,) if isinstance(self.importance, str) else self.importance
        try:
            methods = tuple(methods)
        except TypeError:
            raise ConfigError(
                f"FeatureSelector: importance must be a tuple of {IMPORTANCE_METHODS}, "
                f"got {self.importance!r}."
            ) from None
        unknown = [m for m in methods if m not in IMPORTANCE_METHODS]
        if not methods or unknown or len(set(methods)) != len(methods):
            raise ConfigError(
                f"FeatureSelector: importance must be a non-empty tuple of distinct methods "
                f"from {IMPORTANCE_METHODS}, got {self.importance!r}."
            )
        for name, minimum in (
            ("top_m", 1),
            ("require_min_models", 1),
            ("shap_sample_size", 1),
            ("n_repeats", 1),
        ):
            value = getattr(self, name)
            if (
                not isinstance(value, numbers.Integral)
                or isinstance(value, bool)
                or value < minimum
            ):
                raise ConfigError(
                    f"FeatureSelector: {name} must be an integer >= {minimum}, got {value!r}."
                )
        size = self.permutation_sample_size
        if size is not None and (
            not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1
        ):
            raise ConfigError(
                "FeatureSelector: permutation_sample_size must be an integer >= 1 or None "
                f"(every test row), got {size!r}."
            )
        threshold = self.correlation_threshold
        if threshold is not None and (
            not isinstance(threshold, numbers.Real)
            or isinstance(threshold, bool)
            or not 0.0 < float(threshold) <= 1.0
        ):
            raise ConfigError(
                "FeatureSelector: correlation_threshold must be a number in (0, 1] or None "
                f"(no clustering), got {threshold!r}."
            )
        if not isinstance(self.aggregate_symbols, bool | np.bool_):
            raise ConfigError(
                f"FeatureSelector: aggregate_symbols must be True or False, "
                f"got {self.aggregate_symbols!r}."
            )
        return methods

    def _make_cv(self, y: Any, timestamps: np.ndarray) -> Any:
        cv = self.cv
        if cv is not None and (isinstance(cv, bool) or not isinstance(cv, numbers.Integral)):
            if isinstance(cv, str | bool) or not hasattr(cv, "split"):
                raise ConfigError(
                    "FeatureSelector: cv must be None, an int (number of splits) or a "
                    f"splitter with a split() method, got {cv!r}."
                )
            return cv
        n_splits = DEFAULT_N_SPLITS if cv is None else int(cv)
        if n_splits < 2:
            raise ConfigError(f"FeatureSelector: cv must be at least 2 splits, got {cv!r}.")
        horizon: Any = 0
        name = getattr(y, "name", None)
        if isinstance(name, str):
            parsed = parse_horizon(name)
            if isinstance(parsed, numbers.Integral) or (
                parsed is not None and np.issubdtype(timestamps.dtype, np.datetime64)
            ):
                horizon = parsed
        return PurgedTimeSeriesSplit(n_splits=n_splits, horizon=horizon)

    def _feature_names(self) -> np.ndarray:
        return np.asarray(_check_feature_names_in(self, None), dtype=object)

    # ------------------------------------------------------------------ fitting

    def fit(self, X: Any, y: Any) -> FeatureSelector:
        """Measure importance per family and fold, and select the consensus features.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Features. A panel (``("timestamp", "symbol")`` MultiIndex) gives the
            timestamps of the purged folds; for an array, row order is time.
        y : Series or array-like of shape (n_samples,)
            The target. Rows where it is NaN are left out.

        Returns
        -------
        self : FeatureSelector
        """
        methods = self._check_params()
        if y is None:
            raise DataError(
                "FeatureSelector requires y to be passed, but the target y is None. "
                "Pass the target column of the selection, e.g. fit(X, Y['fwd_ret_5m'])."
            )
        frame = X if isinstance(X, pd.DataFrame) else None
        X_arr = validate_data(
            self,
            X,
            dtype=(np.float64, np.float32),
            ensure_min_samples=2,
            ensure_all_finite="allow-nan",
            reset=True,
        )
        y_arr = column_or_1d(y, warn=True)
        check_consistent_length(X_arr, y_arr)
        index = frame.index if frame is not None else None
        timestamps = get_timestamps(frame if frame is not None else X_arr)

        keep = ~pd.isna(y_arr)
        if not keep.all():
            logger.info("FeatureSelector: %d rows with a missing target left out.", (~keep).sum())
            X_arr, y_arr, timestamps = X_arr[keep], y_arr[keep], timestamps[keep]
            index = index[keep] if index is not None else None
        if y_arr.size < 2:
            raise DataError(
                f"FeatureSelector: the target has {y_arr.size} non-missing value(s); "
                "at least 2 samples are needed (n_samples = 1 cannot be split)."
            )

        self.task_ = infer_task(pd.Series(y_arr))
        y_fit: np.ndarray
        if self.task_ == "regression":
            y_fit = np.asarray(y_arr, dtype=np.float64)
            if not np.isfinite(y_fit).all():
                raise DataError("FeatureSelector: the target contains inf; drop those rows.")
        else:
            _, y_fit = np.unique(y_arr, return_inverse=True)

        groups, n_groups = self._symbol_groups(index, y_arr.size)
        cv = self._make_cv(y, timestamps)
        self.cv_ = cv
        folds = [
            (np.asarray(tr), np.asarray(te)) for tr, te in cv.split(X_arr, y_fit, groups=timestamps)
        ]
        folds = [(tr, te) for tr, te in folds if tr.size and te.size]
        if not folds:
            raise DataError(
                f"FeatureSelector: the cross-validation {cv!r} produced no fold with both "
                f"training and test rows on {y_arr.size} samples; pass more rows or fewer splits."
            )

        names = self._feature_names()
        resolved = resolve_families(self.families)
        if self.require_min_models > len(resolved):
            raise ConfigError(
                f"FeatureSelector: require_min_models={self.require_min_models} but only "
                f"{len(resolved)} families were given ({', '.join(resolved)}); add families "
                "or lower require_min_models."
            )
        label_horizon = horizon_in_bars(getattr(cv, "horizon", 0), grid_step(timestamps))
        tasks, family_errors = self._plan(resolved, methods, len(folds), label_horizon)

        # Later folds train on more rows: start them first so parallel workers finish together.
        tasks.sort(key=lambda task: -task.fold)
        results = self._run(tasks, X_arr, y_fit, folds, groups, n_groups, index, names)
        results.sort(key=lambda r: (list(resolved).index(r.family), r.fold))
        self._combine(results, resolved, family_errors, methods, names, X_arr)
        return self

    def _plan(
        self,
        resolved: dict[str, dict[str, Any]],
        methods: tuple[str, ...],
        n_folds: int,
        label_horizon: int,
    ) -> tuple[list[FoldTask], dict[str, str]]:
        """One job per (family, fold); families that cannot run are reported instead."""
        family_errors: dict[str, str] = {}
        tasks: list[FoldTask] = []
        seeds = check_random_state(self.random_state).randint(
            0, 2**31 - 1, size=(len(resolved), n_folds)
        )
        parallel = self.n_jobs is not None and self.n_jobs != 1
        size_limit = self.permutation_sample_size
        for i, (family, params) in enumerate(resolved.items()):
            spec = get_family(family)
            if self.task_ not in spec.tasks:
                family_errors[family] = (
                    f"does not support {self.task_} targets (supports {', '.join(spec.tasks)})"
                )
                continue
            family_methods = tuple(
                m
                for m in methods
                if not (m == "native" and not spec.native_importance)
                and not (m == "shap" and spec.kind == "sequence")
            )
            if not family_methods:
                family_errors[family] = (
                    f"none of the importance methods {list(methods)} applies to a "
                    f"{spec.kind} family (add 'permutation')"
                )
                continue
            for k in range(n_folds):
                tasks.append(
                    FoldTask(
                        family=family,
                        params=params,
                        kind=spec.kind,
                        fold=k,
                        methods=family_methods,
                        task=self.task_,
                        n_repeats=int(self.n_repeats),
                        shap_sample_size=int(self.shap_sample_size),
                        permutation_sample_size=None if size_limit is None else int(size_limit),
                        seed=int(seeds[i, k]),
                        n_jobs=1 if parallel else None,
                        label_horizon=label_horizon,
                    )
                )
        return tasks, family_errors

    def _symbol_groups(self, index: pd.Index | None, n: int) -> tuple[np.ndarray, int]:
        if not self.aggregate_symbols:
            return np.zeros(n, dtype=np.intp), 1
        if index is None or "symbol" not in (index.names or []):
            raise DataError(
                "FeatureSelector: aggregate_symbols=True needs X as a panel DataFrame with a "
                "'symbol' index level; pass the panel or set aggregate_symbols=False."
            )
        codes, uniques = pd.factorize(index.get_level_values("symbol"))
        return codes.astype(np.intp), len(uniques)

    def _run(
        self,
        tasks: list[FoldTask],
        X: np.ndarray,
        y: np.ndarray,
        folds: list[tuple[np.ndarray, np.ndarray]],
        groups: np.ndarray,
        n_groups: int,
        index: pd.Index | None,
        names: np.ndarray,
    ) -> list[FoldResult]:
        columns = [str(n) for n in names]
        calls = (
            delayed(measure_fold)(
                task,
                X,
                y,
                folds[task.fold][0],
                folds[task.fold][1],
                groups,
                n_groups,
                # Only sequence families need the panel index (it is pickled per job).
                index=index if task.kind == "sequence" else None,
                columns=columns,
            )
            for task in tasks
        )
        if self.n_jobs is None or self.n_jobs == 1:
            iterator = (func(*args, **kwargs) for func, args, kwargs in calls)
        else:
            iterator = Parallel(n_jobs=self.n_jobs, return_as="generator")(calls)
        results = []
        for result in progress(
            iterator, total=len(tasks), desc="FeatureSelector", verbose=self.verbose
        ):
            if result.error is not None:
                logger.warning(
                    "FeatureSelector: family %r failed on fold %d: %s",
                    result.family,
                    result.fold,
                    result.error,
                )
            results.append(result)
        return results

    def _combine(
        self,
        results: list[FoldResult],
        resolved: dict[str, dict[str, Any]],
        family_errors: dict[str, str],
        methods: tuple[str, ...],
        names: np.ndarray,
        X: np.ndarray,
    ) -> None:
        """Normalise, average over groups and folds, and run the consensus."""
        by_family: dict[str, list[FoldResult]] = {}
        for result in results:
            by_family.setdefault(result.family, []).append(result)

        table: dict[tuple[str, str], np.ndarray] = {}
        family_scores: dict[str, np.ndarray] = {}
        for family in resolved:
            fold_results = by_family.get(family, [])
            ok = [r for r in fold_results if r.error is None]
            if family in family_errors:
                continue
            if not ok:
                reasons = sorted({r.error or "" for r in fold_results})
                family_errors[family] = "; ".join(reasons) or "no fold to fit"
                logger.warning(
                    "FeatureSelector: family %r failed on every fold and is skipped: %s",
                    family,
                    family_errors[family],
                )
                continue
            per_method = []
            for method in methods:
                folds = [r.importances[method] for r in ok if method in r.importances]
                if not folds:
                    continue
                # (folds, groups, features): normalise per fold and group, then average.
                stacked = normalise_importance(np.stack(folds))
                stacked[np.isnan(np.stack(folds)).all(axis=-1)] = np.nan
                with np.errstate(invalid="ignore"):
                    mean = np.nanmean(stacked.reshape(-1, stacked.shape[-1]), axis=0)
                mean = np.nan_to_num(mean, nan=0.0)
                table[(family, method)] = mean
                per_method.append(mean)
            family_scores[family] = normalise_importance(np.mean(per_method, axis=0))

        self.family_errors_ = family_errors
        self.fold_report_ = pd.DataFrame(
            [
                {
                    "family": r.family,
                    "fold": r.fold,
                    "n_train": r.n_train,
                    "n_test": r.n_test,
                    "test_loss": r.test_loss,
                    "fit_seconds": r.fit_seconds,
                    "seconds": r.seconds,
                    "cpu_seconds": r.cpu_seconds,
                    "error": r.error,
                }
                for r in results
            ],
            columns=[
                "family",
                "fold",
                "n_train",
                "n_test",
                "test_loss",
                "fit_seconds",
                "seconds",
                "cpu_seconds",
                "error",
            ],
        )
        if len(family_scores) < self.require_min_models:
            details = "; ".join(f"{f}: {why}" for f, why in family_errors.items())
            raise FamilyError(
                f"FeatureSelector: only {len(family_scores)} of {len(resolved)} families "
                f"succeeded but require_min_models={self.require_min_models}. "
                f"Failures: {details or 'none'}. Fix or replace the failing families, or "
                "lower require_min_models."
            )

        self.families_ = list(family_scores)
        self.fold_importances_ = _fold_importances(by_family, self.families_, methods, names)
        columns = pd.MultiIndex.from_tuples(list(table), names=["family", "method"])
        self.importances_ = pd.DataFrame(
            np.column_stack(list(table.values())),
            index=pd.Index(names, name="feature"),
            columns=columns,
        )
        scores = np.vstack([family_scores[f] for f in self.families_])

        if self.correlation_threshold is not None and X.shape[1] > 1:
            abs_corr = spearman_abs_corr(X, random_state=check_random_state(self.random_state))
            clusters = correlation_clusters(abs_corr, float(self.correlation_threshold))
        else:
            clusters = np.arange(X.shape[1])
        consensus = consensus_select(
            scores,
            clusters,
            top_m=int(self.top_m),
            require_min_models=int(self.require_min_models),
        )
        self.feature_importances_ = consensus.feature_scores
        self.support_ = consensus.selected
        chosen = np.flatnonzero(consensus.selected)
        rank = np.argsort(-consensus.cluster_scores[clusters[chosen]], kind="stable")
        self.selected_features_ = [str(names[i]) for i in chosen[rank]]
        self.feature_clusters_ = pd.Series(clusters, index=names, name="cluster")
        self.votes_ = pd.Series(consensus.cluster_votes[clusters], index=names, name="votes")
        self.agreement_matrix_ = agreement_matrix(scores, self.families_)
        if not chosen.size:
            logger.warning(
                "FeatureSelector: no feature was ranked in the top %d by %d families; "
                "nothing selected.",
                self.top_m,
                self.require_min_models,
            )
        else:
            logger.info(
                "FeatureSelector: selected %d of %d features with families %s.",
                chosen.size,
                names.size,
                self.families_,
            )

    # ------------------------------------------------------------------ selection

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.support_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = True
        return tags


def _fold_importances(
    by_family: dict[str, list[FoldResult]],
    families: list[str],
    methods: tuple[str, ...],
    names: np.ndarray,
) -> pd.DataFrame:
    """Per-fold normalised importances (long format) of the families that were used."""
    frames = []
    for family in families:
        for result in by_family.get(family, []):
            if result.error is not None:
                continue
            for method in methods:
                if method not in result.importances:
                    continue
                raw = np.asarray(result.importances[method], dtype=np.float64)
                raw = raw.reshape(-1, len(names))
                values = normalise_importance(raw)
                values[np.isnan(raw).all(axis=-1)] = np.nan  # a symbol absent from the fold
                with np.errstate(invalid="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean = np.nan_to_num(np.nanmean(values, axis=0), nan=0.0)
                frames.append(
                    pd.DataFrame(
                        {
                            "feature": [str(n) for n in names],
                            "family": family,
                            "method": method,
                            "fold": int(result.fold),
                            "importance": mean,
                        }
                    )
                )
    columns = ["feature", "family", "method", "fold", "importance"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
