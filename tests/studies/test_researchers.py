"""Researcher accounts: the create_researcher command and the admin's "Make researcher"."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client

from studies.models import Study

from .factories import film_corpus

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-researcher-password"


def create(*args: str) -> str:
    out = io.StringIO()
    call_command("create_researcher", *args, stdout=out)
    return out.getvalue()


def design(dataset, model) -> dict:
    return {
        "name": "Carol's study",
        "study_type": "plausibility_rating",
        "dataset": dataset.name,
        "model": model.name,
        "methods": ["gradient", "lrp", "random"],
        "seed": "1",
        "n_items": "6",
        "items_per_participant": "",
        "ratings_per_item": "2",
        "condition_design": "within",
        "practice_count": "1",
        "attention_check_positions": "",
        "gold_positions": "",
        "display_mode": "heatmap",
        "top_k": "",
        "consent_text": "Consent text.",
        "instructions": "Rate each explanation.",
        "sources": ["anonymous"],
        "pay": "",
        "estimated_minutes": "10",
        "time_limit_minutes": "30",
        "plausibility_rating__scale": "likert",
        "plausibility_rating__points": "5",
        "plausibility_rating__question": "How convincing is this explanation?",
    }


def test_created_researcher_signs_in_and_runs_studies_but_not_the_admin(monkeypatch, tmp_path):
    monkeypatch.setenv("CAROL_PASSWORD", PASSWORD)
    printed = create(
        "carol", "--email", "carol@example.org", "--password-from-env", "CAROL_PASSWORD"
    )
    assert "Researcher carol created" in printed
    carol = get_user_model().objects.get(username="carol")
    assert (carol.is_active, carol.is_staff, carol.is_superuser) == (True, False, False)
    assert carol.email == "carol@example.org"
    assert not carol.user_permissions.exists()
    assert not carol.groups.exists()

    web = Client()
    signed_in = web.post("/accounts/login/", {"username": "carol", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert web.get("/studies/").status_code == 200
    dataset, model = film_corpus(tmp_path, owner=carol, n=12)
    created = web.post("/studies/new/", design(dataset, model))
    assert created.status_code == 302, created.content.decode()[:2000]
    study = Study.objects.get(name="Carol's study")
    assert study.owner == carol
    assert web.get(f"/studies/{study.pk}/").status_code == 200
    # The admin, including its superuser-only user list, sends her to the admin's login.
    for page in ("/admin/", "/admin/auth/user/", "/admin/studies/response/"):
        refused = web.get(page)
        assert refused.status_code == 302, page
        assert refused["Location"].startswith("/admin/login/"), page


def test_a_taken_name_is_refused_and_changes_nothing(make_researcher):
    existing = make_researcher("dave")
    with pytest.raises(CommandError, match="username: a user named 'dave' already exists"):
        create("dave", "--no-password")
    existing.refresh_from_db()
    assert existing.has_usable_password()
    assert get_user_model().objects.filter(username="dave").count() == 1


@pytest.mark.parametrize("name", ["", "bad name!", "x" * 151])
def test_a_malformed_name_is_refused(name):
    with pytest.raises(CommandError, match="^username: "):
        create(name, "--no-password")
    assert not get_user_model().objects.exists()


def test_bad_email_and_weak_password_are_named_together(monkeypatch):
    monkeypatch.setenv("WEAK", "1234")
    with pytest.raises(CommandError) as refused:
        create("erin", "--email", "not-an-address", "--password-from-env", "WEAK")
    assert "email: Enter a valid email address." in str(refused.value)
    assert "password: This password is too short." in str(refused.value)
    assert not get_user_model().objects.exists()


def test_no_password_leaves_it_unusable():
    printed = create("frank", "--no-password")
    assert "no password yet" in printed
    frank = get_user_model().objects.get(username="frank")
    assert not frank.has_usable_password()
    assert not frank.is_superuser


def test_the_password_is_never_an_argument(monkeypatch):
    # Refused without echoing it, and not taken as an abbreviation of --password-from-env.
    with pytest.raises(CommandError, match="^--password: ") as refused:
        create("gina", "--password", PASSWORD)
    assert PASSWORD not in str(refused.value)
    with pytest.raises(CommandError, match="--password-from-env UNSET_VAR: that variable"):
        create("gina", "--password-from-env", "UNSET_VAR")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(CommandError, match="no terminal to prompt on"):
        create("gina")
    assert not get_user_model().objects.exists()


def test_on_a_terminal_it_prompts_and_asks_again_after_a_refused_password(monkeypatch):
    answers = iter(["short", "short", PASSWORD, "typo", PASSWORD, PASSWORD])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    printed = create("hana")
    assert "Researcher hana created" in printed
    assert next(answers, None) is None
    hana = get_user_model().objects.get(username="hana")
    assert hana.check_password(PASSWORD)
    assert not hana.is_superuser


def test_on_a_terminal_a_taken_name_is_refused_before_the_prompt(monkeypatch, make_researcher):
    make_researcher("ivan")
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": pytest.fail("prompted"))
    with pytest.raises(CommandError, match="already exists"):
        create("ivan")


def test_admin_action_makes_researchers_of_others_but_not_the_acting_admin(make_researcher):
    users = get_user_model().objects
    admin_user = users.create_superuser("root", "root@example.org", PASSWORD)
    former_superuser = users.create_superuser("jo", "jo@example.org", PASSWORD)
    staff = users.create_user("kim", password=PASSWORD, is_staff=True, is_active=False)
    web = Client()
    web.force_login(admin_user)
    response = web.post(
        "/admin/auth/user/",
        {
            "action": "make_researcher",
            "_selected_action": [admin_user.pk, former_superuser.pk, staff.pk],
        },
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Made researcher(s): jo, kim." in page
    assert "Left unchanged: root (you)" in page
    for user in (former_superuser, staff):
        user.refresh_from_db()
        assert (user.is_active, user.is_staff, user.is_superuser) == (True, False, False)
        assert user.check_password(PASSWORD)
    admin_user.refresh_from_db()
    assert admin_user.is_superuser
    assert admin_user.is_staff


def test_admin_action_needs_the_change_permission_not_just_view():
    users = get_user_model().objects
    boss = users.create_superuser("boss", "boss@example.org", PASSWORD)
    viewer = users.create_user("lee", password=PASSWORD, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    web = Client()
    web.force_login(viewer)
    assert "make_researcher" not in web.get("/admin/auth/user/").content.decode()
    web.post("/admin/auth/user/", {"action": "make_researcher", "_selected_action": [boss.pk]})
    boss.refresh_from_db()
    assert boss.is_superuser
