"""The design fields, declared once: the form, the API and the service check them alike."""

import dataclasses

import pytest
from django.core.exceptions import ValidationError

from studies.design_fields import DESIGN, DESIGN_FIELDS
from studies.forms import StudyDesignForm
from studies.models import Study
from studies.services.design import StudyDesign, study_create

from .factories import make_study
from .test_api import payload

pytestmark = pytest.mark.django_db
MESSAGE = "field n_items=0: expected a whole number >= 1 and <= 100000"


def test_the_model_and_the_design_default_to_the_declaration():
    defaults = {f.name: f.default for f in dataclasses.fields(StudyDesign)}
    for declared in DESIGN_FIELDS:
        model_default = Study._meta.get_field(declared.name).get_default()
        assert model_default == declared.default, declared.name
        assert defaults[declared.name] == declared.default, declared.name


def test_a_range_is_refused_with_one_message_by_the_form_the_api_and_the_service(
    api, researcher, corpus
):
    dataset, model = corpus
    form = StudyDesignForm(data={"n_items": "0"}, user=researcher)
    assert not form.is_valid()
    assert form.errors["n_items"] == [MESSAGE]
    response = api.post("/api/studies/", payload(dataset, model, n_items=0), format="json")
    assert response.status_code == 400
    assert response.json()["n_items"] == [MESSAGE]
    with pytest.raises(ValidationError) as refused:
        make_study(researcher, dataset, model, n_items=0, launch=False)
    assert refused.value.message_dict["n_items"] == [MESSAGE]


def test_the_design_fields_round_trip_through_form_api_and_service(api, researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, top_k=3, pay="£1", launch=False)
    assert (study.top_k, study.pay) == (3, "£1")
    body = api.get(f"/api/studies/{study.pk}/").json()
    for declared in DESIGN_FIELDS:
        assert body[declared.name] == getattr(study, declared.name)
    form = StudyDesignForm(user=researcher)
    assert list(form.fields)[:9] == [
        "name", "description", "study_type", "dataset", "model", "methods", "seed", "n_items",
        "items_per_participant",
    ]  # fmt: skip
    assert form.fields["condition_design"].initial == DESIGN["condition_design"].default
    design = StudyDesign(
        name="x",
        study_type="plausibility_rating",
        dataset=dataset,
        model=model,
        methods=["gradient"],
        display_mode="sparkles",
    )
    with pytest.raises(ValidationError, match="field display_mode='sparkles': expected one of"):
        study_create(owner=researcher, design=design)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("time_limit_minutes", 99999999999, "expected a whole number >= 1 and <= 10080"),
        ("ratings_per_item", 10**12, "expected a whole number >= 1 and <= 10000"),
        ("ratings_per_item", 10**9, "expected a whole number >= 1 and <= 10000"),
        ("n_items", 10**6, "expected a whole number >= 1 and <= 100000"),
    ],
)
def test_huge_numbers_are_refused_naming_the_field_and_nothing_is_created(
    api, researcher, corpus, name, value, message
):
    """A time limit of 99999999999 minutes once launched, then gave every participant a 500."""
    dataset, model = corpus
    expected = [f"field {name}={value!r}: {message}"]
    form = StudyDesignForm(data={name: str(value)}, user=researcher)
    assert not form.is_valid()
    assert form.errors[name] == expected
    response = api.post("/api/studies/", payload(dataset, model, **{name: value}), format="json")
    assert response.status_code == 400
    assert response.json()[name] == expected
    with pytest.raises(ValidationError) as refused:
        make_study(researcher, dataset, model, launch=False, **{name: value})
    assert refused.value.message_dict[name] == expected
    assert not Study.objects.exists()


def test_the_model_refuses_out_of_range_design_fields_too(api, researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, launch=False)
    study.time_limit_minutes = 99999999999
    study.ratings_per_item = 10**12
    with pytest.raises(ValidationError) as refused:
        study.full_clean()
    assert set(refused.value.message_dict) >= {"time_limit_minutes", "ratings_per_item"}
