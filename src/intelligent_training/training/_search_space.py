"""Search spaces and settings of the model search (``ModelTrainer(tuning=...)``).

A search space maps a family's parameters to distributions, written in YAML::

    lightgbm:
      num_leaves: {type: int, low: 4, high: 63, log: true}
      learning_rate: {type: log-float, low: 0.01, high: 0.3}
      subsample: {type: float, low: 0.5, high: 1.0}
    random_forest:
      max_features: {type: categorical, choices: [sqrt, log2, 0.3]}

Types: ``int`` (``low``, ``high``, ``step`` 1, ``log`` false), ``float`` (``low``,
``high``, ``step`` none), ``log-float`` (``low > 0``, ``high``), ``categorical``
(``choices``: any YAML values, lists included). The packaged spaces
(``families/search_spaces.yaml``) cover LightGBM, XGBoost, the random forest, the
linear models and the torch MLP; a user's space for a family replaces the packaged
one for that family. Every model here is pydantic: a typo is an error naming the key.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from intelligent_training.exceptions import ConfigError

__all__ = [
    "PRUNERS",
    "CategoricalParam",
    "FloatParam",
    "IntParam",
    "LogFloatParam",
    "TuningSettings",
    "load_search_spaces",
    "packaged_search_spaces",
    "parse_seconds",
    "resolve_tuning",
    "share_budget",
    "suggest",
]

PRUNERS = ("median", "successive_halving", "none")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntParam(_Strict):
    """Integers in ``[low, high]`` (every ``step``; log-uniform with ``log: true``)."""

    type: Literal["int"]
    low: int
    high: int
    step: int = Field(default=1, ge=1)
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> IntParam:
        _check_bounds(self.low, self.high, self.log)
        if self.log and self.step != 1:
            raise ValueError("an int with log: true takes no step")
        return self

    def suggest(self, trial: Any, name: str) -> Any:
        return trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log)


class FloatParam(_Strict):
    """Uniform floats in ``[low, high]`` (on a grid of ``step`` when given)."""

    type: Literal["float"]
    low: float
    high: float
    step: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> FloatParam:
        _check_bounds(self.low, self.high, False)
        return self

    def suggest(self, trial: Any, name: str) -> Any:
        return trial.suggest_float(name, self.low, self.high, step=self.step)


class LogFloatParam(_Strict):
    """Log-uniform floats in ``[low, high]``, ``low > 0``."""

    type: Literal["log-float"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> LogFloatParam:
        _check_bounds(self.low, self.high, True)
        return self

    def suggest(self, trial: Any, name: str) -> Any:
        return trial.suggest_float(name, self.low, self.high, log=True)


class CategoricalParam(_Strict):
    """One of ``choices`` (any YAML values; lists such as layer sizes included)."""

    type: Literal["categorical"]
    choices: list[Any] = Field(min_length=1)

    def suggest(self, trial: Any, name: str) -> Any:
        # Optuna stores None/bool/int/float/str choices; anything else by its JSON text.
        if all(c is None or isinstance(c, bool | int | float | str) for c in self.choices):
            return trial.suggest_categorical(name, self.choices)
        labels = [json.dumps(c) for c in self.choices]
        return self.choices[labels.index(trial.suggest_categorical(name, labels))]


def _check_bounds(low: float, high: float, log: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ValueError(f"low ({low}) must be finite and at most high ({high})")
    if log and low <= 0:
        raise ValueError(f"a log scale needs low > 0, got {low}")


Distribution = Annotated[
    IntParam | FloatParam | LogFloatParam | CategoricalParam, Field(discriminator="type")
]


class _Spaces(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spaces: dict[str, dict[str, Distribution]]


def suggest(trial: Any, space: Mapping[str, Any]) -> dict[str, Any]:
    """One trial's parameters: each distribution of ``space`` asked of ``trial``."""
    return {name: dist.suggest(trial, name) for name, dist in space.items()}


def _validate_spaces(raw: Any, source: str) -> dict[str, dict[str, Any]]:
    """Parse ``{family: {param: distribution}}``; names are checked against the registry."""
    from intelligent_training.exceptions import FamilyError
    from intelligent_training.families import validate_family_params

    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"{source}: a search space must be a mapping {{family: {{parameter: "
            f"distribution}}}}, got {type(raw).__name__}."
        )
    try:
        spaces = _Spaces.model_validate({"spaces": {k: v or {} for k, v in raw.items()}}).spaces
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid search space: {_describe(exc)}") from None
    for family, space in spaces.items():
        try:
            validate_family_params(family, dict.fromkeys(space))
        except FamilyError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    return spaces


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"][1:] if not str(p).startswith("function"))
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts) + (
        " (each parameter needs a type: int, float, log-float or categorical, e.g. "
        "{type: int, low: 4, high: 63})"
    )


@functools.lru_cache(maxsize=1)
def _packaged() -> dict[str, dict[str, Any]]:
    import yaml

    text = (
        resources.files("intelligent_training.families")
        .joinpath("search_spaces.yaml")
        .read_text(encoding="utf-8")
    )
    return _validate_spaces(yaml.safe_load(text), "families/search_spaces.yaml")


def packaged_search_spaces() -> dict[str, dict[str, Any]]:
    """The packaged search spaces, ``{family: {parameter: distribution}}`` (a copy)."""
    return {family: dict(space) for family, space in _packaged().items()}


