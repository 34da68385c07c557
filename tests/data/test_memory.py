"""return_freed_blocks: with glibc, freed blocks of a few MiB leave the process at once."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")

CHILD = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    from intelligent_training.data._memory import return_freed_blocks

    applied = return_freed_blocks() if sys.argv[1] == "set" else None
    page = os.sysconf("SC_PAGE_SIZE")

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page

    np.ones(2**18).sum()  # one 2 MiB block freed: glibc's own threshold rises above it
    blocks = [np.ones(2**17) for _ in range(120)]  # 1 MiB each, written
    before = rss()
    del blocks[::2]  # every other one freed: holes that no trim at the top can return
    print(json.dumps({"applied": applied, "kept_mib": (rss() - before + 60 * 2**20) / 2**20}))
    """
)


def _kept(mode: str) -> dict:
    # glibc's own settings from the environment (Dask sets MALLOC_TRIM_THRESHOLD_) off
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_freed_blocks_leave_the_process():
    default, fixed = _kept("default"), _kept("set")
    assert fixed["applied"] is True
    # 60 MiB freed: glibc keeps nearly all of it by default, none with a fixed threshold.
    assert default["kept_mib"] > 40, default
    assert fixed["kept_mib"] < 10, fixed
