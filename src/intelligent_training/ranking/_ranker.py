"""``TargetRanker``: rank candidate targets by out-of-sample predictability."""

from __future__ import annotations

import logging
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from intelligent_training.evaluation import resolve_memory, resolve_seed
from intelligent_training.exceptions import DataError, FamilyError
from intelligent_training.ranking._evidence import TargetEvidence
from intelligent_training.ranking._fit_steps import (
    DEFAULT_N_SPLITS,  # noqa: F401  (re-exported: app/_build.py and tests read it here)
    OWNER,
    CandidateTargets,
    find_strongest_features,
    new_evidence,
    plan_cells,
    resolve_candidates,
    run_grid,
    skill_table,
)
from intelligent_training.ranking._inputs import features, validate_inputs
from intelligent_training.ranking._summary import rankings_frame, selection_note
from intelligent_training.utils._param_validation import (
    POSITIVE_INT,
    StrictInterval,
    ValidatedParamsMixin,
    stage_constraints,
)

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_RANKER_FAMILIES", "TargetRanker"]

#: Families used when ``families=None``: the two fast gradient-boosting families,
#: which have the bin-once fast path. (The registry's configured default list also
#: holds slower families; pass ``families=`` to use them.)
DEFAULT_RANKER_FAMILIES: tuple[str, ...] = ("lightgbm", "xgboost")
DEFAULT_FDR = 0.1


