"""Fit one cell's model and see it through one interface (:class:`ModelView`).

A cell is fitted on one of two paths:

- the **fast path** (a family with a native trainer, when the planner attached shared
  fold bins): the family's native model trained on the fold's bins (:mod:`._fast`);
- the **registry path**: :func:`~intelligent_training.families.make_estimator`, fitted
  on the training rows: a DataFrame with the panel index and the column names when the
  stage was given a DataFrame (torch early-stopping slices, sequence windows and
  stacking folds read the index; persisted models keep their feature names), else an
  array.

Either way the result is a :class:`ModelView` whose ``scores(X)`` gives the *score
matrix* of test rows: ``(n, 1)`` predictions (regression) or P(class 1) (binary), or
``(n, n_classes)`` class probabilities aligned to the target's class codes.

What the engine needs to know of a family it asks the family's registry entry
(``FamilySpec``'s capability hooks), never its name or kind:

- ``tolerates_nan``: else the cell's ``fill_columns`` are mean-imputed (training means);
- ``context``: an input-context hook. A family that predicts a row from earlier rows
  (sequence windows of the last ``lookback`` rows of the same symbol) names the rows
  outside the test rows whose features it must see (their features only; ``predict``
  never sees a label), so test windows are full; the view scores the union and keeps
  the test rows' predictions;
- ``joint_output``: the model scores one column per target.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.evaluation._cells import Cell, EvalData
from intelligent_training.evaluation._fast import native_params
from intelligent_training.families._specs import NativeModel

__all__ = ["ModelView", "aligned_scores", "as_view", "fit_cell"]


def aligned_scores(
    estimator: Any, X: Any, task: str, classes: np.ndarray | None = None
) -> np.ndarray:
    """Score matrix of a fitted single-target estimator (see the module docstring).

    ``classes`` are the target's sorted class labels; without them the estimator's
    ``classes_`` are taken to be class codes. A class the model never saw gets
    probability 0.
    """
    if task == "regression":
        pred = np.asarray(estimator.predict(X), dtype=np.float64)
        return pred.reshape(len(pred), -1)[:, :1]
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    if proba.ndim == 1:
        proba = np.column_stack([1.0 - proba, proba])
    seen = np.asarray(estimator.classes_)
    if classes is None:
        positions = seen.astype(np.intp)
        width = max(int(positions.max()) + 1, 2)
    else:
        positions = np.searchsorted(classes, seen)
        width = len(classes)
    out = np.zeros((proba.shape[0], width), dtype=np.float64)
    out[:, positions] = proba[:, : len(seen)]
    return out[:, 1:2] if task == "binary" else out


class ModelView:
    """A fitted cell model through the engine's interface.

    Parameters
    ----------
    estimator : NativeModel or fitted estimator
    task : {"regression", "binary", "multiclass"}
    classes : ndarray, optional
        The target's class labels (registry classifiers are fit on them).
    to_input : callable, optional
        Turns test-row feature values ``(n, p)`` into the model's input (imputation,
        a DataFrame with the panel index, sequence context).
    select : ndarray of int, optional
        Rows of the model's output that belong to the test rows (sequence context).
    joint : bool, default=False
        A multi-task model: ``scores`` gives one column per target.
    stackable : bool, default=True
        Whether stacked copies of the test rows can be scored in one call (not for
        sequence models, whose windows follow the panel index).
    """

    def __init__(
        self,
        estimator: Any,
        task: str,
        *,
        classes: np.ndarray | None = None,
        to_input: Callable[[np.ndarray], Any] | None = None,
        select: np.ndarray | None = None,
        joint: bool = False,
        stackable: bool = True,
    ) -> None:
        self.estimator = estimator
        self.task = task
        self.classes = classes
        self.to_input = to_input
        self.select = select
        self.joint = joint
        self.stackable = stackable and select is None

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Score matrix of the test rows ``X`` (see the module docstring)."""
        if isinstance(self.estimator, NativeModel):
            return self.estimator.scores(X)
        model_input = self.to_input(X) if self.to_input is not None else X
        if self.joint:
            predict = getattr(self.estimator, "predict_scores", self.estimator.predict)
            raw = np.asarray(predict(model_input), dtype=np.float64)
            out = raw.reshape(raw.shape[0], -1)
        else:
            out = aligned_scores(self.estimator, model_input, self.task, self.classes)
        return out if self.select is None else out[self.select]

    def known_test_scores(self) -> np.ndarray | None:
        """The score matrix of the cell's test rows kept while training (the fast path's
        LightGBM: the values :meth:`scores` would give), or None."""
        if isinstance(self.estimator, NativeModel):
            return self.estimator.test_scores
        return None

    def test_scores(self, X_test: np.ndarray) -> np.ndarray:
        """Score matrix of the cell's test rows ``X_test``: the scores kept while training
        where the fast path has them (the same values), else :meth:`scores`."""
        known = self.known_test_scores()
        return known if known is not None else self.scores(X_test)

    def permuter(self, X: np.ndarray, scores: np.ndarray) -> Any:
        """A fast scorer of shuffled copies of ``X`` (native models that give their
        trees), or None.

        ``scores`` are the model's scores of ``X`` (checked against the walk).
        """
        if not isinstance(self.estimator, NativeModel):
            return None
        from intelligent_training.evaluation._tree_walk import TreePermuter

        return TreePermuter.build(self.estimator, X, scores)

    def contributions(
        self,
        X: np.ndarray,
        *,
        background: np.ndarray,
        explain: Callable[..., Any] | None = None,
        rng: np.random.RandomState | None = None,
    ) -> np.ndarray | None:
        """SHAP values ``(n, p, outputs)``: a native model's own exact ones, else those
        of the family's explainer hook ``explain(estimator, X, background, rng)`` on the
        model's inputs (None when neither applies)."""
        if isinstance(self.estimator, NativeModel):
            return self.estimator.contributions(X)
        if explain is None or not self.stackable:
            return None
        if self.to_input is not None:
            X, background = self.to_input(X), self.to_input(background)
        return explain(self.estimator, X, background, rng)  # type: ignore[no-any-return]


