"""The pure compute packages never load django (checked in a fresh interpreter)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import importlib, pkgutil, sys
import analysis.compute, explanations.compute
names = []
for package in (analysis.compute, explanations.compute):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
        names.append(module.name)
loaded = sorted(name for name in sys.modules if name == "django" or name.startswith("django."))
print(len(names), loaded)
assert not loaded, loaded
assert "analysis.compute.agreement" in names, names
"""


def test_compute_packages_do_not_import_django():
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "[]" in completed.stdout
