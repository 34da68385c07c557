"""trim_freed: with glibc, freed blocks that the arenas hold go back to the system once
they add up to more than the limit, and stay (for reuse, without page faults) below it."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's arenas")

CHILD = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    from intelligent_training.data._memory import freed_bytes, trim_freed

    page = os.sysconf("SC_PAGE_SIZE")

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page

    np.ones(2**18).sum()  # one 2 MiB block freed: glibc's own threshold rises above it
    blocks = [np.ones(2**17) for _ in range(120)]  # 1 MiB each, written
    before = rss()
    del blocks[::2]  # every other one freed: holes that no trim at the top can return
    held = freed_bytes()
    kept = rss() - before + 60 * 2**20
    trimmed = trim_freed(int(sys.argv[1]) * 2**20)
    print(json.dumps({
        "held_mib": held / 2**20, "kept_mib": kept / 2**20, "trimmed": trimmed,
        "after_mib": (rss() - before + 60 * 2**20) / 2**20,
    }))
    """
)


def _child(limit_mib: int) -> dict:
    # glibc's own settings from the environment (Dask sets MALLOC_TRIM_THRESHOLD_) off
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(limit_mib)],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_freed_blocks_over_the_limit_leave_the_process():
    got = _child(32)
    # 60 MiB freed in holes: glibc keeps them (and says so); a trim returns them
    assert got["held_mib"] > 50, got
    assert got["kept_mib"] > 40, got
    assert got["trimmed"] is True
    assert got["after_mib"] < 10, got


def test_freed_blocks_under_the_limit_stay_for_reuse():
    got = _child(256)
    assert got["held_mib"] > 50 and got["trimmed"] is False
    assert got["after_mib"] > 40, got  # still resident: the next allocations reuse them


BOUND_CHILD = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    from intelligent_training.data._memory import bound_freed_blocks

    applied = bound_freed_blocks() if sys.argv[1] == "set" else None
    page = os.sysconf("SC_PAGE_SIZE")

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page

    np.ones(2**21).sum()  # one 16 MiB block freed: glibc's own threshold rises to it
    kept = {}
    for name, n_bytes, count in (("large", 8 * 2**20, 16), ("small", 2**20, 120)):
        blocks = [np.ones(n_bytes // 8) for _ in range(count)]  # written
        before = rss()
        del blocks[::2]  # every other one freed: holes that no trim at the top returns
        kept[name] = (rss() - before + count // 2 * n_bytes) / 2**20
        del blocks
    print(json.dumps({"applied": applied, **kept}))
    """
)


def _bound(mode: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run(
        [sys.executable, "-c", BOUND_CHILD, mode],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_bound_freed_blocks_returns_large_blocks_and_keeps_small_ones():
    default, bound = _bound("default"), _bound("set")
    assert bound["applied"] is True
    # 64 MiB of 8 MiB blocks freed: kept by default (threshold risen), returned when bound
    assert default["large"] > 40, default
    assert bound["large"] < 10, bound
    # 60 MiB of 1 MiB blocks freed: kept either way, for reuse without page faults
    assert bound["small"] > 40, bound
