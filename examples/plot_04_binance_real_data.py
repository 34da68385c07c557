"""
Real data: Binance 5-minute bars
================================

Builds backward-looking features and forward-return labels from raw 5-minute bars of a few
Binance spot pairs (``../shared/data/binance_spot_5m_2024.parquet`` beside the repository,
the same as ``examples/binance_5m.py``), ranks the targets and draws their out-of-fold skill.
When the data file is absent the example says so and stops.
"""

# %%
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))
from binance_5m import DATA, build_features, build_labels

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"]
DAYS = 5
available = DATA.is_file()
if not available:
    print(f"skipped: {DATA} is not there (it lives beside the repository, in ../shared/data)")

# %%
# Features and labels per symbol, stacked into a panel
# ----------------------------------------------------
if available:
    raw = pd.read_parquet(DATA, filters=[("symbol", "in", SYMBOLS)])
    raw["symbol"] = raw["symbol"].astype(str)
    end = raw["date"].max()
    raw = raw[raw["date"] > end - pd.Timedelta(days=DAYS + 1)]
    tables = []
    for symbol, bars in raw.groupby("symbol"):
        bars = bars.set_index("date").sort_index()[["open", "high", "low", "close", "volume"]]
        bars.index = bars.index.tz_convert("UTC").tz_localize(None)
        table = pd.concat([build_features(bars), build_labels(bars)], axis=1).iloc[288:]
        tables.append(table.assign(symbol=symbol.replace("/", "")))
    panel = (
        pd.concat(tables)
        .rename_axis("timestamp")
        .set_index("symbol", append=True)
        .sort_index()
        .dropna(subset=["ret_288b"])
    )
    print(panel.shape)

# %%
# Rank the targets
# ----------------
if available:
    from intelligent_training import IntelligentPipeline, TargetRanker
    from intelligent_training.data import split_features_targets

    X, Y = split_features_targets(panel)
    X = X.astype("float32")
    fast = {"lightgbm": {"n_estimators": 40}, "xgboost": {"n_estimators": 40}}
    ranker = TargetRanker(families=fast, top_n=3, random_state=0).fit(X, Y)
    print(ranker.rankings_[["rank", "score", "selected", "task", "horizon"]].to_string())

# %%
# Out-of-fold skill of the best targets over time
# -----------------------------------------------
# The pipeline measures the skill of the ranking's out-of-fold predictions per timestamp
# (rank IC across the symbols; AUC for the ``y_up_*`` targets); here with the targets given,
# so only the training step runs.
if available:
    from intelligent_training import FeatureSelector, ModelTrainer

    best = ranker.selected_targets_[:2]
    pipe = IntelligentPipeline(
        TargetRanker(families=fast, top_n=2, random_state=0),
        FeatureSelector(
            families={"lightgbm": fast["lightgbm"], "linear": {}},
            importance=("native",),
            require_min_models=1,
            top_m=8,
            random_state=0,
        ),
        ModelTrainer(families={"lightgbm": fast["lightgbm"], "linear": {}}, cv=3, random_state=0),
    ).fit(X, Y[sorted(set(best) | {"fwd_ret_60m"})])
    skill = pipe.skill_by_timestamp_.query("stage == 'ranking'")
    fig, ax = plt.subplots(figsize=(8, 3))
    for (target, family), part in skill.groupby(["target", "family"]):
        series = part.set_index("timestamp")["value"].rolling(96, min_periods=24).mean()
        ax.plot(series.index, series.to_numpy(), label=f"{target} / {family}")
    ax.axhline(0, color="k", lw=0.8, ls="--")
    ax.set_ylabel("rolling out-of-fold skill")
    ax.legend(fontsize=7)
    plt.show()
