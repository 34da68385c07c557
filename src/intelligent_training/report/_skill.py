"""Out-of-fold skill per timestamp: the evidence behind the report's "skill over time".

One definition of per-timestamp skill, :func:`intelligent_training.stats.skill_by_timestamp`
(the series the ranker's significance test is computed on), centred so that 0 is no skill:

- regression: rank IC, the Spearman correlation of forecast and outcome across the
  symbols of one timestamp;
- binary: ROC-AUC across the symbols of one timestamp minus 1/2 (NaN when one class is
  absent); multiclass: the one-vs-rest macro AUC minus 1/2 (the ranker's and trainers'
  out-of-fold multiclass predictions are labels, scored as one-hot probabilities);
- fewer than three rows per timestamp (a single series): ``"pooled"``, each row's share
  of the rank correlation over all rows, averaged per timestamp (its mean is the pooled
  Spearman correlation).

The ranking stage's series is the ranker's own ``skill_by_timestamp_`` (the input of its
``t_stat``; with a combinatorial splitter, the mean over the paths); it is recomputed from
``oof_predictions_`` only for a ranker that does not keep it. The training stage's series
is computed once, while :meth:`IntelligentPipeline.fit` still has ``Y``; both are kept as
the pipeline's ``skill_by_timestamp_`` (a small long table, also written into the output
layout).
"""

from __future__ import annotations

import logging
from typing import Any, cast

import numpy as np
import pandas as pd

from intelligent_training import stats

__all__ = [
    "SKILL_COLUMNS",
    "metric_name",
    "pipeline_skill_by_timestamp",
    "skill_by_timestamp",
]

logger = logging.getLogger(__name__)

#: Columns of the long table (``stage`` is ``"ranking"`` or ``"training"``).
SKILL_COLUMNS = ("stage", "target", "family", "timestamp", "value", "n", "fold")
_METRICS = {"rank_ic": "rank IC", "auc": "AUC − ½", "pooled": "pooled rank IC"}


def metric_name(task: str, method: str | None = None) -> str:
    """Name of the per-timestamp metric (``"rank IC"``, ``"AUC − ½"`` or ``"pooled rank IC"``).

    ``method`` is the :func:`~intelligent_training.stats.skill_method` used; without it,
    the cross-sectional metric of ``task``.
    """
    if method is None:
        method = "rank_ic" if task == "regression" else "auc"
    return _METRICS.get(method, method)


def _timestamps(index: pd.Index) -> np.ndarray:
    if isinstance(index, pd.MultiIndex) and "timestamp" in (index.names or []):
        return np.asarray(index.get_level_values("timestamp"))
    return np.asarray(index)


def skill_by_timestamp(
    y_true: Any, y_pred: Any, timestamps: Any, task: str
) -> tuple[pd.DataFrame, str]:
    """Per-timestamp out-of-fold skill of one forecast (0 = no skill).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_rows,)
        Outcomes and out-of-fold forecasts (binary: P(larger class); multiclass: the
        predicted label). Rows with a NaN on either side are ignored.
    timestamps : array-like of shape (n_rows,)
    task : {"regression", "binary", "multiclass"}

    Returns
    -------
    frame : DataFrame
        Columns ``timestamp``, ``value`` (:func:`intelligent_training.stats.skill_by_timestamp`)
        and ``n`` (rows at that timestamp); timestamps without a defined value are dropped.
    method : str
        ``"rank_ic"``, ``"auc"`` or ``"pooled"``.

    Examples
    --------
    >>> import numpy as np
    >>> ts = np.repeat([0, 1], 4)
    >>> frame, method = skill_by_timestamp(
    ...     [1, 2, 3, 4, 4, 3, 2, 1], [1, 2, 3, 4, 1, 2, 3, 4], ts, "regression")
    >>> frame["value"].tolist(), method
    ([1.0, -1.0], 'rank_ic')
    """
    yt = np.asarray(y_true, dtype=np.float64).reshape(-1)
    yp = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    ts = np.asarray(timestamps)
    valid = np.isfinite(yt) & np.isfinite(yp)
    yt, yp, ts = yt[valid], yp[valid], ts[valid]
    empty = pd.DataFrame({"timestamp": ts[:0], "value": yt[:0], "n": np.zeros(0, np.int64)})
    if yt.size == 0:
        return empty, "rank_ic"
    method = stats.skill_method(task, ts)
    classes = None
    pred: np.ndarray = yp
    if task == "multiclass":  # labels -> one-hot "probabilities"
        classes = list(np.unique(np.concatenate([yt, yp])))
        pred = (yp[:, None] == np.asarray(classes)[None, :]).astype(np.float64)
    series = stats.skill_by_timestamp(yt, pred, ts, task=task, method=method, classes=classes)
    counts = pd.Series(ts).value_counts()
    frame = pd.DataFrame(
        {
            "timestamp": series.index.to_numpy(),
            "value": series.to_numpy(dtype=np.float64),
            "n": counts.reindex(series.index).fillna(0).to_numpy(dtype=np.int64),
        }
    )
    return frame[np.isfinite(frame["value"])].reset_index(drop=True), method


def _folds_of(cv: Any, labels: pd.Series) -> dict[Any, int]:
    """Timestamp -> test fold of ``cv`` on the rows where ``labels`` is known."""
    known = labels[labels.notna()].to_frame()
    stamps = _timestamps(known.index)
    out: dict[Any, int] = {}
    for k, (_, test) in enumerate(cv.split(known)):
        for stamp in pd.unique(stamps[np.asarray(test)]):
            out.setdefault(stamp, k)
    return out


