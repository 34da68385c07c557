"""DiskCacheMemory: hits/misses, keys, TTL, invalidation, sklearn integration, atomicity."""

from __future__ import annotations

import copy
import importlib
import pickle
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from intelligent_training import DiskCacheMemory
from intelligent_training.cache import _memory, as_memory, parse_ttl
from intelligent_training.exceptions import ConfigError


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, x, big=None):
        self.calls += 1
        return x * 2


def _make(memory, counter, ignore=None):
    def double(x, big=None):
        return counter(x, big)

    return memory.cache(double, ignore=ignore)


def test_hit_and_miss(tmp_path):
    memory = DiskCacheMemory(tmp_path / "c")
    counter = Counter()
    f = _make(memory, counter)
    assert f(3) == 6 and f(3) == 6
    assert counter.calls == 1
    assert (memory.hits, memory.misses) == (1, 1)
    assert f(4) == 8
    assert counter.calls == 2


def test_results_survive_a_new_memory_object(tmp_path):
    counter = Counter()
    f = _make(DiskCacheMemory(tmp_path), counter)
    f(np.arange(5))
    g = _make(DiskCacheMemory(tmp_path), counter)
    np.testing.assert_array_equal(g(np.arange(5)), np.arange(5) * 2)
    assert counter.calls == 1


def test_ignored_arguments_are_not_part_of_the_key(tmp_path):
    memory = DiskCacheMemory(tmp_path)
    counter = Counter()
    f = _make(memory, counter, ignore=["big"])
    f(1, big=np.zeros(10))
    f(1, big=np.ones(10))
    assert counter.calls == 1
    h_counter = Counter()
    g = _make(memory, h_counter)
    g(1, big=np.zeros(10))
    g(1, big=np.ones(10))
    assert h_counter.calls == 2


def test_unknown_ignore_name_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="nope"):
        _make(DiskCacheMemory(tmp_path), Counter(), ignore=["nope"])


def test_decorator_form(tmp_path):
    memory = DiskCacheMemory(tmp_path)
    calls = []

    @memory.cache(ignore=["y"])
    def add(x, y):
        calls.append(x)
        return x + 1

    assert add(1, 5) == 2 and add(1, 6) == 2
    assert calls == [1]


def test_ttl_expiry(tmp_path):
    memory = DiskCacheMemory(tmp_path, ttl=0.3)
    counter = Counter()
    f = _make(memory, counter)
    f(1)
    f(1)
    assert counter.calls == 1
    time.sleep(0.45)
    f(1)
    assert counter.calls == 2


@pytest.mark.parametrize(("ttl", "seconds"), [("7d", 7 * 86400.0), ("90s", 90.0), (5, 5.0)])
def test_parse_ttl(ttl, seconds):
    assert parse_ttl(ttl) == seconds


@pytest.mark.parametrize("ttl", ["soon", -1, 0])
def test_bad_ttl_is_a_config_error(ttl):
    with pytest.raises(ConfigError, match="ttl"):
        DiskCacheMemory(None, ttl=ttl)


def test_library_version_change_invalidates(tmp_path, monkeypatch):
    memory = DiskCacheMemory(tmp_path)
    counter = Counter()
    f = _make(memory, counter)
    f(1)
    monkeypatch.setattr(_memory, "__version__", "999.0")
    f(1)
    assert counter.calls == 2


def test_code_change_invalidates(tmp_path, monkeypatch):
    pkg = tmp_path / "mods"
    pkg.mkdir()
    monkeypatch.syspath_prepend(str(pkg))
    memory = DiskCacheMemory(tmp_path / "c")
    (pkg / "cached_mod.py").write_text("def f(x):\n    return x + 1\n")
    mod = importlib.import_module("cached_mod")
    assert memory.cache(mod.f)(1) == 2
    (pkg / "cached_mod.py").write_text("def f(x):\n    return x + 100\n")
    importlib.invalidate_caches()
    mod = importlib.reload(mod)
    assert memory.cache(mod.f)(1) == 101
    sys.modules.pop("cached_mod", None)


def test_refresh_recomputes_and_overwrites(tmp_path):
    counter = Counter()
    _make(DiskCacheMemory(tmp_path), counter)(1)
    _make(DiskCacheMemory(tmp_path, refresh=True), counter)(1)
    assert counter.calls == 2
    _make(DiskCacheMemory(tmp_path), counter)(1)
    assert counter.calls == 2


def test_location_none_passes_through(tmp_path):
    memory = DiskCacheMemory(None)

    def f(x):
        return x

    assert memory.cache(f) is f
    memory.clear()
    assert len(memory) == 0


def test_clear(tmp_path):
    memory = DiskCacheMemory(tmp_path)
    counter = Counter()
    f = _make(memory, counter)
    f(1)
    assert len(memory) == 1
    memory.clear()
    assert len(memory) == 0
    f(1)
    assert counter.calls == 2


def test_copy_pickle_and_clone_keep_settings_only(tmp_path):
    memory = DiskCacheMemory(tmp_path, ttl="1h")
    _make(memory, Counter())(1)  # opens the database
    for other in (copy.deepcopy(memory), pickle.loads(pickle.dumps(memory))):
        assert other.location == memory.location and other.ttl == "1h"
        assert len(other) == 1
    pipe = Pipeline([("s", StandardScaler()), ("r", Ridge())], memory=memory)
    assert clone(pipe).memory.location == memory.location


def test_as_memory(tmp_path):
    assert isinstance(as_memory(str(tmp_path)), DiskCacheMemory)
    assert as_memory(None).location is None
    memory = DiskCacheMemory(tmp_path)
    assert as_memory(memory) is memory
    with pytest.raises(ConfigError, match="memory"):
        as_memory(3)


