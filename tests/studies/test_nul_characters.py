"""Text holding a NUL character (PostgreSQL text and jsonb cannot store it) is refused with a
4xx, never a 500, and nothing is stored: on SQLite too, which would store it. The suite runs
on PostgreSQL in CI, where each of these was a 500."""

import pytest
from django.test import Client

from studies.models import Response, Trial

from .factories import make_study
from .flow import consent_and_read, good_answer, trial_form
from .test_api import payload
from .test_type_counterfactual_simulation import imported_edits_form

pytestmark = pytest.mark.django_db
NUL = "\x00"


def _first_trial(researcher, corpus, **overrides):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, **overrides)
    client = Client(raise_request_exception=False)
    page = consent_and_read(client, client.get(f"/s/{study.uid}/", follow=True))
    trial_id, key = trial_form(page)
    trial = Trial.objects.select_related("item").get(pk=trial_id)
    data = {"trial": trial_id, "idempotency_key": key, "client_duration_ms": "1234"}
    data.update(good_answer(trial))
    return client, page.request["PATH_INFO"], data


def test_a_trial_comment_with_a_nul_is_refused(researcher, corpus):
    client, url, data = _first_trial(
        researcher, corpus, type_options={"scale": "likert", "points": 7, "comment": True}
    )
    data["comment"] = f"fine{NUL}"
    answered = client.post(url, data)
    assert answered.status_code == 400
    assert not Response.objects.exists()


def test_an_idempotency_key_with_a_nul_is_refused(researcher, corpus):
    client, url, data = _first_trial(researcher, corpus)
    data["idempotency_key"] = f"abc{NUL}def"
    answered = client.post(url, data)
    assert answered.status_code == 400
    assert not Response.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"type_options": {"question": f"How convincing?{NUL}"}},
        {"type_options": {"low_label": f"not{NUL}"}},
        {"comprehension_checks": [{"prompt": f"Who{NUL}?", "options": ["a", "b"], "answer": 0}]},
        {"comprehension_checks": [{"prompt": "Who?", "options": [f"a{NUL}", "b"], "answer": 0}]},
    ],
    ids=["type-option-question", "type-option-label", "check-prompt", "check-option"],
)
def test_a_study_design_with_a_nul_in_json_is_refused_by_the_api(api, corpus, overrides):
    from studies.models import Study

    dataset, model = corpus
    api.raise_request_exception = False
    body = payload(dataset, model, name="NUL study", **overrides)
    created = api.post("/api/studies/", body, format="json")
    assert created.status_code == 400
    assert not Study.objects.filter(name="NUL study").exists()


def test_a_free_text_questionnaire_answer_with_a_nul_is_refused(researcher, corpus):
    from studies.models import QuestionnaireAnswer

    from .flow import answer_all

    dataset, model = corpus
    study = make_study(
        researcher,
        dataset,
        model,
        questionnaire=[{"key": "thoughts", "kind": "text", "prompt": "Anything else?"}],
    )
    client = Client(raise_request_exception=False)
    page = consent_and_read(client, client.get(f"/s/{study.uid}/", follow=True))
    answered = answer_all(client, page, questionnaire={"thoughts": f"no{NUL}"})
    assert answered.status_code == 400
    assert not QuestionnaireAnswer.objects.exists()


def test_an_expert_review_comment_with_a_nul_is_refused(researcher, corpus):
    from django.urls import reverse

    from studies.services.invitations import invitations_create

    from .test_type_expert_review import AGREEABLE, answer, review_study

    study = review_study(researcher, corpus)
    (invitation,) = invitations_create(study=study, labels=["Dr A"])
    client = Client(raise_request_exception=False)
    page = consent_and_read(
        client, client.get(reverse("participate:invitation", args=[invitation.token]), follow=True)
    )
    trial_id, key = trial_form(page)
    trial = Trial.objects.select_related("item").get(pk=trial_id)
    data = {"trial": trial_id, "idempotency_key": key} | answer(trial, AGREEABLE)
    data["A_comment"] = f"fine{NUL}"
    answered = client.post(page.request["PATH_INFO"], data)
    assert answered.status_code == 400
    assert not Response.objects.exists()


