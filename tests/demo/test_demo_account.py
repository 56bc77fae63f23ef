"""Running the demo again keeps its researcher logged in, and links use the served port."""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from demo.services import DEMO_PASSWORD, demo_researcher_ensure

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_a_second_demo_run_does_not_log_the_researcher_out() -> None:
    user, account = demo_researcher_ensure()
    client = Client()
    assert client.login(username=account.username, password=account.password)
    page = reverse("explanations:dataset-list")
    assert client.get(page).status_code == 200
    demo_researcher_ensure()
    assert client.get(page).status_code == 200


@pytest.mark.django_db
def test_a_changed_demo_password_is_restored_to_the_printed_one() -> None:
    user, account = demo_researcher_ensure()
    user.set_password("something else")
    user.save()
    user, _ = demo_researcher_ensure()
    assert user.check_password(DEMO_PASSWORD)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_prints_links_with_the_port_it_serves() -> None:
    dry = subprocess.run(
        ["make", "-n", "-W", "requirements.txt", "demo", "PORT=8020"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "load_demo --host http://127.0.0.1:8020" in dry
