"""Pre-registration (issue #16): the plan is edited in draft only and frozen at launch."""

import hashlib
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from studies.design_fields import DESIGN_FIELDS
from studies.models import Study
from studies.services.design import design_of, study_update
from studies.services.lifecycle import study_launch
from studies.services.preregistration import (
    Preregistration,
    plan_of,
    preregistration_update,
)

from .factories import make_study
from .test_researcher_views import design_form

pytestmark = pytest.mark.django_db


def plan_form(dataset, model, **overrides):
    """Return the design form's data, declared fields the shared helper lacks at their defaults."""
    data = design_form(dataset, model, **overrides)
    for declared in DESIGN_FIELDS:
        if declared.name not in data and declared.default not in (None, False):
            data[declared.name] = "on" if declared.default is True else str(declared.default)
    return data


PLAN = Preregistration(
    hypotheses="Ratings rise with comprehensiveness — “ü” kept as is.",
    plausibility_measure="mean_rating",
    faithfulness_metrics=["comprehensiveness_aopc", "decision_flip"],
    statistics="Spearman's rho, two-way cluster bootstrap.",
    n_resamples=2000,
    resampling="two_way",
    min_median_seconds=2.5,
    exclusion_notes="Also drop anyone who reports having seen the texts.",
    explanation_goal="which tokens drove this prediction",
    intended_user="model_developer",
)


