"""Out-of-fold skill per timestamp: the evidence behind the report's "skill over time".

The fitted estimators keep their out-of-fold predictions but not the labels, so the
per-timestamp skill is measured once, while :meth:`IntelligentPipeline.fit` still has
``Y``, and kept as the pipeline's ``skill_by_timestamp_`` (a small long table; it is
also written into the output layout). The metric follows the task:

- regression: rank IC, the Spearman correlation of forecast and outcome across the
  symbols of one timestamp (:func:`intelligent_training.metrics.rank_ic_by_timestamp`);
- binary: ROC-AUC across the symbols of one timestamp (NaN when one class is absent);
- multiclass: accuracy of the most probable class.

With fewer than :data:`MIN_ROWS_PER_POINT` rows per timestamp (a single series, or two
or three symbols) consecutive timestamps are pooled into blocks of about that many rows,
so every point still compares several forecasts.
"""

from __future__ import annotations

import logging
import math
from typing import Any, cast

import numpy as np
import pandas as pd

from intelligent_training.metrics import rank_ic_by_timestamp

__all__ = [
    "MIN_ROWS_PER_POINT",
    "SKILL_COLUMNS",
    "metric_name",
    "pipeline_skill_by_timestamp",
    "skill_by_timestamp",
]

logger = logging.getLogger(__name__)

#: Fewest rows one point of the series should pool (else timestamps are blocked).
MIN_ROWS_PER_POINT = 4
#: Columns of the long table (``stage`` is ``"ranking"`` or ``"training"``).
SKILL_COLUMNS = ("stage", "target", "family", "timestamp", "value", "n", "fold")
_METRICS = {"regression": "rank IC", "binary": "AUC", "multiclass": "accuracy"}


def metric_name(task: str) -> str:
    """The per-timestamp metric of a task (``"rank IC"``, ``"AUC"`` or ``"accuracy"``)."""
    return _METRICS.get(task, "rank IC")


def _timestamps(index: pd.Index) -> np.ndarray:
    if isinstance(index, pd.MultiIndex) and "timestamp" in (index.names or []):
        return np.asarray(index.get_level_values("timestamp"))
    return np.asarray(index)


def _block_codes(codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, int]:
    """Pool consecutive timestamps when there are too few rows per timestamp."""
    per_group = np.bincount(codes, minlength=n_groups)
    median = float(np.median(per_group[per_group > 0])) if (per_group > 0).any() else 0.0
    if median >= MIN_ROWS_PER_POINT or median == 0:
        return codes, 1
    block = math.ceil(MIN_ROWS_PER_POINT * 5 / median)
    return codes // block, block


def skill_by_timestamp(
    y_true: Any, y_pred: Any, timestamps: Any, task: str
) -> tuple[pd.DataFrame, int]:
    """Per-timestamp (or per-block) out-of-fold skill of one forecast.

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
        Columns ``timestamp`` (the last timestamp of each point), ``value`` and ``n``
        (rows pooled); points without a defined value are dropped.
    block : int
        Timestamps pooled per point (1: one point per timestamp).

    Examples
    --------
    >>> import numpy as np
    >>> ts = np.repeat([0, 1], 4)
    >>> frame, block = skill_by_timestamp(
    ...     [1, 2, 3, 4, 4, 3, 2, 1], [1, 2, 3, 4, 1, 2, 3, 4], ts, "regression")
    >>> frame["value"].tolist(), block
    ([1.0, -1.0], 1)
    """
    yt = np.asarray(y_true, dtype=np.float64).reshape(-1)
    yp = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    ts = np.asarray(timestamps)
    valid = np.isfinite(yt) & np.isfinite(yp)
    yt, yp, ts = yt[valid], yp[valid], ts[valid]
    empty = pd.DataFrame({"timestamp": ts[:0], "value": yt[:0], "n": np.zeros(0, np.int64)})
    if yt.size == 0:
        return empty, 1
    ts_codes, uniques = pd.factorize(ts, sort=True)
    codes, block = _block_codes(ts_codes, len(uniques))
    n_points = int(codes.max()) + 1
    count = np.bincount(codes, minlength=n_points)
    # the last timestamp of every point
    last = np.zeros(n_points, dtype=np.int64)
    np.maximum.at(last, codes, ts_codes)
    stamps = np.asarray(uniques)[last]
    if task == "regression":
        value = rank_ic_by_timestamp(yt, yp, codes).reindex(range(n_points)).to_numpy()
    elif task == "binary":
        value = _auc_by_group(codes, n_points, yt, yp)
    else:
        hits = (yt == yp).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.bincount(codes, weights=hits, minlength=n_points) / count
    frame = pd.DataFrame({"timestamp": stamps, "value": value, "n": count.astype(np.int64)})
    return frame[np.isfinite(frame["value"])].reset_index(drop=True), block


def _auc_by_group(codes: np.ndarray, n_points: int, yt: np.ndarray, yp: np.ndarray) -> np.ndarray:
    """ROC-AUC of every group by the rank-sum (Mann-Whitney) identity; no Python loop."""
    positive = (yt == np.max(yt)).astype(np.float64) if yt.size else yt
    ranks = pd.Series(yp).groupby(codes, sort=False).rank(method="average").to_numpy(np.float64)
    n = np.bincount(codes, minlength=n_points).astype(np.float64)
    n1 = np.bincount(codes, weights=positive, minlength=n_points)
    n0 = n - n1
    rank_sum = np.bincount(codes, weights=ranks * positive, minlength=n_points)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0)
    return np.where((n1 > 0) & (n0 > 0), auc, np.nan)


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


def _ranking_rows(pipe: Any, Y: pd.DataFrame) -> list[pd.DataFrame]:
    ranker = getattr(pipe, "ranker_", None)
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
