"""The family registry: names, specs, defaults from YAML, overrides, errors."""

from __future__ import annotations

import importlib.util
import sys
from importlib import resources

import pytest
import yaml

from intelligent_training.exceptions import FamilyError, MissingDependencyError
from intelligent_training.families import (
    FamilySpec,
    available_families,
    family_params,
    get_family,
    make_estimator,
    resolve_families,
)

ALL_FAMILIES = {
    "cnn1d",
    "extra_trees",
    "gan",
    "lightgbm",
    "linear",
    "lstm",
    "meta_learning",
    "mlp",
    "multi_task",
    "ngboost",
    "random_forest",
    "transformer",
    "vae",
    "xgboost",
}


def _packaged_yaml(package: str) -> dict:
    text = resources.files(package).joinpath("defaults.yaml").read_text()
    return yaml.safe_load(text)


def _yaml_params(entry: dict, task: str) -> dict:
    merged = dict(entry.get("params") or {})
    merged.update((entry.get("by_task") or {}).get(task) or {})
    return merged


def test_every_family_is_registered_sorted():
    names = available_families()
    assert set(names) == ALL_FAMILIES
    assert names == sorted(names)


def test_specs_describe_the_families():
    for name in available_families():
        spec = get_family(name)
        assert isinstance(spec, FamilySpec)
        assert spec.name == name
        assert spec.kind in {
            "tree",
            "linear",
            "probabilistic",
            "torch",
            "sequence",
            "meta",
            "multi_task",
        }
        assert {"regression", "binary"} <= set(spec.tasks)
    assert get_family("lightgbm").kind == "tree" and get_family("lightgbm").native_importance
    assert get_family("lstm").kind == "sequence" and not get_family("lstm").native_importance
    assert get_family("ngboost").extra == "ngboost"
    assert get_family("mlp").extra == "torch"
    assert get_family("linear").extra is None
    assert "multiclass" not in get_family("gan").tasks


@pytest.mark.parametrize("bad", ["lightgmb", "", None, 3])
def test_unknown_family_error_lists_the_names(bad):
    with pytest.raises(FamilyError, match="Available families: cnn1d, extra_trees"):
        get_family(bad)
    with pytest.raises(FamilyError, match="lightgbm"):
        make_estimator(bad, "regression")


def test_unknown_or_unsupported_task_is_a_family_error():
    with pytest.raises(FamilyError, match="Unknown task 'ranking'.*regression, binary"):
        make_estimator("lightgbm", "ranking")
    with pytest.raises(FamilyError, match="does not support task 'multiclass'"):
        family_params("gan", "multiclass")


def test_defaults_come_from_the_packaged_yaml():
    base = _packaged_yaml("intelligent_training.families")
    torch_entries = _packaged_yaml("intelligent_training.families.torch")["families"]
    entries = {**base["families"], **torch_entries}
    assert set(entries) == ALL_FAMILIES
    for name, entry in entries.items():
        for task in get_family(name).tasks:
            assert family_params(name, task) == _yaml_params(entry, task), (name, task)
    assert resolve_families(None) == {name: {} for name in base["default_families"]}


def test_task_specific_defaults_are_merged():
    assert "max_iter" in family_params("linear", "binary")
    assert "max_iter" not in family_params("linear", "regression")
    assert (
        family_params("linear", "binary")["alpha"] == family_params("linear", "regression")["alpha"]
    )


def test_overrides_win_and_are_applied_to_the_estimator():
    defaults = family_params("lightgbm", "regression")
    merged = family_params("lightgbm", "regression", {"n_estimators": 7})
    assert merged == {**defaults, "n_estimators": 7}
    est = make_estimator("lightgbm", "regression", {"n_estimators": 7, "num_leaves": 5})
    params = est.get_params()
    assert params["n_estimators"] == 7 and params["num_leaves"] == 5
    assert params["learning_rate"] == defaults["learning_rate"]


def test_family_params_returns_fresh_copies():
    overrides = {"base_families": ["linear"]}
    first = family_params("meta_learning", "regression", overrides)
    first["base_params"]["linear"] = {"alpha": 3.0}
    first["base_families"].append("xgboost")
    again = family_params("meta_learning", "regression")
    assert again["base_params"] == {}
    assert again["base_families"] == ["lightgbm", "linear"]


def test_random_state_and_n_jobs_reach_the_estimator():
    est = make_estimator("random_forest", "binary", random_state=7, n_jobs=2)
    assert est.get_params()["random_state"] == 7
    assert est.get_params()["n_jobs"] == 2
    assert make_estimator("lightgbm", "regression").get_params()["n_jobs"] == 1  # None -> 1


