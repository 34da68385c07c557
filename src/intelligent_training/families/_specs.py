"""The registered model families: :class:`FamilySpec` and the table of specs.

A spec names its builder and its estimator classes by dotted path, so nothing here
imports an optional dependency.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

TASKS: tuple[str, ...] = ("regression", "binary", "multiclass")
KINDS: tuple[str, ...] = (
    "tree",
    "linear",
    "probabilistic",
    "torch",
    "sequence",
    "meta",
    "multi_task",
)

_ALL_TASKS = TASKS
_REG_BIN = ("regression", "binary")
# ``multi_task`` is also built for ``"multi"``: a DataFrame Y of mixed columns.
_MULTI = ("regression", "binary", "multi")


@dataclass(frozen=True)
class FamilySpec:
    """Description of one registered model family.

    Parameters
    ----------
    name : str
        Registry name (e.g. ``"lightgbm"``).
    kind : str
        One of ``tree``, ``linear``, ``probabilistic``, ``torch``, ``sequence``,
        ``meta``, ``multi_task``.
    tasks : tuple of str
        Tasks the family can be built for (``regression``, ``binary``, ``multiclass``).
    extra : str or None
        The optional-dependency extra it needs (``pip install "intelligent-training[extra]"``),
        ``None`` when it only needs the core dependencies.
    native_importance : bool
        Whether fitted estimators expose ``feature_importances_``.
    builder : str
        Dotted path ``"module:function"`` of the builder.
    requires : str or None
        Top-level module that must be importable (checked without importing it).
    horizon_param : str or None
        The estimator parameter through which the family learns the label horizon (in
        bars) so that its own internal validation/stacking splits are purged
        (``validation_gap`` of the torch families, ``horizon`` of ``meta_learning``);
        ``None`` when the family holds nothing out internally.
    estimators : tuple of str
        Dotted paths ``"module:Class"`` of the estimator classes the builder returns:
        the regressor, then the classifier (one entry when one class serves every
        task). Their modules import no optional dependency, so a family's parameter
        names can be checked without it.
    """

    name: str
    kind: str
    tasks: tuple[str, ...]
    extra: str | None
    native_importance: bool
    builder: str = ""
    requires: str | None = None
    horizon_param: str | None = None
    estimators: tuple[str, ...] = ()

    def estimator_classes(self, task: str | None = None) -> list[type]:
        """The estimator classes built for ``task`` (all of them for ``None``)."""
        paths = list(self.estimators)
        if task is not None and len(paths) > 1:
            paths = paths[:1] if task == "regression" else paths[1:]
        classes = []
        for path in paths:
            module_name, _, attr = path.partition(":")
            classes.append(getattr(importlib.import_module(module_name), attr))
        return classes

    def is_available(self) -> bool:
        """Whether the optional dependency of this family is installed."""
        return self.requires is None or _module_available(self.requires)

    @property
    def install_hint(self) -> str:
        """The pip command that installs this family's optional dependency."""
        if self.extra is None:
            return 'pip install "intelligent-training"'
        return f'pip install "intelligent-training[{self.extra}]"'


def _module_available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


_TORCH = "intelligent_training.families.torch"


def _pair(module: str, regressor: str, classifier: str | None = None) -> tuple[str, ...]:
    names = (regressor,) if classifier is None else (regressor, classifier)
    return tuple(f"{module}:{name}" for name in names)


_GAP = "validation_gap"
_HERE = "intelligent_training.families"

