"""Settings: production refuses unsafe configurations and passes check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STRONG_KEY = "x" * 20 + "-production-secret-key-for-the-deploy-check-0123456789"


def run(env_extra: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_debug():
    result = run(
        {
            "DJANGO_ENV": "production",
            "DJANGO_DEBUG": "1",
            "DJANGO_SECRET_KEY": STRONG_KEY,
            "DJANGO_ALLOWED_HOSTS": "example.org",
        },
        "check",
    )
    assert result.returncode != 0
    assert "refuses to start with DJANGO_DEBUG on" in result.stderr


def test_production_refuses_default_secret_key():
    result = run({"DJANGO_ENV": "production", "DJANGO_ALLOWED_HOSTS": "example.org"}, "check")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_passes_check_deploy():
    result = run(
        {
            "DJANGO_ENV": "production",
            "DJANGO_SECRET_KEY": STRONG_KEY,
            "DJANGO_ALLOWED_HOSTS": "example.org",
        },
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_settings_package_is_not_named_platform():
    import platform

    assert hasattr(platform, "python_version")  # the standard library module, not ours