def _rows(
    stage: str,
    target: str,
    family: str,
    labels: pd.Series,
    pred: pd.Series,
    task: str,
    folds: dict[Any, int] | None,
) -> pd.DataFrame:
    pred = pred.dropna()
    y = labels.reindex(pred.index)
    frame, _ = skill_by_timestamp(y.to_numpy(), pred.to_numpy(), _timestamps(pred.index), task)
    fold = frame["timestamp"].map(folds) if folds else pd.Series(np.nan, index=frame.index)
    return frame.assign(
        stage=stage,
        target=target,
        family=family,
        fold=fold.fillna(-1).astype(np.int64),
    )


def _ranker_rows(table: pd.DataFrame, Y: pd.DataFrame) -> list[pd.DataFrame]:
    """The ranker's own series (``TargetRanker.skill_by_timestamp_``) as report rows."""
    stamps = _timestamps(Y.index)
    frames = []
    for target, part in table.groupby("target", sort=False, observed=True):
        if target not in Y.columns:
            continue
        part = part[np.isfinite(part["value"].to_numpy(dtype=np.float64))]  # undefined AUCs
        labelled = pd.Series(Y[target].notna().to_numpy(), index=stamps)
        n = labelled.groupby(level=0).sum()
        frames.append(
            part.assign(
                stage="ranking",
                target=str(target),
                n=n.reindex(part["timestamp"]).fillna(0).to_numpy(dtype=np.int64),
            )
        )
    return frames


def _ranking_rows(pipe: Any, Y: pd.DataFrame) -> list[pd.DataFrame]:
    ranker = getattr(pipe, "ranker_", None)
    own = getattr(ranker, "skill_by_timestamp_", None)
    if isinstance(own, pd.DataFrame) and {"target", "family", "timestamp", "value", "fold"} <= set(
        own.columns
    ):
        return _ranker_rows(own, Y)
    oof = getattr(ranker, "oof_predictions_", None)
    if not isinstance(oof, dict):
        return []
    tasks = dict(getattr(ranker, "tasks_", {}) or {})
    cv = getattr(ranker, "cv_", None)
    frames = []
    fold_cache: dict[bytes, dict[Any, int]] = {}
    for target, table in oof.items():
        if target not in Y.columns or not isinstance(table, pd.DataFrame):
            continue
        labels = cast(pd.Series, Y[target])
        folds = None
        if cv is not None and hasattr(cv, "split"):
            key = np.packbits(labels.notna().to_numpy()).tobytes()
            try:
                if key not in fold_cache:
                    fold_cache[key] = _folds_of(cv, labels)
                folds = fold_cache[key]
            except Exception as exc:  # the fold shading is optional
                logger.debug("no fold spans for %s: %s", target, exc)
        task = tasks.get(target, "regression")
        for family in table.columns:
            frames.append(
                _rows("ranking", str(target), str(family), labels, table[family], task, folds)
            )
    return frames


def _training_rows(pipe: Any, Y: pd.DataFrame) -> list[pd.DataFrame]:
    frames = []
    for trainer in (getattr(pipe, "trainers_", None) or {}).values():
        oof = getattr(trainer, "oof_predictions_", None)
        if not isinstance(oof, pd.DataFrame) or not isinstance(oof.columns, pd.MultiIndex):
            continue
        if "path" in oof.index.names:  # combinatorial cv: one prediction per row per path
            rest = [name for name in oof.index.names if name != "path"]
            oof = oof.groupby(level=rest, sort=False).mean()  # the mean over the paths
        tasks = dict(getattr(trainer, "tasks_", {}) or {})
        for target in dict.fromkeys(oof.columns.get_level_values(0)):
            if target not in Y.columns:
                continue
            task = tasks.get(target, "regression")
            block = oof[target]
            labels = Y[target]
            for family in block.columns:
                frames.append(
                    _rows("training", str(target), str(family), labels, block[family], task, None)
                )
            if task != "multiclass" and block.shape[1] > 1:
                # the ensemble: the mean of the families' scores (as ModelTrainer.predict)
                ensemble = block.mean(axis=1, skipna=False)
                frames.append(
                    _rows("training", str(target), "ensemble", labels, ensemble, task, None)
                )
    return frames


def pipeline_skill_by_timestamp(pipe: Any, Y: pd.DataFrame) -> pd.DataFrame:
    """The long per-timestamp skill table of a fitted pipeline (both stages).

    Parameters
    ----------
    pipe : IntelligentPipeline
        Fitted (its ranker's and trainers' ``oof_predictions_`` are used when present).
    Y : DataFrame
        The targets ``pipe`` was fitted on.

    Returns
    -------
    DataFrame
        Columns :data:`SKILL_COLUMNS` (``stage``, ``target`` and ``family`` categorical,
        ``value`` float32); ``fold`` is the ranker's test fold (``-1`` where unknown, and
        always for the training stage).
    """
    frames = _ranking_rows(pipe, Y) + _training_rows(pipe, Y)
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SKILL_COLUMNS})
    out = pd.concat(frames, ignore_index=True)[list(SKILL_COLUMNS)]
    # compact: one row per target x family x timestamp can be millions of rows
    return out.astype(
        {
            "stage": "category",
            "target": "category",
            "family": "category",
            "value": np.float32,
            "n": np.int32,
            "fold": np.int16,
        }
    )
