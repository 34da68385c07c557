"""FeatureSelector: consensus feature selection across model families, as an sklearn selector."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from numbers import Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from intelligent_training.evaluation import Cell, CellResult, EvalData, resolve_seed
from intelligent_training.exceptions import FamilyError, ParameterError
from intelligent_training.families import resolve_families
from intelligent_training.selection._aggregate import (
    consensus,
    family_importances,
    fold_importances,
    fold_report,
    importances_frame,
)
from intelligent_training.selection._consensus import agreement_matrix
from intelligent_training.selection._fit_steps import (
    DEFAULT_N_SPLITS,  # noqa: F401  (re-exported: the config tests read it here)
    OWNER,
    feature_names,
    plan_cells,
    resolve_target,
    run_grid,
    validate_inputs,
)
from intelligent_training.selection._relevance import (
    fold_skills,
    log_relevance,
    real_results,
    relevance,
    with_shadows,
)
from intelligent_training.utils._param_validation import (
    POSITIVE_INT,
    StrictInterval,
    Subset,
    ValidatedParamsMixin,
    stage_constraints,
)

__all__ = ["FeatureSelector"]


IMPORTANCE_METHODS: tuple[str, ...] = ("native", "shap", "permutation")
RELEVANCE_TESTS: tuple[str, ...] = ("shadow",)


class FeatureSelector(ValidatedParamsMixin, SelectorMixin, BaseEstimator):
    """Select the features of one target by consensus across model families.

    For every family and every purged walk-forward fold (the target contract:
    :func:`~intelligent_training.evaluation.resolve_targets`), a model is fit on the
    fold's training rows and its feature importance is measured **out of sample** on
    the fold's test rows (native importance comes from the fold model; SHAP and
    permutation importance are computed on the test rows). Importances are
    normalised per family and method, averaged over folds (and over symbols when
    ``aggregate_symbols=True``), and combined across families by rank aggregation.
    Highly correlated features are clustered first and ranked as one candidate, so
    near-copies of a strong signal cannot crowd a distinct signal out of the top-M;
    the cluster's best member is kept. See ``docs/selection.md``.

    Which features are eligible depends on ``relevance``:

    - ``"shadow"`` (default): every feature gets a *shadow*, its own values circularly
      shifted in time within each symbol (same distribution and autocorrelation, no
      link to the target), and the shadows go through the same cells as the features.
      A feature is *relevant* when its importance beats the best shadow's in a strict
      majority of the voting (family, fold) cells; a cell votes only when its model
      learnt the target on that fold (out-of-sample skill > 0), so a feature that only
      the non-linear families can see is not outvoted by a linear model that sees
      nothing. The selection is the ``top_m`` relevant features by consensus score over
      the families with positive mean fold skill, fewer when fewer are relevant (logged).
    - ``None``: no relevance test; a feature is eligible when at least
      ``require_min_models`` families rank it in their top set, and the ``top_m`` best
      eligible features are selected.

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
        The minimum number of families that must fit successfully; with
        ``relevance=None`` also the families that must rank a feature in their top set
        for it to be eligible.
    cv : int, cross-validation splitter or None, default=None
        ``None`` or an int gives a :class:`~intelligent_training.PurgedTimeSeriesSplit`
        with 3 (or ``cv``) splits; a splitter with a ``horizon`` parameter (this one
        included) is cloned with the target's horizon, another splitter is used as
        given.
    aggregate_symbols : bool, default=False
        Measure SHAP and permutation importance on every symbol's test rows
        separately, normalise per symbol, then average over symbols, so every symbol
        weighs the same whatever its volatility. Needs a ``symbol`` index level.
    correlation_threshold : float in (0, 1] or None, default=0.9
        Features whose absolute Spearman correlation (on at most 5000 sampled rows)
        is at least this are clustered together; ``None`` disables clustering.
    explain_rows : int or None, default=2000
        Row budget of SHAP and permutation importance per (family, fold): a
        stratified-in-time sample of the fold's test rows (one row drawn in each of
        ``explain_rows`` equal consecutive strata), the same rows for every family and
        for the shadow features; ``None`` explains every test row. Permutation costs
        ``2 * n_features * n_repeats`` predictions of this many rows (the shadows
        double the columns); raise it when the signals are weak and the estimate noisy.
        Families whose model reads the panel index (sequence windows) are permuted on
        every test row.
    n_repeats : int, default=3
        Shuffles per feature for permutation importance.
    random_state : int, RandomState or None, default=None
        Seeds the families, the shuffles and the row samples (the engine's seeding
        rule: same results whatever ``n_jobs`` or the cache).
    n_jobs : int or None, default=None
        Core budget of the (family, fold) cells: ``n_jobs`` one-thread cells at a time
        (``None``: 1, ``-1``: all cores).
    verbose : bool, int or None, default=None
        Progress bar over the (family, fold) cells; ``None`` shows it on a terminal.
    horizons : dict or None, default=None
        Target name -> horizon override (bars as an int, or ``"15min"``-like).
    default_horizon : int, str or None, default=None
        Horizon of a target whose name has none (``None``: 0 bars, with a warning).
        The horizon of ``y`` is: ``horizons[y.name]``, else the token in ``y.name``
        (e.g. ``fwd_ret_15m``), else ``default_horizon``; an unnamed ``y`` has 0.
    memory : joblib.Memory-like, str or None, default=None
        Cache of every (family, fold) cell: a killed or repeated fit recomputes only
        the missing cells.
    relevance : {"shadow"} or None, default="shadow"
        The relevance test (above): ``"shadow"`` doubles the columns every cell fits
        on; ``None`` keeps the top-set vote alone.
    sample_weight : {None, "uniqueness"}, default=None
        ``"uniqueness"``: every model is fit with each row weighted by the average
        uniqueness of its label span over its symbol (López de Prado, ch. 4; overlapping
        labels count as the independent information they carry), for every family
        that takes sample weights; ``None``: unweighted. See ``docs/ranking.md``.

    Attributes
    ----------
    feature_importances_ : ndarray of shape (n_features,)
        Consensus score in ``[0, 1]`` of every input feature: its mean rank score over
        the families (1 = ranked first by every family; with ``relevance="shadow"``,
        the voting families).
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
    shadow_wins_ : DataFrame
        Only with ``relevance="shadow"``: one row per feature, ``shadow_wins`` (voting
        cells where it beats the best shadow), ``n_votes`` (voting cells),
        ``shadow_win_share`` and ``relevant`` (``2 * shadow_wins > n_votes``).
    fold_skill_ : DataFrame
        Only with ``relevance="shadow"``: out-of-sample skill of every (family, fold)
        cell (:func:`~intelligent_training.metrics.skill_score`); a cell with skill
        <= 0 does not vote in ``shadow_wins_``.
    voting_families_ : list of str
        Only with ``relevance="shadow"``: the families with mean fold skill > 0, whose
        importances make the consensus score.
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
        CPU seconds of the cell's thread, whether it came from the cache, error.
    task_ : str
        ``"regression"``, ``"binary"`` or ``"multiclass"`` (inferred from ``y``).
    cv_ : cross-validation splitter
        The splitter that built the folds (cloned with the target's horizon).
    horizons_ : dict
        Target name -> the horizon its folds were purged with.
    folds_ : DataFrame
        The purged folds (horizon, sizes, time spans, row digests), as the ranker's
        and the trainer's ``folds_``.
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
        importance=[Subset(IMPORTANCE_METHODS)],
        top_m=[POSITIVE_INT],
        require_min_models=[POSITIVE_INT],
        aggregate_symbols=["boolean"],
        correlation_threshold=[StrictInterval(Real, 0, 1, closed="right"), None],
        explain_rows=[POSITIVE_INT, None],
        n_repeats=[POSITIVE_INT],
        relevance=[StrOptions(set(RELEVANCE_TESTS)), None],
    )

    def __init__(
        self,
        families: Any = None,
        importance: Iterable[str] | str = IMPORTANCE_METHODS,
        top_m: int = 100,
        require_min_models: int = 2,
        cv: Any = None,
        aggregate_symbols: bool = False,
        correlation_threshold: float | None = 0.9,
        explain_rows: int | None = 2000,
        n_repeats: int = 3,
        random_state: Any = None,
        n_jobs: int | None = None,
        verbose: bool | int | None = None,
        horizons: dict[str, Any] | None = None,
        default_horizon: Any = None,
        memory: Any = None,
        relevance: str | None = "shadow",
        sample_weight: str | None = None,
    ) -> None:
        self.families = families
        self.importance = importance
        self.top_m = top_m
        self.require_min_models = require_min_models
        self.cv = cv
        self.aggregate_symbols = aggregate_symbols
        self.correlation_threshold = correlation_threshold
        self.explain_rows = explain_rows
        self.n_repeats = n_repeats
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.horizons = horizons
        self.default_horizon = default_horizon
        self.memory = memory
        self.relevance = relevance
        self.sample_weight = sample_weight

    # ------------------------------------------------------------------ validation

    def _check_params(self) -> tuple[str, ...]:
        """Check the parameters (``_parameter_constraints``); return the importance methods."""
        self._validate_params()
        return (self.importance,) if isinstance(self.importance, str) else tuple(self.importance)

    # ------------------------------------------------------------------ fitting

    def fit(self, X: Any, y: Any) -> FeatureSelector:
        """Measure importance per family and fold, and select the consensus features.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Features. A panel (``("timestamp", "symbol")`` MultiIndex) gives the
            timestamps of the purged folds; for an array, row order is time.
        y : Series or array-like of shape (n_samples,)
            The target. Rows where it is NaN are left out of every fold (the folds
            are cut on all rows' timestamps, as in every stage).

        Returns
        -------
        self : FeatureSelector
        """
        methods = self._check_params()
        data, Y, unnamed = validate_inputs(self, X, y)
        target = str(Y.columns[0])
        resolved = resolve_target(self, X, Y, data, unnamed)
        spec = resolved[target]
        self.task_ = spec.task
        self.cv_ = spec.splitter
        self.horizons_ = {target: spec.horizon}
        self.folds_ = resolved.fold_table()
        families = resolve_families(self.families)
        if self.require_min_models > len(families):
            raise ParameterError(
                f"FeatureSelector: require_min_models={self.require_min_models} but only "
                f"{len(families)} families were given ({', '.join(families)}); add families "
                "or lower require_min_models."
            )
        seed = resolve_seed(self.random_state, OWNER)
        grid = with_shadows(data, seed) if self.relevance == "shadow" else data
        cells, family_errors = plan_cells(self, resolved, grid, target, families, methods)
        results = run_grid(self, cells, grid)
        self._combine(results, families, family_errors, methods, data, grid)
        return self

    def _combine(
        self,
        results: list[tuple[Cell, CellResult]],
        families: dict[str, dict[str, Any]],
        family_errors: dict[str, str],
        methods: tuple[str, ...],
        data: EvalData,
        grid: EvalData,
    ) -> None:
        """Normalise, average over groups and folds, test relevance, run the consensus.

        ``grid`` is what the cells ran on: ``data`` with the shadow columns appended
        when ``relevance="shadow"``.
        """
        order = list(families)
        results.sort(key=lambda cr: (order.index(cr[0].family), cr[0].fold))
        names = feature_names(self)
        shadowed = grid is not data
        all_results = results
        if shadowed:
            results = real_results(results, len(names))
        importances = family_importances(results, order, methods, family_errors)
        self.family_errors_ = family_errors
        self.fold_report_ = fold_report(results)
        if len(importances.scores) < self.require_min_models:
            details = "; ".join(f"{f}: {why}" for f, why in family_errors.items())
            raise FamilyError(
                f"FeatureSelector: only {len(importances.scores)} of {len(families)} families "
                f"succeeded but require_min_models={self.require_min_models}. "
                f"Failures: {details or 'none'}. Fix or replace the failing families, or "
                "lower require_min_models."
            )
        self.families_ = list(importances.scores)
        self.fold_importances_ = fold_importances(results, self.families_, methods, names)
        self.importances_ = importances_frame(importances.table, names)
        scores = np.vstack([importances.scores[f] for f in self.families_])
        voters, relevant = self.families_, None
        if shadowed:
            voters, relevant = self._relevance(all_results, grid, methods, names)
        # The consensus score of the voting families (all of them when none votes: then
        # no feature is relevant and the score is only reported).
        rows = [self.families_.index(f) for f in voters] or list(range(len(self.families_)))
        result = consensus(
            scores[rows],
            data,
            names,
            top_m=int(self.top_m),
            require_min_models=max(1, min(int(self.require_min_models), len(voters))),
            correlation_threshold=self.correlation_threshold,
            random_state=self.random_state,
            relevant=relevant,
        )
        if shadowed:
            log_relevance(
                result.selected_features, relevant, voters, self.families_, int(self.top_m)
            )
        self.feature_importances_ = result.feature_importances
        self.support_ = result.support
        self.selected_features_ = result.selected_features
        self.feature_clusters_ = result.feature_clusters
        self.votes_ = result.votes
        self.agreement_matrix_ = agreement_matrix(scores, self.families_)

    def _relevance(
        self,
        results: list[tuple[Cell, CellResult]],
        grid: EvalData,
        methods: tuple[str, ...],
        names: np.ndarray,
    ) -> tuple[list[str], np.ndarray]:
        """The shadow test: ``shadow_wins_``, ``fold_skill_``, ``voting_families_``."""
        skills = fold_skills(results, grid)
        outcome = relevance(results, self.families_, methods, skills, [str(n) for n in names])
        self.shadow_wins_ = outcome.table
        self.fold_skill_ = skills.reindex(self.families_)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a family with no skill at all
            mean_skill = self.fold_skill_.mean(axis=1)
        self.voting_families_ = [f for f in self.families_ if mean_skill.get(f, np.nan) > 0]
        relevant = outcome.table["relevant"].to_numpy(dtype=bool)
        if not self.voting_families_:
            relevant = np.zeros_like(relevant)
        return self.voting_families_, relevant

    # ------------------------------------------------------------------ selection

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.support_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = True
        return tags
