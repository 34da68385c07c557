"""The seed design's config keys and shapes load as aliases; the resolved config shows ours."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from intelligent_training.config import dump_config, load_config
from intelligent_training.exceptions import ConfigError

#: The seed design's two YAML files, verbatim (shared with tests/cli/test_seed_usage.py).
SEED = Path(__file__).resolve().parents[1] / "seed"


@pytest.fixture
def seed_files():
    return SEED / "target_ranking_config.yaml", SEED / "multi_model_feature_selection.yaml"


def test_seed_files_load_as_our_keys(seed_files):
    tr, mm = seed_files
    cfg = load_config(target_ranking_config=tr, multi_model_config=mm)
    assert cfg.target_ranking.top_n == 5
    assert cfg.target_ranking.min_score == 0.1
    assert cfg.target_ranking.families == ["lightgbm", "xgboost", "random_forest"]
    assert cfg.target_ranking.max_samples_per_symbol == 10000
    assert cfg.target_ranking.n_splits == 3
    assert cfg.feature_selection.families == ["lightgbm", "random_forest", "mlp"]
    assert cfg.feature_selection.require_min_models == 2
    resolved = yaml.safe_load(dump_config(cfg))
    text = dump_config(cfg)
    for seed_key in ("top_n_targets", "min_predictability_score", "model_families", "cv_folds"):
        assert seed_key not in text
    assert "neural_network" not in text and "aggregation" not in text
    assert resolved["target_ranking"]["top_n"] == 5


def test_seed_files_work_as_config_too(seed_files):
    """The same keys are aliases in any layer, also under their section in --config."""
    tr, _ = seed_files
    assert load_config(tr).target_ranking.top_n == 5
    cfg = load_config({"feature_selection": {"model_families": ["neural_network", "linear"]}})
    assert cfg.feature_selection.families == ["mlp", "linear"]


def test_enabled_false_drops_a_family_and_params_survive():
    cfg = load_config(
        {
            "training": {
                "model_families": {
                    "lightgbm": {"enabled": True, "n_estimators": 30},
                    "xgboost": {"enabled": False, "n_estimators": 5},
                    "neural_network": {"enabled": True},
                }
            }
        }
    )
    assert cfg.training.families == {"lightgbm": {"n_estimators": 30}, "mlp": {}}


def test_alias_and_our_key_together_is_an_error():
    with pytest.raises(ConfigError, match=r"target_ranking\.top_n' is given twice.*top_n_targets"):
        load_config({"target_ranking": {"top_n": 3, "top_n_targets": 4}})
    with pytest.raises(ConfigError, match="family 'mlp' appears twice"):
        load_config({"training": {"families": {"mlp": {}, "neural_network": {}}}})


def test_bad_alias_shapes_name_the_key():
    with pytest.raises(ConfigError, match=r"aggregation\.min_models"):
        load_config({"feature_selection": {"aggregation": {"min_models": 2}}})
    with pytest.raises(ConfigError, match=r"aggregation' .*expected a mapping"):
        load_config({"feature_selection": {"aggregation": 2}})
    with pytest.raises(ConfigError, match=r"lightgbm\.enabled"):
        load_config({"training": {"families": {"lightgbm": {"enabled": "yes"}}}})
    with pytest.raises(ConfigError, match="top_n_target'"):  # a typo is still a typo
        load_config({"target_ranking": {"top_n_target": 3}})


def test_max_samples_per_symbol_is_validated():
    assert load_config({"feature_selection": {"max_samples_per_symbol": 500}})
    with pytest.raises(ConfigError, match="max_samples_per_symbol"):
        load_config({"target_ranking": {"max_samples_per_symbol": 0}})