_SPECS: tuple[FamilySpec, ...] = (
    FamilySpec(
        "lightgbm",
        "tree",
        _ALL_TASKS,
        None,
        True,
        f"{_HERE}._trees:build_lightgbm",
        estimators=_pair(f"{_HERE}._trees", "AutoLGBMRegressor", "AutoLGBMClassifier"),
    ),
    FamilySpec(
        "xgboost",
        "tree",
        _ALL_TASKS,
        None,
        True,
        f"{_HERE}._xgboost:build_xgboost",
        estimators=_pair(f"{_HERE}._xgboost", "AutoXGBRegressor", "LabelEncodedXGBClassifier"),
    ),
    FamilySpec(
        "random_forest",
        "tree",
        _ALL_TASKS,
        None,
        True,
        f"{_HERE}._trees:build_random_forest",
        estimators=_pair(
            f"{_HERE}._trees", "AutoRandomForestRegressor", "AutoRandomForestClassifier"
        ),
    ),
    FamilySpec(
        "extra_trees",
        "tree",
        _ALL_TASKS,
        None,
        True,
        f"{_HERE}._trees:build_extra_trees",
        estimators=_pair(f"{_HERE}._trees", "AutoExtraTreesRegressor", "AutoExtraTreesClassifier"),
    ),
    FamilySpec(
        "linear",
        "linear",
        _ALL_TASKS,
        None,
        True,
        f"{_HERE}._linear:build_linear",
        estimators=_pair(f"{_HERE}._linear", "StandardizedRidge", "StandardizedLogisticRegression"),
    ),
    FamilySpec(
        "ngboost",
        "probabilistic",
        _ALL_TASKS,
        "ngboost",
        True,
        f"{_HERE}._ngboost:build_ngboost",
        requires="ngboost",
        estimators=_pair(f"{_HERE}._ngboost", "NGBoostRegressor", "NGBoostClassifier"),
    ),
    FamilySpec(
        "meta_learning",
        "meta",
        _ALL_TASKS,
        "torch",
        False,
        f"{_HERE}._meta:build_meta_learning",
        requires="torch",
        horizon_param="horizon",
        estimators=_pair(f"{_HERE}._meta", "MetaLearningRegressor", "MetaLearningClassifier"),
    ),
    FamilySpec(
        "mlp",
        "torch",
        _ALL_TASKS,
        "torch",
        False,
        f"{_TORCH}:build_mlp",
        requires="torch",
        horizon_param=_GAP,
        estimators=_pair(f"{_TORCH}._mlp", "MLPRegressor", "MLPClassifier"),
    ),
    FamilySpec(
        "vae",
        "torch",
        _ALL_TASKS,
        "torch",
        False,
        f"{_TORCH}:build_vae",
        requires="torch",
        horizon_param=_GAP,
        estimators=_pair(f"{_TORCH}._vae", "VAERegressor", "VAEClassifier"),
    ),
    FamilySpec(
        "gan",
        "torch",
        _REG_BIN,
        "torch",
        False,
        f"{_TORCH}:build_gan",
        requires="torch",
        horizon_param=_GAP,
        estimators=_pair(f"{_TORCH}._gan", "GANRegressor", "GANClassifier"),
    ),
    FamilySpec(
        "multi_task",
        "multi_task",
        _MULTI,
        "torch",
        False,
        f"{_TORCH}:build_multi_task",
        requires="torch",
        horizon_param=_GAP,
        estimators=_pair(f"{_TORCH}._multi_task", "MultiTaskNetwork"),
    ),
    FamilySpec(
        "cnn1d",
        "sequence",
        _ALL_TASKS,
        "torch",
        False,
        f"{_TORCH}:build_cnn1d",
        requires="torch",
        horizon_param=_GAP,
        estimators=_pair(f"{_TORCH}._sequence", "CNN1DRegressor", "CNN1DClassifier"),
    ),
    FamilySpec(
        "lstm",
        "sequence",
        _ALL_TASKS,
        "torch",
        False,
        f"{_TORCH}:build_lstm",
        requires="torch",
        horizon_param=_GAP,
        estimators=_pair(f"{_TORCH}._sequence", "LSTMRegressor", "LSTMClassifier"),
    ),
    FamilySpec(
        "transformer",
        "sequence",
        _ALL_TASKS,
        "torch",
        False,
        f"{_TORCH}:build_transformer",
        requires="torch",
        horizon_param=_GAP,
        estimators=_pair(f"{_TORCH}._sequence", "TransformerRegressor", "TransformerClassifier"),
    ),
)

REGISTRY: dict[str, FamilySpec] = {spec.name: spec for spec in _SPECS}
