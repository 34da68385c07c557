"""The model search: Optuna over the same purged folds and cells as training.

Per target x family (:class:`ModelSearch`), an Optuna study (TPE, seeded) proposes the
family's parameters from its search space (:mod:`._search_space`); a trial is the
family's purged folds, run one at a time through the cell engine
(:class:`~intelligent_training.evaluation.CellPlanner` /
:func:`~intelligent_training.evaluation.run_cells`, so each trial x fold is one cached
cell: the cell key holds the parameters). The folds are the rungs: after each fold the
running mean of the folds' skill is reported and the pruner may stop the trial. The
trial's value is the mean fold skill (what ``cv_metrics_`` shows for the family);
complete trials keep their per-timestamp skill series (pruned ones its mean over the
folds they ran), from which the best trial is deflated for the number of trials run (:mod:`intelligent_training.stats._deflation`).

**Resuming.** The study lives in Optuna's RDB storage (SQLite) under a name that holds
a fingerprint of the data, the labels, the folds, the family's fixed parameters, the
space and the settings. A rerun loads it: finished trials are kept, a trial left
running by a killed process is marked failed, and the search goes on until
``n_trials`` trials have finished. The sampler is re-seeded before every trial from
the seed and the number of finished trials, so a resumed search proposes what the
uninterrupted one would have (its finished folds come back from the cell cache).

**Time budget.** ``timeout`` is shared by every target x family: each gets the budget
left divided by the units left. A trial is not started when the trials so far say it
would end after the unit's share; a fold is not started when it would end after the
whole budget (the trial is then marked failed). Both are logged.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from intelligent_training.evaluation import CellPlanner, Measure, cell_threads, run_cells
from intelligent_training.exceptions import MissingDependencyError
from intelligent_training.training._search_space import TuningSettings, suggest

__all__ = [
    "TUNING_COLUMNS",
    "FoldMemo",
    "ModelSearch",
    "UnitSearch",
    "import_optuna",
    "study_storage",
]

logger = logging.getLogger(__name__)

_SCORES = Measure(scores=True)  # the training strategies' measure: same cells, same keys
_ATTR_SERIES = "skill_series"
_ATTR_FOLDS = "fold_skill"
_ATTR_PARAMS = "params_json"
_ATTR_PARTIAL = "partial_skill"  # a pruned trial's mean per-timestamp skill
#: Columns the search adds to the trainer's ``cv_metrics_`` (``fold == "mean"`` rows).
TUNING_COLUMNS = (
    "n_trials",
    "oof_skill",
    "oof_skill_expected_max",
    "oof_skill_deflated",
    "deflated_pvalue",
    "pbo",
)


def import_optuna() -> Any:
    """``optuna``, or a :class:`MissingDependencyError` saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise MissingDependencyError(
            "The model search (ModelTrainer(tuning=...), training.tuning, --tune-trials) "
            "needs optuna, which is not installed. Install the 'tune' extra: "
            "pip install 'intelligent-training[tune]' (or pip install optuna)."
        ) from None
    return optuna


def study_storage(tuning_storage: Any, memory: Any) -> str | None:
    """The Optuna storage URL of a search (``None``: in memory, lost after ``fit``).

    ``tuning_storage``: a database URL (``sqlite:///...``, ``postgresql://...``) or the
    path of a SQLite file; ``None``: ``<memory location>/tuning/study.db`` when
    ``memory`` has a location, else in memory.
    """
    if tuning_storage is None:
        location = getattr(memory, "location", None)
        if location is None:
            return None
        tuning_storage = Path(location) / "tuning" / "study.db"
    text = str(tuning_storage)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


class FoldMemo:
    """An in-process cache of fold cells (``joblib.Memory``'s ``.cache`` interface).

    Used when the trainer has no ``memory``: the strategy's cross-validation of the
    best parameters is then served from the search instead of being fitted again.
    Final fits are never kept.
    """

    location = None

    def __init__(self) -> None:
        self._store: dict[str, Any] = {}
        self._lock = threading.Lock()

    def cache(self, func: Any, ignore: Any = None) -> Any:
        del ignore  # the key is the first argument

        def run(key: str, cell: Any, data: Any) -> Any:
            if cell.fold is None:
                return func(key, cell, data)
            with self._lock:
                hit = self._store.get(key)
            if hit is not None:
                return hit
            result = func(key, cell, data)  # a failure raises: never stored
            with self._lock:
                self._store[key] = result
            return result

        return run