def test_sklearn_pipeline_memory(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5))
    y = X[:, 0] + 0.1 * rng.normal(size=80)
    memory = DiskCacheMemory(tmp_path)
    pipe = Pipeline([("s", StandardScaler()), ("p", PCA(3)), ("r", Ridge())], memory=memory)
    pred1 = pipe.fit(X, y).predict(X)
    assert memory.misses == 2 and memory.hits == 0
    cloned = clone(pipe)  # clone deep-copies the memory: same location, fresh counters
    pred2 = cloned.fit(X, y).predict(X)
    assert cloned.memory.hits == 2 and cloned.memory.misses == 0
    np.testing.assert_allclose(pred1, pred2)


def test_killed_run_leaves_no_entry(tmp_path):
    location = tmp_path / "c"
    started = tmp_path / "started"
    script = textwrap.dedent(
        f"""
        import pathlib, time
        from intelligent_training.cache import DiskCacheMemory
        memory = DiskCacheMemory({str(location)!r})

        def slow(x):
            pathlib.Path({str(started)!r}).write_text("1")
            time.sleep(60)
            return x

        memory.cache(slow)(1)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert proc.poll() is None, "subprocess died before starting the cached call"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    memory = DiskCacheMemory(location)
    assert len(memory) == 0
    calls = []

    def slow(x):
        calls.append(x)
        return x

    assert memory.cache(slow)(1) == 1
    assert calls == [1]


# ------------------------------------------------------------------ stored values
def _replace_every_row(location, value) -> int:
    """What a hostile edit does: every stored value becomes the pickle of ``value``."""
    import sqlite3

    import diskcache

    with sqlite3.connect(location / "cache.db") as con:
        n = con.execute(
            "UPDATE Cache SET mode = ?, value = ?, filename = NULL",
            (diskcache.core.MODE_PICKLE, pickle.dumps(value)),
        ).rowcount
    return n


def test_a_stored_value_of_the_wrong_type_is_a_miss_with_a_warning(tmp_path):
    from intelligent_training.cache import instance_of
    from intelligent_training.exceptions import CacheWarning

    calls = []

    def pair(x):
        calls.append(x)
        return [x, x]

    def check(value, x):
        return instance_of(value, list)

    memory = DiskCacheMemory(tmp_path / "c")
    f = memory.cache(pair, check=check)
    assert f(1) == [1, 1] and f(1) == [1, 1] and len(calls) == 1
    assert _replace_every_row(tmp_path / "c", {"pipeline": 42}) == 1
    again = DiskCacheMemory(tmp_path / "c")
    with pytest.warns(CacheWarning, match=r"cache at .*/c holds a dict, not a list for .*pair"):
        assert again.cache(pair, check=check)(1) == [1, 1]
    assert len(calls) == 2 and again.misses == 1 and again.hits == 0
    third = DiskCacheMemory(tmp_path / "c")  # the entry was replaced: a plain hit now
    assert third.cache(pair, check=check)(1) == [1, 1] and third.hits == 1 and len(calls) == 2


def test_memoize_refuses_a_wrong_value_from_another_memoizer(tmp_path):
    import joblib

    from intelligent_training.cache import instance_of, memoize
    from intelligent_training.exceptions import CacheError

    def pair(x):
        return [x, x]

    memory = joblib.Memory(tmp_path / "j", verbose=0)
    f = memoize(memory, pair, check=lambda value, x: instance_of(value, list))
    assert f(2) == [2, 2]
    (output,) = (tmp_path / "j").rglob("output.pkl")
    joblib.dump({"pipeline": 42}, output)
    with pytest.raises(CacheError, match=r"returned a dict, not a list for .*pair.*clear"):
        f(2)


# ------------------------------------------------------------------ a full disk
def test_a_full_cache_database_says_the_disk_is_full(tmp_path):
    from intelligent_training.exceptions import CacheError

    memory = DiskCacheMemory(tmp_path / "c", refresh=True)  # refresh must not rebuild it
    f = memory.cache(lambda x: "v" * 5000 + str(x))
    f(0)
    cache = memory._open()
    (pages,) = cache._sql("PRAGMA page_count").fetchone()
    cache._sql(f"PRAGMA max_page_count = {pages}")  # SQLite's own "database or disk is full"
    with pytest.raises(CacheError) as info:
        for x in range(1, 50):
            f(x)
    message = str(info.value)
    assert f"disk holding the cache at {tmp_path / 'c'} is full" in message
    assert "damaged" not in message.replace("not damaged", "") and "delete" not in message
    assert (tmp_path / "c" / "cache.db").exists()  # nothing was rebuilt


def test_a_full_disk_under_a_value_file_says_the_disk_is_full(tmp_path, monkeypatch):
    import errno

    import diskcache.core

    from intelligent_training.exceptions import CacheError

    class Full:
        """A file on a full disk: opening works, writing fails with ENOSPC."""

        def __init__(self, path, *args, **kwargs):
            self.path = path

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device", self.path)

        def close(self):
            pass

    memory = DiskCacheMemory(tmp_path / "c")
    f = memory.cache(lambda x: list(range(50_000)))  # large: a value file of its own
    memory._open()
    monkeypatch.setattr(diskcache.core, "open", Full, raising=False)
    with pytest.raises(CacheError) as info:
        f(1)
    message = str(info.value)
    assert f"disk holding the cache at {tmp_path / 'c'} is full" in message
    assert "No space left on device" in message and "damaged" not in message.replace(
        "not damaged", ""
    )
