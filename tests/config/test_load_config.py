"""load_config: layer priority, section files, errors naming the key and the file."""

from __future__ import annotations

import pytest
import yaml

from intelligent_training.config import PipelineConfig, dump_config, load_config, read_yaml
from intelligent_training.exceptions import ConfigError


def _write(path, data):
    path.write_text(yaml.safe_dump(data))
    return path


def test_code_defaults_without_packaged_files():
    cfg = load_config(packaged_defaults=False)
    assert cfg == PipelineConfig()


def test_packaged_defaults_are_applied_and_valid():
    cfg = load_config()
    assert cfg.target_ranking.n_splits == 5  # a deliberate CLI override
    assert cfg.feature_selection.families == ["lightgbm", "xgboost", "linear"]
    assert cfg.cache.ttl == "7d"


def test_packaged_yaml_only_overrides_estimator_defaults():
    """A packaged value equal to the estimator's own default would be a second copy."""
    from importlib import resources

    import yaml

    from intelligent_training.families._defaults import default_family_names
    from intelligent_training.ranking import DEFAULT_RANKER_FAMILIES, TargetRanker
    from intelligent_training.ranking._ranker import DEFAULT_N_SPLITS as RANK_SPLITS
    from intelligent_training.selection import FeatureSelector
    from intelligent_training.selection._selector import DEFAULT_N_SPLITS as SELECT_SPLITS
    from intelligent_training.training import ModelTrainer
    from intelligent_training.training._trainer import _DEFAULT_N_SPLITS as TRAIN_SPLITS

    stages = {
        "target_ranking": (TargetRanker, RANK_SPLITS, list(DEFAULT_RANKER_FAMILIES)),
        "feature_selection": (FeatureSelector, SELECT_SPLITS, default_family_names()),
        "training": (ModelTrainer, TRAIN_SPLITS, default_family_names()),
    }
    root = resources.files("intelligent_training.config") / "defaults"
    checked = 0
    for name in ("target_ranking.yaml", "multi_model.yaml"):
        for section, keys in yaml.safe_load((root / name).read_text()).items():
            cls, n_splits, families = stages[section]
            defaults = cls().get_params(deep=False)
            for key, value in keys.items():
                default = {"n_splits": n_splits, "families": families}.get(key, defaults.get(key))
                assert value != default, f"{name}: {section}.{key} repeats the default"
                checked += 1
    assert checked >= 4


@pytest.mark.parametrize(
    ("section", "families"),
    [
        ("training", {"lightgbm": {"n_estimatorz": 30}}),
        ("feature_selection", {"xgboost": {"max_dpeth": 3}}),
        ("target_ranking", {"lightgbm": {"num_leafs": 7}}),
    ],
)
def test_a_model_parameter_typo_is_a_config_error_naming_it(tmp_path, section, families):
    bad = _write(tmp_path / "typo.yaml", {section: {"families": families}})
    (name,) = families
    (param,) = families[name]
    with pytest.raises(ConfigError, match=rf"{section}\.families.*{param}.*{name}.*typo\.yaml"):
        load_config(bad)


def test_priority_cli_over_config_over_section_files_over_defaults(tmp_path):
    tr = _write(tmp_path / "tr.yaml", {"top_n": 2, "n_splits": 4, "min_score": 0.1})
    mm = _write(
        tmp_path / "mm.yaml",
        {"feature_selection": {"top_m": 7, "n_splits": 4}, "training": {"n_splits": 6}},
    )
    main = _write(
        tmp_path / "main.yaml",
        {"target_ranking": {"top_n": 3}, "feature_selection": {"top_m": 8}},
    )
    cfg = load_config(
        main,
        target_ranking_config=tr,
        multi_model_config=mm,
        overrides={"target_ranking": {"top_n": 4}},
    )
    assert cfg.target_ranking.top_n == 4  # CLI wins
    assert cfg.feature_selection.top_m == 8  # --config wins over --multi-model-config
    assert cfg.target_ranking.n_splits == 4  # section file wins over packaged defaults
    assert cfg.target_ranking.min_score == 0.1
    assert cfg.feature_selection.n_splits == 4
    assert cfg.training.n_splits == 6
    assert cfg.training.strategy is None  # the trainer's own default


def test_section_files_may_be_wrapped(tmp_path):
    tr = _write(tmp_path / "tr.yaml", {"target_ranking": {"top_n": 9}})
    mm = _write(tmp_path / "mm.yaml", {"top_m": 11})
    cfg = load_config(target_ranking_config=tr, multi_model_config=mm)
    assert cfg.target_ranking.top_n == 9
    assert cfg.feature_selection.top_m == 11


def test_unknown_key_names_key_and_file(tmp_path):
    bad = _write(tmp_path / "bad.yaml", {"training": {"stratgy": "single_task"}})
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    msg = str(info.value)
    assert "training.stratgy" in msg and str(bad) in msg and "strategy" in msg


def test_unknown_key_in_section_file_names_that_file(tmp_path):
    bad = _write(tmp_path / "tr.yaml", {"top_nn": 3})
    with pytest.raises(ConfigError, match=r"target_ranking\.top_nn.*tr\.yaml"):
        load_config(target_ranking_config=bad)


