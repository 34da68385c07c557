"""ModelTrainer: train many model families on the chosen targets under purged CV."""

from __future__ import annotations

import logging
import numbers
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils._tags import ClassifierTags, RegressorTags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from intelligent_training.exceptions import ConfigError, DataError, FamilyError
from intelligent_training.training._ensemble import (
    ensemble_scores,
    scores_to_column,
    scores_to_labels,
)
from intelligent_training.training._strategies import (
    STRATEGIES,
    Context,
    Plan,
    TargetInfo,
    UnitResult,
    add_extra_columns,
    cascade_columns,
    fill_extra,
    run_strategy,
    unit_scores,
)

logger = logging.getLogger(__name__)

__all__ = ["ModelTrainer"]

_METRIC_COLUMNS = (
    "r2",
    "ic_mean",
    "ic_std",
    "icir",
    "ic_tstat",
    "dir_acc",
    "auc",
    "logloss",
    "logloss_baseline",
    "accuracy",
    "skill",
)
_CV_COLUMNS = (
    "target",
    "family",
    "fold",
    "status",
    "error",
    "task",
    "n_train",
    "n_test",
    *_METRIC_COLUMNS,
    "fit_seconds",
)
_DEFAULT_N_SPLITS = 5


def _is_classifier(trainer: ModelTrainer) -> bool:
    return getattr(trainer, "_estimator_kind", "regressor") == "classifier"


