"""The signal tearsheet: what the out-of-fold predictions of a target would have earned.

Computed from the out-of-fold predictions a fit already made (nothing is refitted), in
two steps:

- :func:`signal_evidence`, while :meth:`IntelligentPipeline.fit` still has ``Y``: per
  selected target the out-of-fold signal (the ensemble, the mean of the families'
  predictions, as ``ModelTrainer.predict``), the forward return it is judged on
  (:func:`return_column_for`) and the labels of the other horizons of its stem, as one
  compact float32 table; and, for every (target x family) tried in the run (the
  ranking's candidates and the trained families), the per-rebalance gross long-short
  return and turnover at :data:`DEFAULT_QUANTILES` buckets (the trials of the deflated
  Sharpe ratio).
- :func:`tearsheet_data`, at report time, with the report options (quantiles, costs):
  bucket returns, the cost-adjusted top-minus-bottom long-short, turnover, rank
  autocorrelation, skill decay, drawdown and the Sharpe ratio with its probabilistic and
  deflated versions.

Conventions (one place): buckets are formed per timestamp by the rank of the prediction
(``floor((rank - 1) * q / n)``, equal counts; a timestamp with fewer than ``q`` names is
skipped); the long-short book holds the top bucket long and the bottom bucket short,
equally weighted, each leg one unit of notional, and is rebalanced every ``h`` bars
(``h`` = the target's horizon, so forward returns do not overlap); its turnover at a
rebalance is ``sum_i |w_i,t - w_i,t-1|`` (2 to enter the book), and costs are
``cost_bps * 1e-4`` per unit of turnover. Returns add up (cumulative sum: the series are
spread returns of a dollar-neutral book); drawdown is the distance below the running
maximum of that sum. Sharpe ratios are per rebalance period, annualised with the number
of rebalances per year observed in the data (so gaps such as nights and weekends count).
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import pandas as pd

from intelligent_training.report._format import as_number as _num
from intelligent_training.report._format import as_stamp as _stamp

__all__ = [
    "DEFAULT_COST_BPS",
    "DEFAULT_QUANTILES",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "long_short",
    "probabilistic_sharpe_ratio",
    "return_column_for",
    "signal_evidence",
    "tearsheet_data",
]

DEFAULT_QUANTILES = 5
DEFAULT_COST_BPS = 5.0
#: Lags of the rank autocorrelation: 1..max(horizon, MIN_LAGS), at most MAX_LAGS.
MIN_LAGS = 5
MAX_LAGS = 60
#: Points of a cumulative-return line in report.json at most.
MAX_POINTS = 400
_EULER_GAMMA = 0.5772156649015329
_YEAR = pd.Timedelta(days=365.25)


# ----------------------------------------------------------------- return columns
def is_return(target: str, task: str | None) -> bool:
    """Whether a target is itself a forward return: a regression target not named ``y_*``."""
    return (task or "regression") == "regression" and not str(target).startswith("y_")


def return_column_for(
    target: str, task: str | None, columns: list[str], return_column: str | None = None
) -> tuple[str | None, str]:
    """The column a target's signal is judged on, and where it comes from.

    A return target is judged on itself; another target (``y_*``, a classification) on
    the ``fwd_ret_*`` column of the same horizon when the panel has one, else on
    ``return_column`` (``report.return_column`` of the configuration).

    Returns
    -------
    column : str or None
    source : str
        ``"target"``, ``"same horizon"``, ``"configured"``, or the note saying why the
        return views are omitted.
    """
    from intelligent_training.data import parse_horizon

    if is_return(target, task):
        return target, "target"
    horizon = parse_horizon(target)
    if horizon is not None:
        for column in columns:
            if (
                column != target
                and column.startswith("fwd_ret")
                and parse_horizon(column) == horizon
            ):
                return column, "same horizon"
    if return_column is not None and return_column in columns:
        return return_column, "configured"
    return None, (
        f"{target} is not a return and the panel has no fwd_ret_* column of its horizon; "
        "set report.return_column to the forward return to judge it on"
    )


# ------------------------------------------------------------------- the statistics
def _wide(values: np.ndarray, t: np.ndarray, s: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    out = np.full(shape, np.nan)
    out[t, s] = values
    return out


def _codes(pred: np.ndarray, quantiles: int) -> np.ndarray:
    """Bucket 0..q-1 of each cell of a (time x symbol) matrix by its rank in the row; -1 off."""
    frame = pd.DataFrame(pred)
    rank = frame.rank(axis=1, method="first").to_numpy()
    n = np.isfinite(pred).sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        codes = np.floor((rank - 1) * quantiles / np.maximum(n, 1))
    codes[~np.isfinite(rank) | (n < quantiles)] = -1
    return codes.astype(np.int64)


def _row_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    count = mask.sum(axis=1)
    total = np.where(mask, values, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def long_short(
    pred: np.ndarray, ret: np.ndarray, horizon: int, quantiles: int
) -> dict[str, np.ndarray]:
    """The top-minus-bottom book of a (time x symbol) prediction matrix.

    Parameters
    ----------
    pred, ret : ndarray of shape (n_times, n_symbols)
        Predictions and the forward returns they are judged on (NaN: no position).
    horizon : int
        Bars between rebalances (the forward return's horizon).
    quantiles : int

    Returns
    -------
    dict
        ``rows`` (the rebalance rows of ``pred``), ``gross`` (top-leg mean return minus
        bottom-leg mean return), ``turnover`` (``sum |w_t - w_t-1|``), ``top_turnover`` and
        ``bottom_turnover`` (share of the leg's names new at the rebalance; NaN at the
        first), and ``codes`` (the buckets of every row).
    """
    valid = np.isfinite(pred) & np.isfinite(ret)
    codes = _codes(np.where(valid, pred, np.nan), quantiles)
    live = np.flatnonzero((codes >= 0).any(axis=1))
    rows = live[:: max(int(horizon), 1)] if len(live) else live
    top = codes[rows] == quantiles - 1
    bottom = codes[rows] == 0
    weights = top / np.maximum(top.sum(axis=1, keepdims=True), 1) - bottom / np.maximum(
        bottom.sum(axis=1, keepdims=True), 1
    )
    r = np.where(valid[rows], ret[rows], 0.0)
    gross = (weights * r).sum(axis=1)
    previous = np.vstack([np.zeros((1, weights.shape[1])), weights[:-1]])
    turnover = np.abs(weights - previous).sum(axis=1)

    def leg_turnover(leg: np.ndarray) -> np.ndarray:
        kept = (leg[1:] & leg[:-1]).sum(axis=1)
        size = leg[1:].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(size > 0, 1.0 - kept / size, np.nan)
        return np.concatenate([[np.nan], share]) if len(leg) else share

    return {
        "rows": rows,
        "gross": gross,
        "turnover": turnover,
        "top_turnover": leg_turnover(top),
        "bottom_turnover": leg_turnover(bottom),
        "codes": codes,
    }


def _moments(returns: np.ndarray) -> tuple[float, float, float]:
    """Sharpe ratio per period, skewness and (non-excess) kurtosis of ``returns``."""
    r = returns[np.isfinite(returns)]
    if len(r) < 3:
        return math.nan, math.nan, math.nan
    sd = r.std(ddof=1)
    if not sd > 0:
        return math.nan, math.nan, math.nan
    z = (r - r.mean()) / r.std(ddof=0)
    return float(r.mean() / sd), float(np.mean(z**3)), float(np.mean(z**4))


def probabilistic_sharpe_ratio(
    sharpe: float, benchmark: float, n: int, skew: float, kurtosis: float
) -> float:
    """P(true Sharpe > ``benchmark``) (Bailey & Lopez de Prado 2012), all per period.

    ``Phi((SR - SR*) sqrt(n - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4 SR^2))``, with
    ``kurtosis`` the non-excess kurtosis (3 for a normal distribution).
    """
    from scipy.stats import norm

    var = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not (n > 1 and var > 0 and math.isfinite(sharpe)):
        return math.nan
    return float(norm.cdf((sharpe - benchmark) * math.sqrt(n - 1) / math.sqrt(var)))


def expected_max_sharpe(variance: float, n_trials: int) -> float:
    """Expected maximum Sharpe ratio of ``n_trials`` unskilled trials (the DSR's SR0).

    ``sqrt(V) ((1 - g) Phi^-1(1 - 1/N) + g Phi^-1(1 - 1/(N e)))``, ``g`` the
    Euler-Mascheroni constant (Bailey & Lopez de Prado 2014, eq. 2); 0 for one trial.
    """
    from scipy.stats import norm

    if n_trials < 2 or not variance > 0:
        return 0.0
    g = _EULER_GAMMA
    return float(
        math.sqrt(variance)
        * ((1 - g) * norm.ppf(1 - 1 / n_trials) + g * norm.ppf(1 - 1 / (n_trials * math.e)))
    )


def deflated_sharpe_ratio(
    sharpe: float, trial_variance: float, n_trials: int, n: int, skew: float, kurtosis: float
) -> tuple[float, float]:
    """The deflated Sharpe ratio ``PSR(SR0)`` and its ``SR0`` (per period)."""
    sr0 = expected_max_sharpe(trial_variance, n_trials)
    return probabilistic_sharpe_ratio(sharpe, sr0, n, skew, kurtosis), sr0


def _periods_per_year(stamps: np.ndarray) -> float | None:
    """Rebalances per year observed in the data (None when the times are not dates)."""
    if len(stamps) < 2 or not np.issubdtype(np.asarray(stamps).dtype, np.datetime64):
        return None
    span = pd.Timestamp(stamps[-1]) - pd.Timestamp(stamps[0])
    if span <= pd.Timedelta(0):
        return None
    return (len(stamps) - 1) / (span / _YEAR)


# ------------------------------------------------------------------ the evidence
def _pivot(index: pd.Index) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Row and column codes of a (timestamp, symbol) index, the times, and the symbols' count."""
    t_codes, times = pd.factorize(index.get_level_values("timestamp"), sort=True)
    s_codes, symbols = pd.factorize(index.get_level_values("symbol"), sort=True)
    return t_codes, s_codes, np.asarray(times), len(symbols)


def _trial_rows(
    stage: str, target: str, family: str, pred: pd.Series, ret: pd.Series, horizon: int
) -> pd.DataFrame | None:
    index = pred.index
    t, s, times, n_symbols = _pivot(index)
    shape = (len(times), n_symbols)
    p = _wide(pred.to_numpy(np.float64), t, s, shape)
    r = _wide(ret.reindex(index).to_numpy(np.float64), t, s, shape)
    book = long_short(p, r, horizon, DEFAULT_QUANTILES)
    if not len(book["rows"]):
        return None
    return pd.DataFrame(
        {
            "stage": stage,
            "target": target,
            "family": family,
            "timestamp": times[book["rows"]],
            "gross": book["gross"].astype(np.float32),
            "turnover": book["turnover"].astype(np.float32),
        }
    )


def _horizon_bars(pipe: Any, target: str) -> int:
    rankings = getattr(pipe, "rankings_", None)
    if (
        isinstance(rankings, pd.DataFrame)
        and "horizon_bars" in rankings
        and target in rankings.index
    ):
        value = _num(rankings.loc[target, "horizon_bars"])
        if value is not None and value >= 1:
            return int(value)
    return 1


def _without_paths(frame: pd.DataFrame) -> pd.DataFrame:
    if "path" in (frame.index.names or []):  # combinatorial cv: the mean over the paths
        rest = [n for n in frame.index.names if n != "path"]
        return frame.groupby(level=rest, sort=False).mean()
    return frame


def _stem_siblings(target: str, columns: list[str]) -> list[str]:
    from intelligent_training.report._data import stem_of

    stem = stem_of(target)
    if stem is None:
        return []
    return [c for c in columns if c != target and stem_of(c) == stem]


def signal_evidence(pipe: Any, Y: pd.DataFrame, return_column: str | None = None) -> dict:
    """What the tearsheet needs of a fitted pipeline, kept while ``Y`` is at hand.

    Parameters
    ----------
    pipe : IntelligentPipeline
        Fitted (its trainers' and ranker's ``oof_predictions_`` are used).
    Y : DataFrame
        The candidate targets ``pipe`` was fitted on.
    return_column : str, optional
        The forward return of targets that are not returns (``report.return_column``).

    Returns
    -------
    dict
        ``rows`` (DataFrame indexed like ``Y``: ``signal|<target>`` and the label columns
        ``label|<column>``, float32, on the out-of-fold rows), ``targets`` (target ->
        ``task``, ``horizon_bars``, ``return``, ``return_source``, ``siblings``,
        ``families``), ``trials`` (one row per rebalance of every (stage, target,
        family) with a return: ``gross``, ``turnover``) and ``n_trials`` (every (target x
        family) with out-of-fold predictions, with or without a return).
    """
    columns = [str(c) for c in Y.columns]
    tasks: dict[str, str] = {}
    for holder in [
        getattr(pipe, "ranker_", None),
        *(getattr(pipe, "trainers_", None) or {}).values(),
    ]:
        tasks.update({str(k): str(v) for k, v in (getattr(holder, "tasks_", None) or {}).items()})
    signals: dict[str, pd.Series] = {}
    labels: dict[str, pd.Series] = {}
    targets: dict[str, dict[str, Any]] = {}
    trials: list[pd.DataFrame] = []
    n_trials = 0

    def judged_on(target: str) -> tuple[str | None, str]:
        return return_column_for(target, tasks.get(target), columns, return_column)

    for trainer in (getattr(pipe, "trainers_", None) or {}).values():
        oof = getattr(trainer, "oof_predictions_", None)
        if not isinstance(oof, pd.DataFrame) or not isinstance(oof.columns, pd.MultiIndex):
            continue
        oof = _without_paths(oof)
        for target in dict.fromkeys(map(str, oof.columns.get_level_values(0))):
            if target not in Y.columns or target in targets:
                continue
            block = cast(pd.DataFrame, oof[target])
            task = tasks.get(target, "regression")
            n_trials += block.shape[1] + (block.shape[1] > 1)
            horizon = _horizon_bars(pipe, target)
            ret_col, source = judged_on(target)
            entry: dict[str, Any] = {
                "task": task,
                "horizon_bars": horizon,
                "return": ret_col,
                "return_source": source,
                "decay": [
                    {
                        "target": c,
                        "task": tasks.get(c, "regression"),
                        "horizon_bars": _horizon_bars(pipe, c),
                    }
                    for c in [target, *_stem_siblings(target, columns)]
                ],
                "families": [str(f) for f in block.columns],
            }
            targets[target] = entry
            if task == "multiclass":
                entry["return"], entry["return_source"] = (
                    None,
                    ("multiclass predictions are labels, not scores: no buckets"),
                )
                continue
            signal = block.mean(axis=1, skipna=False).dropna()
            signals[target] = signal
            wanted = [d["target"] for d in entry["decay"]] + [ret_col]
            for column in [c for c in wanted if c is not None]:
                labels[column] = Y[column]
            if ret_col is not None:
                ret = Y[ret_col]
                named = [(str(f), block[f].dropna()) for f in block.columns]
                if block.shape[1] > 1:
                    named.append(("ensemble", signal))
                for family, pred in named:
                    part = _trial_rows("training", target, family, pred, ret, horizon)
                    if part is not None:
                        trials.append(part)
    ranker = getattr(pipe, "ranker_", None)
    for target, table in (getattr(ranker, "oof_predictions_", None) or {}).items():
        if not isinstance(table, pd.DataFrame) or str(target) not in Y.columns:
            continue
        table = _without_paths(table)
        n_trials += table.shape[1]
        target = str(target)
        ret_col, _ = judged_on(target)
        if ret_col is None or tasks.get(target) == "multiclass":
            continue
        for family in table.columns:
            part = _trial_rows(
                "ranking", target, str(family), table[family].dropna(), Y[ret_col],
                _horizon_bars(pipe, target),
            )  # fmt: skip
            if part is not None:
                trials.append(part)
    if signals:
        rows = pd.DataFrame({f"signal|{t}": s for t, s in signals.items()})
        for column, values in labels.items():
            rows[f"label|{column}"] = values.reindex(rows.index)
        rows = rows.astype(np.float32)
    else:
        rows = pd.DataFrame(index=Y.index[:0])
    return {
        "rows": rows,
        "targets": targets,
        "trials": pd.concat(trials, ignore_index=True) if trials else None,
        "n_trials": int(n_trials),
    }


# ------------------------------------------------------------------ report.json
def _thin(values: np.ndarray, stamps: np.ndarray) -> tuple[list, list]:
    """At most MAX_POINTS points of a cumulative line (every k-th, the last kept)."""
    step = max(1, math.ceil(len(values) / MAX_POINTS))
    keep = np.unique(np.concatenate([np.arange(0, len(values), step), [len(values) - 1]]))
    keep = keep[keep >= 0]
    return [_stamp(s) for s in stamps[keep]], [_num(v, 5) for v in values[keep]]


def _rank_autocorrelation(pred: np.ndarray, lags: int) -> list[float | None]:
    """Mean across times of the cross-sectional correlation of ranks at t and t - lag."""
    ranks = pd.DataFrame(pred).rank(axis=1).to_numpy()
    out = []
    for lag in range(1, lags + 1):
        a, b = ranks[lag:], ranks[:-lag]
        mask = np.isfinite(a) & np.isfinite(b)
        n = mask.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            ma = np.where(mask, a, 0).sum(axis=1) / n
            mb = np.where(mask, b, 0).sum(axis=1) / n
            da = np.where(mask, a - ma[:, None], 0)
            db = np.where(mask, b - mb[:, None], 0)
            corr = (da * db).sum(axis=1) / np.sqrt((da**2).sum(axis=1) * (db**2).sum(axis=1))
        corr = corr[(n >= 3) & np.isfinite(corr)]
        out.append(_num(corr.mean(), 4) if len(corr) else None)
    return out


def _trial_sharpes(trials: pd.DataFrame | None, cost_bps: float) -> np.ndarray:
    """Annualised Sharpe ratio of every trial (net of costs); NaN where undefined."""
    if trials is None or not len(trials):
        return np.empty(0)
    net = trials["gross"].to_numpy(np.float64) - cost_bps * 1e-4 * trials["turnover"].to_numpy(
        np.float64
    )
    frame = trials[["stage", "target", "family", "timestamp"]].assign(net=net)
    out = []
    for _, part in frame.groupby(["stage", "target", "family"], sort=False, observed=True):
        sharpe = _moments(part["net"].to_numpy())[0]
        ppy = _periods_per_year(part["timestamp"].to_numpy())
        out.append(sharpe * math.sqrt(ppy) if ppy else sharpe)
    return np.asarray(out, dtype=np.float64)


def _one_target(
    target: str,
    meta: dict[str, Any],
    rows: pd.DataFrame,
    trial_sharpes: np.ndarray,
    n_trials: int,
    quantiles: int,
    cost_bps: float,
) -> dict[str, Any]:
    from intelligent_training.report._skill import metric_name, skill_by_timestamp

    out: dict[str, Any] = {
        "task": meta["task"],
        "horizon_bars": meta["horizon_bars"],
        "return_column": meta.get("return"),
        "return_source": meta.get("return_source"),
        "note": None,
    }
    column = f"signal|{target}"
    if column not in rows:
        out["note"] = meta.get("return_source")
        return out
    signal = rows[column].dropna()
    t, s, times, n_symbols = _pivot(signal.index)
    shape = (len(times), n_symbols)
    pred = _wide(signal.to_numpy(np.float64), t, s, shape)
    horizon = int(meta["horizon_bars"])
    lags = min(max(horizon, MIN_LAGS), MAX_LAGS, max(len(times) - 2, 1))
    out["rank_autocorrelation"] = {
        "lags": list(range(1, lags + 1)),
        "values": _rank_autocorrelation(pred, lags),
    }
    decay = []
    for other in meta.get("decay", []):
        label_col = f"label|{other['target']}"
        if label_col not in rows or other["task"] == "multiclass":
            continue
        y = rows[label_col].reindex(signal.index).to_numpy(np.float64)
        frame, method = skill_by_timestamp(y, signal.to_numpy(), times[t], other["task"])
        decay.append(
            {
                "target": other["target"],
                "horizon_bars": other["horizon_bars"],
                "metric": metric_name(other["task"], method),
                "skill": _num(frame["value"].mean(), 4) if len(frame) else None,
            }
        )
    decay.sort(key=lambda d: (d["horizon_bars"], d["target"]))
    out["skill_decay"] = decay
    ret_col = meta.get("return")
    if ret_col is None:
        out["note"] = meta.get("return_source")
        return out
    if n_symbols < quantiles:
        out["note"] = (
            f"{n_symbols} symbols per timestamp at most: too few for {quantiles} quantile "
            "buckets (report.quantiles); the return views are omitted"
        )
        return out
    ret = _wide(rows[f"label|{ret_col}"].reindex(signal.index).to_numpy(np.float64), t, s, shape)
    book = long_short(pred, ret, horizon, quantiles)
    codes = book["codes"]
    valid = np.isfinite(ret)
    by_bucket = np.column_stack(
        [_row_mean(ret, (codes == b) & valid) for b in range(quantiles)]
    )  # time x bucket
    means = np.nanmean(np.where(np.isfinite(by_bucket), by_bucket, np.nan), axis=0)
    stamps = times[book["rows"]]
    costs = cost_bps * 1e-4 * book["turnover"]
    net = book["gross"] - costs
    cumulative = np.cumsum(net)
    drawdown = cumulative - np.maximum.accumulate(np.maximum(cumulative, 0.0))
    sharpe, skew, kurt = _moments(net)
    ppy = _periods_per_year(stamps)
    scale = math.sqrt(ppy) if ppy else 1.0
    trial_var = (
        float(np.var(trial_sharpes[np.isfinite(trial_sharpes)] / scale, ddof=1))
        if np.isfinite(trial_sharpes).sum() >= 2
        else math.nan
    )
    n_periods = int(np.isfinite(net).sum())
    psr = probabilistic_sharpe_ratio(sharpe, 0.0, n_periods, skew, kurt)
    dsr, sr0 = deflated_sharpe_ratio(sharpe, trial_var, max(n_trials, 1), n_periods, skew, kurt)
    # the same deflation with the null's own sampling variance of a Sharpe ratio estimate
    # (1 / (T - 1) at SR = 0): only the number of trials counts, not how far apart they are
    null_var = 1.0 / (n_periods - 1) if n_periods > 1 else math.nan
    dsr_null, sr0_null = deflated_sharpe_ratio(
        sharpe, null_var, max(n_trials, 1), n_periods, skew, kurt
    )
    diffs = np.diff(means)
    cum_t, cum_v = _thin(cumulative, stamps)
    gross_t, gross_v = _thin(np.cumsum(book["gross"]), stamps)
    _, dd_v = _thin(drawdown, stamps)
    out.update(
        {
            "quantiles": quantiles,
            "cost_bps": cost_bps,
            "bucket_mean_return": [_num(v) for v in means],
            "bucket_counts": [int((codes == b).sum()) for b in range(quantiles)],
            "monotone": bool(len(diffs) and (np.all(diffs > 0) or np.all(diffs < 0))),
            "n_rebalances": n_periods,
            "rebalance_every_bars": horizon,
            "periods_per_year": _num(ppy),
            "mean_turnover": _num(np.nanmean(book["turnover"][1:]) if n_periods > 1 else None),
            "top_turnover": _num(np.nanmean(book["top_turnover"]) if n_periods > 1 else None),
            "bottom_turnover": _num(np.nanmean(book["bottom_turnover"]) if n_periods > 1 else None),
            "mean_gross_return": _num(np.mean(book["gross"])),
            "mean_net_return": _num(np.mean(net)),
            "total_cost": _num(np.sum(costs)),
            "cumulative": {"t": cum_t, "net": cum_v, "gross": gross_v, "drawdown": dd_v},
            "max_drawdown": _num(drawdown.min() if len(drawdown) else None),
            "sharpe": _num(sharpe * scale),
            "sharpe_per_period": _num(sharpe),
            "skewness": _num(skew),
            "kurtosis": _num(kurt),
            "probabilistic_sharpe": _num(psr),
            "deflated_sharpe": _num(dsr),
            "sr0": _num(sr0 * scale),
            "deflated_sharpe_null": _num(dsr_null),
            "sr0_null": _num(sr0_null * scale),
            "n_trials": int(n_trials),
            "trial_sharpe_variance": _num(trial_var * scale**2),
        }
    )
    return out


def tearsheet_data(
    evidence: dict[str, Any] | None,
    selected: list[str],
    *,
    quantiles: int = DEFAULT_QUANTILES,
    cost_bps: float = DEFAULT_COST_BPS,
) -> dict[str, Any]:
    """The ``tearsheet`` part of ``report.json``: one entry per selected target.

    Parameters
    ----------
    evidence : dict or None
        :func:`signal_evidence` (or its copy read back from an output directory).
    selected : list of str
        The selected targets, in the report's order.
    quantiles : int, default=5
    cost_bps : float, default=5.0
        Costs in basis points per unit of turnover.
    """
    if not evidence:
        return {"targets": {}, "options": {"quantiles": quantiles, "cost_bps": cost_bps}}
    sharpes = _trial_sharpes(evidence.get("trials"), cost_bps)
    rows = evidence["rows"]
    out = {}
    for target in selected:
        meta = (evidence.get("targets") or {}).get(target)
        if meta is None:
            continue
        out[target] = _one_target(
            target, meta, rows, sharpes, int(evidence.get("n_trials") or 0), quantiles, cost_bps
        )
    return {
        "targets": out,
        "options": {"quantiles": quantiles, "cost_bps": cost_bps},
        "n_trials": int(evidence.get("n_trials") or 0),
        "n_trials_with_returns": int(np.isfinite(sharpes).sum()),
    }