def test_launch_freezes_the_plan_as_canonical_json_with_its_sha256(corpus, researcher):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, launch=False, preregistration=PLAN)
    assert study.preregistration_sha256 == ""
    before = timezone.now()
    live = study_launch(study=study)
    text = live.preregistration_json
    assert live.preregistration_sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert before <= live.preregistered_at <= timezone.now()
    frozen = json.loads(text)
    assert text == json.dumps(frozen, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert "“ü”" in text  # UTF-8, not \u escapes
    assert frozen["plausibility_measure"] == "mean_rating"
    assert frozen["faithfulness_metrics"] == ["comprehensiveness_aopc", "decision_flip"]
    assert frozen["statistics"]["n_resamples"] == 2000
    assert frozen["statistics"]["level"] is None
    assert frozen["exclusions"]["rules"] == {
        "max_failed_checks": 0,
        "min_median_seconds": 2.5,
        "straight_lining": True,
        "straight_lining_min": 4,
    }
    # The settings the rules look at are taken from the study itself at launch.
    assert frozen["exclusions"]["checks"] == {
        "attention_check_positions": [2],
        "gold_positions": [4],
        "practice_count": 1,
    }
    assert frozen["explanation_goal"] == "which tokens drove this prediction"
    assert frozen["intended_user"] == "model_developer"
    assert frozen["study_uid"] == str(live.uid)


def test_a_study_with_nothing_planned_is_not_preregistered(corpus, researcher):
    dataset, model = corpus
    live = make_study(researcher, dataset, model)
    assert (live.preregistration_json, live.preregistration_sha256) == ("", "")
    assert live.preregistered_at is None


def test_the_service_refuses_changes_after_launch(corpus, researcher):
    dataset, model = corpus
    draft = make_study(researcher, dataset, model, launch=False)
    updated = preregistration_update(study=draft, plan=PLAN)
    assert plan_of(updated) == PLAN
    live = study_launch(study=updated)
    with pytest.raises(ValidationError, match="frozen at launch"):
        preregistration_update(study=live, plan=Preregistration(hypotheses="changed"))
    design = design_of(live)
    design.preregistration = Preregistration(hypotheses="changed")
    with pytest.raises(ValidationError, match="only a draft"):
        study_update(study=live, design=design)
    live.refresh_from_db()
    assert plan_of(live) == PLAN


def test_the_service_names_the_field_of_a_bad_plan(corpus, researcher):
    dataset, model = corpus
    draft = make_study(researcher, dataset, model, launch=False)
    bad = Preregistration(
        plausibility_measure="bradley_terry",
        faithfulness_metrics=["accuracy"],
        resampling="everything",
        intended_user="other",
    )
    with pytest.raises(ValidationError) as caught:
        preregistration_update(study=draft, plan=bad)
    errors = caught.value.message_dict
    assert "expected one of mean_rating" in errors["plausibility_measure"][0]
    assert "comprehensiveness_aopc" in errors["faithfulness_metrics"][0]
    assert "two_way" in errors["resampling"][0]
    assert "describe the intended user" in errors["intended_user_other"][0]


def test_the_form_saves_the_plan_in_draft_and_refuses_it_after_launch(corpus, researcher):
    dataset, model = corpus
    web = Client()
    web.force_login(researcher)
    form = plan_form(
        dataset,
        model,
        hypotheses="H1: gradient is rated above random.",
        plausibility_measure="bradley_terry",
        faithfulness_metrics=["tau_loo"],
        explanation_goal="which tokens drove this prediction",
        intended_user="other",
        intended_user_other="a journalist",
        max_failed_checks="1",
        straight_lining_min="",
    )
    page = web.get(
        f"/studies/new/?study_type=pairwise_preference&dataset={dataset.name}&model={model.name}"
    ).content.decode()
    assert "<legend>Pre-registration</legend>" in page
    assert 'value="bradley_terry"' in page
    assert 'value="mean_rating"' not in page
    created = web.post("/studies/new/", form)
    assert created.status_code == 302, created.content.decode()[:2000]
    study = Study.objects.get(name="Web study")
    plan = plan_of(study)
    assert plan.hypotheses == "H1: gradient is rated above random."
    assert plan.plausibility_measure == "bradley_terry"
    assert plan.faithfulness_metrics == ["tau_loo"]
    assert (plan.max_failed_checks, plan.straight_lining_min) == (1, 4)
    assert (plan.intended_user, plan.intended_user_other) == ("other", "a journalist")
    # The edit page shows the saved plan back.
    edit = web.get(f"/studies/{study.pk}/edit/").content.decode()
    assert "H1: gradient is rated above random." in edit
    live = study_launch(study=study)
    detail = web.get(f"/studies/{live.pk}/").content.decode()
    assert f'sha256 <code title="{live.preregistration_sha256}">' in detail
    assert "frozen at launch" in detail
    refused = web.post(f"/studies/{live.pk}/edit/", {**form, "hypotheses": "H2: changed."})
    assert refused.status_code == 302
    live.refresh_from_db()
    assert plan_of(live).hypotheses == "H1: gradient is rated above random."


def test_the_form_names_a_bad_plan_field(corpus, researcher):
    dataset, model = corpus
    web = Client()
    web.force_login(researcher)
    page = web.post(
        "/studies/new/",
        plan_form(dataset, model, intended_user="other", level="2"),
    )
    assert page.status_code == 400
    errors = page.context["form"].errors
    assert "describe the intended user" in errors["intended_user_other"][0]
    assert "level" in errors
    assert not Study.objects.filter(name="Web study").exists()


def test_the_api_exposes_the_plan_and_refuses_changes_after_launch(corpus, researcher):
    dataset, model = corpus
    api = APIClient()
    api.force_authenticate(researcher)
    draft = make_study(researcher, dataset, model, launch=False)
    changed = api.patch(
        f"/api/studies/{draft.pk}/",
        {"preregistration": {"hypotheses": "H1", "plausibility_measure": "mean_rating"}},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["preregistration"]["hypotheses"] == "H1"
    assert changed.json()["preregistration"]["sha256"] is None
    bad = api.patch(
        f"/api/studies/{draft.pk}/",
        {"preregistration": {"plausibility_measure": "bradley_terry"}},
        format="json",
    )
    assert bad.status_code == 400
    assert "plausibility_measure" in json.dumps(bad.json())
    launched = api.post(f"/api/studies/{draft.pk}/launch/")
    body = launched.json()["preregistration"]
    assert body["sha256"] == hashlib.sha256(body["json"].encode()).hexdigest()
    refused = api.patch(
        f"/api/studies/{draft.pk}/", {"preregistration": {"hypotheses": "H2"}}, format="json"
    )
    assert refused.status_code == 400
    draft.refresh_from_db()
    assert plan_of(draft).hypotheses == "H1"
