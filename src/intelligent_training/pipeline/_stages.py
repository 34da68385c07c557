"""The pipeline's stages: rank the targets, select features per target, train.

:class:`StageSteps` holds the steps :meth:`IntelligentPipeline.fit
<intelligent_training.pipeline.IntelligentPipeline.fit>` runs in order, and what they
share: how a stage clone is configured (horizons, memory, verbosity), which rows a
screening stage sees (``max_samples_per_symbol``), the per-target failure policy
(a failed selection falls back to all features, a failed training skips the target, a
setting wrong for every target is raised) and the cache key of each fit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from intelligent_training._progress import progress
from intelligent_training.cache import fingerprint
from intelligent_training.exceptions import (
    CacheError,
    ConfigError,
    DataError,
    IntelligentTrainingError,
)

__all__ = ["JOINT", "StageSteps"]

logger = logging.getLogger(__name__)

#: Key of the one trainer fitted on all targets by the joint strategies.
JOINT = "__joint__"
_JOINT_STRATEGIES = ("multi_task", "cascade")
# Parameters that never change what an estimator learns: left out of cache keys.
_NOT_IN_KEY = ("memory", "verbose", "n_jobs", "tuning_storage")


def _params_key(estimator: Any) -> dict[str, Any]:
    params = estimator.get_params(deep=False)
    return {
        "class": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        **{k: v for k, v in params.items() if k not in _NOT_IN_KEY},
    }


def _fit_estimator(
    estimator: Any, X: Any, y: Any, step: str, params_key: Any, data_key: str
) -> Any:
    """Fit ``estimator`` on ``(X, y)``; memoised on ``(step, params_key, data_key)``."""
    return estimator.fit(X, y)


def _check_fitted(
    value: Any, estimator: Any, X: Any, y: Any, step: str, params_key: Any, data_key: str
) -> str | None:
    """A stored stage fit is an estimator of the stage's class (see ``cache.memoize``)."""
    from intelligent_training.cache import instance_of

    return instance_of(value, type(estimator))


def _unusable(y: pd.Series) -> str | None:
    """Why a target cannot be trained on (all NaN, constant), or None."""
    values = y.to_numpy()  # no copy of the index (the panel's: as large as a column)
    values = values[~pd.isna(values)]
    if values.size == 0:
        return "every value is NaN"
    first = values[0]
    if values.dtype.kind in "biuf":
        constant = bool((values == first).all())  # no hash table of every value
    else:
        constant = pd.Series(values).nunique() < 2
    if constant:
        return f"constant (every value is {first})"
    return None


def _family_failures(trainer: Any) -> list[str]:
    """One message per family that failed as a whole (no final model) in ``trainer``,
    naming the family and its error (its ``cv_metrics_`` summary row)."""
    metrics = getattr(trainer, "cv_metrics_", None)
    if not isinstance(metrics, pd.DataFrame) or "status" not in metrics:
        return []
    failed = metrics[(metrics["fold"].astype(str) == "mean") & (metrics["status"] == "failed")]
    out = []
    for family, rows in failed.groupby("family", sort=False):
        error = next((str(e) for e in rows["error"] if isinstance(e, str) and e), "unknown error")
        out.append(
            f"training family {family!r} failed for {sorted(map(str, rows['target']))} "
            f"({error}); the run has no {family} model for them: fix the family's "
            f"parameters (training.families.{family}) or leave it out"
        )
    return out


def _is_false(value: Any) -> bool:
    """``value`` is a boolean False (not NA/None: no significance test was made)."""
    return value is not None and not pd.isna(value) and not bool(value)


def _nothing_selected(rankings: Any, min_score: Any) -> str:
    """Why no target passed the ranking, target by target."""
    reasons = []
    if isinstance(rankings, pd.DataFrame):
        for target, row in rankings.iterrows():
            score = row.get("score")
            if not bool(row.get("eligible", True)):
                why = str(row.get("reason") or "ineligible")
            elif bool(row.get("leakage_flag", False)):
                why = f"looks leaky ({row.get('leakage_reason') or 'flagged'})"
            elif score is None or pd.isna(score):
                why = "no score (every model failed)"
            elif score <= 0:
                why = f"score {score:.4f} <= 0: no skill over the naive baseline"
            elif _is_false(row.get("significant")):
                why = (
                    f"score {score:.4f} but not significant (q-value {row.get('q_value'):.3g} "
                    "above fdr)"
                )
            elif min_score is not None and score < min_score:
                why = f"score {score:.4f} below min_score={min_score}"
            else:
                why = f"score {score:.4f}, not selected"
            reasons.append(f"{target}: {why}")
    detail = "; ".join(reasons) if reasons else "no rankings"
    return (
        f"no target passed the ranking ({detail}); the rankings are in "
        "target_rankings/target_predictability_rankings.csv: lower min_score, raise fdr "
        "(--fdr none: the score alone), add data or pass --targets"
    )


