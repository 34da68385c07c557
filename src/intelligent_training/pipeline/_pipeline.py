"""``IntelligentPipeline``: rank targets, select features per target, train."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted

from intelligent_training._progress import ProgressLog
from intelligent_training.cache import as_memory, fingerprint
from intelligent_training.data._memory import release_memory
from intelligent_training.exceptions import DataError
from intelligent_training.pipeline._stages import JOINT, StageSteps, _fit_estimator
from intelligent_training.utils._param_validation import (
    POSITIVE_INT,
    MappingOf,
    Predicate,
    ValidatedParamsMixin,
    stage_constraints,
)

__all__ = ["JOINT", "IntelligentPipeline"]

logger = logging.getLogger(__name__)


def _skill_by_timestamp(pipe: IntelligentPipeline, Y: pd.DataFrame) -> pd.DataFrame | None:
    """Per-timestamp out-of-fold skill of both stages (see ``report._skill``); never fails fit."""
    from intelligent_training.report._skill import pipeline_skill_by_timestamp

    try:
        return pipeline_skill_by_timestamp(pipe, Y)
    except Exception as exc:  # policy: the report's evidence is optional, the fit is not
        logger.warning("per-timestamp skill for the report not computed: %s", exc)
        return None


def _is_names(value: Any) -> bool:
    """A non-empty list or tuple of strings."""
    return (
        isinstance(value, list | tuple) and bool(value) and all(isinstance(v, str) for v in value)
    )


def _is_features(value: Any) -> bool:
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _is_names(v) for k, v in value.items())
    return _is_names(value)


class IntelligentPipeline(StageSteps, ValidatedParamsMixin, BaseEstimator):
    """Rank candidate targets, select features per target and train model families.

    Parameters
    ----------
    ranker : TargetRanker, optional
        Ranks the candidate targets; ``None`` uses ``TargetRanker()``. Cloned in
        ``fit``; given the pipeline's ``memory`` when it has none, so each
        target × family × fold cell is cached.
    selector : FeatureSelector, optional
        Cloned once per selected target; ``None`` uses ``FeatureSelector()``.
        Every clone of the selector and the trainer gets the ranker's ``horizons`` and
        ``default_horizon`` (unless it sets its own) and the pipeline's ``memory``
        (unless it has one), so a target is purged by the same horizon in every stage
        and every stage is cached cell by cell.
    trainer : ModelTrainer, optional
        With ``strategy="single_task"`` (the default) one clone is fitted per
        target on that target's selected features (``trainers_[target]``); with
        ``multi_task`` / ``cascade`` one clone is fitted on all selected targets
        and the union of their features (``trainers_["__joint__"]``).
    targets : list of str, optional
        Use these targets and skip the ranking.
    features : list of str or dict, optional
        Use these features (for every target, or ``{target: [features]}``) and
        skip the selection.
    memory : DiskCacheMemory, str, path or None, optional
        Cache of the fitted ranker, selectors and trainers; keys combine a
        fingerprint of the data the step sees, the step's parameters and the
        library version.
    target_patterns : list of str, optional
        Patterns that mark target columns when ``fit`` is given a whole panel.
    verbose : bool or None, optional
        Progress bars (``None``: when stderr is a terminal).
    max_samples_per_symbol : int, dict or None, optional
        The screening stages see at most this many most recent rows per symbol
        (one cut for the whole panel, so whole timestamps are kept; see
        :func:`~intelligent_training.data.recent_rows`). An int limits the ranking
        and the selection; ``{"ranking": n, "selection": m}`` limits each (a stage
        left out is not limited). Training always uses every row.

    Attributes
    ----------
    ranker_ : TargetRanker or None
        The fitted ranker (``None`` when ``targets`` was given).
    rankings_ : DataFrame or None
        ``ranker_.rankings_``.
    selected_targets_ : list of str
        Targets that were selected and trained successfully, best first.
    selected_features_ : dict
        Target → list of the features its models use.
    selectors_ : dict
        Target → fitted FeatureSelector (``None`` when the selection was
        skipped or failed).
    trainers_ : dict
        Target (or ``"__joint__"``) → fitted ModelTrainer.
    training_groups_ : dict
        Same keys as ``trainers_`` → ``(targets, features)``.
    failed_targets_ : dict
        Target → why it was skipped.
    warnings_ : list of str
        Fallbacks and skipped targets, also written into the outputs.
    feature_names_in_ : ndarray of str
        Columns of the ``X`` seen in ``fit``.
    data_fingerprint_ : str
        Fingerprint of ``X`` and ``Y``.
    timings_ : dict
        Seconds spent per step.
    skill_by_timestamp_ : DataFrame or None
        Out-of-fold skill per timestamp of the ranking and training stages (long
        format: ``stage``, ``target``, ``family``, ``timestamp``, ``value``, ``n``,
        ``fold``); rank IC for regression, AUC for binary, accuracy for multiclass
        targets. Measured in ``fit`` (the estimators keep no labels) for :meth:`report`.

    Examples
    --------
    >>> from intelligent_training.pipeline import IntelligentPipeline
    >>> pipe = IntelligentPipeline(targets=["fwd_ret_5m"], features=["f00", "f01"])
    >>> pipe.get_params()["targets"]
    ['fwd_ret_5m']
    """

    # Checked at the start of ``fit`` (a violation is a ParameterError naming the
    # parameter); a new parameter adds its line here (see utils/_param_validation.py).
    _parameter_constraints: dict[str, list[Any]] = stage_constraints(
        "memory",
        "verbose",
        ranker=[HasMethods(["fit"]), None],
        selector=[HasMethods(["fit"]), None],
        trainer=[HasMethods(["fit", "predict"]), None],
        targets=[Predicate(_is_names, "a non-empty list of target names"), None],
        features=[
            Predicate(
                _is_features,
                "a non-empty list of feature names or a dict {target: [feature names]}",
            ),
            None,
        ],
        target_patterns=[Predicate(_is_names, "a non-empty list of patterns"), None],
        max_samples_per_symbol=[
            POSITIVE_INT,
            MappingOf(
                [POSITIVE_INT, None],
                keys=("ranking", "selection"),
                description=(
                    "a dict {'ranking': n, 'selection': n} (n a positive int or None; a "
                    "stage left out is not limited)"
                ),
            ),
            None,
        ],
    )

    def __init__(
        self,
        ranker: Any = None,
        selector: Any = None,
        trainer: Any = None,
        *,
        targets: Sequence[str] | None = None,
        features: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
        memory: Any = None,
        target_patterns: Sequence[str] | None = None,
        verbose: bool | None = None,
        max_samples_per_symbol: int | Mapping[str, int | None] | None = None,
    ) -> None:
        self.ranker = ranker
        self.selector = selector
        self.trainer = trainer
        self.targets = targets
        self.features = features
        self.memory = memory
        self.target_patterns = target_patterns
        self.verbose = verbose
        self.max_samples_per_symbol = max_samples_per_symbol

    # ------------------------------------------------------------------ fit
    def _split_inputs(self, X: Any, Y: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
        if Y is None:
            if not isinstance(X, pd.DataFrame):
                raise DataError("fit(panel) needs a DataFrame panel; or call fit(X, Y)")
            from intelligent_training.data import split_features_targets

            X, Y = split_features_targets(X, self.target_patterns)
        if isinstance(Y, pd.Series):
            Y = Y.to_frame(Y.name if Y.name is not None else "target")
        if not isinstance(X, pd.DataFrame) or not isinstance(Y, pd.DataFrame):
            raise DataError(
                "IntelligentPipeline.fit needs X and Y as DataFrames with the panel index "
                f"(got {type(X).__name__} and {type(Y).__name__})"
            )
        if len(X) != len(Y) or not X.index.equals(Y.index):
            raise DataError("X and Y must have the same index (the same panel rows, in order)")
        if X.shape[1] == 0:
            raise DataError("X has no feature columns; check the data or the target patterns")
        if Y.shape[1] == 0:
            raise DataError(
                "no target columns found; name targets like fwd_ret_5m, y_up_15m or pass "
                "target_patterns"
            )
        return X, Y

    def _check_stages(self) -> None:
        """Check every stage's parameters and family names before any work.

        A typo in the trainer's families must fail in a second, not after the ranking
        and the selection have run.
        """
        from intelligent_training.families import resolve_families

        for stage in (self.ranker, self.selector, self.trainer):
            if stage is None:
                continue
            if isinstance(stage, ValidatedParamsMixin):  # ours; a user's stage checks itself
                stage._validate_params()
            families = getattr(stage, "families", None)
            if families is not None:
                resolve_families(families)

    def fit(self, X: Any, Y: Any = None) -> IntelligentPipeline:
        """Rank, select and train.

        Parameters
        ----------
        X : DataFrame
            Features indexed by ``(timestamp, symbol)``, or a whole panel when
            ``Y`` is None (split with ``split_features_targets``).
        Y : DataFrame or Series, optional
            Candidate targets, same index as ``X``.

        Returns
        -------
        self
        """
        self._validate_params()
        self._check_stages()
        X, Y = self._split_inputs(X, Y)
        memory = as_memory(self.memory)
        cached_fit = memory.cache(_fit_estimator, ignore=["estimator", "X", "y"])
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.warnings_: list[str] = []
        self.failed_targets_: dict[str, str] = {}
        self.timings_: dict[str, float] = {}

        start = time.perf_counter()
        x_key = fingerprint(X)
        y_keys = {str(c): fingerprint(Y[c]) for c in Y.columns}
        self.data_fingerprint_ = fingerprint(x_key, sorted(y_keys.items()))
        self.timings_["fingerprint"] = time.perf_counter() - start

        stages = ProgressLog("pipeline", 3, unit="stage")  # a log line per finished stage
        start = time.perf_counter()
        targets = self._rank(X, Y, cached_fit, memory, x_key)
        self.timings_["ranking"] = time.perf_counter() - start
        release_memory()  # the stage's bins and copies go back to the system
        stages.done("ranking")

        targets = self._usable(Y, targets)

        start = time.perf_counter()
        self._select(X, Y, targets, cached_fit, x_key, y_keys, memory)
        self.timings_["selection"] = time.perf_counter() - start
        release_memory()  # the stage's bins and copies go back to the system
        stages.done("selection")

        start = time.perf_counter()
        self._train(X, Y, targets, cached_fit, x_key, y_keys, memory)
        self.timings_["training"] = time.perf_counter() - start
        release_memory()
        stages.done("training")
        self.skill_by_timestamp_ = _skill_by_timestamp(self, Y)  # the report's skill over time
        return self

    # -------------------------------------------------------------- predict
    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """Predict every selected target.

        Parameters
        ----------
        X : DataFrame
            Rows to predict, with (at least) the features used in ``fit``.

        Returns
        -------
        DataFrame
            One column per selected target, indexed like ``X``.
        """
        check_is_fitted(self, "trainers_")
        if not isinstance(X, pd.DataFrame):
            raise DataError("IntelligentPipeline.predict needs a DataFrame with feature columns")
        out: dict[str, np.ndarray] = {}
        for key, trainer in self.trainers_.items():
            group_targets, feats = self.training_groups_[key]
            missing = [f for f in feats if f not in X.columns]
            if missing:
                raise DataError(
                    f"X lacks the features {missing[:10]} used to train {group_targets}"
                )
            pred = trainer.predict(X[feats])
            if isinstance(pred, pd.DataFrame):
                for t in group_targets:
                    out[t] = np.asarray(pred[t])
            else:
                arr = np.asarray(pred)
                if arr.ndim == 1:
                    out[group_targets[0]] = arr
                else:
                    for i, t in enumerate(group_targets):
                        out[t] = arr[:, i]
        return pd.DataFrame({t: out[t] for t in self.selected_targets_ if t in out}, index=X.index)

    # ---------------------------------------------------------- persistence
    def save(self, output_dir: str | Path) -> Path:
        """Write the output layout (rankings, selections, models, metrics, predictions).

        The files are written into a new run directory ``output_dir/runs/<id>/`` and
        published by switching one link (``output_dir/current``) at the end, so a
        failure (or a kill) leaves the previous results as they were, and a reader
        sees either the old or the new results, never a mix. The user-facing names
        (``output_dir/target_rankings`` ...) resolve through ``current``; other
        entries of ``output_dir`` (such as ``cache/``) are kept. ``manifest.json``
        lists every file with its SHA-256. The output directory is locked while it
        is written (one writer at a time).

        Parameters
        ----------
        output_dir : str or Path

        Returns
        -------
        Path
            ``output_dir``.
        """
        from intelligent_training.app._lock import OutputLock
        from intelligent_training.app._publish import clean_leftovers, publishing
        from intelligent_training.pipeline._outputs import (
            base_manifest,
            finish_manifest,
            write_layout,
        )
        from intelligent_training.report import write_report

        check_is_fitted(self, "trainers_")
        with OutputLock(output_dir):
            clean_leftovers(output_dir)
            with publishing(output_dir) as run:
                paths = write_layout(self, run)
                write_report(self, run, html=None)  # report.json; report.html with [report]
                finish_manifest(run, base_manifest(self, paths))
        return Path(output_dir)

    def report(self, path: str | Path | None = None) -> str | Path:
        """The HTML report of this fitted pipeline (rankings, skill, importances, metrics).

        Built from the fitted attributes, without refitting; needs the ``report``
        extra (``pip install 'intelligent-training[report]'``). In a notebook,
        ``IPython.display.HTML(pipe.report())`` shows it inline.

        Parameters
        ----------
        path : str or Path, optional
            A directory: ``report.html`` and ``report.json`` (the numbers behind every
            figure) are written there. ``None``: nothing is written.

        Returns
        -------
        str or Path
            The HTML when ``path`` is None, else the path of ``report.html``.
        """
        from intelligent_training.report import render_html, write_report

        check_is_fitted(self, "trainers_")
        if path is None:
            return render_html(self)
        written = write_report(self, path)  # html=True: a path or an error, never None
        return written if written is not None else Path(path)

    @classmethod
    def load(cls, output_dir: str | Path) -> IntelligentPipeline:
        """Restore a pipeline written by :meth:`save` or ``intelligent-train``.

        Every file is checked against its SHA-256 in ``manifest.json`` before it is
        read, and paths from the manifest must stay inside ``output_dir``; a damaged
        or modified directory is an
        :class:`~intelligent_training.exceptions.ArtefactError`. The model files
        include pickles (joblib), which can run code when loaded: load only output
        directories from a source you trust.

        Parameters
        ----------
        output_dir : str or Path

        Returns
        -------
        IntelligentPipeline
            It predicts identically to the pipeline that was saved.
        """
        from intelligent_training.pipeline._outputs import read_pipeline

        return read_pipeline(output_dir)