class TargetRanker(ValidatedParamsMixin, BaseEstimator):
    """Rank candidate targets by how predictable they are out of sample.

    For every target x family x fold of a purged walk-forward split, a model is fit
    on the training rows and scored on the test fold. Targets, horizons and folds come
    from the target contract (:func:`~intelligent_training.evaluation.resolve_targets`):
    the splitter is cloned per target with that target's horizon (a 60m label is
    purged more than a 5m one), and rows whose target is NaN are dropped for that
    target only. The cells run on the shared engine
    (:func:`~intelligent_training.evaluation.run_cells`).

    **Score.** Each (family, fold) cell gets a correlation-equivalent skill over a
    naive baseline (:func:`intelligent_training.metrics.skill_score`): regression
    ``2 sin(pi rho_s / 6)`` of the rank correlation ``rho_s`` of forecast and
    outcome, classification ``sqrt(2) sin(pi (AUC - 1/2) / 2)``
    (the binormal latent correlation implied by the AUC). With ``s[f, k]`` the skill
    of family ``f`` on fold ``k``::

        family_score[f] = mean_k s[f, k] - 0.5 * std_k s[f, k]    # consistency
        score           = mean_f family_score[f] - 0.5 * std_f family_score[f]  # agreement

    The score is on the scale of a correlation, comparable across regression and
    classification targets, and never clipped, so it does not saturate.
    See ``docs/ranking.md``.

    **Significance.** A score above 0 can be luck, and with many candidates some noise
    target always scores above 0. Per target and family, the per-timestamp skill of the
    out-of-fold predictions (rank IC across symbols, AUC - 1/2 for classification, a
    pooled rank correlation for a single series:
    :func:`~intelligent_training.stats.skill_by_timestamp`) is tested for a mean above 0
    with a calibrated HAC t-test (equal-weighted cosine variance, Student-t reference,
    degrees of freedom set by the label horizon in bars:
    :func:`~intelligent_training.stats.hac_mean_test`; overlapping labels do not inflate
    it): ``<family>_t_stat``, ``<family>_p_value`` (one-sided). The families' p-values are
    combined with the Cauchy rule (valid however strongly the families agree; identical
    p-values give back that p-value) into the target's ``p_value``, and ``t_stat`` is the
    t that has this p-value. Across all candidates, Benjamini-Yekutieli ``q_value`` (valid
    under any dependence between targets); ``significant`` is ``q_value <= fdr``. The
    pooled Newey-West ``ic_tstat`` is not in the table: ``t_stat`` is its one t-statistic.

    **Selection.** ``selected_targets_``: eligible, not leaky, ``score > 0``, significant
    (unless ``fdr=None``, the score rule alone), ``score >= min_score``; then the best
    ``top_n`` by score. When fewer than ``top_n`` qualify, ``selection_note_`` (also
    logged) says how many failed which rule.

    **Early stopping (racing).** With ``early_stopping=True`` and a ``top_n``, the grid
    runs in fold waves (every target's cells of one fold, cheapest fold first). After each
    wave, a target stops when at least ``top_n`` other targets are surely selected (99 %
    bounds on their final score and p-value) and surely score higher than it can: it
    could neither be selected nor enter the top ``top_n``. It keeps the score and tests of
    its folds so far, with ``stopped_after_folds``. Up to the 99 % bounds, the selection
    and the top ``top_n`` are those of full evaluation; the rest of the order can differ.

    **Combinatorial splitter.** With
    :class:`~intelligent_training.model_selection.CombinatorialPurgedSplit` as ``cv``,
    every row is tested once per backtest path; the rankings add ``n_paths``,
    ``score_path_mean``, ``score_path_std`` and ``score_path_min`` (the composite score of
    each path's stitched out-of-fold predictions), and a timestamp's skill is the mean
    over the paths.

    **Eligibility.** Too few labelled rows, a constant target or a classification
    target whose rarest class is too rare are excluded (``eligible=False`` with the
    ``reason``). **Leakage sentinel.** A target whose score is at least
    ``leakage_score``, or which a single feature alone predicts with strength at
    least ``leakage_feature_corr`` (``|Spearman|``, or the AUC-implied correlation
    for binary targets), gets ``leakage_flag=True``, a ``leakage_reason`` and a
    :class:`~intelligent_training.exceptions.LeakageWarning`; it is never selected.

    **Speed.** LightGBM and XGBoost bin each fold's features once and reuse the bins
    for every target (see :mod:`intelligent_training.evaluation._fast`); other
    families are built with :func:`~intelligent_training.families.make_estimator`.
    ``n_jobs`` is the core budget: the grid runs ``n_jobs`` models at a time on
    threads, one thread per model (several only when the grid has fewer cells than
    ``n_jobs``), so the cores are never oversubscribed. A target is summarised as
    soon as its last cell is back.

    Parameters
    ----------
    families : list of str, dict or None, default=None
        Registry names, or ``{name: {param: value}}`` overrides. ``None`` uses
        ``["lightgbm", "xgboost"]`` (fast, with the bin-once path).
    cv : int, splitter or None, default=None
        ``None``: ``PurgedTimeSeriesSplit(n_splits=3)``; an int is ``n_splits``; a
        splitter with a ``horizon`` parameter gets each target's horizon.
    top_n : int or None, default=5
        How many targets to select (``None``: all that qualify).
    min_score : float or None, default=None
        Lowest score a selected target may have. Whatever it is, a selected target
        must beat the naive baseline (``score > 0``).
    n_jobs : int or None, default=None
        Core budget: models fitted at once (one thread each); ``None`` means 1,
        ``-1`` all cores.
    random_state : int, RandomState or None, default=None
        Seed of every model (same seed, same rankings).
    horizons : dict or None, default=None
        Per-target horizon overrides (bars as ``int``, or ``"15min"``-like).
    default_horizon : int, str or None, default=None
        Horizon of targets whose name has none (``None``: 0 bars, with a warning).
    memory : joblib.Memory-like, str or None, default=None
        Cache for each (target, family, fold) cell; a path becomes a
        :class:`~intelligent_training.cache.DiskCacheMemory`.
    verbose : bool, int or None, default=None
        Progress bar (``None``: when stderr is a terminal).
    fdr : float in (0, 1) or None, default=0.1
        False-discovery rate of the selection: a selected target needs a
        Benjamini-Yekutieli ``q_value <= fdr``. ``None``: no significance test, select on
        the score alone (``significant`` is NA).
    early_stopping : bool, default=True
        Stop hopeless targets between fold waves (racing); ``False`` evaluates every
        cell. Ignored with ``top_n=None``.
    min_rows : int, default=100
        Fewest labelled rows a target needs.
    min_class_rows : int, default=10
        Fewest rows of the rarest class of a classification target.
    leakage_score : float, default=0.9
        A score at least this high is flagged as implausible.
    leakage_feature_corr : float, default=0.95
        A single feature at least this strong is flagged.
    sample_weight : {None, "uniqueness"}, default=None
        ``"uniqueness"``: every model is fit with each row weighted by the average
        uniqueness of its label span over its symbol (López de Prado, ch. 4; overlapping
        labels count as the independent information they carry), for every family
        that takes sample weights; ``None``: unweighted. See ``docs/ranking.md``.

    Attributes
    ----------
    rankings_ : pandas.DataFrame
        One row per target (index ``target``), best first: ``rank``, ``score``,
        ``selected``, ``significant``, ``q_value``, ``p_value``, ``t_stat``,
        ``stopped_after_folds`` (NaN when evaluated on every fold), ``eligible``,
        ``reason``, ``leakage_flag``, ``leakage_reason``, ``task``, ``horizon``,
        ``horizon_bars``, ``n_rows``, ``skill_mean``, ``skill_std``, ``fold_scores``
        (family-averaged skill per fold), ``n_folds``, ``hac_lag``, ``skill_method``,
        and per family ``<family>_t_stat``, ``<family>_p_value``, ``<family>_score``,
        ``<family>_fold<k>`` (skill) and the pooled out-of-fold metrics
        (``<family>_r2``, ``_ic_mean``, ``_icir``, ``_dir_acc`` or ``<family>_auc``,
        ``_logloss``, ``_accuracy``), plus ``max_feature_corr`` and ``max_feature``
        (and the ``score_path_*`` columns with a combinatorial splitter).
    selected_targets_ : list of str
    selection_note_ : str
        Why fewer than ``top_n`` targets were selected (``""`` otherwise).
    skill_by_timestamp_ : DataFrame
        The per-timestamp skill series the tests used: ``target``, ``family``,
        ``timestamp``, ``value``, ``fold``.
    oof_predictions_ : dict of str to DataFrame
        Target -> out-of-fold predictions (one column per family; binary: P(larger
        class); multiclass: the most probable class) on its test rows; with a
        combinatorial splitter one row per (path, test row), ``path`` first in the
        index. A stopped target has the predictions of the folds it was evaluated on.
    families_ : dict
        Resolved ``{family: overrides}``.
    cv_ : splitter
        The base splitter (before the per-target horizon).
    horizons_ : dict
        Target -> horizon used.
    folds_ : DataFrame
        One row per (eligible target, fold): horizon, sizes, time spans and row
        digests of the purged folds (see :meth:`~intelligent_training.evaluation.TargetSet.fold_table`).
    tasks_ : dict
        Target -> task.
    feature_names_in_ : ndarray of str

    Examples
    --------
    >>> from intelligent_training.datasets import make_synthetic_panel
    >>> from intelligent_training.data import split_features_targets
    >>> panel, truth = make_synthetic_panel(n_symbols=3, n_timestamps=400, random_state=0)
    >>> X, Y = split_features_targets(panel)
    >>> ranker = TargetRanker(
    ...     families={"lightgbm": {"n_estimators": 20}}, top_n=2, random_state=0
    ... ).fit(X, Y)
    >>> ranker.rankings_.index[0] == truth.target_order[0]
    True
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
        top_n=[POSITIVE_INT, None],
        min_score=[StrictInterval(Real, None, None, closed="neither"), None],
        min_rows=[StrictInterval(Integral, 2, None, closed="left")],
        min_class_rows=[StrictInterval(Integral, 2, None, closed="left")],
        leakage_score=[StrictInterval(Real, 0, None, closed="neither")],
        leakage_feature_corr=[StrictInterval(Real, 0, None, closed="neither")],
        fdr=[StrictInterval(Real, 0, 1, closed="neither"), None],
        early_stopping=["boolean"],
    )

    def __init__(
        self,
        families: Any = None,
        cv: Any = None,
        top_n: int | None = 5,
        min_score: float | None = None,
        n_jobs: int | None = None,
        random_state: Any = None,
        horizons: dict[str, Any] | None = None,
        default_horizon: Any = None,
        memory: Any = None,
        verbose: bool | int | None = None,
        *,
        fdr: float | None = DEFAULT_FDR,
        early_stopping: bool = True,
        min_rows: int = 100,
        min_class_rows: int = 10,
        leakage_score: float = 0.9,
        leakage_feature_corr: float = 0.95,
        sample_weight: str | None = None,
    ) -> None:
        self.families = families
        self.cv = cv
        self.top_n = top_n
        self.min_score = min_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.horizons = horizons
        self.default_horizon = default_horizon
        self.memory = memory
        self.verbose = verbose
        self.fdr = fdr
        self.early_stopping = early_stopping
        self.min_rows = min_rows
        self.min_class_rows = min_class_rows
        self.leakage_score = leakage_score
        self.leakage_feature_corr = leakage_feature_corr
        self.sample_weight = sample_weight

    def _resolve_families(self) -> dict[str, dict[str, Any]]:
        from intelligent_training.families import get_family, resolve_families

        requested = list(DEFAULT_RANKER_FAMILIES) if self.families is None else self.families
        resolved = resolve_families(requested)
        usable: dict[str, dict[str, Any]] = {}
        for name, overrides in resolved.items():
            spec = get_family(name)
            if not spec.is_available():
                logger.warning(
                    "TargetRanker: family %r skipped, its dependency is missing (%s).",
                    name,
                    spec.install_hint,
                )
                continue
            usable[name] = dict(overrides or {})
        if not usable:
            raise FamilyError(
                f"TargetRanker: none of the families {list(resolved)} is usable; install their "
                "dependencies or choose others (see available_families())."
            )
        return usable

    # ------------------------------------------------------------------ fitting
    def fit(self, X: pd.DataFrame, Y: pd.DataFrame) -> TargetRanker:
        """Rank the columns of ``Y`` by out-of-sample predictability from ``X``.

        Parameters
        ----------
        X : pandas.DataFrame of shape (n_samples, n_features)
            Features of a panel (index ``("timestamp", "symbol")``).
        Y : pandas.DataFrame of shape (n_samples, n_targets)
            Candidate targets on the same index (NaN = unlabelled row).

        Returns
        -------
        self : TargetRanker
        """
        self._validate_params()
        X, Y = validate_inputs(X, Y)
        families = self._resolve_families()
        memory = resolve_memory(self.memory, OWNER)
        seed = resolve_seed(self.random_state, OWNER)
        data = features(X)
        targets = resolve_candidates(self, X, Y, data)
        find_strongest_features(targets, data)
        cells = plan_cells(self, targets, data, families, seed)
        evidence = new_evidence(self, targets, cells, list(families))
        oof = run_grid(self, cells, targets, data, evidence, memory)
        self._rank(targets, oof, evidence, families, X)
        return self

    def _rank(
        self,
        targets: CandidateTargets,
        oof: dict[str, pd.DataFrame],
        evidence: dict[str, TargetEvidence],
        families: dict[str, dict[str, Any]],
        X: pd.DataFrame,
    ) -> None:
        """Sort, select and store the fitted attributes."""
        rows = [{"target": t, **targets.rows[t]} for t in targets.names]
        rankings = rankings_frame(rows, top_n=self.top_n, min_score=self.min_score, fdr=self.fdr)
        self.families_ = families
        self.cv_ = targets.resolved.cv
        self.horizons_ = {t: targets.rows[t]["horizon"] for t in targets.names}
        self.tasks_ = {t: targets.rows[t]["task"] for t in targets.names}
        self.folds_ = targets.resolved.fold_table(targets.eligible)
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = X.shape[1]
        self.oof_predictions_ = {t: oof[t] for t in targets.names if t in oof}
        self.rankings_ = rankings
        self.selected_targets_ = list(rankings.index[rankings["selected"]])
        self.skill_by_timestamp_ = skill_table(evidence)
        self.selection_note_ = selection_note(
            rankings, top_n=self.top_n, min_score=self.min_score, fdr=self.fdr
        )
        logger.info(
            "TargetRanker: ranked %d targets (%d eligible) with %s; selected %s",
            len(targets.names),
            len(targets.eligible),
            list(families),
            self.selected_targets_,
        )
        if self.selection_note_:
            logger.info("TargetRanker: %s", self.selection_note_)

    def __sklearn_tags__(self) -> Any:
        # transform(Y) keeps target columns: a transformer of the targets, not of X.
        from sklearn.utils import TransformerTags

        tags = super().__sklearn_tags__()
        tags.transformer_tags = TransformerTags()
        tags.target_tags.required = True
        return tags

    # ------------------------------------------------------------------ transform
    def transform(self, Y: pd.DataFrame) -> pd.DataFrame:
        """Keep the selected targets of ``Y``.

        Parameters
        ----------
        Y : pandas.DataFrame
            Candidate targets (at least the selected ones).

        Returns
        -------
        pandas.DataFrame
            ``Y[selected_targets_]``.
        """
        check_is_fitted(self, "selected_targets_")
        if not isinstance(Y, pd.DataFrame):
            raise DataError(
                f"TargetRanker.transform: Y must be a DataFrame, got {type(Y).__name__}."
            )
        missing = [t for t in self.selected_targets_ if t not in Y.columns]
        if missing:
            raise DataError(
                f"TargetRanker.transform: Y lacks the selected targets {missing}; pass the same "
                "target columns as in fit."
            )
        return Y[self.selected_targets_]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the selected targets (the columns ``transform`` returns)."""
        check_is_fitted(self, "selected_targets_")
        return np.asarray(self.selected_targets_, dtype=object)
