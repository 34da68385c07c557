"""``TargetRanker``: rank candidate targets by out-of-sample predictability."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from intelligent_training._progress import progress
from intelligent_training.exceptions import (
    ConfigError,
    DataError,
    FamilyError,
    LeakageWarning,
    SplitError,
)
from intelligent_training.metrics import classification_metrics, regression_metrics, skill_score
from intelligent_training.ranking._eligibility import check_eligibility
from intelligent_training.ranking._fast_trees import (
    FAST_FAMILIES,
    FoldBins,
    lightgbm_native_params,
    xgboost_native_params,
)
from intelligent_training.ranking._leakage import single_feature_strength
from intelligent_training.ranking._score import (
    LAMBDA_FAMILY,
    LAMBDA_FOLD,
    composite_score,
    family_scores,
)

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_RANKER_FAMILIES", "TargetRanker"]

#: Families used when ``families=None``: the two fast gradient-boosting families,
#: which have the bin-once fast path. (The registry's configured default list also
#: holds slower families; pass ``families=`` to use them.)
DEFAULT_RANKER_FAMILIES: tuple[str, ...] = ("lightgbm", "xgboost")
DEFAULT_N_SPLITS = 3
_MIN_TRAIN_ROWS = 20


@dataclass
class _Cell:
    """One (target, family, fold) unit of work; everything it needs to run."""

    target: str
    family: str
    fold: int
    task: str
    n_classes: int
    train_rows: np.ndarray  # global row positions
    test_rows: np.ndarray
    y_train: np.ndarray
    overrides: dict[str, Any]
    seed: int | None
    threads: int
    bins: FoldBins | None = None
    base_positions: np.ndarray | None = None
    native: dict[str, Any] = field(default_factory=dict)
    num_boost_round: int = 0
    label_horizon: int = 0  # bars; purges the family's own holdout (early stopping, stacking)


def _fit_predict_cell(cell_key: str, cell: _Cell, X: pd.DataFrame, X_np: np.ndarray) -> np.ndarray:
    """Fit one cell and return its test-fold predictions.

    ``cell_key`` fingerprints everything the result depends on; ``cell``, ``X`` and
    ``X_np`` are ignored by the cache (too large to hash on every call).

    Returns
    -------
    ndarray
        Regression: predictions ``(n_test,)``; binary: P(class 1) ``(n_test,)``;
        multiclass: probabilities ``(n_test, n_classes)``.
    """
    del cell_key  # only part of the cache key
    if cell.bins is not None:
        assert cell.base_positions is not None
        return cell.bins.fit_predict(
            cell.base_positions,
            cell.y_train,
            X_np[cell.test_rows],
            cell.native,
            cell.num_boost_round,
        )
    from intelligent_training.families import make_estimator

    est = make_estimator(
        cell.family,
        cell.task,
        cell.overrides,
        random_state=cell.seed,
        n_jobs=cell.threads,
        label_horizon=cell.label_horizon,
    )
    y_fit = cell.y_train if cell.task == "regression" else cell.y_train.astype(np.int64)
    est.fit(X.iloc[cell.train_rows], y_fit)
    X_test = X.iloc[cell.test_rows]
    if cell.task == "regression":
        return np.asarray(est.predict(X_test), dtype=np.float64).reshape(-1)
    proba = np.asarray(est.predict_proba(X_test), dtype=np.float64)
    full = np.zeros((len(cell.test_rows), cell.n_classes))
    full[:, np.asarray(est.classes_, dtype=np.int64)] = proba
    return full[:, 1] if cell.task == "binary" else full


class TargetRanker(BaseEstimator):
    """Rank candidate targets by how predictable they are out of sample.

    For every target x family x fold of a purged walk-forward split, a model is fit
    on the training rows and scored on the test fold. The splitter is cloned per
    target with that target's horizon (a 60m label is purged more than a 5m one),
    and rows whose target is NaN are dropped for that target only.

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

    **Eligibility.** Too few labelled rows, a constant target or a classification
    target whose rarest class is too rare are excluded (``eligible=False`` with the
    ``reason``). **Leakage sentinel.** A target whose score is at least
    ``leakage_score``, or which a single feature alone predicts with strength at
    least ``leakage_feature_corr`` (``|Spearman|``, or the AUC-implied correlation
    for binary targets), gets ``leakage_flag=True``, a ``leakage_reason`` and a
    :class:`~intelligent_training.exceptions.LeakageWarning`; it is never selected.

    **Speed.** LightGBM and XGBoost bin each fold's training features once and reuse
    the bins for every target (see ``_fast_trees``); other families are built with
    :func:`~intelligent_training.families.make_estimator`. ``n_jobs`` is the core
    budget: the grid runs ``n_jobs`` models at a time on threads, one thread per
    model (several only when the grid has fewer cells than ``n_jobs``), so the
    cores are never oversubscribed.

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
    min_rows : int, default=100
        Fewest labelled rows a target needs.
    min_class_rows : int, default=10
        Fewest rows of the rarest class of a classification target.
    leakage_score : float, default=0.9
        A score at least this high is flagged as implausible.
    leakage_feature_corr : float, default=0.95
        A single feature at least this strong is flagged.

    Attributes
    ----------
    rankings_ : pandas.DataFrame
        One row per target (index ``target``), best first: ``rank``, ``score``,
        ``eligible``, ``reason``, ``leakage_flag``, ``leakage_reason``, ``selected``,
        ``task``, ``horizon``, ``horizon_bars``, ``n_rows``, ``skill_mean``,
        ``skill_std``, ``fold_scores`` (family-averaged skill per fold), and per
        family ``<family>_score``, ``<family>_fold<k>`` (skill) and the pooled
        out-of-fold metrics (``<family>_r2``, ``_ic_mean``, ``_icir``, ``_ic_tstat``,
        ``_dir_acc`` or ``<family>_auc``, ``_logloss``, ``_accuracy``), plus
        ``max_feature_corr`` and ``max_feature``.
    selected_targets_ : list of str
    oof_predictions_ : dict of str to DataFrame
        Target -> out-of-fold predictions (one column per family; binary: P(larger
        class); multiclass: the most probable class) on its test rows.
    families_ : dict
        Resolved ``{family: overrides}``.
    cv_ : splitter
        The base splitter (before the per-target horizon).
    horizons_ : dict
        Target -> horizon used.
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
        min_rows: int = 100,
        min_class_rows: int = 10,
        leakage_score: float = 0.9,
        leakage_feature_corr: float = 0.95,
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
        self.min_rows = min_rows
        self.min_class_rows = min_class_rows
        self.leakage_score = leakage_score
        self.leakage_feature_corr = leakage_feature_corr

    # ------------------------------------------------------------------ validation
    def _validate_params(self) -> None:
        if self.top_n is not None and (
            not isinstance(self.top_n, Integral) or isinstance(self.top_n, bool) or self.top_n < 1
        ):
            raise ConfigError(
                f"TargetRanker: top_n must be a positive int or None, got {self.top_n!r}."
            )
        if self.min_score is not None and not isinstance(self.min_score, Real):
            raise ConfigError(
                f"TargetRanker: min_score must be a number or None, got {self.min_score!r}."
            )
        for name in ("min_rows", "min_class_rows"):
            value = getattr(self, name)
            if not isinstance(value, Integral) or isinstance(value, bool) or value < 2:
                raise ConfigError(f"TargetRanker: {name} must be an int >= 2, got {value!r}.")
        for name in ("leakage_score", "leakage_feature_corr"):
            value = getattr(self, name)
            if not isinstance(value, Real) or not float(value) > 0:
                raise ConfigError(f"TargetRanker: {name} must be a positive number, got {value!r}.")
        if self.horizons is not None and not isinstance(self.horizons, dict):
            raise ConfigError(
                "TargetRanker: horizons must be a dict {target: horizon} or None, "
                f"got {type(self.horizons).__name__}."
            )

    @staticmethod
    def _validate_data(X: Any, Y: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
        if not isinstance(X, pd.DataFrame):
            raise DataError(
                f"TargetRanker.fit: X must be a pandas DataFrame of features, got {type(X).__name__}."
            )
        if isinstance(Y, pd.Series):
            Y = Y.to_frame(name=Y.name if Y.name is not None else "target")
        if not isinstance(Y, pd.DataFrame):
            raise DataError(
                f"TargetRanker.fit: Y must be a DataFrame of candidate targets, got {type(Y).__name__}."
            )
        if Y.shape[1] == 0:
            raise DataError("TargetRanker.fit: Y has no target columns; pass at least one target.")
        if len(X) != len(Y) or not X.index.equals(Y.index):
            raise DataError(
                f"TargetRanker.fit: X ({len(X)} rows) and Y ({len(Y)} rows) must share the same "
                "index; build both from one panel with split_features_targets."
            )
        if X.shape[1] == 0:
            raise DataError("TargetRanker.fit: X has no feature columns.")
        for frame, what in ((X, "feature"), (Y, "target")):
            if frame.columns.has_duplicates:
                dups = sorted(set(map(str, frame.columns[frame.columns.duplicated()])))
                raise DataError(
                    f"TargetRanker.fit: duplicate {what} names {dups[:5]}; make the column "
                    "names unique."
                )
        bad = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c].dtype)]
        if bad:
            raise DataError(
                f"TargetRanker.fit: non-numeric feature columns {bad[:5]}; drop or encode them."
            )
        overlap = sorted(set(map(str, X.columns)) & set(map(str, Y.columns)))
        if overlap:
            raise DataError(
                f"TargetRanker.fit: columns {overlap[:5]} are both features and targets."
            )
        return X, Y

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

    def _resolve_cv(self) -> Any:
        from intelligent_training.model_selection import PurgedTimeSeriesSplit

        if self.cv is None:
            return PurgedTimeSeriesSplit(n_splits=DEFAULT_N_SPLITS)
        if isinstance(self.cv, Integral) and not isinstance(self.cv, bool):
            return PurgedTimeSeriesSplit(n_splits=int(self.cv))
        if not hasattr(self.cv, "split") or not hasattr(self.cv, "get_params"):
            raise ConfigError(
                "TargetRanker: cv must be None, an int or a splitter with .split() and "
                f".get_params() (e.g. PurgedTimeSeriesSplit), got {self.cv!r}."
            )
        return clone(self.cv)

    def _resolve_memory(self) -> Any:
        if self.memory is None:
            return None
        if isinstance(self.memory, (str, os.PathLike)):
            from intelligent_training.cache import DiskCacheMemory

            return DiskCacheMemory(os.fspath(self.memory))
        if not hasattr(self.memory, "cache"):
            raise ConfigError(
                "TargetRanker: memory must be None, a path or an object with .cache() "
                f"(joblib.Memory, DiskCacheMemory); got {type(self.memory).__name__}."
            )
        return self.memory

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
        from joblib import Parallel, delayed, effective_n_jobs

        from intelligent_training.data import (
            grid_step,
            horizon_in_bars,
            infer_task,
            resolve_horizons,
        )
        from intelligent_training.model_selection import get_timestamps

        self._validate_params()
        X, Y = self._validate_data(X, Y)
        families = self._resolve_families()
        cv = self._resolve_cv()
        memory = self._resolve_memory()
        targets = [str(c) for c in Y.columns]
        Y = Y.set_axis(targets, axis=1)

        X_np = X.to_numpy(dtype=np.float32)
        if np.isinf(X_np).any():
            col = X.columns[np.isinf(X_np).any(axis=0)][0]
            raise DataError(f"TargetRanker.fit: feature {col!r} contains inf; clean it first.")
        timestamps = get_timestamps(X)
        horizons = resolve_horizons(targets, overrides=self.horizons, default=self.default_horizon)
        step = grid_step(timestamps)

        seed = _seed(self.random_state)
        budget = max(1, int(effective_n_jobs(self.n_jobs)))  # cores we may use

        # -------- per-target checks (task, eligibility, leakage sentinel)
        info: dict[str, dict[str, Any]] = {}
        labels: dict[str, np.ndarray] = {}
        rank_cache: dict[bytes, Any] = {}  # feature ranks shared by targets on the same rows
        for t in targets:
            y = Y[t]
            numeric = pd.api.types.is_numeric_dtype(y.dtype) or pd.api.types.is_bool_dtype(y.dtype)
            task = infer_task(y) if numeric else "regression"
            eligible, reason = check_eligibility(
                y, task, min_rows=self.min_rows, min_class_rows=self.min_class_rows
            )
            h = horizons[t]
            row: dict[str, Any] = {
                "task": task,
                "horizon": h,
                "horizon_bars": horizon_in_bars(h, step),
                "n_rows": int(y.notna().sum()),
                "eligible": eligible,
                "reason": reason,
                "leakage_flag": False,
                "leakage_reason": "",
                "max_feature_corr": np.nan,
                "max_feature": None,
                "n_classes": 0,
                "classes": None,
            }
            if eligible:
                values = y.to_numpy(dtype=np.float64, na_value=np.nan)
                if task != "regression":
                    finite = np.isfinite(values)
                    classes, codes = np.unique(values[finite], return_inverse=True)
                    encoded = np.full(len(values), np.nan)
                    encoded[finite] = codes
                    values = encoded
                    row["n_classes"] = len(classes)
                    row["classes"] = classes
                labels[t] = values
                strength = single_feature_strength(X_np, values, task, cache=rank_cache)
                if np.isfinite(strength).any():
                    j = int(np.nanargmax(strength))
                    row["max_feature_corr"] = float(strength[j])
                    row["max_feature"] = str(X.columns[j])
            info[t] = row

        eligible_targets = [t for t in targets if info[t]["eligible"]]
        # -------- splits per distinct horizon, fold bases shared across horizons
        splits: dict[Any, list[tuple[np.ndarray, np.ndarray]]] = {}
        for t in eligible_targets:
            key = _hkey(info[t]["horizon"])
            if key not in splits:
                splits[key] = self._split_for_horizon(cv, X, info[t]["horizon"])
        bases = _fold_bases(splits)
        # Many small models: run `budget` of them at once, one thread each; only a grid
        # smaller than the budget gives each model several threads (never more than
        # `budget` threads in all).
        n_cells = len(families) * sum(
            len(splits[_hkey(info[t]["horizon"])]) for t in eligible_targets
        )
        n_workers = max(1, min(budget, n_cells))
        threads = max(1, budget // n_workers)

        # -------- build the grid
        fast_params: dict[tuple[str, str, int, int], tuple[dict[str, Any], int]] = {}
        bins: dict[tuple[Any, ...], FoldBins] = {}
        cells: list[_Cell] = []
        for t in eligible_targets:
            row = info[t]
            task, n_classes = row["task"], max(row["n_classes"], 0)
            valid = np.isfinite(labels[t])
            # Largest training set first: the grid then ends on small cells, so both
            # workers finish at about the same time.
            folds = sorted(enumerate(splits[_hkey(row["horizon"])]), key=lambda kv: -len(kv[1][0]))
            for fold, (train, test) in folds:
                train_rows = train[valid[train]]
                test_rows = test[valid[test]]
                if len(train_rows) < _MIN_TRAIN_ROWS or len(test_rows) < 2:
                    continue
                y_train = labels[t][train_rows]
                if task != "regression" and len(np.unique(y_train)) < 2:
                    continue
                for fam, overrides in families.items():
                    cell = _Cell(
                        target=t,
                        family=fam,
                        fold=fold,
                        task=task,
                        n_classes=n_classes,
                        train_rows=train_rows,
                        test_rows=test_rows,
                        y_train=y_train,
                        overrides=overrides,
                        seed=seed,
                        threads=threads,
                        label_horizon=int(row["horizon_bars"]),
                    )
                    if fam in FAST_FAMILIES:
                        self._attach_fast_path(
                            cell, fast_params, bins, bases[(_hkey(row["horizon"]), fold)], X_np
                        )
                    cells.append(cell)

        # -------- run the grid
        x_fp: str = ""
        y_fps: dict[str, str] = {}
        if memory is not None:
            from intelligent_training.cache import fingerprint

            x_fp = fingerprint(X)
            y_fps = {t: fingerprint(Y[t]) for t in eligible_targets}

        def key_of(cell: _Cell) -> str:
            if memory is None:
                return ""
            return fingerprint(
                x_fp,
                y_fps[cell.target],
                cell.family,
                cell.task,
                sorted((str(k), repr(v)) for k, v in cell.overrides.items()),
                cell.seed,
                cell.label_horizon,
                cell.train_rows,
                cell.test_rows,
                cell.bins is not None,
            )

        keys = [key_of(c) for c in cells]

        # -------- run the grid; a target is summarised (metrics, score, sentinel) as soon
        # as its last cell is back, on this thread while the workers keep training, so
        # the summaries do not add a serial tail after the grid.
        n_folds = max((len(s) for s in splits.values()), default=0)
        by_target: dict[str, list[tuple[_Cell, np.ndarray | None, str]]] = {}
        pending: dict[str, int] = {}
        for cell in cells:
            pending[cell.target] = pending.get(cell.target, 0) + 1
        oof: dict[str, pd.DataFrame] = {}
        done: set[str] = set()

        def summarise(t: str) -> None:
            done.add(t)
            self._summarise_target(
                t,
                info[t],
                by_target.get(t, []),
                list(families),
                n_folds,
                labels[t],
                timestamps,
                X.index,
                oof,
            )

        def consume(stream: Any) -> list[tuple[np.ndarray | None, str]]:
            out = []
            for cell, (pred, err) in zip(cells, stream):
                out.append((pred, err))
                by_target.setdefault(cell.target, []).append((cell, pred, err))
                pending[cell.target] -= 1
                if pending[cell.target] == 0:
                    summarise(cell.target)
            return out

        if _distributed_backend_active():
            results = consume(_run_distributed(cells, keys, X, X_np, memory, self.verbose))
        else:
            run = _cached(memory)
            parallel = Parallel(n_jobs=n_workers, backend="threading", return_as="generator")
            results = consume(
                progress(
                    parallel(delayed(_safe_run)(run, k, c, X, X_np) for k, c in zip(keys, cells)),
                    total=len(cells),
                    desc="ranking targets",
                    verbose=self.verbose,
                )
            )
        if cells and all(r[0] is None for r in results):
            raise FamilyError("TargetRanker: every model fit failed; first error: " + results[0][1])

        # -------- assemble
        rows = []
        for t in targets:
            if info[t]["eligible"] and t not in done:  # no cell at all (folds too small)
                summarise(t)
            rows.append({"target": t, **info[t]})
        oof = {t: oof[t] for t in targets if t in oof}
        rankings = self._rankings_frame(rows, list(families), n_folds)

        self.families_ = families
        self.cv_ = cv
        self.horizons_ = {t: info[t]["horizon"] for t in targets}
        self.tasks_ = {t: info[t]["task"] for t in targets}
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = X.shape[1]
        self.oof_predictions_ = oof
        self.rankings_ = rankings
        self.selected_targets_ = list(rankings.index[rankings["selected"]])
        logger.info(
            "TargetRanker: ranked %d targets (%d eligible) with %s; selected %s",
            len(targets),
            len(eligible_targets),
            list(families),
            self.selected_targets_,
        )
        return self

    @staticmethod
    def _split_for_horizon(
        cv: Any, X: pd.DataFrame, horizon: Any
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        splitter = clone(cv)
        if "horizon" in splitter.get_params():
            splitter.set_params(horizon=horizon)
        folds = [
            (np.asarray(tr, dtype=np.int64), np.asarray(te, dtype=np.int64))
            for tr, te in splitter.split(X)
        ]
        if not folds:
            raise SplitError(f"TargetRanker: the splitter {splitter!r} produced no folds.")
        return folds

    @staticmethod
    def _attach_fast_path(
        cell: _Cell,
        fast_params: dict[tuple[str, str, int, int], tuple[dict[str, Any], int]],
        bins: dict[tuple[Any, ...], FoldBins],
        base: tuple[Any, np.ndarray],
        X_np: np.ndarray,
    ) -> None:
        from intelligent_training.families import family_params

        # "auto" leaf sizes depend on the training rows, as in the estimator's fit
        n_rows = len(cell.train_rows)
        key = (cell.family, cell.task, cell.n_classes, n_rows)
        if key not in fast_params:
            params = family_params(cell.family, cell.task, cell.overrides, n_rows=n_rows)
            mapper = lightgbm_native_params if cell.family == "lightgbm" else xgboost_native_params
            fast_params[key] = mapper(
                params, cell.task, cell.n_classes, random_state=cell.seed, n_threads=cell.threads
            )
        native, rounds = fast_params[key]
        if cell.family == "lightgbm":
            bin_params = {k: v for k, v in native.items() if k not in ("objective", "num_class")}
        else:
            bin_params = {"max_bin": native.get("max_bin", 256), "nthread": cell.threads}
        base_id, base_rows = base
        bkey = (cell.family, base_id, repr(sorted(bin_params.items())))
        if bkey not in bins:
            bins[bkey] = FoldBins(cell.family, X_np[base_rows], bin_params)
        cell.bins = bins[bkey]
        cell.base_positions = np.searchsorted(base_rows, cell.train_rows).astype(np.int32)
        cell.native = native
        cell.num_boost_round = rounds

    def _summarise_target(
        self,
        target: str,
        row: dict[str, Any],
        results: list[tuple[_Cell, np.ndarray | None, str]],
        families: list[str],
        n_folds: int,
        y: np.ndarray,
        timestamps: np.ndarray,
        index: pd.Index,
        oof: dict[str, pd.DataFrame],
    ) -> None:
        task = row["task"]
        skills = np.full((len(families), n_folds), np.nan)
        preds: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {f: [] for f in families}
        errors: list[str] = []
        for cell, pred, err in results:
            fi = families.index(cell.family)
            if pred is None:
                errors.append(f"{cell.family} fold {cell.fold}: {err}")
                continue
            # A cell only needs its skill (Spearman / AUC): no per-timestamp rank IC here;
            # the full metrics are computed once per family on the pooled predictions.
            skills[fi, cell.fold] = skill_score(
                task, self._metrics(task, y[cell.test_rows], pred, None, row, cell.n_classes)
            )
            preds[cell.family].append((cell.test_rows, pred))
        if not np.isfinite(skills).any():
            row["eligible"] = False
            row["reason"] = "no model could be fit" + (
                f" ({errors[0]})" if errors else " (every fold too small after purging)"
            )
            return
        fam_scores = family_scores(skills, LAMBDA_FOLD)
        row["score"] = composite_score(skills, LAMBDA_FOLD, LAMBDA_FAMILY)
        finite = skills[np.isfinite(skills)]
        row["skill_mean"] = float(finite.mean())
        row["skill_std"] = float(finite.std())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            row["fold_scores"] = [float(v) for v in np.nanmean(skills, axis=0)]
        row["n_folds"] = int(np.isfinite(skills).any(axis=0).sum())

        oof_cols: dict[str, pd.Series] = {}
        for fi, fam in enumerate(families):
            row[f"{fam}_score"] = float(fam_scores[fi])
            for k in range(n_folds):
                row[f"{fam}_fold{k}"] = float(skills[fi, k])
            if not preds[fam]:
                continue
            rows_f = np.concatenate([r for r, _ in preds[fam]])
            pred_f = np.concatenate([p for _, p in preds[fam]], axis=0)
            srt = np.argsort(rows_f, kind="stable")
            rows_f, pred_f = rows_f[srt], pred_f[srt]
            pooled = self._metrics(
                task, y[rows_f], pred_f, timestamps[rows_f], row, row["n_classes"]
            )
            for name, value in pooled.items():
                if name not in ("n", "logloss_baseline"):
                    row[f"{fam}_{name}"] = value
            column = pred_f if pred_f.ndim == 1 else row["classes"][np.argmax(pred_f, axis=1)]
            oof_cols[fam] = pd.Series(column, index=index[rows_f])
        if oof_cols:
            oof[target] = pd.DataFrame(oof_cols)

        reasons = []
        if row["score"] >= self.leakage_score:
            reasons.append(
                f"score {row['score']:.3f} >= leakage_score={self.leakage_score}: implausibly "
                "high out-of-sample skill"
            )
        if (
            np.isfinite(row["max_feature_corr"])
            and row["max_feature_corr"] >= self.leakage_feature_corr
        ):
            reasons.append(
                f"feature {row['max_feature']!r} alone predicts it (strength "
                f"{row['max_feature_corr']:.3f} >= leakage_feature_corr={self.leakage_feature_corr})"
            )
        if reasons:
            row["leakage_flag"] = True
            row["leakage_reason"] = "; ".join(reasons)
            warnings.warn(
                f"TargetRanker: target {target!r} looks leaky: {row['leakage_reason']}. "
                "Check how its features and label are computed.",
                LeakageWarning,
                stacklevel=5,  # fit -> consume -> summarise -> here: the caller of fit
            )

    @staticmethod
    def _metrics(
        task: str,
        y_true: np.ndarray,
        pred: np.ndarray,
        timestamps: np.ndarray | None,
        row: dict[str, Any],
        n_classes: int,
    ) -> dict[str, float]:
        if task == "regression":
            return regression_metrics(y_true, pred, timestamps, horizon_bars=row["horizon_bars"])
        return classification_metrics(y_true, pred, classes=list(range(max(n_classes, 2))))

    def _rankings_frame(
        self, rows: list[dict[str, Any]], families: list[str], n_folds: int
    ) -> pd.DataFrame:
        frame = pd.DataFrame(rows).set_index("target")
        for col in ("score", "skill_mean", "skill_std"):
            if col not in frame:
                frame[col] = np.nan
        if "fold_scores" not in frame:
            frame["fold_scores"] = None
        frame = frame.drop(columns=["n_classes", "classes"])
        frame["_ok"] = frame["eligible"] & frame["score"].notna()
        frame = frame.sort_values(
            ["_ok", "score"], ascending=[False, False], kind="stable", na_position="last"
        ).drop(columns="_ok")
        frame.insert(0, "rank", np.arange(1, len(frame) + 1))
        # A selected target must beat the naive baseline (score > 0) and min_score.
        qualifies = frame["eligible"] & (frame["score"] > 0) & ~frame["leakage_flag"]
        if self.min_score is not None:
            qualifies &= frame["score"] >= self.min_score
        selected = qualifies & (qualifies.cumsum() <= (self.top_n if self.top_n else len(frame)))
        frame.insert(2, "selected", selected.to_numpy(dtype=bool))
        front = [
            "rank",
            "score",
            "selected",
            "eligible",
            "reason",
            "leakage_flag",
            "leakage_reason",
            "task",
            "horizon",
            "horizon_bars",
            "n_rows",
            "skill_mean",
            "skill_std",
            "fold_scores",
        ]
        rest = [c for c in frame.columns if c not in front]
        return frame[front + rest]

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


# ---------------------------------------------------------------------- execution
def _cached(memory: Any) -> Any:
    if memory is None:
        return _fit_predict_cell
    return memory.cache(_fit_predict_cell, ignore=["cell", "X", "X_np"])


def _safe_run(
    run: Any, key: str, cell: _Cell, X: Any, X_np: np.ndarray
) -> tuple[np.ndarray | None, str]:
    """Run one cell; a failing family is logged and skipped, not fatal."""
    try:
        return run(key, cell, X, X_np), ""
    except Exception as exc:
        logger.warning(
            "TargetRanker: family %r failed on target %r fold %d: %s",
            cell.family,
            cell.target,
            cell.fold,
            exc,
        )
        return None, f"{type(exc).__name__}: {exc}"


def _distributed_backend_active() -> bool:
    """Whether the caller selected a Dask joblib backend (``parallel_config("dask")``)."""
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    return "Dask" in type(backend).__name__


def _run_group(
    keys: list[str], cells: list[_Cell], X_sub: Any, X_np_sub: np.ndarray, memory: Any
) -> list[tuple[np.ndarray | None, str]]:
    """Run the cells of one group on a (remote) worker, sequentially.

    Cells of a fast family share one pickled :class:`FoldBins`, rebuilt once on the
    worker, so the fold is still binned once for all its targets.
    """
    run = _cached(memory)
    return [_safe_run(run, k, c, X_sub, X_np_sub) for k, c in zip(keys, cells)]


def _run_distributed(
    cells: list[_Cell],
    keys: list[str],
    X: pd.DataFrame,
    X_np: np.ndarray,
    memory: Any,
    verbose: Any,
) -> list[tuple[np.ndarray | None, str]]:
    """Run the grid through the active (Dask) joblib backend, one task per fold group.

    A group is every cell sharing a fold's bins (fast families) or one
    (family, fold) (other families); each task carries only the rows it needs, with
    the cells' row positions remapped into them. Same computations, same results.
    """
    from dataclasses import replace

    from joblib import Parallel, delayed

    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, cell in enumerate(cells):
        gkey = ("bins", id(cell.bins)) if cell.bins is not None else (cell.family, cell.fold)
        groups.setdefault(gkey, []).append(i)
    tasks = []
    for members in groups.values():
        fast = cells[members[0]].bins is not None
        parts = [cells[i].test_rows for i in members]
        if not fast:
            parts += [cells[i].train_rows for i in members]
        rows = np.unique(np.concatenate(parts))
        local = [
            replace(
                cells[i],
                test_rows=np.searchsorted(rows, cells[i].test_rows),
                train_rows=(
                    cells[i].train_rows if fast else np.searchsorted(rows, cells[i].train_rows)
                ),
            )
            for i in members
        ]
        X_sub = None if fast else X.iloc[rows]
        tasks.append((members, [keys[i] for i in members], local, X_sub, X_np[rows]))
    results: list[tuple[np.ndarray | None, str]] = [(None, "not run")] * len(cells)
    outputs = Parallel(return_as="generator")(
        delayed(_run_group)(k, c, xs, xn, memory) for _, k, c, xs, xn in tasks
    )
    for (members, *_), out in zip(
        tasks, progress(outputs, total=len(tasks), desc="ranking targets", verbose=verbose)
    ):
        for i, res in zip(members, out):
            results[i] = res
    return results


# ---------------------------------------------------------------------- helpers
def _seed(random_state: Any) -> int | None:
    if random_state is None:
        return None
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    raise ConfigError(
        f"TargetRanker: random_state must be None, an int or a RandomState, got {random_state!r}."
    )


def _hkey(horizon: Any) -> Any:
    return horizon if isinstance(horizon, (int, np.integer)) else str(horizon)


def _fold_bases(
    splits: dict[Any, list[tuple[np.ndarray, np.ndarray]]],
) -> dict[tuple[Any, int], tuple[Any, np.ndarray]]:
    """For every (horizon, fold), the shared training base: the union of the training
    rows of all horizons whose test rows are identical (the purge only shrinks training
    sets, so the least-purged one is the base)."""
    groups: dict[tuple[int, bytes], list[Any]] = {}
    for hk, folds in splits.items():
        for k, (_, test) in enumerate(folds):
            groups.setdefault((k, test.tobytes()), []).append(hk)
    out: dict[tuple[Any, int], tuple[Any, np.ndarray]] = {}
    for gid, ((k, _), members) in enumerate(groups.items()):
        base = splits[members[0]][k][0]
        for hk in members[1:]:
            base = np.union1d(base, splits[hk][k][0])
        for hk in members:
            out[(hk, k)] = ((gid, k), base)
    return out