class ModelTrainer(BaseEstimator):
    """Train several model families on one or more targets, with honest OOF metrics.

    For every target and family the trainer runs purged walk-forward cross-validation
    (fit on the training rows, predict the test rows) to get out-of-fold predictions and
    metrics, then refits the family on all usable rows (the most recent
    ``max_rows_train`` of them when set). ``predict`` averages the families (the
    ensemble): regressors' predictions, classifiers' probabilities.

    Parameters
    ----------
    families : None, list of str or dict, default=None
        Registry names, or ``{name: {param: value}}`` overrides; ``None`` means the
        configured default families.
    strategy : {"single_task", "multi_task", "cascade"}, default="single_task"
        ``single_task``: one model per target x family. ``multi_task``: the
        ``multi_task`` family (added if missing) is one model with one head per target,
        fitted on the rows where every target is known, its folds purged with the
        longest horizon among the targets; any other family is trained per target as
        in ``single_task``. ``cascade``: targets in the given (ranked) order; target
        ``k``'s models also see the ensemble out-of-fold predictions of targets
        ``1..k-1`` as extra columns ``__cascade__<target>`` (at predict time, the
        earlier targets' final models' predictions). Rows never in a test fold of an
        earlier target have NaN there; tree, torch and multi-task families take NaN
        as it is, the other families get the mean of their training rows' values.
    cv : None, int or splitter, default=None
        ``None``: :class:`~intelligent_training.model_selection.PurgedTimeSeriesSplit`
        with 5 splits; an int: that many splits. A splitter with a ``horizon``
        parameter is cloned per target with the target's horizon.
    n_jobs : int or None, default=None
        Parallel (target x family) units, run by joblib in threads; ``None`` runs them
        one at a time.
    random_state : int or None, default=None
        Seed passed to every family.
    cpu_only : bool, default=False
        Keep torch families on the CPU.
    threads : int or None, default=None
        Threads per model. ``None``: the CPU count divided by the parallel units, so
        the machine is never oversubscribed.
    max_rows_train : int or None, default=None
        The final models are fitted on the most recent rows only: whole timestamps,
        newest first, as long as they fit in this many rows. Cross-validation always
        uses all rows.
    horizons : dict or None, default=None
        Target name -> horizon overrides (bars as an int, or a duration such as
        ``"15min"``); other targets' horizons are parsed from their names.
    verbose : bool, int or None, default=None
        Progress bars (``None``: when stderr is a terminal).

    Attributes
    ----------
    targets_ : list of str
        The targets, in training order. A Series without a name is called ``"y"``.
    tasks_ : dict
        Target -> ``"regression"``, ``"binary"`` or ``"multiclass"``.
    horizons_ : dict
        Target -> horizon used for purging.
    models_ : dict
        ``(target, family)`` -> fitted estimator. Under ``strategy="multi_task"`` the
        ``(target, "multi_task")`` entries are one shared model.
    cv_metrics_ : DataFrame
        One row per target x family x fold (``fold`` 0, 1, ...) plus a summary row per
        target x family (``fold="mean"``: the mean over successful folds; ``n_train``
        there is the number of rows of the final fit), with ``status`` (``ok``,
        ``failed``, ``skipped``), ``error``, the metrics that fit the task (regression:
        ``r2``, ``ic_*``, ``dir_acc``; classification: ``auc``, ``logloss``,
        ``accuracy``) and ``skill`` (comparable across tasks).
    oof_predictions_ : DataFrame
        Aligned to the training rows, columns ``(target, family)``: out-of-fold
        predictions (regression), P(positive class) (binary) or labels (multiclass);
        NaN where a row was never in a test fold.
    families_ : list of str
        The families used (resolved from ``families``).
    cascade_columns_ : dict
        Target -> the extra columns its models saw (``cascade`` only; else empty lists).
    fill_values_ : dict
        ``(target, family)`` -> NaN fill of the cascade columns for families that cannot
        take NaN (the mean over the final fit's rows).
    multi_task_targets_ : list of str
        Targets of the shared multi-task model, in its output order (``multi_task``).
    classes_ : ndarray
        The class labels, when fitted on one classification target.
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of str
        Input feature names, when ``X`` had string column names.

    Notes
    -----
    scikit-learn semantics: fitted on one target (a Series or 1-D array) the trainer
    behaves as a regressor for a continuous target and as a classifier (``predict``
    returns labels, ``predict_proba`` exists, ``score`` is the accuracy) for a binary
    or multiclass one; its estimator type is decided by ``fit`` (before fitting it
    reports itself as a regressor). Fitted on a DataFrame, ``predict`` returns a
    DataFrame with one column per target: predictions for regression targets, the
    probability of the positive (larger) class for binary targets and the predicted
    label for multiclass targets.

    When ``X`` is an array, rows are consecutive bars of one series. Rows whose target
    is NaN are dropped for that target. NaN features are missing values (trees take them
    as they are, other families impute them); infinite features are an error.

    Examples
    --------
    >>> import numpy as np
    >>> from intelligent_training import ModelTrainer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3))
    >>> y = X[:, 0] + 0.1 * rng.normal(size=300)
    >>> trainer = ModelTrainer(families=["linear"], cv=3).fit(X, y)
    >>> trainer.predict(X[:2]).shape
    (2,)
    >>> trainer.cv_metrics_.query("fold == 'mean'")["r2"].round(1).tolist()
    [1.0]
    """

    def __init__(
        self,
        families: Any = None,
        strategy: str = "single_task",
        cv: Any = None,
        n_jobs: int | None = None,
        random_state: int | None = None,
        cpu_only: bool = False,
        threads: int | None = None,
        max_rows_train: int | None = None,
        horizons: Mapping[str, Any] | None = None,
        verbose: bool | int | None = None,
    ) -> None:
        self.families = families
        self.strategy = strategy
        self.cv = cv
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.cpu_only = cpu_only
        self.threads = threads
        self.max_rows_train = max_rows_train
        self.horizons = horizons
        self.verbose = verbose

    # ------------------------------------------------------------------ sklearn tags
    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = True
        if _is_classifier(self):
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
            tags.regressor_tags = None
        else:
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        return tags

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ConfigError(
                f"ModelTrainer: strategy={self.strategy!r} is not valid; use one of "
                f"{', '.join(STRATEGIES)}."
            )
        for name in ("threads", "max_rows_train"):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1
            ):
                raise ConfigError(
                    f"ModelTrainer: {name}={value!r} is not valid; use None or a positive int."
                )
        if self.n_jobs is not None and (
            not isinstance(self.n_jobs, numbers.Integral) or self.n_jobs == 0
        ):
            raise ConfigError(
                f"ModelTrainer: n_jobs={self.n_jobs!r} is not valid; use None, a positive int "
                "or -1 (all cores)."
            )
        if self.horizons is not None and not isinstance(self.horizons, Mapping):
            raise ConfigError(
                "ModelTrainer: horizons must be a dict {target: horizon} or None, got "
                f"{type(self.horizons).__name__}."
            )

    def _make_cv(self) -> Any:
        from intelligent_training.model_selection import PurgedTimeSeriesSplit

        if self.cv is None:
            return PurgedTimeSeriesSplit(n_splits=_DEFAULT_N_SPLITS)
        if isinstance(self.cv, numbers.Integral) and not isinstance(self.cv, bool):
            return PurgedTimeSeriesSplit(n_splits=int(self.cv))
        if not (hasattr(self.cv, "split") and hasattr(self.cv, "get_n_splits")):
            raise ConfigError(
                f"ModelTrainer: cv={self.cv!r} is not valid; use None, an int number of "
                "splits or a splitter with a split() method (e.g. PurgedTimeSeriesSplit)."
            )
        return self.cv

    def _validate_X(self, X: Any, *, reset: bool) -> Any:
        """Check ``X``; return what the families get (the DataFrame, or a float array)."""
        try:
            if isinstance(X, pd.DataFrame):
                return self._validate_frame(X, reset=reset)
            return validate_data(
                self, X, reset=reset, dtype="numeric", ensure_all_finite="allow-nan"
            )
        except ValueError as exc:
            if isinstance(exc, DataError):
                raise
            raise DataError(
                f"ModelTrainer: the features X are invalid: {exc} Clean X (numeric "
                "columns, no inf) and try again."
            ) from exc

    def _validate_frame(self, X: pd.DataFrame, *, reset: bool) -> pd.DataFrame:
        """Check a feature DataFrame column by column (no copy of the whole frame)."""
        _check_feature_names(self, X, reset=reset)
        _check_n_features(self, X, reset=reset)
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise DataError(
                f"ModelTrainer: X has shape {X.shape}; it needs at least one row (n_samples=0 "
                "given) and one feature column."
            )
        non_numeric = [
            str(c)
            for c, dtype in zip(X.columns, X.dtypes)
            if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
        ]
        if non_numeric:
            raise DataError(
                f"ModelTrainer: feature column(s) {non_numeric[:5]} are not numeric; convert or "
                "drop them (targets belong in Y, not X)."
            )
        # NaN is a missing value every family handles (trees natively, the others by
        # imputation); infinity is not a value any of them can learn from.
        values = X.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = [str(c) for c in X.columns[np.isinf(values).any(axis=0)]]
        if bad:
            raise DataError(
                f"ModelTrainer: Input X contains infinity in feature column(s) {bad[:5]}"
                f"{' and more' if len(bad) > 5 else ''}; replace it by NaN or a finite value."
            )
        return X

    def _validate_Y(self, Y: Any, n_rows: int) -> tuple[pd.DataFrame, bool, list[bool]]:
        """Return (Y as a DataFrame, fitted-on-a-frame flag, per-target 'was named')."""
        if Y is None:
            raise DataError(
                "ModelTrainer requires y to be passed, but the target y is None. Pass a "
                "Series (one target) or a DataFrame (several targets)."
            )
        if isinstance(Y, pd.DataFrame):
            if Y.shape[1] == 0:
                raise DataError("ModelTrainer: Y has no columns; pass at least one target.")
            frame = Y.copy()
            frame.columns = [str(c) for c in Y.columns]
            if frame.columns.duplicated().any():
                dup = sorted(set(frame.columns[frame.columns.duplicated()]))
                raise DataError(f"ModelTrainer: Y has duplicate target columns {dup}.")
            named, is_frame = [True] * frame.shape[1], True
        elif isinstance(Y, pd.Series):
            name = "y" if Y.name is None else str(Y.name)
            frame = Y.to_frame(name=name)
            named, is_frame = [Y.name is not None], False
        else:
            arr = np.asarray(Y)
            if arr.ndim == 2 and arr.shape[1] == 1:
                arr = column_or_1d(arr, warn=True)
            if arr.ndim == 1:
                frame = pd.DataFrame({"y": arr})
                named, is_frame = [False], False
            elif arr.ndim == 2:
                frame = pd.DataFrame(arr, columns=[f"y{j}" for j in range(arr.shape[1])])
                named, is_frame = [False] * arr.shape[1], True
            else:
                raise DataError(
                    f"ModelTrainer: y must be 1-D or 2-D, got shape {arr.shape}; pass a Series "
                    "or a DataFrame."
                )
        if len(frame) != n_rows:
            raise DataError(
                f"ModelTrainer: Found input variables with inconsistent numbers of samples: "
                f"X has {n_rows} rows, y has {len(frame)}. Pass X and y with the same rows."
            )
        return frame, is_frame, named

    def _target_info(self, name: str, column: pd.Series) -> TargetInfo:
        from intelligent_training.data import infer_task

        values = column.to_numpy()
        numeric = pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(
            column.dtype
        )
        if numeric:
            values = values.astype(np.float64)
            if np.isinf(values).any():
                raise DataError(
                    "Input y contains infinity or a value too large for dtype('float64') "
                    f"(target {name!r}). Replace infinite labels by NaN or drop those rows."
                )
        known = pd.notna(values)
        if not known.any():
            raise DataError(
                f"Input y contains NaN in every row (target {name!r}); it cannot be trained. "
                "Drop this target or check how it was computed."
            )
        task = infer_task(column)
        classes = None
        if task in ("binary", "multiclass"):
            # Labels keep the caller's dtype (ints stay ints), NaN rows aside.
            classes = np.unique(column[column.notna()].to_numpy())
            if len(classes) < 2:
                task = "regression"
        elif not numeric:
            raise DataError(
                f"ModelTrainer: target {name!r} is not numeric and not a class label column."
            )
        return TargetInfo(
            name=name,
            task=task,
            horizon=0,
            horizon_bars=0,
            values=values,
            classes=classes,
        )

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, Y: Any) -> ModelTrainer:
        """Cross-validate and fit every family on every target.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Features; a panel (``(timestamp, symbol)`` MultiIndex) or rows of one series.
        Y : Series, DataFrame or array-like
            One target (Series/1-D) or several (DataFrame, one column per target; a
            target's horizon is parsed from its name).

        Returns
        -------
        self : ModelTrainer

        Raises
        ------
        DataError
            Invalid X or Y (NaN/inf features, mismatched rows, an all-NaN target, too
            few rows for the folds).
        FamilyError
            Every family failed for some target (the message gives each reason).
        """
        self._check_params()
        self._estimator_kind = "regressor"
        X_fit = self._validate_X(X, reset=True)
        n_rows = X_fit.shape[0]
        frame, is_frame, named = self._validate_Y(Y, n_rows)
        if isinstance(Y, pd.Series | pd.DataFrame) and isinstance(X, pd.DataFrame):
            if not Y.index.equals(X.index):
                raise DataError(
                    "ModelTrainer: the index of Y does not match the index of X; pass rows in "
                    "the same order (e.g. both from split_features_targets)."
                )
        timestamps = self._timestamps(X, n_rows)
        targets = {name: self._target_info(name, frame[name]) for name in frame.columns}
        self._set_horizons(targets, named, timestamps)
        cv = self._make_cv()
        plans = {t.name: self._plan(cv, t.horizon, t, [t], timestamps) for t in targets.values()}
        families = self._resolve_families()
        joint_plan = None
        if self.strategy == "multi_task":
            joint_tasks = families["multi_task"][1]
            joint = [t for t in targets.values() if t.task in joint_tasks]
            if joint:
                longest = max(joint, key=lambda t: t.horizon_bars)
                joint_plan = self._plan(cv, longest.horizon, longest, joint, timestamps)
        ctx = Context(
            X=X_fit,
            timestamps=timestamps,
            targets=targets,
            plans=plans,
            families=families,
            settings={
                "random_state": self.random_state,
                "model_n_jobs": self._model_threads(),
                "cpu_only": bool(self.cpu_only),
            },
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            joint_plan=joint_plan,
        )
        output = run_strategy(self.strategy, ctx)
        self._collect(output.results, targets, families, X_fit, n_rows)
        self.cascade_columns_ = output.extra_columns
        self._fitted_on_frame = is_frame
        self._input_is_frame = isinstance(X, pd.DataFrame)
        self._feature_columns = list(X.columns) if isinstance(X, pd.DataFrame) else None
        if not is_frame and targets[self.targets_[0]].task != "regression":
            self.classes_ = targets[self.targets_[0]].classes
            self._estimator_kind = "classifier"
        elif hasattr(self, "classes_"):
            del self.classes_
        return self

    @staticmethod
    def _timestamps(X: Any, n_rows: int) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            from intelligent_training.model_selection import get_timestamps

            return np.asarray(get_timestamps(X))
        return np.arange(n_rows, dtype=np.int64)

    def _set_horizons(
        self, targets: dict[str, TargetInfo], named: list[bool], timestamps: np.ndarray
    ) -> None:
        from intelligent_training.data import grid_step, horizon_in_bars, resolve_horizons

        overrides = {name: 0 for name, is_named in zip(targets, named) if not is_named}
        overrides.update(dict(self.horizons or {}))
        horizons = resolve_horizons(list(targets), overrides=overrides, default=None)
        step = grid_step(timestamps)
        for name, info in targets.items():
            info.horizon = horizons.get(name, 0)
            info.horizon_bars = horizon_in_bars(info.horizon, step)
        self.targets_ = list(targets)
        self.tasks_ = {name: info.task for name, info in targets.items()}
        self.horizons_ = {name: info.horizon for name, info in targets.items()}

    def _plan(
        self,
        cv: Any,
        horizon: Any,
        target: TargetInfo,
        known_for: list[TargetInfo],
        timestamps: np.ndarray,
    ) -> Plan:
        # A multi-task model masks a missing label per head: it uses rows with any label.
        known = np.zeros(len(timestamps), dtype=bool)
        for info in known_for:
            known |= pd.notna(info.values)
        rows = np.flatnonzero(known)
        splitter = cv
        if "horizon" in cv.get_params():
            splitter = clone(cv).set_params(horizon=horizon)
        n_splits = splitter.get_n_splits()
        names = ", ".join(repr(t.name) for t in known_for)
        if len(rows) < n_splits + 1:
            raise DataError(
                f"ModelTrainer: target(s) {names} have n_samples={len(rows)} usable rows; "
                f"{n_splits} cross-validation folds need at least {n_splits + 1}. Pass more rows "
                "or use fewer splits (cv=...)."
            )
        ts = timestamps[rows]
        folds = [
            (rows[train], rows[test])
            for train, test in splitter.split(np.zeros((len(rows), 1)), groups=ts)
        ]
        final = _recent_rows(rows, ts, self.max_rows_train)
        return Plan(rows=rows, folds=folds, final_rows=final)

    def _resolve_families(self) -> dict[str, tuple[str, tuple[str, ...], dict[str, Any]]]:
        from intelligent_training.families import get_family, resolve_families

        resolved = resolve_families(self.families)
        if self.strategy == "multi_task" and "multi_task" not in resolved:
            resolved["multi_task"] = {}
        out = {}
        for name, params in resolved.items():
            spec = get_family(name)
            out[name] = (spec.kind, tuple(spec.tasks), dict(params))
        self.families_ = list(out)
        return out

    def _model_threads(self) -> int | None:
        if self.threads is not None:
            return int(self.threads)
        from joblib import effective_n_jobs

        outer = effective_n_jobs(self.n_jobs) if self.n_jobs is not None else 1
        return max(1, (os.cpu_count() or 1) // max(outer, 1))

    # ------------------------------------------------------------------ results
    def _collect(
        self,
        results: list[UnitResult],
        targets: dict[str, TargetInfo],
        families: dict[str, Any],
        X: Any,
        n_rows: int,
    ) -> None:
        models: dict[tuple[str, str], Any] = {}
        fills: dict[tuple[str, str], dict[str, float]] = {}
        by_key: dict[tuple[str, str], UnitResult] = {}
        self.multi_task_targets_: list[str] = []
        for result in results:
            for target in result.targets:
                by_key[(target, result.family)] = result
                if result.model is not None:
                    models[(target, result.family)] = result.model
                    if result.fill_values:
                        fills[(target, result.family)] = result.fill_values
            if (
                result.family == "multi_task"
                and len(result.targets) > 0
                and self.strategy == ("multi_task")
            ):
                self.multi_task_targets_ = list(result.targets)
        failed_targets = [t for t in targets if not any(k[0] == t for k in models)]
        if failed_targets:
            reasons = "; ".join(
                f"{t}/{fam}: {by_key[(t, fam)].error}"
                for t in failed_targets
                for fam in families
                if (t, fam) in by_key
            )
            raise FamilyError(
                f"Every model family failed for target(s) {failed_targets}: {reasons}. Check "
                "the errors, choose other families or fix the data."
            )
        self.models_ = {
            (t, fam): models[(t, fam)] for t in targets for fam in families if (t, fam) in models
        }
        self.fill_values_ = fills
        self._family_kinds = {name: spec[0] for name, spec in families.items()}
        self._classes = {t: info.classes for t, info in targets.items()}
        self.cv_metrics_ = self._metrics_frame(by_key, targets, families)
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(n_rows)
        columns = {}
        for t, fam in self.models_:
            info = targets[t]
            columns[(t, fam)] = scores_to_column(by_key[(t, fam)].oof[t], info.task, info.classes)
        oof = pd.DataFrame(columns, index=index)
        oof.columns = pd.MultiIndex.from_tuples(list(columns), names=["target", "family"])
        self.oof_predictions_ = oof

    def _metrics_frame(
        self,
        by_key: dict[tuple[str, str], UnitResult],
        targets: dict[str, TargetInfo],
        families: dict[str, Any],
    ) -> pd.DataFrame:
        rows: list[dict[str, Any]] = []
        for t, info in targets.items():
            for fam in families:
                result = by_key.get((t, fam))
                if result is None:
                    continue
                folds = [r for r in result.records if r["target"] == t]
                for record in folds:
                    rows.append({"task": info.task, **record})
                ok = [r for r in folds if r["status"] == "ok"]
                summary: dict[str, Any] = {
                    "target": t,
                    "family": fam,
                    "fold": "mean",
                    "task": info.task,
                    "status": "ok"
                    if result.model is not None
                    else ("skipped" if result.skipped else "failed"),
                    "error": result.error,
                    "n_train": result.n_final,
                    "n_test": int(sum(r["n_test"] for r in folds)),
                }
                for key in (*_METRIC_COLUMNS, "fit_seconds"):
                    values = [r[key] for r in ok if key in r]
                    summary[key] = float(np.nanmean(values)) if _any_finite(values) else np.nan
                rows.append(summary)
        frame = pd.DataFrame(rows)
        for column in _CV_COLUMNS:
            if column not in frame:
                frame[column] = np.nan
        frame = frame[list(_CV_COLUMNS)]
        frame["fold"] = frame["fold"].astype(object)
        return frame.reset_index(drop=True)

    # ------------------------------------------------------------------ predict
    def _check_X_predict(self, X: Any) -> Any:
        check_is_fitted(self, "models_")
        checked = self._validate_X(X, reset=False)
        if self._input_is_frame and not isinstance(X, pd.DataFrame):
            return pd.DataFrame(np.asarray(checked), columns=self._feature_columns)
        if not self._input_is_frame and isinstance(X, pd.DataFrame):
            return np.asarray(validate_data(self, X, reset=False, dtype="numeric"))
        return checked

    def _target_meta(self, name: str) -> TargetInfo:
        return TargetInfo(
            name=name,
            task=self.tasks_[name],
            horizon=self.horizons_[name],
            horizon_bars=0,
            values=np.empty(0),
            classes=self._classes.get(name),
        )

    def _scores(self, X: Any) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, np.ndarray]]:
        """Per-family and ensemble score matrices of every target for rows ``X``."""
        X = self._check_X_predict(X)
        per: dict[tuple[str, str], np.ndarray] = {}
        ensemble: dict[str, np.ndarray] = {}
        extra: dict[str, np.ndarray] = {}
        joint_cache: dict[int, list[np.ndarray]] = {}
        joint_infos = [self._target_meta(t) for t in self.multi_task_targets_]
        for target in self.targets_:
            info = self._target_meta(target)
            columns = self.cascade_columns_.get(target, [])
            X_t = add_extra_columns(X, {c: extra[c] for c in columns})
            for (t, family), model in self.models_.items():
                if t != target:
                    continue
                if family == "multi_task" and target in self.multi_task_targets_:
                    key = id(model)
                    if key not in joint_cache:
                        joint_cache[key] = unit_scores(model, X, joint_infos, "multi_task", True)
                    per[(t, family)] = joint_cache[key][self.multi_task_targets_.index(target)]
                    continue
                fill = self.fill_values_.get((t, family))
                X_f = fill_extra(X_t, columns, fill) if fill else X_t
                kind = self._family_kinds[family]
                per[(t, family)] = unit_scores(model, X_f, [info], kind, False)[0]
            ensemble[target] = ensemble_scores([per[k] for k in per if k[0] == target])
            if self.strategy == "cascade":
                for j, column in enumerate(cascade_columns(info)):
                    extra[column] = ensemble[target][:, j]
        return per, ensemble

    def _index(self, X: Any, n: int) -> pd.Index:
        return X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(n)

    def predict(self, X: Any) -> Any:
        """Ensemble prediction of the families.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or DataFrame
            Fitted on one target: predictions (regression) or class labels. Fitted on a
            DataFrame: one column per target (regression: prediction; binary:
            probability of the positive class; multiclass: label).
        """
        _, ensemble = self._scores(X)
        if not self._fitted_on_frame:
            target = self.targets_[0]
            task = self.tasks_[target]
            scores = ensemble[target]
            if task == "regression":
                return scores[:, 0]
            return scores_to_labels(scores, task, np.asarray(self.classes_))
        n = next(iter(ensemble.values())).shape[0]
        data = {
            t: scores_to_column(ensemble[t], self.tasks_[t], self._classes.get(t))
            for t in self.targets_
        }
        return pd.DataFrame(data, index=self._index(X, n), columns=self.targets_)

    @available_if(_is_classifier)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Mean class probabilities of the families (one classification target only).

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        _, ensemble = self._scores(X)
        scores = ensemble[self.targets_[0]]
        if self.tasks_[self.targets_[0]] == "binary":
            return np.column_stack([1.0 - scores[:, 0], scores[:, 0]])
        return scores / np.clip(scores.sum(axis=1, keepdims=True), 1e-15, None)

    def predict_all(self, X: Any) -> pd.DataFrame:
        """Every family's prediction for every target.

        Returns
        -------
        DataFrame
            Columns ``(target, family)``; values as in ``predict`` on a DataFrame.
        """
        per, _ = self._scores(X)
        n = next(iter(per.values())).shape[0]
        data = {
            key: scores_to_column(scores, self.tasks_[key[0]], self._classes.get(key[0]))
            for key, scores in per.items()
        }
        frame = pd.DataFrame(data, index=self._index(X, n))
        frame.columns = pd.MultiIndex.from_tuples(list(data), names=["target", "family"])
        return frame

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R² (regression) or accuracy (classification) of ``predict`` on one target."""
        from sklearn.metrics import accuracy_score, r2_score

        check_is_fitted(self, "models_")
        if self._fitted_on_frame:
            raise DataError(
                "ModelTrainer.score is defined for a trainer fitted on one target; use "
                "cv_metrics_ for several targets."
            )
        pred = self.predict(X)
        if _is_classifier(self):
            return float(accuracy_score(y, pred, sample_weight=sample_weight))
        return float(r2_score(y, pred, sample_weight=sample_weight))

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the fitted trainer to directory ``path`` (atomically).

        Each model is stored in its library's native format where one exists
        (LightGBM text, XGBoost JSON, torch ``state_dict``), with a JSON manifest
        (versions, parameters, features, targets, metrics summary). See
        :mod:`intelligent_training.training._persistence`.

        Returns
        -------
        str
            The directory written.
        """
        from intelligent_training.training._persistence import save_trainer

        check_is_fitted(self, "models_")
        return save_trainer(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ModelTrainer:
        """Load a trainer written by :meth:`save`; predictions are identical."""
        from intelligent_training.training._persistence import load_trainer

        return load_trainer(path)


def _any_finite(values: list[Any]) -> bool:
    arr = np.asarray(values, dtype=np.float64)
    return bool(arr.size and np.isfinite(arr).any())


def _recent_rows(rows: np.ndarray, timestamps: np.ndarray, max_rows: int | None) -> np.ndarray:
    """The most recent whole timestamps of ``rows`` that fit in ``max_rows`` rows."""
    if max_rows is None or len(rows) <= max_rows:
        return rows
    ordered = np.sort(timestamps)
    cutoff = ordered[-max_rows]
    keep = timestamps > cutoff if (timestamps >= cutoff).sum() > max_rows else timestamps >= cutoff
    if not keep.any():
        keep = timestamps == ordered[-1]
    return rows[keep]