@pytest.mark.parametrize("field", ["comment", "idempotency_key"])
def test_a_lead_reviewer_decision_with_a_nul_is_refused(researcher, corpus, field):
    from django.urls import reverse

    from studies.models import Adjudication
    from studies.services.invitations import invitations_create

    from .test_type_expert_review import AGREEABLE, CRITICAL, review_session, review_study

    study = review_study(researcher, corpus)
    invitations = {
        i.label: i for i in invitations_create(study=study, labels=["Dr A", "Dr B", "Dr Lead"])
    }
    review_session(Client(), invitations["Dr A"].token, AGREEABLE)
    review_session(Client(), invitations["Dr B"].token, CRITICAL)
    item = study.items.filter(role="test").order_by("position").first()
    letter = "ABC"[[e["method"] for e in item.frozen["explanations"]].index("gradient")]
    decision = {
        "item": item.pk,
        "idempotency_key": "k1",
        f"{letter}_flag": "misleading",
        f"{letter}_comment": "agree with Dr B",
    }
    decision[f"{letter}_comment" if field == "comment" else field] += NUL
    lead = Client(raise_request_exception=False)
    url = reverse("participate:adjudicate", args=[invitations["Dr Lead"].token])
    decided = lead.post(url, decision)
    assert decided.status_code == 400
    assert not Adjudication.objects.exists()


@pytest.mark.parametrize(
    "path",
    ["/s/invite/abc%00def/", "/s/adjudicate/abc%00def/"],
    ids=["invitation", "adjudicate"],
)
def test_a_participant_link_token_with_a_nul_is_not_a_500(researcher, corpus, path):
    dataset, model = corpus
    study = make_study(researcher, dataset, model)
    got = Client(raise_request_exception=False).get(path.format(uid=study.uid))
    assert got.status_code in (400, 404)


@pytest.mark.parametrize(
    "path",
    ["/api/datasets/a%00b/", "/api/models/a%00b/"],
    ids=["dataset-name", "model-name"],
)
def test_a_name_with_a_nul_in_an_api_url_is_not_a_500(api, corpus, path):
    dataset, model = corpus
    api.raise_request_exception = False
    got = api.get(path.format(model=model.name))
    assert got.status_code in (400, 404)


def test_imported_edits_with_an_escaped_nul_are_refused_by_the_design_page(
    client, researcher, corpus
):
    """The textarea holds no NUL, but its JSON lines decode "\\u0000" into one."""
    from django.urls import reverse

    dataset, model = corpus
    client.force_login(researcher)
    client.raise_request_exception = False
    lines = '{"id": "r0", "text": "Review 0\\u0000"}'
    form = imported_edits_form(dataset, model, lines)
    created = client.post(reverse("studies:study-new"), form)
    assert created.status_code in (200, 400)
    assert "NUL" in created.content.decode()
    assert not researcher.studies.filter(name="Edits").exists()


def test_a_model_archive_whose_config_holds_a_nul_is_refused(api, researcher, tmp_path):
    """config.json's "architectures" is copied into the model card (jsonb)."""
    import io
    import json
    import zipfile

    from django.core.files.uploadedfile import SimpleUploadedFile

    from explanations.models import ClassifierModel
    from tests.explanations.factories import small_dataset
    from tests.explanations.hf.factories import bert_folder

    small_dataset(tmp_path, owner=researcher)
    folder = bert_folder(tmp_path / "bert")
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["BertForSequenceClassification", "Other\u0000"]
    (folder / "config.json").write_text(json.dumps(config))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path in sorted(folder.iterdir()):
            bundle.write(path, f"model/{path.name}")
    archive = SimpleUploadedFile("model.zip", buffer.getvalue(), content_type="application/zip")
    api.raise_request_exception = False
    response = api.post(
        "/api/models/import/",
        {"archive": archive, "name": "m", "dataset": "films", "label_map": ""},
        format="multipart",
    )
    assert response.status_code == 400
    assert not ClassifierModel.objects.filter(name="m").exists()
