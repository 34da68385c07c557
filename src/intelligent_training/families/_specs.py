"""The registered model families: :class:`FamilySpec` and the table of specs.

A spec names its builder, its estimator classes and its hooks by dotted path, so
nothing here imports an optional dependency.

**Capability hooks.** A spec declares everything the cell engine needs to know of its
family; the engine asks the spec and never names a family or a family kind:

``tolerates_nan``
    The estimators accept NaN features (else the engine mean-imputes the columns it
    was told may hold NaN, e.g. the cascade's out-of-fold columns).
``exclusive``
    The name of a process-wide resource a fit must hold alone (torch's seeded
    generators and thread count: ``"torch"``); cells naming the same resource run one
    at a time in a process. ``None``: no such resource.
``accepts_sample_weight``
    ``fit(X, y, sample_weight=...)`` is honoured.
``context``
    ``"module:function"`` of an input-context hook for families that predict a row from
    earlier rows (sequence windows): ``hook(data, rows, estimator) -> context rows``
    (sorted positions outside ``rows`` whose features the model must also see;
    ``data`` has ``index``, ``n_rows`` and ``memo(key, build)``). A family with a
    context hook is scored in one call per set of rows (never on stacked copies).
``joint_output``
    The fitted model scores one column per target (a multi-task network).
``native_trainer``
    ``"module:attribute"`` of a :class:`NativeTrainer`: a fast path that bins a fold's
    rows once and trains the library's own booster on them for every target.
``explainers``
    Importance method -> how the family computes it (see :data:`EXPLAINERS`); the
    methods a family does not list do not apply to it.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

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
#: How an importance method can be computed; a family names one per method it supports.
#: ``"own"`` (native): the fitted model's own importance (gain, impurity, ``|coef|``).
#: SHAP: ``"exact"`` the model's own exact contributions (boosters' TreeSHAP, linear
#: closed form; TreeSHAP through ``shap.TreeExplainer`` when a registry estimator
#: does not give its own); ``"tree_shap"`` exact TreeSHAP (``shap.TreeExplainer``);
#: ``"agnostic"`` shap's model-agnostic permutation explainer; or a
#: ``"module:function"`` hook ``explain(estimator, X, background, rng) -> (n, p, k)``
#: (e.g. the torch families' expected gradients). ``"batched"`` (permutation): the
#: test loss of shuffled copies scored in batched predict calls.
EXPLAINERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "native": ("own",),
        "shap": ("exact", "tree_shap", "agnostic"),
        "permutation": ("batched",),
    }
)

_ALL_TASKS = TASKS
_REG_BIN = ("regression", "binary")
# ``multi_task`` is also built for ``"multi"``: a DataFrame Y of mixed columns.
_MULTI = ("regression", "binary", "multi")


def load_hook(path: str) -> Any:
    """The object a ``"module:attribute"`` hook path names (imported now)."""
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)


class NativeModel:
    """A trained native booster seen through the cell engine's interface.

    Made by a :class:`NativeTrainer`; ``test_scores`` holds the score matrix of the
    cell's test rows when the trainer computed it while training (else None).
    """

    test_scores: Any = None

    def scores(self, X: Any) -> Any:
        """Score matrix ``(n, k)``: prediction, P(class 1), or class probabilities."""
        raise NotImplementedError

    def native_importance(self) -> Any:
        """Importance per feature (``(n_features,)``)."""
        raise NotImplementedError

    def contributions(self, X: Any) -> Any:
        """Exact SHAP values ``(n, n_features, n_outputs)`` on the margin scale."""
        raise NotImplementedError

    def forest(self) -> Any:
        """The trees as a :class:`~intelligent_training.families._tree_walk.Forest`, or
        None (permutation then scores shuffled copies through :meth:`scores`)."""
        return None


class NativeTrainer:
    """A family's fast native trainer (the hook ``FamilySpec.native_trainer`` names).

    The engine calls, in order: :meth:`native_params` (the family's resolved parameters
    onto the library's own), :meth:`bin_params` (the part that decides a fold's bins:
    cells with equal ones share them), :meth:`build` (bin a fold's base rows, once) and
    :meth:`train` (one cell on a subset of the base rows).

    Attributes
    ----------
    unsupported : tuple of str
        Parameters of the family's estimator the native path does not reproduce: a
        cell given one of them is fit through the registry instead.
    """

    unsupported: tuple[str, ...] = ()

    def native_params(
        self,
        params: Mapping[str, Any],
        task: str,
        n_classes: int,
        *,
        random_state: int | None,
        n_threads: int,
    ) -> tuple[dict[str, Any], int]:
        """Native parameters and boosting rounds for resolved family ``params``."""
        raise NotImplementedError

    def bin_params(self, native: Mapping[str, Any]) -> dict[str, Any]:
        """The native parameters that decide a fold's bins."""
        raise NotImplementedError

    def build(self, X: Any, base_rows: Any, params: Mapping[str, Any], ref: Any = None) -> Any:
        """The binned base rows ``X[base_rows]`` (``ref``: binned rows whose cuts to reuse)."""
        raise NotImplementedError

    def train(
        self,
        bins: Any,
        X: Any,
        positions: Any,
        y: Any,
        native: Mapping[str, Any],
        num_boost_round: int,
        test_rows: Any = None,
        *,
        task: str,
        n_classes: int,
        weight: Any = None,
    ) -> NativeModel:
        """Train on the base positions ``positions`` with labels ``y`` (and sample weights
        ``weight``, None for unweighted, where the family's ``accepts_sample_weight``).

        ``bins`` is the engine's fold holder: ``bins.base(X)`` the built base,
        ``bins.acquire(X)`` / ``bins.release(b)`` a base no other thread uses,
        ``bins.took_rows()`` says this cell no longer needs the base, ``bins.params``
        the bin parameters. ``test_rows`` (positions into ``X``): rows whose scores the
        model should keep in ``test_scores`` where that comes cheaper than predicting.
        """
        raise NotImplementedError


def check_resolved(params: Mapping[str, Any]) -> None:
    """Raise when a parameter is still ``"auto"`` (resolve it for the training rows with
    ``family_params(..., n_rows=...)`` before mapping it onto a native API)."""
    auto = sorted(k for k, v in params.items() if isinstance(v, str) and v == "auto")
    if auto:
        from intelligent_training.exceptions import FamilyError

        raise FamilyError(
            f"Parameters {auto} are still 'auto': resolve them for the training rows with "
            "family_params(..., n_rows=...) before mapping them to the native API."
        )


def _default_explainers(native_importance: bool) -> dict[str, str]:
    out = {"native": "own"} if native_importance else {}
    out.update({"shap": "agnostic", "permutation": "batched"})
    return out


@dataclass(frozen=True)
class FamilySpec:
    """Description of one registered model family.

    Parameters
    ----------
    name : str
        Registry name (e.g. ``"lightgbm"``).
    kind : str
        One of ``tree``, ``linear``, ``probabilistic``, ``torch``, ``sequence``,
        ``meta``, ``multi_task`` (a label for people; the engine reads the hooks).
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
    tolerates_nan, exclusive, accepts_sample_weight, context, joint_output, native_trainer, explainers
        The capability hooks (see the module docstring). ``explainers`` defaults to
        ``native`` (when ``native_importance``), model-agnostic ``shap`` and batched
        ``permutation``.
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
    tolerates_nan: bool = False
    exclusive: str | None = None
    accepts_sample_weight: bool = False
    context: str | None = None
    joint_output: bool = False
    native_trainer: str | None = None
    explainers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        explainers = dict(self.explainers) or _default_explainers(self.native_importance)
        object.__setattr__(self, "explainers", MappingProxyType(explainers))

    @property
    def methods(self) -> tuple[str, ...]:
        """The importance methods that apply to this family."""
        return tuple(self.explainers)

    def explainer(self, method: str) -> str | None:
        """How this family computes importance ``method`` (None: it does not)."""
        return self.explainers.get(method)

    def context_hook(self) -> Any:
        """The loaded input-context hook, or None."""
        return None if self.context is None else load_hook(self.context)

    def trainer(self) -> NativeTrainer | None:
        """The loaded fast native trainer, or None."""
        return None if self.native_trainer is None else load_hook(self.native_trainer)

    def estimator_classes(self, task: str | None = None) -> list[type]:
        """The estimator classes built for ``task`` (all of them for ``None``)."""
        paths = list(self.estimators)
        if task is not None and len(paths) > 1:
            paths = paths[:1] if task == "regression" else paths[1:]
        return [load_hook(path) for path in paths]

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

#: How each group of families is explained (see :data:`EXPLAINERS`).
_BOOSTED = {"native": "own", "shap": "exact", "permutation": "batched"}
_FOREST = {"native": "own", "shap": "tree_shap", "permutation": "batched"}
_LINEAR = {
    "native": "own",
    "shap": f"{_HERE}._linear:linear_contributions",
    "permutation": "batched",
}
_AGNOSTIC = {"shap": "agnostic", "permutation": "batched"}
#: expected gradients on the network (batched, on the model's device)
_NETWORK = {"shap": f"{_TORCH}._explain:expected_gradients", "permutation": "batched"}
_WINDOWED = {"permutation": "batched"}  # a window's SHAP values are not a row's
#: What every torch family declares: NaN imputed inside, torch's process-wide state.
_TORCH_CAPS: dict[str, Any] = {"tolerates_nan": True, "exclusive": "torch", "requires": "torch"}

_SPECS: tuple[FamilySpec, ...] = (
    FamilySpec(
        "lightgbm",
        "tree",
        _ALL_TASKS,
        None,
        True,
        f"{_HERE}._trees:build_lightgbm",
        estimators=_pair(f"{_HERE}._trees", "AutoLGBMRegressor", "AutoLGBMClassifier"),
        tolerates_nan=True,
        accepts_sample_weight=True,
        native_trainer=f"{_HERE}._lightgbm_native:TRAINER",
        explainers=_BOOSTED,
    ),
    FamilySpec(
        "xgboost",
        "tree",
        _ALL_TASKS,
        None,
        True,
        f"{_HERE}._xgboost:build_xgboost",
        estimators=_pair(f"{_HERE}._xgboost", "AutoXGBRegressor", "LabelEncodedXGBClassifier"),
        tolerates_nan=True,
        accepts_sample_weight=True,
        native_trainer=f"{_HERE}._xgboost_native:TRAINER",
        explainers=_BOOSTED,
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
        tolerates_nan=True,
        accepts_sample_weight=True,
        explainers=_FOREST,
    ),
    FamilySpec(
        "extra_trees",
        "tree",
        _ALL_TASKS,
        None,
        True,
        f"{_HERE}._trees:build_extra_trees",
        estimators=_pair(f"{_HERE}._trees", "AutoExtraTreesRegressor", "AutoExtraTreesClassifier"),
        tolerates_nan=True,
        accepts_sample_weight=True,
        explainers=_FOREST,
    ),
    FamilySpec(
        "linear",
        "linear",
        _ALL_TASKS,
        None,
        True,
        f"{_HERE}._linear:build_linear",
        estimators=_pair(f"{_HERE}._linear", "StandardizedRidge", "StandardizedLogisticRegression"),
        explainers=_LINEAR,
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
        explainers={"native": "own", **_AGNOSTIC},
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
        exclusive="torch",
        explainers=_AGNOSTIC,
    ),
    FamilySpec(
        "mlp",
        "torch",
        _ALL_TASKS,
        "torch",
        False,
        f"{_TORCH}:build_mlp",
        horizon_param=_GAP,
        estimators=_pair(f"{_TORCH}._mlp", "MLPRegressor", "MLPClassifier"),
        explainers=_NETWORK,
        **_TORCH_CAPS,
    ),
    FamilySpec(
        "vae",
        "torch",
        _ALL_TASKS,
        "torch",
        False,
        f"{_TORCH}:build_vae",
        horizon_param=_GAP,
        estimators=_pair(f"{_TORCH}._vae", "VAERegressor", "VAEClassifier"),
        explainers=_NETWORK,
        **_TORCH_CAPS,
    ),
    FamilySpec(
        "gan",
        "torch",
        _REG_BIN,
        "torch",
        False,
        f"{_TORCH}:build_gan",
        horizon_param=_GAP,
        estimators=_pair(f"{_TORCH}._gan", "GANRegressor", "GANClassifier"),
        explainers=_NETWORK,
        **_TORCH_CAPS,
    ),
    FamilySpec(
        "multi_task",
        "multi_task",
        _MULTI,
        "torch",
        False,
        f"{_TORCH}:build_multi_task",
        horizon_param=_GAP,
        estimators=_pair(f"{_TORCH}._multi_task", "MultiTaskNetwork"),
        joint_output=True,
        explainers=_NETWORK,
        **_TORCH_CAPS,
    ),
    FamilySpec(
        "cnn1d",
        "sequence",
        _ALL_TASKS,
        "torch",
        False,
        f"{_TORCH}:build_cnn1d",
        horizon_param=_GAP,
        estimators=_pair(f"{_TORCH}._sequence", "CNN1DRegressor", "CNN1DClassifier"),
        context=f"{_TORCH}._windows:context_of",
        explainers=_WINDOWED,
        **_TORCH_CAPS,
    ),
    FamilySpec(
        "lstm",
        "sequence",
        _ALL_TASKS,
        "torch",
        False,
        f"{_TORCH}:build_lstm",
        horizon_param=_GAP,
        estimators=_pair(f"{_TORCH}._sequence", "LSTMRegressor", "LSTMClassifier"),
        context=f"{_TORCH}._windows:context_of",
        explainers=_WINDOWED,
        **_TORCH_CAPS,
    ),
    FamilySpec(
        "transformer",
        "sequence",
        _ALL_TASKS,
        "torch",
        False,
        f"{_TORCH}:build_transformer",
        horizon_param=_GAP,
        estimators=_pair(f"{_TORCH}._sequence", "TransformerRegressor", "TransformerClassifier"),
        context=f"{_TORCH}._windows:context_of",
        explainers=_WINDOWED,
        **_TORCH_CAPS,
    ),
)

REGISTRY: dict[str, FamilySpec] = {spec.name: spec for spec in _SPECS}
