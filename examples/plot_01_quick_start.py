"""
Quick start: rank, select, train, report
========================================

The whole workflow on the built-in synthetic panel, whose truth is known: ``fwd_ret_5m``,
``y_up_15m``, ``tgt_nonlin_10m`` and ``fwd_ret_30m`` are predictable (in that order),
``fwd_ret_60m`` and ``y_will_peak_60m_0.8`` are noise. Small models keep it to seconds.
"""

# %%
# A panel: features and candidate targets indexed by ``(timestamp, symbol)``
# ---------------------------------------------------------------------------
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from intelligent_training import FeatureSelector, IntelligentPipeline, ModelTrainer, TargetRanker
from intelligent_training.data import split_features_targets
from intelligent_training.datasets import make_synthetic_panel

panel, truth = make_synthetic_panel(n_symbols=4, n_timestamps=300, n_features=12, random_state=0)
X, Y = split_features_targets(panel)  # target columns are recognised by their names
print(X.shape, list(Y.columns))

# %%
# Rank the candidate targets
# --------------------------
# Every target x family x fold of a purged walk-forward split is fitted and scored out of
# sample; the score is skill over a naive baseline, comparable across regression and
# classification targets.
FAST = {"lightgbm": {"n_estimators": 25}, "xgboost": {"n_estimators": 25}}
ranker = TargetRanker(families=FAST, top_n=3, random_state=0).fit(X, Y)
ranker.rankings_[["rank", "score", "selected", "task", "horizon", "lightgbm_score"]]

# %%
# Select the features of the best target
# --------------------------------------
# Importances per family and method (here the models' native importance; SHAP and
# permutation importance on the test folds are the other methods), combined by consensus.
best = ranker.selected_targets_[0]
selector = FeatureSelector(
    families={"lightgbm": FAST["lightgbm"], "linear": {}},
    importance=("native",),
    top_m=5,
    random_state=0,
).fit(X, Y[best])
print(best, "->", selector.selected_features_)
selector.agreement_matrix_

# %%
# Train model families on it
# --------------------------
trainer = ModelTrainer(families={"lightgbm": FAST["lightgbm"], "linear": {}}, cv=3, random_state=0)
trainer.fit(X[selector.selected_features_], Y[best])
trainer.cv_metrics_.query("fold == 'mean'")[["family", "r2", "ic_mean", "skill"]]

# %%
# All three steps in one estimator, and its report
# ------------------------------------------------
pipe = IntelligentPipeline(
    TargetRanker(families=FAST, top_n=2, random_state=0),
    FeatureSelector(
        families={"lightgbm": FAST["lightgbm"], "linear": {}},
        importance=("native",),
        top_m=5,
        random_state=0,
    ),
    ModelTrainer(families={"lightgbm": FAST["lightgbm"], "linear": {}}, cv=3, random_state=0),
).fit(X, Y)
report_dir = Path(tempfile.mkdtemp()) / "report"
print(pipe.selected_targets_, pipe.report(report_dir))

# %%
# ``report.json`` holds every number of the page; here the skill of the best target over
# time, re-plotted from it.
import json

data = json.loads((report_dir / "report.json").read_text())
entry = data["skill_over_time"][pipe.selected_targets_[0]]
fig, ax = plt.subplots(figsize=(8, 2.8))
for family, series in entry["families"].items():
    ax.plot(series["rolling"], label=f"{family} (rolling mean)")
ax.axhline(entry["baseline"], color="k", ls="--", lw=0.8)
ax.set_ylabel(entry["metric"])
ax.set_title(f"{pipe.selected_targets_[0]}: out-of-fold skill over time")
ax.legend()
plt.show()