def load_search_spaces(value: Any) -> dict[str, dict[str, Any]]:
    """The search spaces a ``search_spaces`` setting describes, over the packaged ones.

    Parameters
    ----------
    value : None, str, path or mapping
        ``None``: the packaged spaces; a path: a YAML file holding
        ``{family: {parameter: distribution}}``; a mapping of the same. A family given
        here replaces its packaged space.

    Raises
    ------
    ConfigError
        A missing or unreadable file, an unknown type or key, a bad range, or a
        parameter the family does not take (the message names it).
    """
    spaces = packaged_search_spaces()
    if value is None:
        return spaces
    source = "tuning.search_spaces"
    if isinstance(value, str | Path):
        import yaml

        path = Path(value)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(
                f"tuning.search_spaces: cannot read {str(path)!r} ({exc.strerror or exc}); "
                "give the path of a YAML file with {family: {parameter: distribution}}."
            ) from None
        except yaml.YAMLError as exc:
            raise ConfigError(
                f"tuning.search_spaces: {str(path)!r} is not valid YAML: {exc}"
            ) from None
        source = str(path)
        value = raw
    spaces.update(_validate_spaces(value, source))
    return spaces


def parse_seconds(value: Any) -> float | None:
    """A duration in seconds: a number, or a string such as ``"90s"``, ``"10min"``, ``"1h"``.

    Examples
    --------
    >>> parse_seconds("10min"), parse_seconds("90s"), parse_seconds(2.5), parse_seconds(None)
    (600.0, 90.0, 2.5, None)
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"a duration must be seconds or a string such as '10min', got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        import pandas as pd

        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                seconds = pd.Timedelta(text).total_seconds()
            except (ValueError, TypeError):
                raise ValueError(
                    f"cannot read the duration {value!r}; use seconds or a string such as "
                    "'90s', '10min' or '1h'"
                ) from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"a duration must be positive, got {value!r}")
    return seconds


class TuningSettings(BaseModel):
    """What the model search does (``ModelTrainer(tuning=...)``, config ``training.tuning``).

    Attributes
    ----------
    n_trials : int, default 20
        Trials per target x family (a resumed study counts the trials it already has).
    timeout : float or None
        Time budget of the whole search in seconds (a string such as ``"10min"`` is
        read as a duration); shared by every target x family. ``None``: no budget.
    search_spaces : None, str or mapping
        See :func:`load_search_spaces`.
    families : list of str or None
        The families to tune (``None``: every trained family with a search space).
    pruner : {"median", "successive_halving", "none"}, default "median"
        Stops a trial after a fold (the folds are the rungs) when its running mean
        skill is below the median of earlier trials at that fold (``median``), or not
        in the top ``1 / reduction_factor`` of its rung (``successive_halving``).
    n_startup_trials : int, default 5
        Trials sampled at random before TPE models the results.
    pruner_startup_trials : int, default 2
        Complete trials before the median pruner prunes (its reference at each fold is
        their median).
    seed : int or None
        Seed of the sampler (``None``: the trainer's ``random_state``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    n_trials: int = Field(default=20, ge=1)
    timeout: float | None = None
    search_spaces: str | dict[str, Any] | None = None
    families: list[str] | None = None
    pruner: Literal["median", "successive_halving", "none"] = "median"
    n_startup_trials: int = Field(default=5, ge=0)
    pruner_startup_trials: int = Field(default=2, ge=0)
    seed: int | None = None

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return parse_seconds(value)

    @field_validator("search_spaces", mode="before")
    @classmethod
    def _path_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, Path) else value

    @model_validator(mode="after")
    def _spaces_valid(self) -> TuningSettings:
        self.spaces()  # a bad space fails when the settings are read
        return self

    def spaces(self) -> dict[str, dict[str, Any]]:
        """The resolved search spaces (packaged, then the user's)."""
        return load_search_spaces(self.search_spaces)


def resolve_tuning(value: Any, owner: str = "ModelTrainer") -> TuningSettings | None:
    """``tuning=`` as :class:`TuningSettings` (``None`` stays ``None``).

    Raises
    ------
    ConfigError
        An unknown key, a bad value or a bad search space, named.
    """
    if value is None or isinstance(value, TuningSettings):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{owner}: tuning must be None, a dict such as {{'n_trials': 50}} or a "
            f"TuningSettings, got {type(value).__name__}."
        )
    try:
        return TuningSettings.model_validate(dict(value))
    except ValidationError as exc:
        parts = [
            f"{'.'.join(str(p) for p in e['loc']) or 'tuning'}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise ConfigError(f"{owner}: invalid tuning settings: {'; '.join(parts)}.") from None


def share_budget(tuning: Any, spent: float, part: int, n_parts: int) -> Any:
    """The ``tuning`` of search ``part`` (0-based) of ``n_parts`` run one after another.

    The timeout left after ``spent`` seconds, divided by the parts left; without a
    timeout, ``tuning`` as it is. The pipeline fits one trainer per target: so its
    whole search stays within one budget.

    Examples
    --------
    >>> share_budget({"timeout": 60}, 0.0, 0, 3)["timeout"]
    20.0
    >>> share_budget({"timeout": 60}, 50.0, 1, 3)["timeout"]
    5.0
    """
    settings = resolve_tuning(tuning)
    if settings is None or settings.timeout is None:
        return tuning
    left = max(settings.timeout - spent, 1e-3) / max(1, n_parts - part)
    return {**settings.model_dump(), "timeout": left}
