"""
Purged walk-forward splits inside ``GridSearchCV``
==================================================

Labels that look ``h`` bars ahead overlap the next ``h`` training rows; an ordinary split
leaks the test period into training. :class:`~intelligent_training.PurgedTimeSeriesSplit`
builds folds from whole timestamps (all symbols of a bar on one side) and drops the training
bars whose label interval touches the test span. It is a scikit-learn splitter, so it drops
into ``GridSearchCV``.
"""

# %%
# The folds, drawn
# ----------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from intelligent_training import PurgedTimeSeriesSplit
from intelligent_training.data import split_features_targets
from intelligent_training.datasets import make_synthetic_panel

panel, _ = make_synthetic_panel(n_symbols=4, n_timestamps=300, n_features=12, random_state=0)
X, Y = split_features_targets(panel)
y = Y["fwd_ret_30m"].dropna()
X = X.loc[y.index]

cv = PurgedTimeSeriesSplit(n_splits=4, horizon="30min", embargo=2)
stamps = X.index.get_level_values("timestamp")
unique = np.unique(stamps)
fig, ax = plt.subplots(figsize=(8, 2.6))
for k, (train, test) in enumerate(cv.split(X)):
    state = np.zeros(len(unique))  # 0 unused / purged, 1 train, 2 test
    state[np.isin(unique, stamps[train])] = 1
    state[np.isin(unique, stamps[test])] = 2
    ax.scatter(
        np.arange(len(unique)),
        np.full(len(unique), k),
        c=state,
        cmap="coolwarm",
        marker="s",
        s=6,
        vmin=0,
        vmax=2,
    )
ax.set_yticks(range(4), [f"fold {k}" for k in range(4)])
ax.set_xlabel("timestamp (bar)")
ax.set_title("blue: not used (before the first fold, or purged); grey: train; red: test")
plt.show()

# %%
# Tune a model with it
# --------------------
# ``GridSearchCV`` passes ``X`` to the splitter, which reads the timestamps from its index.
search = GridSearchCV(
    make_pipeline(StandardScaler(), Ridge()),
    {"ridge__alpha": [0.1, 10.0, 1000.0]},
    cv=cv,
    scoring="r2",
).fit(X, y)
print("best alpha:", search.best_params_, f"out-of-sample R2: {search.best_score_:.3f}")
search.cv_results_["mean_test_score"]