def as_view(model: Any, task: str) -> ModelView:
    """``model`` as a :class:`ModelView` (a fitted estimator's classes are its codes)."""
    return model if isinstance(model, ModelView) else ModelView(model, task)


# --------------------------------------------------------------------------- fitting
def _fill(values: np.ndarray, columns: tuple[int, ...], fill: dict[int, float]) -> np.ndarray:
    if not fill:
        return values
    values = np.array(values, copy=True)
    for j in columns:
        col = values[..., j]
        col[np.isnan(col)] = fill[j]
    return values


def _fill_values(X: np.ndarray, columns: tuple[int, ...]) -> dict[int, float]:
    out = {}
    for j in columns:
        finite = X[:, j][np.isfinite(X[:, j])]
        out[j] = float(finite.mean()) if len(finite) else 0.0
    return out


def _joint_labels(data: EvalData, targets: tuple[str, ...], rows: np.ndarray) -> pd.DataFrame:
    columns = {}
    for name in targets:
        spec = data.targets[name]
        values = spec.labels[rows]
        if spec.classes is not None:
            known = np.isfinite(values)
            mapped = np.full(len(values), np.nan)
            mapped[known] = spec.classes[values[known].astype(np.intp)].astype(np.float64)
            values = mapped
        columns[name] = values
    index = data.index[rows] if data.index is not None else None
    return pd.DataFrame(columns, index=index)


def fit_cell(cell: Cell, data: EvalData) -> tuple[ModelView, dict[int, float]]:
    """Fit the cell's model on its training rows.

    Returns
    -------
    view : ModelView
        Scores the cell's test rows (``view.scores(data.X[cell.test])``).
    fill_values : dict
        Column -> training mean used for ``cell.fill_columns`` (empty when unused).
    """
    from intelligent_training.families import family_params, get_family, make_estimator

    spec = data.targets[cell.target]
    if cell.bins is not None:
        # "auto" leaf sizes are resolved for the cell's training rows, as the estimator does
        native, rounds = native_params(
            cell.family,
            family_params(cell.family, spec.task, cell.params, n_rows=len(cell.train)),
            spec.task,
            spec.n_classes,
            random_state=cell.seed,
            n_threads=cell.threads,
        )
        measure = cell.measure
        # the test scores are kept only where run_cell reads them (not for importances
        # alone: no copy of the test rows then)
        scored = measure.scores or measure.loss
        model = cell.bins.fit(
            data.X,
            cell.train,
            spec.labels[cell.train],
            native,
            rounds,
            test_rows=cell.test if scored else None,
            task=spec.task,
            n_classes=spec.n_classes,
            weight=spec.fit_weights(cell.train),
        )
        return ModelView(model, spec.task), {}

    family = get_family(cell.family)
    frame = data.index is not None
    X_train = data.X[cell.train]
    fill: dict[int, float] = {}
    if cell.fill_columns and not family.tolerates_nan:
        fill = _fill_values(X_train, cell.fill_columns)
        X_train = _fill(X_train, cell.fill_columns, fill)
    task, params = spec.task, dict(cell.params)
    if cell.joint:
        tasks = {data.targets[t].task for t in cell.joint}
        task = tasks.pop() if len(tasks) == 1 else "multi"
        params = {"tasks": {t: data.targets[t].task for t in cell.joint}, **params}
        y: Any = _joint_labels(data, cell.joint, cell.train)
    else:
        y = spec.fit_labels(cell.train)
    estimator = make_estimator(
        cell.family,
        task,
        params,
        random_state=cell.seed,
        n_jobs=cell.threads,
        cpu_only=cell.cpu_only,
        label_horizon=cell.label_horizon,
    )
    fit_params = {}
    weights = None if cell.joint else spec.fit_weights(cell.train)
    if weights is not None and family.accepts_sample_weight:
        fit_params["sample_weight"] = weights
    estimator.fit(data.frame(cell.train, X_train) if frame else X_train, y, **fit_params)

    rows = cell.test
    select = None
    context = np.empty(0, dtype=np.intp)
    context_hook = family.context_hook()
    if context_hook is not None and len(rows):
        context = np.asarray(context_hook(data, rows, estimator), dtype=np.intp)
    if context.size:
        union = np.union1d(context, rows)
        select = np.searchsorted(union, rows)
        context_values = _fill(data.X[context], cell.fill_columns, fill)
        at_context = np.searchsorted(union, context)

        def to_input(values: np.ndarray) -> Any:
            full = np.empty((len(union), values.shape[1]), dtype=np.float32)
            full[at_context] = context_values
            full[select] = _fill(values, cell.fill_columns, fill)
            return data.frame(union, full)

    elif frame:

        def to_input(values: np.ndarray) -> Any:
            values = _fill(values, cell.fill_columns, fill)
            if len(values) == len(rows):
                return data.frame(rows, values)
            # Stacked permuted copies, explainer samples: no panel index (only families
            # with an input context read it when predicting, and they are never stacked).
            return pd.DataFrame(values, columns=data.columns)

    else:

        def to_input(values: np.ndarray) -> Any:
            return _fill(values, cell.fill_columns, fill)

    view = ModelView(
        estimator,
        spec.task,
        classes=spec.classes,
        to_input=to_input,
        select=select,
        joint=bool(cell.joint) or family.joint_output,
        stackable=context_hook is None,
    )
    return view, fill
