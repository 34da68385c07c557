"""ModelTrainer: train many model families on the chosen targets under purged CV."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import StrOptions
from sklearn.utils._tags import ClassifierTags, RegressorTags
from sklearn.utils.validation import check_is_fitted

from intelligent_training.evaluation import (
    EvalData,
    TargetSet,
    check_same_rows,
    resolve_cv,
    resolve_memory,
    resolve_seed,
    resolve_targets,
)
from intelligent_training.exceptions import DataError
from intelligent_training.training._predict import TASKS, TrainerPredictions
from intelligent_training.training._results import collect_results
from intelligent_training.training._search_space import TuningSettings, resolve_tuning
from intelligent_training.training._strategies import (
    STRATEGIES,
    Context,
    UnitResult,
    run_strategy,
)
from intelligent_training.training._validation import (
    check_target_values,
    validate_features,
    validate_targets,
)
from intelligent_training.utils._param_validation import (
    POSITIVE_INT,
    ValidatedParamsMixin,
    stage_constraints,
)

logger = logging.getLogger(__name__)

__all__ = ["ModelTrainer"]

_DEFAULT_N_SPLITS = 5
_OWNER = "ModelTrainer"


class ModelTrainer(ValidatedParamsMixin, TrainerPredictions, BaseEstimator):
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
        fitted on the rows where any target is known, its folds purged with the
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
        parameter is cloned per target with the target's horizon (the target contract,
        :func:`~intelligent_training.evaluation.resolve_targets`).
    n_jobs : int or None, default=None
        Core budget of the (target x family x fold | final) cells: ``n_jobs`` cells at
        a time, one thread each (``None``: 1, ``-1``: all cores).
    random_state : int or None, default=None
        Seed passed to every family.
    cpu_only : bool, default=False
        Keep torch families on the CPU.
    threads : int or None, default=None
        Threads per model; ``None`` follows the engine's budget rule (one thread per
        cell, more only when there are fewer cells than ``n_jobs``). When set,
        ``n_jobs // threads`` cells run at once.
    max_rows_train : int or None, default=None
        The final models are fitted on the most recent rows only: whole timestamps,
        newest first, as long as they fit in this many rows. Cross-validation always
        uses all rows.
    horizons : dict or None, default=None
        Target name -> horizon overrides (bars as an int, or a duration such as
        ``"15min"``); other targets' horizons are parsed from their names.
    verbose : bool, int or None, default=None
        Progress bars (``None``: when stderr is a terminal).
    default_horizon : int, str or None, default=None
        Horizon of targets whose name has none (``None``: 0 bars, with a warning).
        Unnamed targets (arrays) have horizon 0.
    memory : joblib.Memory-like, str or None, default=None
        Cache of every cell (folds and final fits): a killed or repeated fit
        recomputes only the missing cells.
    task : {"auto", "regression", "classification"}, default="auto"
        What the targets are, and with it the scikit-learn estimator type, fixed by the
        parameters (never by ``fit``). ``"regression"``: every target is read as
        numbers (0/1 labels too) and the trainer is a regressor. ``"classification"``:
        every target is read as class labels (a continuous or single-class target is a
        ``DataError`` at ``fit``) and the trainer is a classifier (``is_classifier``,
        stratified ``check_cv`` / ``cross_val_score``, ``predict_proba``).
        ``"auto"``: each target's task is inferred from its values
        (:func:`~intelligent_training.data.infer_task`), so several targets may mix
        tasks; the estimator type is left open (neither a classifier nor a regressor
        for scikit-learn), while a trainer fitted on one classification target still
        predicts labels and has ``predict_proba``. Pass ``task`` when a scikit-learn
        tool must know the type. (One parameter rather than thin classifier/regressor
        classes: one class to configure, clone and persist, and ``"auto"`` covers
        DataFrames of mixed targets, which no fixed type can.)
    sample_weight : {None, "uniqueness"}, default=None
        ``"uniqueness"``: every model is fit with each row weighted by the average
        uniqueness of its label span over its symbol (López de Prado, ch. 4; overlapping
        labels count as the independent information they carry), for every family
        that takes sample weights; ``None``: unweighted. See ``docs/ranking.md``.
    tuning : None, dict or TuningSettings, default=None
        Search each family's parameters before training (needs ``optuna``, the
        ``tune`` extra): per target x family an Optuna study (TPE, seeded from
        ``random_state``) over the family's search space, every trial evaluated on the
        same purged folds and cells as training and pruned after each fold; the final
        models use the best trial's parameters. Keys (see
        :class:`~intelligent_training.training.TuningSettings`): ``n_trials`` (20),
        ``timeout`` (seconds or ``"10min"``, the whole search), ``search_spaces`` (a
        YAML path or a dict over the packaged spaces), ``families``, ``pruner``
        (``"median"``, ``"successive_halving"``, ``"none"``), ``n_startup_trials``,
        ``seed``. ``None``: no search.
    tuning_storage : str, path or None, default=None
        Where the studies are kept: a SQLite file path or a database URL. ``None``:
        ``<memory location>/tuning/study.db`` with a ``memory``, else in memory. A
        stored study resumes where it stopped.

    Attributes
    ----------
    targets_ : list of str
        The targets, in training order. A Series without a name is called ``"y"``.
    tasks_ : dict
        Target -> ``"regression"``, ``"binary"`` or ``"multiclass"``.
    horizons_ : dict
        Target -> horizon used for purging.
    folds_ : DataFrame
        One row per (target, fold): horizon, sizes, time spans and row digests of the
        purged folds (as the ranker's and the selector's ``folds_``).
    models_ : dict
        ``(target, family)`` -> fitted estimator. Under ``strategy="multi_task"`` the
        ``(target, "multi_task")`` entries are one shared model.
    cv_metrics_ : DataFrame
        One row per target x family x fold (``fold`` 0, 1, ...) plus a summary row per
        target x family (``fold="mean"``: the mean over successful folds, ``n_train`` and
        ``n_test`` included; ``n_final``, on that row only, is the number of rows of the
        final fit), with ``status`` (``ok``,
        ``failed``, ``skipped``), ``error``, the metrics that fit the task (regression:
        ``r2``, ``ic_*``, ``dir_acc``; classification: ``auc``, ``logloss``,
        ``accuracy``) and ``skill`` (comparable across tasks).
    oof_predictions_ : DataFrame
        Aligned to the training rows, columns ``(target, family)``: out-of-fold
        predictions (regression), P(positive class) (binary) or labels (multiclass);
        NaN where a row was never in a test fold. With a splitter that tests every row
        several times (:class:`~intelligent_training.model_selection.CombinatorialPurgedSplit`),
        one prediction per row per backtest path: the index gains a leading ``path``
        level (``get_paths()`` says which split's predictions make each path).
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
    best_params_ : dict
        ``(target, family)`` -> the best trial's parameters (with ``tuning``; the
        searched ones only; the models use them over the family's own).
    tuning_results_ : DataFrame
        One row per searched target x family: trials run (complete, pruned, failed,
        resumed), the best trial, its value, its out-of-fold per-timestamp skill raw
        (``oof_skill``) and deflated for the number of trials
        (``oof_skill_expected_max``, ``oof_skill_deflated``, ``deflated_tstat``,
        ``deflated_pvalue``), the probability of backtest overfitting (``pbo``), and
        why the search stopped early (``stopped``). The ``fold="mean"`` rows of
        ``cv_metrics_`` repeat ``n_trials``, ``oof_skill``, ``oof_skill_expected_max``,
        ``oof_skill_deflated``, ``deflated_pvalue`` and ``pbo`` beside ``skill``.
    tuning_trials_ : DataFrame
        One row per trial: state, value, folds run, seconds, parameters.

    Notes
    -----
    scikit-learn semantics: fitted on one target (a Series or 1-D array) the trainer
    behaves as a regressor for a regression target and as a classifier (``predict``
    returns labels, ``predict_proba`` exists, ``score`` is the accuracy) for a binary
    or multiclass one. Its scikit-learn estimator type (``__sklearn_tags__``,
    ``is_classifier``, ``is_regressor``) depends only on ``task``: a classifier for
    ``task="classification"``, a regressor for ``"regression"``, neither for
    ``"auto"``; so ``cross_val_score(ModelTrainer(task="classification"), X, y)``
    uses stratified folds as for any scikit-learn classifier. Fitted on a DataFrame,
    ``predict`` returns a DataFrame with one column per target: predictions for
    regression targets, the probability of the positive (larger) class for binary
    targets and the predicted label for multiclass targets.

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

    # Checked at the start of ``fit`` (a violation is a ParameterError naming the
    # parameter); a new parameter adds its line here (see utils/_param_validation.py).
    _parameter_constraints: dict[str, list[Any]] = stage_constraints(
        "families",
        "cv",
        "n_jobs",
        "random_state",
        "horizons",
        "default_horizon",
        "memory",
        "verbose",
        "sample_weight",
        strategy=[StrOptions(set(STRATEGIES))],
        cpu_only=["boolean"],
        threads=[POSITIVE_INT, None],
        max_rows_train=[POSITIVE_INT, None],
        task=[StrOptions(set(TASKS))],
        tuning=[dict, TuningSettings, None],
        tuning_storage=[str, os.PathLike, None],
    )

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
        default_horizon: Any = None,
        memory: Any = None,
        task: str = "auto",
        sample_weight: str | None = None,
        tuning: Any = None,
        tuning_storage: str | os.PathLike[str] | None = None,
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
        self.default_horizon = default_horizon
        self.memory = memory
        self.task = task
        self.sample_weight = sample_weight
        self.tuning = tuning
        self.tuning_storage = tuning_storage

    # ------------------------------------------------------------------ sklearn tags
    def __sklearn_tags__(self) -> Any:
        # Static: from ``task`` only, never from what ``fit`` saw.
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = True
        task = getattr(self, "task", "auto")
        if task == "classification":
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
            tags.regressor_tags = None
        elif task == "regression":
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        return tags

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A trainer saved before ``task`` existed inferred its tasks: "auto".
        state.setdefault("task", "auto")
        state.setdefault("tuning", None)
        state.setdefault("tuning_storage", None)
        super().__setstate__(state)

    def _resolve_families(self) -> dict[str, tuple[str, tuple[str, ...], dict[str, Any]]]:
        from intelligent_training.families import get_family, resolve_families

        resolved = resolve_families(self.families)
        if self.strategy == "multi_task" and "multi_task" not in resolved:
            resolved["multi_task"] = {}
        out = {}
        for name, params in resolved.items():
            spec = get_family(name)
            out[name] = (spec.joint_output, tuple(spec.tasks), dict(params))
        self.families_ = list(out)
        return out

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
        self._validate_params()
        tuning = resolve_tuning(self.tuning, _OWNER)
        self._estimator_kind = "regressor"
        X_fit = validate_features(self, X, reset=True)
        frame, is_frame, named = validate_targets(Y, X_fit.shape[0])
        check_same_rows(X, Y, owner=_OWNER)
        check_target_values(frame)
        data = EvalData.from_features(X_fit, {})
        targets = self._resolve_targets(X_fit, frame, named, data)
        families = self._resolve_families()
        ctx = Context(
            data=data,
            targets=targets,
            families=families,
            seed=resolve_seed(self.random_state, _OWNER),
            threads=self.threads,
            n_jobs=self.n_jobs,
            max_rows_train=self.max_rows_train,
            cpu_only=bool(self.cpu_only),
            memory=resolve_memory(self.memory, _OWNER),
            verbose=self.verbose,
        )
        for stale in ("best_params_", "tuning_results_", "tuning_trials_"):
            self.__dict__.pop(stale, None)  # from an earlier fit with tuning
        search = self._tune(tuning, ctx) if tuning is not None else None
        output = run_strategy(self.strategy, ctx)
        self._collect(output.results, targets, families, X_fit)
        if search is not None:
            self.cv_metrics_ = _with_tuning_columns(self.cv_metrics_, self.tuning_results_)
        self.cascade_columns_ = output.extra_columns
        self._fitted_on_frame = is_frame
        self._input_is_frame = isinstance(X, pd.DataFrame)
        self._feature_columns = list(X.columns) if isinstance(X, pd.DataFrame) else None
        first = targets[self.targets_[0]]
        if not is_frame and first.classes is not None:
            self.classes_ = first.classes
            self._estimator_kind = "classifier"
        elif hasattr(self, "classes_"):
            del self.classes_
        return self

    def _resolve_targets(
        self, X: Any, frame: pd.DataFrame, named: list[bool], data: EvalData
    ) -> TargetSet:
        """The target contract: tasks, classes, horizons and purged folds of every target."""
        from intelligent_training.model_selection import get_timestamps

        if isinstance(X, pd.DataFrame):
            timestamps = np.asarray(get_timestamps(X))
        else:
            timestamps = np.arange(len(frame), dtype=np.int64)
        cv = resolve_cv(self.cv, default_n_splits=_DEFAULT_N_SPLITS, owner=_OWNER)
        n_splits = cv.get_n_splits() if hasattr(cv, "get_n_splits") else 2
        for name in frame.columns:
            n_known = int(frame[name].notna().sum())
            if n_known < n_splits + 1:
                raise DataError(
                    f"ModelTrainer: target(s) {name!r} have n_samples={n_known} usable rows; "
                    f"{n_splits} cross-validation folds need at least {n_splits + 1}. Pass more "
                    "rows or use fewer splits (cv=...)."
                )
        targets = resolve_targets(
            frame,
            X,
            timestamps=timestamps,
            cv=cv,
            horizons=self.horizons,
            default_horizon=self.default_horizon,
            unnamed=[n for n, is_named in zip(frame.columns, named) if not is_named],
            owner=_OWNER,
            task=self.task,
            sample_weight=self.sample_weight,
        )
        data.targets.update(targets.specs)
        self.targets_ = list(targets.specs)
        self.tasks_ = {n: s.task for n, s in targets.specs.items()}
        self.horizons_ = {n: s.horizon for n, s in targets.specs.items()}
        self.folds_ = targets.fold_table()
        self._classes = {n: s.classes for n, s in targets.specs.items()}
        return targets

    # ------------------------------------------------------------------ tuning
    def _tune(self, settings: TuningSettings, ctx: Context) -> dict[tuple[str, str], Any]:
        """Search the families' parameters (``training/_tuning.py``); the strategy then
        trains every (target, family) with its best trial's parameters."""
        from intelligent_training.training._tuning import FoldMemo, ModelSearch, study_storage

        storage = study_storage(self.tuning_storage, ctx.memory)
        if ctx.memory is None:  # the best trial's folds serve the strategy's CV
            ctx.memory = FoldMemo()
        search = ModelSearch(settings, ctx, storage).run()
        ctx.unit_params = {key: unit.params for key, unit in search.items()}
        self.best_params_ = {key: unit.best_params for key, unit in search.items()}
        self.tuning_results_ = pd.DataFrame([unit.summary for unit in search.values()])
        self.tuning_trials_ = pd.DataFrame(
            [row for unit in search.values() for row in unit.trials],
            columns=["target", "family", "trial", "state", "value", "n_folds", "seconds", "params"],
        )
        return search

    # ------------------------------------------------------------------ results
    def _collect(
        self,
        results: list[UnitResult],
        targets: TargetSet,
        families: dict[str, Any],
        X: Any,
    ) -> None:
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(X.shape[0])
        trained = collect_results(results, targets, families, index, self.strategy)
        self.models_ = trained.models
        self.fill_values_ = trained.fill_values
        self.multi_task_targets_ = trained.multi_task_targets
        self.cv_metrics_ = trained.cv_metrics
        self.oof_predictions_ = trained.oof_predictions
        self._joint_families = {name for name, spec in families.items() if spec[0]}

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


def _with_tuning_columns(cv_metrics: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """``cv_metrics_`` with the search's raw and deflated figures beside ``skill``
    (on the ``fold == "mean"`` rows of the searched target x family; NaN elsewhere)."""
    from intelligent_training.training._tuning import TUNING_COLUMNS

    frame = cv_metrics.copy()
    for column in TUNING_COLUMNS:
        frame[column] = np.nan
    if len(results):
        mean = frame["fold"].astype(str) == "mean"
        for row in results.to_dict("records"):
            where = mean & (frame["target"] == row["target"]) & (frame["family"] == row["family"])
            for column in TUNING_COLUMNS:
                value = row.get(column)
                if value is not None and not (isinstance(value, float) and np.isnan(value)):
                    frame.loc[where, column] = value
    order = list(frame.columns.drop(list(TUNING_COLUMNS)))
    at = order.index("skill") + 1
    return frame[order[:at] + list(TUNING_COLUMNS) + order[at:]]
