"""The prediction side of :class:`~intelligent_training.ModelTrainer`: the ensemble."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from intelligent_training.exceptions import DataError
from intelligent_training.training._ensemble import (
    ensemble_scores,
    scores_to_column,
    scores_to_labels,
    unit_scores,
)
from intelligent_training.training._strategies import (
    add_extra_columns,
    cascade_columns,
    fill_extra,
)
from intelligent_training.training._validation import validate_features

__all__ = ["TASKS", "TrainerPredictions", "is_classifier"]

#: Values of ``ModelTrainer(task=...)``.
TASKS: tuple[str, ...] = ("auto", "regression", "classification")


def is_classifier(trainer: Any) -> bool:
    """Whether the trainer acts as a classifier: ``task="classification"``, or under
    ``task="auto"`` fitted on one classification target."""
    task = getattr(trainer, "task", "auto")
    if task in ("regression", "classification"):
        return bool(task == "classification")
    return getattr(trainer, "_estimator_kind", "regressor") == "classifier"


class TrainerPredictions:
    """``predict``, ``predict_proba``, ``predict_all`` and ``score`` of a fitted trainer.

    The ensemble of a target is the mean of its families' score matrices (regression
    predictions, classification probabilities); under ``cascade`` a later target's
    models see the earlier targets' ensemble predictions as extra columns.
    """

    # Set by ``ModelTrainer.fit``.
    models_: dict[tuple[str, str], Any]
    targets_: list[str]
    tasks_: dict[str, str]
    classes_: np.ndarray
    cascade_columns_: dict[str, list[str]]
    multi_task_targets_: list[str]
    fill_values_: dict[tuple[str, str], dict[str, float]]
    strategy: str
    _classes: dict[str, np.ndarray | None]
    _joint_families: set[str]
    _fitted_on_frame: bool
    _input_is_frame: bool
    _feature_columns: list[Any] | None

    # ------------------------------------------------------------------ predict
    def _check_X_predict(self, X: Any) -> Any:
        check_is_fitted(self, "models_")
        checked = validate_features(self, X, reset=False)
        if self._input_is_frame and not isinstance(X, pd.DataFrame):
            return pd.DataFrame(np.asarray(checked), columns=self._feature_columns)
        if not self._input_is_frame and isinstance(X, pd.DataFrame):
            return np.asarray(validate_data(self, X, reset=False, dtype="numeric"))
        return checked

    def _scores(self, X: Any) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, np.ndarray]]:
        """Per-family and ensemble score matrices of every target for rows ``X``."""
        X = self._check_X_predict(X)
        per: dict[tuple[str, str], np.ndarray] = {}
        ensemble: dict[str, np.ndarray] = {}
        extra: dict[str, np.ndarray] = {}
        joint_cache: dict[int, list[np.ndarray]] = {}
        for target in self.targets_:
            task, classes = self.tasks_[target], self._classes.get(target)
            columns = self.cascade_columns_.get(target, [])
            X_t = add_extra_columns(X, {c: extra[c] for c in columns})
            for (t, family), model in self.models_.items():
                if t != target:
                    continue
                if family == "multi_task" and target in self.multi_task_targets_:
                    key = id(model)
                    if key not in joint_cache:
                        joint_cache[key] = unit_scores(
                            model, X, task, classes, n_joint=len(self.multi_task_targets_)
                        )
                    per[(t, family)] = joint_cache[key][self.multi_task_targets_.index(target)]
                    continue
                fill = self.fill_values_.get((t, family))
                X_f = fill_extra(X_t, columns, fill) if fill else X_t
                joint = family in self._joint_families
                per[(t, family)] = unit_scores(model, X_f, task, classes, n_joint=int(joint))[0]
            ensemble[target] = ensemble_scores([per[k] for k in per if k[0] == target])
            if self.strategy == "cascade":
                names = cascade_columns(_Named(target, task, classes))
                for j, column in enumerate(names):
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

    @available_if(is_classifier)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Mean class probabilities of the families (one classification target only).

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self, "models_")
        if self._fitted_on_frame:
            raise DataError(
                "ModelTrainer.predict_proba is defined for a trainer fitted on one target; "
                "fitted on a DataFrame, predict gives P(positive class) of every binary "
                "target and predict_all every family's."
            )
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
        if is_classifier(self):
            return float(accuracy_score(y, pred, sample_weight=sample_weight))
        return float(r2_score(y, pred, sample_weight=sample_weight))


class _Named:
    """Name, task and classes of a target (what :func:`cascade_columns` reads)."""

    def __init__(self, name: str, task: str, classes: np.ndarray | None) -> None:
        self.name = name
        self.task = task
        self.classes = classes