def test_classifiers_and_regressors_by_task():
    from sklearn.base import is_classifier, is_regressor

    names = ["lightgbm", "xgboost", "random_forest", "extra_trees", "linear"]
    if importlib.util.find_spec("ngboost") is not None:  # an optional extra
        names.append("ngboost")
    for name in names:
        assert is_regressor(make_estimator(name, "regression")), name
        assert is_classifier(make_estimator(name, "binary")), name
        assert is_classifier(make_estimator(name, "multiclass")), name


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("random_forest", {"n_estimator": 5}),
        ("linear", {"C": 1.0}),
        ("ngboost", {"depth": 2}),
        ("meta_learning", {"final": "linear"}),
    ],
)
def test_unknown_parameter_is_a_family_error(name, params):
    if not get_family(name).is_available():
        pytest.skip("optional dependency missing")
    with pytest.raises(FamilyError, match=name):
        make_estimator(name, "regression", params)


def test_params_must_be_a_mapping():
    with pytest.raises(FamilyError, match="must be a mapping"):
        make_estimator("lightgbm", "regression", [("n_estimators", 3)])


@pytest.mark.parametrize(
    ("families", "expected"),
    [
        (["lightgbm", "linear"], {"lightgbm": {}, "linear": {}}),
        (("xgboost",), {"xgboost": {}}),
        ("linear", {"linear": {}}),
        (["linear", "linear"], {"linear": {}}),
        (
            {"lightgbm": {"n_estimators": 200}, "linear": None},
            {"lightgbm": {"n_estimators": 200}, "linear": {}},
        ),
    ],
)
def test_resolve_families_forms(families, expected):
    resolved = resolve_families(families)
    assert resolved == expected
    assert list(resolved) == list(expected)


def test_resolve_families_copies_overrides():
    overrides = {"n_estimators": 200}
    resolved = resolve_families({"lightgbm": overrides})
    resolved["lightgbm"]["n_estimators"] = 1
    assert overrides == {"n_estimators": 200}


@pytest.mark.parametrize(
    ("families", "message"),
    [
        (["lightgbm", "catboost"], "Unknown model family 'catboost'.* Available families:"),
        ({"forest": {}}, "Unknown model family 'forest'"),
        ([], "No model family selected"),
        ({}, "No model family selected"),
        (42, "families must be None, a family name, a list"),
        ({"lightgbm": 200}, "Overrides of family 'lightgbm' must be a mapping"),
    ],
)
def test_resolve_families_errors(families, message):
    with pytest.raises(FamilyError, match=message):
        resolve_families(families)


@pytest.mark.parametrize(
    ("module", "family"), [("ngboost", "ngboost"), ("torch", "mlp"), ("torch", "lstm")]
)
def test_missing_extra_raises_missing_dependency_naming_it(monkeypatch, module, family):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    spec = get_family(family)
    assert not spec.is_available()
    assert family not in available_families(installed_only=True)
    assert family in available_families()
    with pytest.raises(
        MissingDependencyError, match=rf'pip install "intelligent-training\[{spec.extra}\]"'
    ):
        make_estimator(family, "regression")


def test_installed_only_lists_core_families():
    installed = set(available_families(installed_only=True))
    assert {"lightgbm", "xgboost", "random_forest", "extra_trees", "linear"} <= installed


def test_importing_families_imports_no_optional_dependency():
    import subprocess

    code = (
        "import sys, intelligent_training.families as f; f.available_families(); "
        "f.resolve_families(None); f.family_params('mlp', 'regression'); "
        "print(sorted(m for m in ('torch', 'ngboost', 'xgboost', 'lightgbm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("name", "param"),
    [("meta_learning", "horizon"), ("mlp", "validation_gap"), ("lstm", "validation_gap")],
)
def test_label_horizon_reaches_internal_holdouts(name, param):
    pytest.importorskip("torch")
    assert make_estimator(name, "regression", label_horizon=12).get_params()[param] == 12
    # an explicit override wins over the horizon the caller passes
    explicit = make_estimator(name, "regression", {param: 2}, label_horizon=12)
    assert explicit.get_params()[param] == 2


def test_label_horizon_is_ignored_by_families_without_holdout():
    est = make_estimator("lightgbm", "regression", label_horizon=12)
    assert get_family("lightgbm").horizon_param is None
    assert "validation_gap" not in est.get_params()