def test_unknown_section(tmp_path):
    bad = _write(tmp_path / "bad.yaml", {"trainig": {}})
    with pytest.raises(ConfigError, match="unknown key 'trainig'.*did you mean 'training'"):
        load_config(bad)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"training": {"n_splits": "five"}}, "training.n_splits"),
        ({"training": {"strategy": "bagging"}}, "training.strategy"),
        ({"target_ranking": {"top_n": 0}}, "target_ranking.top_n"),
        ({"feature_selection": {"importance": ["gain"]}}, "feature_selection.importance"),
        ({"target_ranking": {"fdr": 1.5}}, "target_ranking.fdr"),
        ({"target_ranking": {"fdr": "lots"}}, "target_ranking.fdr"),
        ({"target_ranking": {"fdr": True}}, "target_ranking.fdr"),
        ({"target_ranking": {"early_stopping": "sometimes"}}, "target_ranking.early_stopping"),
    ],
)
def test_wrong_types_name_the_key(tmp_path, data, key):
    bad = _write(tmp_path / "bad.yaml", data)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(bad)


@pytest.mark.parametrize(
    ("text", "fdr"),
    [
        ("", None),  # TargetRanker's default
        ("  fdr: null\n", None),
        ("  fdr: 0.05\n", 0.05),
        ("  fdr: none\n", "none"),  # no significance test
        ("  fdr: false\n", "none"),
    ],
)
def test_target_ranking_fdr_and_early_stopping_keys(tmp_path, text, fdr):
    path = tmp_path / "tr.yaml"
    path.write_text("target_ranking:\n  early_stopping: false\n" + text)
    cfg = load_config(path)
    assert cfg.target_ranking.fdr == fdr
    assert cfg.target_ranking.early_stopping is False
    path.write_text(dump_config(cfg))
    assert load_config(path, packaged_defaults=False) == cfg  # round-trips


def test_wrong_type_from_cli_overrides():
    with pytest.raises(ConfigError, match="command-line"):
        load_config(overrides={"runtime": {"threads": "many"}})


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("training: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml.*not valid YAML"):
        load_config(broken)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        read_yaml(listy)


def test_empty_file_is_no_change(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_config(empty) == load_config()


def test_dump_round_trips(tmp_path):
    cfg = load_config(overrides={"training": {"families": {"lightgbm": {"n_estimators": 5}}}})
    path = tmp_path / "resolved.yaml"
    path.write_text(dump_config(cfg))
    assert load_config(path, packaged_defaults=False) == cfg


def test_demo_profile_is_valid_and_sits_below_the_config_file(tmp_path):
    cfg = load_config(profile="demo")
    assert cfg.runtime.threads == 1
    assert "mlp" in cfg.training.families
    main = _write(tmp_path / "main.yaml", {"training": {"n_splits": 4}})
    assert load_config(main, profile="demo").training.n_splits == 4
    with pytest.raises(ConfigError, match="profile"):
        load_config(profile="nope")


# ------------------------------------------------------------ hostile files
def _alias_bomb(levels: int) -> str:
    """Anchors that each repeat the previous one 9 times: 9**levels strings in ~300 bytes."""
    lines = ["target_ranking:", "  horizons:", "    a0: &a0 [" + ",".join(['"xxxxxxxx"'] * 9) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"    a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [6, 9])
def test_an_alias_bomb_is_refused_at_once_with_a_short_message(tmp_path, levels):
    import time

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_alias_bomb(levels))
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        load_config(bomb)
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert len(message) < 300, len(message)
    assert "bomb.yaml" in message and "aliases" in message


def test_aliases_within_the_bounds_still_load(tmp_path):
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "target_ranking:\n  families: &fams {lightgbm: {n_estimators: 7}, linear: {}}\n"
        "training:\n  families: *fams\n"
    )
    cfg = load_config(path)
    assert (
        cfg.training.families
        == cfg.target_ranking.families
        == {
            "lightgbm": {"n_estimators": 7},
            "linear": {},
        }
    )


def test_quoted_values_in_errors_are_short_excerpts(tmp_path):
    bomb = tmp_path / "bomb4.yaml"
    bomb.write_text(_alias_bomb(4))  # 59,049 values: within the bound, every one invalid
    with pytest.raises(ConfigError) as info:
        load_config(bomb)
    assert len(str(info.value)) < 1500 and "more" in str(info.value)
    for overrides in (
        {"runtime": {"threads": "x" * 1_000_000}},
        {"feature_selection": {"aggregation": "y" * 1_000_000}},  # a seed alias's own check
        {"training": {"families": {"lightgbm": {"enabled": ["z" * 1000] * 1000}}}},
    ):
        with pytest.raises(ConfigError) as info:
            load_config(overrides=overrides)
        assert len(str(info.value)) < 400, str(info.value)[:500]


def test_a_latin1_file_is_a_config_error_naming_the_file(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("data:\n  symbols: [caf\xe9]\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin\.yaml is not UTF-8 .*line 2.*save it as UTF-8"):
        load_config(path)
    with pytest.raises(ConfigError, match="latin.yaml"):
        load_config(target_ranking_config=path)


def test_deep_nesting_is_a_config_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("data:\n  symbols: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match=r"deep\.yaml is refused: it is nested deeper than 32"):
        load_config(path)
    nested: list = []
    inner = nested
    for _ in range(5000):
        inner.append([])
        inner = inner[0]
    with pytest.raises(ConfigError, match="config mapping is refused: it is nested deeper"):
        load_config({"data": {"symbols": nested}})
    with pytest.raises(ConfigError, match="command-line options is refused"):
        load_config(overrides={"training": {"families": {"lightgbm": {"a": nested}}}})


def test_a_recursive_alias_is_a_config_error(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("data:\n  symbols: &s [a, *s]\n")
    with pytest.raises(ConfigError, match=r"loop\.yaml is refused: a value contains itself"):
        load_config(path)
