"""Expected gradients: the torch families' SHAP explainer, on the network itself.

Expected gradients (Erion et al., 2021; shap's ``GradientExplainer``) attribute the
network's output ``f`` at a row ``x`` to its features as

    phi_j(x) = E_{x' ~ background, a ~ U(0, 1)} [ (x_j - x'_j) * df/dx_j (x' + a (x - x')) ],

an integrated-gradients average over background rows: the attributions add up to
``f(x) - E[f(x')]`` in expectation (SHAP's local accuracy), and one backward pass
scores a batch of points. Here every explained row draws ``n_samples`` (background
row, ``a``) pairs from the engine's random stream; all the rows' points go through the
network in batches of :data:`_BATCH` on the device the model was trained on.

The gradients are taken on the network's inputs (the standardised features, see
:mod:`._preprocess`): a per-feature affine map leaves ``(x_j - x'_j) df/dx_j``
unchanged, and a feature's missing-indicator column adds its attribution to the
feature's own. Outputs are the network's raw outputs (the margin: logits for
classifiers), as the boosters' own contributions are.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

__all__ = ["expected_gradients"]

#: Samples of (background row, interpolation point) per explained row.
N_SAMPLES = 32
#: Points per forward/backward pass.
_BATCH = 8192


def _plain_inputs(estimator: Any) -> bool:
    """Whether the network reads a row's own standardised features (not windows)."""
    from intelligent_training.families.torch._base import TorchEstimatorBase

    if not isinstance(estimator, TorchEstimatorBase):
        return False
    cls = type(estimator)
    return (
        cls._prepare_inputs is TorchEstimatorBase._prepare_inputs
        and cls._take is TorchEstimatorBase._take
        and hasattr(estimator, "module_")
    )


def expected_gradients(
    estimator: Any,
    X: Any,
    background: Any,
    rng: np.random.RandomState | None,
    *,
    n_samples: int = N_SAMPLES,
) -> np.ndarray | None:
    """Expected-gradients SHAP values ``(n, n_features, n_outputs)`` of a torch model.

    Parameters
    ----------
    estimator : fitted torch-family estimator
    X : array-like of shape (n, n_features)
        Rows to explain (raw features, as ``predict`` takes them).
    background : array-like of shape (m, n_features)
        Reference rows (the explained fold's rows).
    rng : RandomState or None
        Draws the (background row, interpolation point) pairs.
    n_samples : int, default=32

    Returns
    -------
    ndarray or None
        None for a model this explainer does not read (windowed inputs).
    """
    if not _plain_inputs(estimator):
        return None
    from intelligent_training.families.torch._runtime import import_torch, torch_threads

    torch = import_torch()
    rng = rng if rng is not None else np.random.RandomState(0)
    standardizer = estimator.standardizer_
    Xs = standardizer.transform(estimator._check_predict_X(X))
    Bs = standardizer.transform(estimator._check_predict_X(background))
    n, width = Xs.shape
    n_features = int(estimator.n_features_in_)
    if n == 0 or len(Bs) == 0:
        return None
    device = estimator.device_
    if device != "cpu" and not torch.cuda.is_available():
        device = "cpu"
    module = estimator.module_ if device == "cpu" else copy.deepcopy(estimator.module_).to(device)
    module.eval()
    picks = rng.randint(0, len(Bs), size=(n, n_samples))
    alphas = rng.random_sample((n, n_samples)).astype(np.float32)
    rows = np.repeat(np.arange(n), n_samples)
    refs, a = picks.ravel(), alphas.ravel()
    acc: Any = None
    x_all = torch.as_tensor(Xs, device=device)
    b_all = torch.as_tensor(Bs, device=device)
    with torch_threads(estimator.n_jobs):
        for start in range(0, len(rows), _BATCH):
            stop = min(start + _BATCH, len(rows))
            r = torch.as_tensor(rows[start:stop], device=device)
            x = x_all[r]
            diff = x - b_all[torch.as_tensor(refs[start:stop], device=device)]
            alpha = torch.as_tensor(a[start:stop], device=device)[:, None]
            point = (x - (1.0 - alpha) * diff).detach().requires_grad_(True)
            out = estimator._predict_raw(module, point)
            out = out.reshape(out.shape[0], -1)
            parts = []
            for k in range(out.shape[1]):
                (grad,) = torch.autograd.grad(out[:, k].sum(), point, retain_graph=True)
                parts.append((grad * diff).detach())
            contrib = torch.stack(parts, dim=-1)  # (points, width, k)
            if acc is None:
                acc = torch.zeros((n, width, contrib.shape[-1]), dtype=torch.float64, device=device)
            acc.index_add_(0, r, contrib.to(torch.float64))
    values = acc.cpu().numpy() / n_samples
    out = values[:, :n_features, :].copy()
    indicators = np.asarray(standardizer.indicator_columns_, dtype=np.intp)
    if indicators.size:  # a missing indicator's attribution is its feature's
        out[:, indicators] += values[:, n_features : n_features + indicators.size]
    return out
