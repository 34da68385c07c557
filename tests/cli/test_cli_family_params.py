"""A model-parameter typo in a config exits 1 naming it, before any work starts."""

from __future__ import annotations

import pytest
import yaml

from intelligent_training.cli import main


@pytest.mark.parametrize("section", ["target_ranking", "feature_selection", "training"])
def test_family_parameter_typo_exits_1_before_ranking(data_dir, tmp_path, capsys, section):
    bad = tmp_path / "typo.yaml"
    bad.write_text(yaml.safe_dump({section: {"families": {"lightgbm": {"n_estimatorz": 30}}}}))
    out = tmp_path / "out"
    rc = main(["--data-dir", str(data_dir), "--output-dir", str(out), "--config", str(bad), "-q"])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "Traceback" not in err
    assert "n_estimatorz" in err and "'lightgbm'" in err and "n_estimators" in err
    assert f"{section}.families" in err and "typo.yaml" in err
    assert not out.exists()  # nothing ran, nothing was written
