"""
Running the work on a Dask cluster
==================================

The (target x family x fold) cells of the ranking are independent. With
``joblib.parallel_config(backend="dask")`` joblib sends them to a Dask cluster; here a
``LocalCluster`` in this process, on a real cluster the address of its scheduler
(``intelligent-train --dask-scheduler tcp://host:8786``). The results are the same as on
one machine.
"""

# %%
import joblib
import pandas as pd
from dask.distributed import Client, LocalCluster

from intelligent_training import TargetRanker
from intelligent_training.data import split_features_targets
from intelligent_training.datasets import make_synthetic_panel

panel, _ = make_synthetic_panel(n_symbols=4, n_timestamps=400, n_features=12, random_state=0)
X, Y = split_features_targets(panel)
fast = {"lightgbm": {"n_estimators": 30}, "xgboost": {"n_estimators": 30}}

local = TargetRanker(families=fast, top_n=3, n_jobs=2, random_state=0).fit(X, Y)

# %%
# The same ranking on a two-worker cluster
# ----------------------------------------
with (
    LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster,
    Client(cluster) as client,
):
    print(client)
    with joblib.parallel_config(backend="dask"):
        distributed = TargetRanker(families=fast, top_n=3, n_jobs=2, random_state=0).fit(X, Y)

pd.testing.assert_series_equal(local.rankings_["score"], distributed.rankings_["score"])
print("identical scores on the cluster:", distributed.selected_targets_)
distributed.rankings_[["rank", "score", "selected"]]