@dataclass
class UnitSearch:
    """The search of one target x family."""

    target: str
    family: str
    params: dict[str, Any]  # the family's parameters with the best trial's
    best_params: dict[str, Any] = field(default_factory=dict)  # the best trial's only
    summary: dict[str, Any] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)


class _Budget:
    """The shared time budget (seconds) of a search over several units."""

    def __init__(self, seconds: float | None, n_units: int) -> None:
        self.seconds = seconds
        self.start = time.monotonic()
        self.units_left = max(1, n_units)

    @property
    def deadline(self) -> float:
        return math.inf if self.seconds is None else self.start + self.seconds

    def unit_deadline(self) -> float:
        """The end of the next unit's share: what is left, split over the units left."""
        if self.seconds is None:
            return math.inf
        now = time.monotonic()
        share = max(0.0, self.deadline - now) / self.units_left
        self.units_left = max(1, self.units_left - 1)
        return now + share


class _BudgetSpent(Exception):
    """A fold would end after the whole budget."""


class ModelSearch:
    """Run the search of every tuned target x family of a training context.

    Parameters
    ----------
    settings : TuningSettings
    ctx : training._strategies.Context
        The trainer's context (data, targets and folds, families, seed, threads,
        memory).
    storage : str or None
        Optuna storage URL (:func:`study_storage`).
    """

    def __init__(self, settings: TuningSettings, ctx: Any, storage: str | None) -> None:
        self.settings = settings
        self.ctx = ctx
        self.storage = storage
        self.seed = settings.seed if settings.seed is not None else (ctx.seed or 0)
        self.spaces = settings.spaces()

    def units(self) -> list[tuple[str, str]]:
        """The (target, family) pairs that are searched."""
        wanted = self.settings.families
        out = []
        for target, spec in self.ctx.targets.specs.items():
            for family, (_, tasks, _) in self.ctx.families.items():
                if family not in self.spaces or spec.task not in tasks:
                    continue
                if wanted is not None and family not in wanted:
                    continue
                out.append((target, family))
        return out

    def run(self) -> dict[tuple[str, str], UnitSearch]:
        """Search every unit; ``(target, family)`` -> :class:`UnitSearch`."""
        optuna = import_optuna()
        units = self.units()
        budget = _Budget(self.settings.timeout, len(units))
        storage = None
        if self.storage is not None:
            storage = optuna.storages.RDBStorage(self.storage)
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # our log says what happens
        try:
            return {
                (t, f): self._search(optuna, storage, t, f, budget.unit_deadline(), budget)
                for t, f in units
            }
        finally:
            optuna.logging.set_verbosity(verbosity)

    # ------------------------------------------------------------------ one unit
    def _study_name(self, target: str, family: str, params: Mapping[str, Any]) -> str:
        from intelligent_training.cache import fingerprint

        data, spec = self.ctx.data, self.ctx.targets[target]
        key = fingerprint(
            data.fingerprint(),
            spec.labels,
            spec.task,
            spec.horizon_bars,
            [(f.train, f.test) for f in spec.folds],
            family,
            sorted((str(k), repr(v)) for k, v in params.items()),
            {k: v.model_dump() for k, v in self.spaces[family].items()},
            self.seed,
            self.settings.pruner,
            self.settings.n_startup_trials,
            self.settings.pruner_startup_trials,
            self.ctx.cpu_only,
        )
        return f"{target}/{family}/{key[:16]}"

    def _pruner(self, optuna: Any) -> Any:
        n_startup = self.settings.pruner_startup_trials
        if self.settings.pruner == "median":
            return optuna.pruners.MedianPruner(n_startup_trials=n_startup, n_warmup_steps=0)
        if self.settings.pruner == "successive_halving":
            return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
        return optuna.pruners.NopPruner()

    def _sampler(self, optuna: Any, n_done: int) -> Any:
        # Re-seeded per trial: the proposal depends on the finished trials and their
        # count only, so a resumed study proposes what an uninterrupted one would.
        seed = (int(self.seed) * 1_000_003 + n_done) % (2**31 - 1)
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=self.settings.n_startup_trials
        )

    def _search(
        self,
        optuna: Any,
        storage: Any,
        target: str,
        family: str,
        unit_deadline: float,
        budget: _Budget,
    ) -> UnitSearch:
        from optuna.trial import TrialState

        _, _, base = self.ctx.families[family]
        space = self.spaces[family]
        fixed = {k: v for k, v in base.items() if k not in space}
        name = self._study_name(target, family, fixed)
        study = optuna.create_study(
            study_name=name,
            storage=storage,
            direction="maximize",
            load_if_exists=True,
            pruner=self._pruner(optuna),
            sampler=self._sampler(optuna, 0),
        )
        finished = (TrialState.COMPLETE, TrialState.PRUNED)
        stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        for trial in stale:  # left running by a killed process (the output lock holds)
            study.tell(trial.number, state=TrialState.FAIL)
        if stale:
            logger.info(
                "tuning %s/%s: resumed (%d stale trial(s) marked failed)",
                target,
                family,
                len(stale),
            )
        planner = CellPlanner(
            "train",
            self.ctx.targets,
            self.ctx.data,
            seed=self.ctx.seed,
            threads=cell_threads(self.ctx.n_jobs, 1, threads=self.ctx.threads),
            cpu_only=self.ctx.cpu_only,
        )
        durations: list[float] = []
        stopped = ""
        n_before = len(study.get_trials(deepcopy=False, states=finished))
        while True:
            n_done = len(study.get_trials(deepcopy=False, states=finished))
            if n_done >= self.settings.n_trials:
                break
            now = time.monotonic()
            estimate = float(np.mean(durations[-5:])) if durations else 0.0
            if now >= budget.deadline or now + estimate > unit_deadline:
                stopped = (
                    f"time budget: stopped starting trials after {n_done} of "
                    f"{self.settings.n_trials} (a trial takes about {estimate:.1f} s)"
                )
                logger.warning("tuning %s/%s: %s", target, family, stopped)
                break
            study.sampler = self._sampler(optuna, n_done)
            trial = study.ask()
            started = time.monotonic()
            try:
                self._trial(optuna, study, trial, target, family, base, space, planner, budget)
            except _BudgetSpent:
                study.tell(trial, state=TrialState.FAIL)
                stopped = (
                    f"time budget: trial {trial.number} stopped between folds after "
                    f"{n_done} finished trials"
                )
                logger.warning("tuning %s/%s: %s", target, family, stopped)
                break
            durations.append(time.monotonic() - started)
        return self._outcome(study, target, family, base, space, stopped, n_before)

    def _trial(
        self,
        optuna: Any,
        study: Any,
        trial: Any,
        target: str,
        family: str,
        base: Mapping[str, Any],
        space: Mapping[str, Any],
        planner: CellPlanner,
        budget: _Budget,
    ) -> None:
        from optuna.trial import TrialState

        from intelligent_training.training._strategies import _fold_metrics

        ctx, spec = self.ctx, self.ctx.targets[target]
        chosen = suggest(trial, space)
        trial.set_user_attr(_ATTR_PARAMS, json.dumps(chosen))
        params = {**base, **chosen}
        cells = planner.fold_cells(
            target,
            family,
            params,
            _SCORES,
            usable=lambda fold: bool(len(fold.train) and len(fold.test)),
        )
        cells.sort(key=lambda c: c.fold)
        skills: list[float] = []
        series: list[pd.Series] = []
        fold_seconds: list[float] = []
        for step, cell in enumerate(cells):
            now = time.monotonic()
            if fold_seconds and now + max(fold_seconds) > budget.deadline:
                raise _BudgetSpent
            ((_, result),) = run_cells(
                [cell], ctx.data, n_jobs=ctx.n_jobs, memory=ctx.memory, verbose=False
            )
            fold_seconds.append(time.monotonic() - now)
            if result.scores is None:
                trial.set_user_attr("error", str(result.error))
                study.tell(trial, state=TrialState.FAIL)
                return
            skill = _fold_metrics(spec, result.scores, cell.test, ctx.targets.timestamps)["skill"]
            if not np.isfinite(skill):
                trial.set_user_attr("error", f"fold {cell.fold}: no skill could be measured")
                study.tell(trial, state=TrialState.FAIL)
                return
            skills.append(float(skill))
            series.append(self._skill_series(spec, result.scores, cell.test))
            trial.set_user_attr(_ATTR_FOLDS, skills)
            trial.report(float(np.mean(skills)), step)
            if step + 1 < len(cells) and trial.should_prune():
                # its folds so far: the null's dispersion counts the pruned trials too
                trial.set_user_attr(_ATTR_PARTIAL, _series_mean(series))
                study.tell(trial, state=TrialState.PRUNED)
                return
        joined = pd.concat(series).groupby(level=0).mean()  # paths of a combinatorial cv
        trial.set_user_attr(
            _ATTR_SERIES, [None if not np.isfinite(v) else float(v) for v in joined.to_numpy()]
        )
        study.tell(trial, float(np.mean(skills)))

    def _skill_series(self, spec: Any, scores: np.ndarray, rows: np.ndarray) -> pd.Series:
        from intelligent_training.stats import skill_by_timestamp

        score = scores[:, 0] if spec.task != "multiclass" else scores
        classes = list(range(spec.n_classes)) if spec.task != "regression" else None
        return skill_by_timestamp(
            spec.labels[rows],
            score,
            self.ctx.targets.timestamps[rows],
            task=spec.task,
            classes=classes,
        )

    # ------------------------------------------------------------------ outcome
    def _outcome(
        self,
        study: Any,
        target: str,
        family: str,
        base: Mapping[str, Any],
        space: Mapping[str, Any],
        stopped: str,
        n_before: int,
    ) -> UnitSearch:
        from optuna.trial import TrialState

        from intelligent_training.stats._deflation import backtest_overfitting, deflated_skill

        trials = study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        n_run = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
        records = [
            {
                "target": target,
                "family": family,
                "trial": t.number,
                "state": t.state.name.lower(),
                "value": t.value,
                "n_folds": len(t.user_attrs.get(_ATTR_FOLDS, [])),
                "seconds": (t.datetime_complete - t.datetime_start).total_seconds()
                if t.datetime_complete and t.datetime_start
                else None,
                "params": json.loads(t.user_attrs.get(_ATTR_PARAMS, "{}")),
            }
            for t in trials
        ]
        summary: dict[str, Any] = {
            "target": target,
            "family": family,
            "study": study.study_name,
            "n_trials": n_run,
            "n_complete": len(complete),
            "n_pruned": sum(t.state == TrialState.PRUNED for t in trials),
            "n_failed": sum(t.state == TrialState.FAIL for t in trials),
            "n_resumed": n_before,
            "stopped": stopped or None,
        }
        unit = UnitSearch(target, family, dict(base), summary=summary, trials=records)
        if not complete:
            summary["note"] = "no complete trial: trained with the family's own parameters"
            logger.warning("tuning %s/%s: %s", target, family, summary["note"])
            return unit
        best = max(complete, key=lambda t: (t.value, -t.number))
        unit.best_params = json.loads(best.user_attrs[_ATTR_PARAMS])
        unit.params = {**base, **unit.best_params}
        matrix = np.array(
            [[np.nan if v is None else v for v in t.user_attrs[_ATTR_SERIES]] for t in complete],
            dtype=np.float64,
        ).T  # (timestamps, complete trials)
        position = complete.index(best)
        means = np.nanmean(matrix, axis=0) if matrix.size else np.array([])
        # pruned trials' means over the folds they ran: pruning keeps the good trials
        # complete, so the complete ones alone would understate the null's dispersion
        partial = [
            t.user_attrs[_ATTR_PARTIAL]
            for t in trials
            if t.state == TrialState.PRUNED and t.user_attrs.get(_ATTR_PARTIAL) is not None
        ]
        means = np.concatenate([means, np.asarray(partial, dtype=np.float64)])
        spec = self.ctx.targets[target]
        deflated = deflated_skill(matrix[:, position], means, n_run, horizon_bars=spec.horizon_bars)
        pbo = backtest_overfitting(matrix)
        summary.update(
            {
                "best_trial": best.number,
                "best_value": float(best.value),
                "best_params": unit.best_params,
                "oof_skill": deflated.raw,
                "raw_pvalue": deflated.raw_p_value,
                "oof_skill_expected_max": deflated.expected_max,
                "oof_skill_deflated": deflated.deflated,
                "deflated_tstat": deflated.t_stat,
                "deflated_pvalue": deflated.p_value,
                "trial_sigma": deflated.sigma,
                "pbo": pbo.pbo,
                "pbo_blocks": pbo.n_blocks,
            }
        )
        logger.info(
            "tuning %s/%s: best trial %d of %d (skill %.4f; per-timestamp %.4f, deflated "
            "%.4f, p=%.3g; PBO %.2f)",
            target,
            family,
            best.number,
            n_run,
            best.value,
            deflated.raw,
            deflated.deflated,
            deflated.p_value,
            pbo.pbo,
        )
        return unit


def _series_mean(series: list[pd.Series]) -> float | None:
    """Mean per-timestamp skill of the folds run so far (None when undefined)."""
    value = float(np.nanmean(pd.concat(series).groupby(level=0).mean().to_numpy()))
    return value if np.isfinite(value) else None
