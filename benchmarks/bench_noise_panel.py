"""Noise panel of issue 22: are noise targets ever selected? Are the real ones always?

3 predictable targets of :func:`make_synthetic_panel` (6 symbols x 2 500 five-minute bars,
20 features) plus 30 candidate targets that are pure noise: forward sums of iid noise over
1, 3, 6 and 12 bars, a third of them binarised. ``TargetRanker(families=[...],
cv=PurgedTimeSeriesSplit(n_splits=3), top_n=10, random_state=0)`` on ``--draws`` draws of
the noise. Prints, per draw, the noise targets selected, whether all real targets were, the
largest noise t-statistic, and a summary line per configuration:

    PYTHONPATH=src python benchmarks/bench_noise_panel.py                 # all three configs
    PYTHONPATH=src python benchmarks/bench_noise_panel.py --configs lgb   # one of them
    PYTHONPATH=src python benchmarks/bench_noise_panel.py --sample-weight uniqueness

Configurations: ``lgb`` (lightgbm, ``early_stopping=False``), ``lgb_es`` (lightgbm,
``early_stopping=True``), ``lgb_xgb`` (lightgbm + xgboost, ``early_stopping=True``).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from intelligent_training import TargetRanker
from intelligent_training.datasets import make_synthetic_panel
from intelligent_training.model_selection import PurgedTimeSeriesSplit

REAL = ["fwd_ret_5m", "y_up_15m", "tgt_nonlin_10m"]
BARS = (1, 3, 6, 12)
CONFIGS = {
    "lgb": {"families": ["lightgbm"], "early_stopping": False},
    "lgb_es": {"families": ["lightgbm"], "early_stopping": True},
    "lgb_xgb": {"families": ["lightgbm", "xgboost"], "early_stopping": True},
}


def noise_panel(
    draw: int, n_symbols: int = 6, n_timestamps: int = 2500, n_features: int = 20
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(X, Y)``: the panel's features, 3 real and 30 noise targets (noise draw ``draw``)."""
    panel, truth = make_synthetic_panel(
        n_symbols=n_symbols, n_timestamps=n_timestamps, n_features=n_features, random_state=0
    )
    rng = np.random.default_rng(22_000 + draw)
    noise: dict[str, np.ndarray] = {}
    for j in range(30):
        bars = BARS[j % len(BARS)]
        e = rng.standard_normal((n_timestamps + bars - 1, n_symbols))
        c = np.vstack([np.zeros((1, n_symbols)), np.cumsum(e, axis=0)])
        fwd = (c[bars:] - c[:-bars]).reshape(-1)  # rows are (timestamp, symbol)
        if j % 3 == 2:
            noise[f"y_noise{j:02d}_up_{5 * bars}m"] = (fwd > 0).astype(np.int64)
        else:
            noise[f"fwd_noise{j:02d}_{5 * bars}m"] = fwd
    Y = pd.concat([panel[REAL], pd.DataFrame(noise, index=panel.index)], axis=1)
    return panel[truth.features], Y


def run(
    config: str, draw: int, sample_weight: str | None, n_jobs: int, dump: str | None = None
) -> dict:
    X, Y = noise_panel(draw)
    params = dict(CONFIGS[config])
    if sample_weight is not None:
        params["sample_weight"] = sample_weight
    ranker = TargetRanker(
        cv=PurgedTimeSeriesSplit(n_splits=3),
        top_n=10,
        random_state=0,
        n_jobs=n_jobs,
        verbose=False,
        **params,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ranker.fit(X, Y)
    rk = ranker.rankings_
    if dump:
        pd.to_pickle(
            (rk, ranker.skill_by_timestamp_, ranker.selected_targets_),
            f"{dump}/{config}_{sample_weight}_{draw}.pkl",
        )
    noise = [t for t in Y.columns if t not in REAL]
    picked = [t for t in ranker.selected_targets_ if t not in REAL]
    top = rk.loc[noise, "t_stat"].astype(float).idxmax()
    return {
        "noise_selected": picked,
        "all_real": set(REAL) <= set(ranker.selected_targets_),
        "top_noise": top,
        "top_noise_t": float(rk.loc[top, "t_stat"]),
        "top_noise_p": float(rk.loc[top, "p_value"]),
        "real_t_min": float(rk.loc[REAL, "t_stat"].min()),
        "noise_t_sd": float(rk.loc[noise, "t_stat"].astype(float).std()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--sample-weight", default=None)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--dump", default=None, help="folder for each run's rankings")
    args = parser.parse_args()
    print(
        "| config | draw | noise selected | all real selected | best noise (t, p) | "
        "min real t | sd of noise t |"
    )
    print("|---|---|---|---|---|---|---|")
    summary = []
    for config in args.configs.split(","):
        wall, cpu = time.perf_counter(), time.process_time()
        results = [
            run(config, d, args.sample_weight, args.n_jobs, args.dump) for d in range(args.draws)
        ]
        for d, r in enumerate(results):
            print(
                f"| {config} | {d} | {', '.join(r['noise_selected']) or '-'} | {r['all_real']} "
                f"| {r['top_noise']} ({r['top_noise_t']:.2f}, {r['top_noise_p']:.2g}) "
                f"| {r['real_t_min']:.1f} | {r['noise_t_sd']:.2f} |",
                flush=True,
            )
        clean = sum(not r["noise_selected"] for r in results)
        real = sum(r["all_real"] for r in results)
        summary.append(
            f"{config}: no noise selected in {clean}/{args.draws} draws, all real selected in "
            f"{real}/{args.draws}; {time.perf_counter() - wall:.0f} s wall, "
            f"{time.process_time() - cpu:.0f} s CPU"
        )
    print("\n".join(summary))


if __name__ == "__main__":
    main()
