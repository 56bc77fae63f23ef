"""The web tier never loads torch, transformers, numba or the model store.

Only job workers and the commands that compute need them (~600 MB per process); a web
worker imports the settings, the URLconf and every view, API, admin, form, selector and
template-tag module. Checked in a fresh interpreter, since this test process has loaded
torch already through other tests.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import importlib, sys
from pathlib import Path
import django
django.setup()
from django.urls import get_resolver

get_resolver().url_patterns
WEB_ROLES = {"views", "api", "urls", "api_urls", "admin", "forms", "selectors",
             "review_selectors", "templatetags"}
imported = []
# Found on disk, not with pkgutil.walk_packages: walking imports every package on the way,
# compute packages included, which is what this checks the web tier does not do.
for app in ("explanations", "studies", "analysis", "demo"):
    for path in sorted(Path(app).rglob("*.py")):
        parts = path.with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(part in WEB_ROLES for part in parts[1:]):
            importlib.import_module(".".join(parts))
            imported.append(".".join(parts))
FORBIDDEN = ("torch", "transformers", "numba", "explanations.services.model_store")
loaded = sorted(name for name in FORBIDDEN if name in sys.modules)
print(len(imported), "web modules")
print("loaded:", loaded)
for name in ("explanations.views", "explanations.api.views", "studies.views.participant",
             "studies.views.researcher", "analysis.views", "explanations.admin"):
    assert name in imported, (name, imported)
"""


def test_the_web_tier_imports_neither_torch_nor_the_model_store():
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(ROOT)},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "loaded: []" in completed.stdout, completed.stdout
