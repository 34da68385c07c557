"""The known truth planted in a synthetic panel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SyntheticTruth"]


@dataclass(frozen=True)
class SyntheticTruth:
    """What a synthetic panel was built to contain, for tests and benchmarks.

    Attributes
    ----------
    target_order : list of str
        The predictable targets, most predictable first (sorted by ``signal_corr``).
    noise_targets : list of str
        Targets with no signal at all: overlapping forward sums of pure noise (and a
        threshold of one). Any positive out-of-sample skill on them is leakage.
    signal_corr : dict of str to float
        Target -> designed correlation between the planted signal and the (latent)
        label; ``0.0`` for noise targets. The best achievable out-of-sample metric
        follows from it, see :meth:`designed_score`.
    tasks : dict of str to str
        Target -> ``"regression"`` or ``"binary"``.
    horizons : dict of str to pandas.Timedelta
        Target -> span of its label (number of bars it looks ahead times ``freq``).
    horizon_bars : dict of str to int
        Target -> number of bars its label looks ahead.
    informative_features : dict of str to list of str
        Target -> the features its signal is built from (empty for noise targets).
    linear_target, nonlinear_target : str
        The strongest linear target and the nonlinear one (hard for a linear model,
        learnable by trees); their informative features are disjoint.
    redundant_features : dict of str to str
        Near-copy (correlation > 0.95) -> the informative feature it copies.
    noise_features : list of str
        Features unrelated to every target (still persistent AR(1) series).
    leaky_feature, leaky_target : str or None
        With ``leaky=True``: a feature equal to the future label of ``leaky_target``
        plus tiny noise. ``None`` otherwise.
    freq : pandas.Timedelta
        Spacing of the timestamp grid.
    """

    target_order: list[str]
    noise_targets: list[str]
    signal_corr: dict[str, float]
    tasks: dict[str, str]
    horizons: dict[str, pd.Timedelta]
    horizon_bars: dict[str, int]
    informative_features: dict[str, list[str]]
    linear_target: str
    nonlinear_target: str
    redundant_features: dict[str, str]
    noise_features: list[str]
    leaky_feature: str | None = None
    leaky_target: str | None = None
    freq: pd.Timedelta = pd.Timedelta("5min")

    @property
    def targets(self) -> list[str]:
        """All targets: the predictable ones (best first), then the noise ones."""
        return [*self.target_order, *self.noise_targets]

    def designed_score(self, target: str) -> float:
        """Best achievable out-of-sample metric of ``target`` (the planted signal itself).

        Regression: R² ``= rho**2``. Binary (a latent thresholded at 0): ROC-AUC
        ``= 0.5 + (2 / pi) * arcsin(rho / sqrt(2))`` (e.g. rho 0.65 -> AUC 0.80).
        Noise targets: 0.0 (R²) or 0.5 (AUC).
        """
        rho = self.signal_corr[target]
        if self.tasks[target] == "binary":
            return float(0.5 + 2.0 / np.pi * np.arcsin(rho / np.sqrt(2.0)))
        return float(rho * rho)

    @property
    def features(self) -> list[str]:
        """All feature columns of the panel, in column order of creation."""
        informative = [f for t in self.target_order for f in self.informative_features[t]]
        names = informative + list(self.redundant_features) + list(self.noise_features)
        names = sorted(names)
        if self.leaky_feature is not None:
            names.append(self.leaky_feature)
        return names
