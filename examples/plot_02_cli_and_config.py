"""
The console script and a YAML configuration
===========================================

``intelligent-train`` runs the whole job on a data directory (one table per symbol) and
writes the output layout, ``report.html`` and ``report.json``. Settings come from, highest
first: flags, a ``--config`` file, the packaged defaults.
"""

# %%
# A data directory in the hive layout
# -----------------------------------
import json
import tempfile
from pathlib import Path

import yaml

from intelligent_training.cli import main
from intelligent_training.datasets import write_synthetic_data_dir

work = Path(tempfile.mkdtemp())
write_synthetic_data_dir(
    work / "data", n_symbols=4, n_timestamps=400, n_features=12, random_state=0
)
data_dir = work / "data" / "interval=5m"
print(sorted(p.relative_to(work).as_posix() for p in data_dir.rglob("*.parquet")))

# %%
# A configuration file: small models, two targets
# -----------------------------------------------
fast = {"lightgbm": {"n_estimators": 30, "num_leaves": 7}, "linear": {}}
config = {
    "target_ranking": {"top_n": 2, "families": fast, "n_splits": 3},
    "feature_selection": {
        "top_m": 6,
        "families": fast,
        "importance": ["native"],
        "require_min_models": 1,
        "n_splits": 3,
    },
    "training": {"families": fast, "n_splits": 3},
    "runtime": {"threads": 1},
}
(work / "fast.yaml").write_text(yaml.safe_dump(config))
print((work / "fast.yaml").read_text())

# %%
# Run it (``python -m intelligent_training`` is the same)
# -------------------------------------------------------
out = work / "intelligent_output"
rc = main(
    [
        "--data-dir",
        str(data_dir),
        "--config",
        str(work / "fast.yaml"),
        "--symbols",
        "SYM000,SYM001,SYM002,SYM003",
        "--output-dir",
        str(out),
    ]
)
print("exit code", rc)

# %%
# What it wrote
# -------------
manifest = json.loads((out / "manifest.json").read_text())
print("selected:", manifest["selected_targets"])
print("timings:", manifest["timings_s"])
print(sorted(p.name for p in out.iterdir()))

# %%
# The resolved configuration (our names, every default filled in) is saved with the run:
print((out / "resolved_config.yaml").read_text()[:600])

# %%
# Re-render the report of a finished run without refitting
# --------------------------------------------------------
print(main(["report", str(out), "--out", str(work / "report-again")]))
