"""Importing the package stays cheap, and every public name resolves."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "dask", "distributed", "shap")


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_does_not_load_heavy_dependencies():
    code = (
        "import json, sys\n"
        "import intelligent_training\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))\n"
    )
    assert json.loads(_run(code)) == []


def test_data_and_datasets_do_not_load_heavy_dependencies():
    code = (
        "import json, sys\n"
        "import intelligent_training.data, intelligent_training.datasets\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))\n"
    )
    assert json.loads(_run(code)) == []


def test_every_public_name_resolves():
    code = (
        "import json, intelligent_training as it\n"
        "missing = []\n"
        "for name in it.__all__:\n"
        "    try:\n"
        "        getattr(it, name)\n"
        "    except Exception as exc:\n"
        "        missing.append(f'{name}: {exc!r}')\n"
        "print(json.dumps(missing))\n"
    )
    assert json.loads(_run(code)) == []