class StageSteps:
    """The steps of :class:`~intelligent_training.pipeline.IntelligentPipeline` (a mixin:
    it reads the pipeline's parameters and sets its fitted attributes)."""

    # the pipeline's parameters and fitted state this mixin reads and writes
    ranker: Any
    selector: Any
    trainer: Any
    targets: Any
    features: Any
    verbose: Any
    max_samples_per_symbol: Any
    warnings_: list[str]
    failed_targets_: dict[str, str]

    def _check_names(self, names: Sequence[str], available: pd.Index, what: str) -> list[str]:
        missing = [n for n in names if n not in available]
        if missing:
            raise DataError(
                f"unknown {what} {missing}; available: {list(map(str, available))[:20]}"
            )
        return list(names)

    def _features_for(self, target: str, X: pd.DataFrame) -> list[str] | None:
        if self.features is None:
            return None
        if isinstance(self.features, Mapping):
            if target not in self.features:
                return None
            return self._check_names(self.features[target], X.columns, "features")
        return self._check_names(list(self.features), X.columns, "features")

    def _rank(self, X, Y, cached_fit, memory, x_key) -> list[str]:
        self.ranker_ = None
        self.rankings_ = None
        if self.targets is not None:
            targets = self._check_names(list(self.targets), Y.columns, "targets")
            if not targets:
                raise DataError("targets=[] selects nothing; pass target names or None")
            return targets
        if self.ranker is not None:
            ranker = clone(self.ranker)
        else:
            from intelligent_training.ranking import TargetRanker

            ranker = TargetRanker()
        ranker = self._configure(ranker, memory)
        logger.info("ranking %d candidate targets", Y.shape[1])
        recent = self._recent(X, "ranking")
        data_key = fingerprint(x_key, Y)
        if recent is not None:
            limit = self._screening_limit("ranking")
            X, Y = X.loc[recent], Y.loc[recent]
            data_key = fingerprint(data_key, "max_samples_per_symbol", limit)
        ranker = cached_fit(ranker, X, Y, "rank", _params_key(ranker), data_key)
        self.ranker_ = ranker
        self.rankings_ = getattr(ranker, "rankings_", None)
        targets = [str(t) for t in ranker.selected_targets_]
        if not targets:
            raise DataError(_nothing_selected(self.rankings_, getattr(ranker, "min_score", None)))
        return targets

    def _new_selector(self) -> Any:
        if self.selector is not None:
            return clone(self.selector)
        from intelligent_training.selection import FeatureSelector

        return FeatureSelector()

    def _horizon_settings(self) -> dict[str, Any]:
        """The ranker's ``horizons`` / ``default_horizon`` (shared by every stage)."""
        if self.ranker is None:
            return {}
        params = self.ranker.get_params(deep=False)
        return {k: params[k] for k in ("horizons", "default_horizon") if params.get(k) is not None}

    def _configure(self, estimator: Any, memory: Any) -> Any:
        """Give a stage clone the shared settings it leaves unset (horizons, memory, verbose)."""
        params = estimator.get_params(deep=False)
        updates = {
            k: v for k, v in self._horizon_settings().items() if k in params and params[k] is None
        }
        if "memory" in params and params["memory"] is None and memory.location is not None:
            updates["memory"] = memory
        if "verbose" in params and params["verbose"] is None and self.verbose is not None:
            updates["verbose"] = self.verbose
        return estimator.set_params(**updates) if updates else estimator

    def _usable(self, Y: pd.DataFrame, targets: list[str]) -> list[str]:
        """Drop (and record) targets that cannot be trained on: all NaN or constant."""
        kept = []
        for target in targets:
            why = _unusable(Y[target])
            if why is None:
                kept.append(target)
                continue
            message = f"target {target!r} skipped: {why}"
            logger.error(message)
            self.warnings_.append(message)
            self.failed_targets_[target] = why
        if not kept:
            details = "; ".join(f"{t}: {m}" for t, m in self.failed_targets_.items())
            raise DataError(f"no usable target ({details}); pass other --targets")
        return kept

    def _screening_limit(self, stage: str) -> int | None:
        """``max_samples_per_symbol`` of a screening stage (``ranking``/``selection``)."""
        limit = self.max_samples_per_symbol  # checked by _parameter_constraints in fit
        if isinstance(limit, Mapping):
            limit = limit.get(stage)
        return None if limit is None else int(limit)

    def _recent(self, X: pd.DataFrame, stage: str) -> np.ndarray | None:
        """The rows a screening stage may use (None: all of them)."""
        limit = self._screening_limit(stage)
        if limit is None:
            return None
        from intelligent_training.data import recent_rows

        mask = recent_rows(X.index, limit)
        if mask.all():
            return None
        logger.info(
            "%s uses the %d most recent rows (at most %d per symbol) of %d",
            stage,
            int(mask.sum()),
            limit,
            len(mask),
        )
        return mask

    def _select(self, X, Y, targets, cached_fit, x_key, y_keys, memory) -> None:
        self.selectors_: dict[str, Any] = {}
        self.selected_features_: dict[str, list[str]] = {}
        recent = self._recent(X, "selection")
        limit = self._screening_limit("selection")
        # the most recent rows (max_samples_per_symbol): one subset for every target
        X_recent = None if recent is None else X.loc[recent]
        for target in progress(
            targets, total=len(targets), desc="selection", verbose=self.verbose, label=str
        ):
            manual = self._features_for(target, X)
            if manual is not None:
                self.selectors_[target] = None
                self.selected_features_[target] = manual
                continue
            data_key = fingerprint(x_key, y_keys[target], target)
            X_sel, y_sel = X, Y[target]
            if X_recent is not None:
                X_sel, y_sel = X_recent, Y.loc[recent, target]
                data_key = fingerprint(data_key, "max_samples_per_symbol", limit)
            selector = self._configure(self._new_selector(), memory)
            try:
                # All rows: the selector leaves the unlabelled ones out of its folds, which
                # are cut on every row's timestamp, as in the ranker and the trainer.
                selector = cached_fit(
                    selector,
                    X_sel,
                    y_sel,
                    "select",
                    _params_key(selector),
                    data_key,
                )
                ranked = getattr(selector, "selected_features_", None)
                if ranked is None:
                    ranked = selector.get_feature_names_out()
                chosen = [str(f) for f in ranked]
                if not chosen:
                    raise IntelligentTrainingError("the selector kept no feature")
            except (ConfigError, CacheError):
                raise  # wrong for every target (a setting, the cache): not a per-target failure
            except Exception as exc:  # policy: fall back to all features, say so
                message = (
                    f"feature selection failed for target {target!r} "
                    f"({type(exc).__name__}: {exc}); using all {X.shape[1]} features"
                )
                logger.warning(message)
                self.warnings_.append(message)
                self.selectors_[target] = None
                self.selected_features_[target] = [str(c) for c in X.columns]
                continue
            self.selectors_[target] = selector
            self.selected_features_[target] = chosen

    def _train(self, X, Y, targets, cached_fit, x_key, y_keys, memory) -> None:
        template = self.trainer
        if template is None:
            from intelligent_training.training import ModelTrainer

            template = ModelTrainer()
        strategy = template.get_params(deep=False).get("strategy", "single_task")
        self.trainers_: dict[str, Any] = {}
        self.training_groups_: dict[str, tuple[list[str], list[str]]] = {}
        if strategy in _JOINT_STRATEGIES and len(targets) > 1:
            wanted = {f for t in targets for f in self.selected_features_[t]}
            groups = {JOINT: (list(targets), [str(c) for c in X.columns if str(c) in wanted])}
        else:
            groups = {t: ([t], self.selected_features_[t]) for t in targets}
        tuning = template.get_params(deep=False).get("tuning")
        started = time.monotonic()
        for i, (key, (group_targets, feats)) in enumerate(
            progress(
                groups.items(),
                total=len(groups),
                desc="training",
                verbose=self.verbose,
                label=lambda item: item[0],
            )
        ):
            y = Y[group_targets[0]] if key != JOINT else Y[group_targets]
            data_key = fingerprint(x_key, feats, [y_keys[t] for t in group_targets])
            trainer = self._configure(clone(template), memory)
            if tuning is not None:  # one search budget for the run, shared by the targets
                from intelligent_training.training._search_space import share_budget

                spent = time.monotonic() - started
                trainer.set_params(tuning=share_budget(tuning, spent, i, len(groups)))
            try:
                # every row (the trainer leaves unlabelled ones out of its folds); no copy of X
                # when every feature is used
                X_train = X if list(X.columns) == list(feats) else X[feats]
                trainer = cached_fit(trainer, X_train, y, "train", _params_key(template), data_key)
                del X_train
            except (ConfigError, CacheError):
                raise  # wrong for every target (a setting, the cache): not a per-target failure
            except Exception as exc:  # policy: a failed target is logged and skipped
                message = f"training failed for {group_targets} ({type(exc).__name__}: {exc})"
                logger.error(message)
                self.warnings_.append(message)
                for t in group_targets:
                    self.failed_targets_[t] = f"{type(exc).__name__}: {exc}"
                continue
            self.trainers_[key] = trainer
            self.training_groups_[key] = (list(group_targets), list(feats))
            for message in _family_failures(trainer):
                logger.error(message)
                self.warnings_.append(message)
        if not self.trainers_:
            details = "; ".join(f"{t}: {m}" for t, m in self.failed_targets_.items())
            raise IntelligentTrainingError(f"training failed for every selected target ({details})")
        self.selected_targets_ = [t for t in targets if t not in self.failed_targets_]
        for t in self.failed_targets_:
            self.selected_features_.pop(t, None)
