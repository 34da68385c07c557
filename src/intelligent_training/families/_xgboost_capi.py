"""Every call into XGBoost's private layer or its C API, in one place.

:func:`xgboost_train` runs ``xgb.train``'s rounds; after the first it calls
``XGBoosterUpdateOneIter`` through ``xgboost.core._LIB`` where :data:`ENABLED` (the
XGBoost major versions it was checked against, :data:`TESTED_MAJORS`, with the names it
needs), else the public ``Booster.update``. Both give the same booster, round for round
(``tests/families/test_xgboost_native.py`` runs both and compares).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ENABLED", "TESTED_MAJORS", "xgboost_train"]

#: XGBoost major versions whose private layer :func:`xgboost_train` was checked against.
TESTED_MAJORS = (2, 3)


def _private_layer_usable() -> bool:
    try:
        import xgboost as xgb
        from xgboost import core
    except ImportError:  # pragma: no cover - xgboost is a core dependency
        return False
    major = int(str(xgb.__version__).split(".")[0])
    return (
        major in TESTED_MAJORS
        and hasattr(core, "_check_call")
        and hasattr(getattr(core, "_LIB", None), "XGBoosterUpdateOneIter")
    )


#: Whether the private call is used (else the public ``Booster.update``).
ENABLED: bool = _private_layer_usable()


def xgboost_train(params: Mapping[str, Any], dtrain: Any, num_boost_round: int) -> Any:
    """``xgb.train(params, dtrain, num_boost_round)`` without callbacks or evaluation sets.

    The same booster, round for round: ``xgb.train`` creates the booster on
    ``[dtrain]``, calls ``Booster.update`` once per round and ``reset`` at the end; its
    per-round Python work (feature-name checks of the matrix, an empty evaluation, the
    callback container) is about a sixth of a small model's training time, so after the
    first round (which assigns the matrix's feature information as ``update`` does) the
    rounds call XGBoost's ``XGBoosterUpdateOneIter`` directly.
    """
    import ctypes

    import xgboost as xgb

    booster = xgb.Booster(dict(params), [dtrain])
    if num_boost_round > 0:
        booster.update(dtrain, iteration=0)
    if not ENABLED:
        for i in range(1, num_boost_round):
            booster.update(dtrain, iteration=i)
        return booster.reset()
    from xgboost.core import _LIB, _check_call

    update, handle, data = _LIB.XGBoosterUpdateOneIter, booster.handle, dtrain.handle
    for i in range(1, num_boost_round):
        _check_call(update(handle, ctypes.c_int(i), data))
    return booster.reset()
