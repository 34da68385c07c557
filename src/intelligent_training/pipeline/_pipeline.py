"""``IntelligentPipeline``: rank targets, select features per target, train."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted

from intelligent_training._progress import ProgressLog
from intelligent_training.cache import as_memory, fingerprint, memoize
from intelligent_training.data._memory import release_memory
from intelligent_training.evaluation import check_same_rows
from intelligent_training.exceptions import DataError, DriftWarning
from intelligent_training.pipeline._profile import DRIFT_THRESHOLD, FeatureProfile
from intelligent_training.pipeline._stages import JOINT, StageSteps, _check_fitted, _fit_estimator
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


def _signal_evidence(pipe: IntelligentPipeline, Y: pd.DataFrame) -> dict | None:
    """The signal tearsheet's evidence (see ``report._tearsheet``); never fails fit."""
    from intelligent_training.report._tearsheet import signal_evidence

    try:
        return signal_evidence(pipe, Y)
    except Exception as exc:  # policy: the report's evidence is optional, the fit is not
        logger.warning("signal tearsheet evidence for the report not computed: %s", exc)
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
    data_summary_ : dict
        ``n_rows``, ``n_features``, ``n_candidate_targets`` and ``symbols`` of the data
        seen in ``fit`` (the report's data card).
    timings_ : dict
        Seconds spent per step.
    feature_profile_ : FeatureProfile
        What new data is checked against in :meth:`predict`: the training features'
        names and dtypes, and the decile-bin shares of the features the models use (a
        sample of at most 100 000 rows; a few numbers per feature, pickled with the
        pipeline, so no training data is needed to check for drift).
    history_rows_ : int
        Rows of each symbol that new data needs before a row to score: the longest
        lookback of the trained sequence models minus one (0 without one).
    skill_by_timestamp_ : DataFrame or None
        Out-of-fold skill per timestamp of the ranking and training stages (long
        format: ``stage``, ``target``, ``family``, ``timestamp``, ``value``, ``n``,
        ``fold``); rank IC for regression, AUC for binary, accuracy for multiclass
        targets. Measured in ``fit`` (the estimators keep no labels) for :meth:`report`.
    signal_evidence_ : dict or None
        What the report's signal tearsheet needs, kept in ``fit`` while ``Y`` is at
        hand: the selected targets' out-of-fold signals with the forward returns they
        are judged on, and every trial's per-rebalance long-short return (see
        ``intelligent_training.report._tearsheet.signal_evidence``).

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
        check_same_rows(X, Y, owner="IntelligentPipeline.fit")
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
        cached_fit = memoize(
            memory, _fit_estimator, ignore=["estimator", "X", "y"], check=_check_fitted
        )
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.warnings_: list[str] = []
        self.failed_targets_: dict[str, str] = {}
        self.timings_: dict[str, float] = {}

        start = time.perf_counter()
        x_key = fingerprint(X)
        y_keys = {str(c): fingerprint(Y[c]) for c in Y.columns}
        self.data_fingerprint_ = fingerprint(x_key, sorted(y_keys.items()))
        self.data_summary_ = {
            "n_rows": int(len(X)),
            "n_features": int(X.shape[1]),
            "n_candidate_targets": int(Y.shape[1]),
            "symbols": sorted(map(str, X.index.get_level_values("symbol").unique()))
            if isinstance(X.index, pd.MultiIndex) and "symbol" in X.index.names
            else [],
        }
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
        used = {f for _, feats in self.training_groups_.values() for f in feats}
        self.feature_profile_ = FeatureProfile.from_frame(
            X, [str(c) for c in X.columns if str(c) in used]
        )
        stages.done("training")
        self.skill_by_timestamp_ = _skill_by_timestamp(self, Y)  # the report's skill over time
        self.signal_evidence_ = _signal_evidence(self, Y)  # the report's signal tearsheet
        return self

    # -------------------------------------------------------------- predict
    @property
    def history_rows_(self) -> int:
        """Rows of history per symbol that new data needs (see :meth:`predict_all`)."""
        from intelligent_training.pipeline._scoring import history_rows

        check_is_fitted(self, "trainers_")
        return history_rows(self.trainers_)

    def _profile(self) -> FeatureProfile:
        profile = getattr(self, "feature_profile_", None)
        if profile is None:  # fitted by a version that kept no profile: names only
            return FeatureProfile(list(map(str, self.feature_names_in_)))
        return profile  # type: ignore[no-any-return]

    def _is_target(self, name: str) -> bool:
        """Columns of new data that are targets (ignored by ``predict``)."""
        from intelligent_training.data import is_target

        known = set(getattr(self, "selected_targets_", []))
        rankings = getattr(self, "rankings_", None)
        if rankings is not None:
            known.update(map(str, rankings.index))
        return name in known or is_target(name, self.target_patterns)

    def _check_new(self, X: Any, where: str) -> None:
        check_is_fitted(self, "trainers_")
        if not isinstance(X, pd.DataFrame):
            raise DataError(
                f"IntelligentPipeline.predict needs a DataFrame with feature columns, got "
                f"{type(X).__name__}"
            )
        columns = {str(c): dtype for c, dtype in X.dtypes.items()}
        self._profile().check_columns(columns, ignore=self._is_target, where=where)

    def feature_drift(
        self, X: pd.DataFrame, *, threshold: float | None = DRIFT_THRESHOLD
    ) -> pd.DataFrame:
        """Population stability index of each feature the models use, on new rows ``X``.

        Compared with the training deciles kept in ``feature_profile_`` (no training
        data needed); the verdict accounts for the features' persistence (see
        :meth:`FeatureProfile.drift <intelligent_training.pipeline._profile.FeatureProfile.drift>`
        and docs/predict.md).

        Parameters
        ----------
        X : DataFrame
            New rows.
        threshold : float or None, default 0.25
            PSI above which a feature counts as drifted (``None``: none does).

        Returns
        -------
        DataFrame
            Index ``feature``, largest PSI first; columns ``psi``, ``rho`` (lag-1
            autocorrelation of the new rows), ``n_effective`` (their weight in
            independent rows), ``chance`` (the PSI chance reaches in 1 % of samples of
            an unchanged distribution) and ``drifted``.
        """
        check_is_fitted(self, "trainers_")
        return self._profile().drift(X, threshold)

    def _score(
        self, X: Any, start: Any, drift_threshold: float | None, where: str = "X"
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
        """``(ensemble, every column, drift table or None)`` of the scored rows of ``X``."""
        from intelligent_training.pipeline._scoring import (
            score_rows,
            scored_positions,
            sequence_lookbacks,
        )

        self._check_new(X, where)
        lookbacks = sequence_lookbacks(self.trainers_)
        history = max(lookbacks.values(), default=1) - 1
        rows, needed = scored_positions(X, history, start, lookbacks=lookbacks, where=where)
        drift = None
        if drift_threshold is not None:
            drift = self.feature_drift(X.iloc[rows], threshold=drift_threshold)
            for feature, row in drift[drift["drifted"]].iterrows():
                warnings.warn(
                    f"feature {feature!r} of {where} has drifted from the training data: "
                    f"population stability index {row['psi']:.3f} > {drift_threshold} on "
                    f"the training deciles ({len(rows)} new rows, worth "
                    f"{row['n_effective']:.0f} independent ones; chance reaches "
                    f"{row['chance']:.3f}); its models' predictions may be off",
                    DriftWarning,
                    stacklevel=3,
                )
        ensemble, every = score_rows(self, X, rows, needed)
        return ensemble, every, drift

    def predict(
        self,
        X: pd.DataFrame,
        *,
        start: Any = None,
        drift_threshold: float | None = DRIFT_THRESHOLD,
    ) -> pd.DataFrame:
        """Predict every selected target: the ensemble of its families.

        The ``(target, "ensemble")`` columns of :meth:`predict_all`; see there for the
        rows scored, the schema check and the drift warnings.

        Parameters
        ----------
        X : DataFrame
            New rows with the training features (``feature_names_in_``); target columns
            are ignored.
        start : timestamp, optional
            Score the rows at or after ``start`` (earlier rows are history only).
        drift_threshold : float or None, default 0.25
            Warn about every feature whose PSI exceeds it (``None``: no check).

        Returns
        -------
        DataFrame
            One column per selected target, indexed by the scored rows of ``X``: the
            mean prediction of its families (regression), the mean probability of the
            positive class (binary), the label of the highest mean probability
            (multiclass), whatever the strategy.
        """
        return self._score(X, start, drift_threshold)[0]

    def predict_all(
        self,
        X: pd.DataFrame,
        *,
        start: Any = None,
        drift_threshold: float | None = DRIFT_THRESHOLD,
    ) -> pd.DataFrame:
        """Every trained family's prediction and the ensemble, for every selected target.

        ``X`` must have exactly the training features (``feature_names_in_``, numeric,
        any order; columns named like targets are ignored): a missing, extra or
        non-numeric column is one :class:`~intelligent_training.exceptions.DataError`
        naming them all.

        Rows scored: without sequence families, every row of ``X``. A sequence family
        predicts a row from the window of its ``lookback`` last rows of the same symbol,
        so ``X`` must hold ``history_rows_`` (= longest lookback - 1) earlier rows of
        each symbol before the first row to score; those rows are history only:
        ``start=None`` scores every row but the first ``history_rows_`` of each symbol,
        ``start=t`` the rows at or after ``t``. Too little history is a ``DataError``
        naming the rows needed.

        Each feature the models use is compared with its training distribution
        (:meth:`feature_drift` on the scored rows); a
        :class:`~intelligent_training.exceptions.DriftWarning` names every feature whose
        population stability index exceeds ``drift_threshold``.

        Parameters
        ----------
        X : DataFrame
            New rows, indexed by ``(timestamp, symbol)`` (required with sequence
            families or ``start``).
        start : timestamp, optional
            First timestamp to score.
        drift_threshold : float or None, default 0.25
            PSI above which a feature is reported (``None``: no drift check).

        Returns
        -------
        DataFrame
            Indexed by the scored rows; columns ``(target, family)``: each trained
            family, then ``(target, "ensemble")`` (= :meth:`predict`). Values as in
            ``ModelTrainer.predict`` on a DataFrame: the prediction (regression), the
            probability of the positive class (binary), the label (multiclass).
        """
        return self._score(X, start, drift_threshold)[1]

    # ---------------------------------------------------------- persistence
    def save(self, output_dir: str | Path) -> Path:
        """Write the output layout (rankings, selections, models, metrics, predictions).

        The files are written into a new run directory ``output_dir/runs/<id>/`` and
        published by switching one link (``output_dir/current``) at the end, so a
        failure (or a kill) leaves the previous results as they were, and a reader
        sees either the old or the new results, never a mix. The user-facing names
        (``output_dir/target_rankings`` ...) resolve through ``current``; other
        entries of ``output_dir`` (such as ``cache/``) are never touched, and a
        layout name held by a file this library did not write (a user's own
        ``manifest.json``) is an error, not replaced. ``manifest.json`` lists every
        file with its SHA-256. The output directory is locked while it is written
        (one writer at a time).

        Parameters
        ----------
        output_dir : str or Path

        Returns
        -------
        Path
            ``output_dir``.

        Raises
        ------
        ArtefactError
            ``output_dir`` holds a layout name this library did not write, or a
            symbolic link as its ``.lock``.
        IntelligentTrainingError
            The disk filled up (the message names the path); nothing was published.
        """
        from intelligent_training.io import publish
        from intelligent_training.pipeline._outputs import write_run

        check_is_fitted(self, "trainers_")
        publish(output_dir, lambda run: write_run(self, run, report_source=self))
        return Path(output_dir)

    def report(self, path: str | Path | None = None) -> str | Path:
        """The HTML report of this fitted pipeline (rankings, skill, importances, metrics).

        Built from the fitted attributes, without refitting; needs the ``report``
        extra (``pip install 'intelligent-training[report]'``). In a notebook,
        ``IPython.display.HTML(pipe.report())`` shows it inline.

        Parameters
        ----------
        path : str or Path, optional
            A file (an existing file, or a new path ending in ``.html``): the HTML is
            written there, replacing the file atomically. A directory (existing, or
            a new path without the ``.html`` suffix): ``report.html`` and
            ``report.json`` (the numbers behind every figure) are written there.
            ``None``: nothing is written.

        Returns
        -------
        str or Path
            The HTML when ``path`` is None, else the path of the HTML file written.
        """
        from intelligent_training.io import atomic_write, no_space
        from intelligent_training.report import render_html, write_report

        check_is_fitted(self, "trainers_")
        if path is None:
            return render_html(self)
        path = Path(path)
        try:
            if path.is_file() or (not path.exists() and path.suffix.lower() == ".html"):
                page = render_html(self)  # first: a failure creates nothing
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(path, page)
                return path
            written = write_report(self, path)  # html=True: a path or an error, never None
        except OSError as exc:
            full = no_space(exc, path, hint="write the report elsewhere")
            if full is not None:
                raise full from None
            raise
        return written if written is not None else path

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
