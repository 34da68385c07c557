"""The seed design's configuration keys, accepted as aliases of ours.

The design this project implements shows two YAML files, ``target_ranking_config.yaml``
and ``multi_model_feature_selection.yaml``. Their keys and shapes load as they are and
are translated, layer by layer, into our names before validation, so the resolved
configuration (``resolved_config.yaml``) shows only ours:

============================  ==============================================
seed key                      our key
============================  ==============================================
``top_n_targets``             ``target_ranking.top_n``
``min_predictability_score``  ``target_ranking.min_score``
``model_families``            ``families`` of the section
``cv_folds``                  ``n_splits`` of the section
``top_m_features``            ``feature_selection.top_m``
``aggregation:``              ``feature_selection.require_min_models``
``  require_min_models``
``max_samples_per_symbol``    the same name (ranking and selection sections)
family ``neural_network``     family ``mlp``
============================  ==============================================

A families mapping may give ``enabled: false`` to drop a family (``enabled: true`` is
dropped from the parameters); a mapping whose families have no other parameters
becomes a plain list.
"""

from __future__ import annotations

from typing import Any

from intelligent_training.exceptions import ConfigError, excerpt

__all__ = ["FAMILY_ALIASES", "KEY_ALIASES", "normalize_layer"]

#: Seed key -> our key, per section.
KEY_ALIASES: dict[str, dict[str, str]] = {
    "target_ranking": {
        "top_n_targets": "top_n",
        "min_predictability_score": "min_score",
        "model_families": "families",
        "cv_folds": "n_splits",
    },
    "feature_selection": {
        "top_m_features": "top_m",
        "model_families": "families",
        "cv_folds": "n_splits",
    },
    "training": {"model_families": "families", "cv_folds": "n_splits"},
}
#: Seed family name -> registry name.
FAMILY_ALIASES: dict[str, str] = {"neural_network": "mlp"}


def _families(spec: Any, where: str) -> Any:
    """A ``families`` value with aliased names and ``enabled:`` flags resolved."""
    if isinstance(spec, str):
        spec = [spec]
    if isinstance(spec, list):
        return [FAMILY_ALIASES.get(name, name) if isinstance(name, str) else name for name in spec]
    if not isinstance(spec, dict):
        return spec
    out: dict[Any, Any] = {}
    for name, params in spec.items():
        canonical = FAMILY_ALIASES.get(name, name) if isinstance(name, str) else name
        if canonical in out:
            raise ConfigError(
                f"family {excerpt(canonical)} appears twice in {where} (as {excerpt(name)} and "
                "under its "
                "other name); keep one"
            )
        if isinstance(params, dict) and "enabled" in params:
            params = dict(params)
            enabled = params.pop("enabled")
            if not isinstance(enabled, bool):
                raise ConfigError(
                    f"invalid value for '{where}.{name}.enabled' (expected true or false; "
                    f"got {excerpt(enabled)})"
                )
            if not enabled:
                continue
        out[canonical] = params
    if all(p is None or p == {} for p in out.values()):
        return list(out)
    return {name: (p if p is not None else {}) for name, p in out.items()}


def _section(name: str, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        return data
    aliases = KEY_ALIASES.get(name, {})
    out: dict[str, Any] = {}
    for key, value in data.items():
        canonical = aliases.get(str(key), str(key))
        if name == "feature_selection" and key == "aggregation":
            if not isinstance(value, dict):
                raise ConfigError(
                    f"invalid value for '{name}.aggregation' in {where} (expected a mapping "
                    f"like {{require_min_models: 2}}; got {excerpt(value)})"
                )
            extra = sorted(set(value) - {"require_min_models"})
            if extra:
                raise ConfigError(
                    f"unknown key '{name}.aggregation.{extra[0]}' in {where} (valid keys: "
                    "require_min_models)"
                )
            if "require_min_models" not in value:
                continue
            canonical, value = "require_min_models", value["require_min_models"]
        if canonical in out:
            raise ConfigError(
                f"'{name}.{canonical}' is given twice in {where} (also as {excerpt(key)}); keep one"
            )
        out[canonical] = (
            _families(value, f"{name}.{canonical}") if canonical == "families" else value
        )
    return out


def normalize_layer(layer: dict[str, Any], where: str) -> dict[str, Any]:
    """One configuration layer with the seed's keys and shapes turned into ours."""
    return {name: _section(name, data, where) for name, data in layer.items()}
