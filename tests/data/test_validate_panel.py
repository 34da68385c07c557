"""validate_panel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from intelligent_training.data import validate_panel
from intelligent_training.exceptions import DataError


def test_synthetic_panel_is_valid(synthetic):
    panel, _ = synthetic
    validate_panel(panel)


def test_not_a_panel_index():
    with pytest.raises(DataError, match="MultiIndex"):
        validate_panel(pd.DataFrame({"a": [1.0]}))


def test_duplicates_named(synthetic):
    panel, _ = synthetic
    doubled = pd.concat([panel.iloc[:4], panel.iloc[2:3]]).sort_index()
    with pytest.raises(DataError, match="duplicate.*SYM002"):
        validate_panel(doubled)


def test_unsorted(synthetic):
    panel, _ = synthetic
    shuffled = panel.iloc[::-1]
    with pytest.raises(DataError, match="not sorted"):
        validate_panel(shuffled)
    validate_panel(shuffled, require_sorted=False)


def test_inf_names_column_and_symbol(synthetic):
    panel, _ = synthetic
    bad = panel.iloc[:12].copy()
    bad.iloc[7, 3] = np.inf  # row 7 = second timestamp, SYM001
    with pytest.raises(DataError, match=r"'f03'.*SYM001"):
        validate_panel(bad)


def test_timestamp_dtype():
    index = pd.MultiIndex.from_arrays([["a", "b"], ["X", "X"]], names=["timestamp", "symbol"])
    with pytest.raises(DataError, match="datetimes"):
        validate_panel(pd.DataFrame({"f": [1.0, 2.0]}, index=index))


def test_tz_aware_timestamps_rejected(synthetic):
    panel, _ = synthetic
    aware = panel.iloc[:12].copy()
    aware.index = aware.index.set_levels(
        aware.index.levels[0].tz_localize("Europe/Berlin"), level="timestamp"
    )
    with pytest.raises(DataError, match="tz-aware"):
        validate_panel(aware)


def test_feature_and_target_dtypes_checked(synthetic):
    panel, _ = synthetic
    feature = next(c for c in panel.columns if not c.startswith(("fwd_", "y_")))
    wide = panel.iloc[:12].astype({feature: "float64"})
    with pytest.raises(DataError, match=rf"feature column '{feature}' has dtype float64"):
        validate_panel(wide)
    target = next(c for c in panel.columns if c.startswith("fwd_"))
    narrow = panel.iloc[:12].astype({target: "float32"})
    with pytest.raises(DataError, match=rf"target column '{target}' has dtype float32"):
        validate_panel(narrow)
    # what counts as a target follows the patterns
    validate_panel(wide.rename(columns={feature: "y_" + feature}))
