"""Aided task: participants label texts with or without highlights and the model's prediction."""

from random import Random

import numpy as np
import pytest
from django.urls import reverse

from analysis.compute.aided import AidedAnswers, aided_task_summary
from studies import selectors
from studies.models import Participant, Response, Study, Trial
from studies.services.assignment import EntryIds, participant_enter
from studies.services.participants import participant_consent, participant_instructions_read
from studies.services.responses import response_submit
from studies.types.base import ItemRef, get_type

from .factories import make_study
from .flow import acknowledged, consent_and_read, trial_form

pytestmark = pytest.mark.django_db


def aided_study(researcher, corpus, **overrides):
    dataset, model = corpus
    design = {
        "study_type": "aided_task",
        "methods": ["gradient"],
        "condition_design": "between",
        "n_items": 4,
        "ratings_per_item": 2,
        "gold_positions": [],
        "type_options": {"show_prediction": "crossed"},
    }
    design.update(overrides)
    return make_study(researcher, dataset, model, **design)


def answer_for(trial: Trial) -> dict[str, str]:
    """Label: the instructed one, else the gold label on even positions and the other on odd."""
    expected = trial.item.expected or {}
    gold = trial.item.frozen["gold_label"]
    label = expected.get("label", gold if trial.position % 2 == 0 else 1 - gold)
    return {"label": str(label), "confidence": str(1 + trial.position % 5)}


def services_session(study):
    participant = participant_enter(study=study, ids=EntryIds(source="anonymous"))
    participant = participant_consent(participant=participant, agree=True)
    participant_instructions_read(participant=participant)
    for trial in participant.assignment.trials.select_related("item").order_by("position"):
        response_submit(
            participant=participant,
            trial_id=trial.pk,
            data=answer_for(trial),
            idempotency_key=f"p{participant.pk}-t{trial.pk}",
        )
    return participant


def test_a_full_session_records_accuracy_confidence_and_reliance(client, researcher, corpus):
    study = aided_study(researcher, corpus)
    assert sorted(study.conditions.values_list("name", flat=True)) == ["", "gradient"]
    response = client.get(reverse("participate:entry", args=[study.uid]), follow=True)
    response = consent_and_read(client, response)
    path = response.request["PATH_INFO"]
    participant = Participant.objects.get(study=study)
    trials = list(participant.assignment.trials.select_related("item").order_by("position"))
    highlighted = bool(trials[0].item.methods)
    assert {t.payload["show_prediction"] for t in trials} == {True}  # first of its list
    html = response.content.decode()
    assert ("explanation-heatmap" in html) is highlighted
    assert "The model predicted" in html
    assert 'data-key="1"' in html and 'name="confidence"' in html  # noqa: PT018

    trial_id, key = trial_form(response)
    refused = client.post(path, {"trial": trial_id, "idempotency_key": key})
    assert refused.status_code == 400
    assert "Please choose one of the labels (negative, positive)." in refused.content.decode()
    refused = client.post(path, {"trial": trial_id, "idempotency_key": key, "label": "0"})
    assert "Please choose how confident you are (1 to 5)." in refused.content.decode()
    refused = client.post(
        path, {"trial": trial_id, "idempotency_key": key, "label": "2", "confidence": "3"}
    )
    assert "The label must be one of negative, positive; got &#x27;2&#x27;." in (
        refused.content.decode()
    )
    assert not Response.objects.exists()

    duplicated = False
    response = refused
    while b"data-trial-form" in response.content:
        trial_id, key = trial_form(response)
        trial = Trial.objects.select_related("item").get(pk=trial_id)
        data = {"trial": trial_id, "idempotency_key": key, "client_duration_ms": "2500"}
        data |= answer_for(trial)
        response = client.post(path, data, follow=True)
        assert response.status_code == 200
        if not duplicated and trial.role == "test":
            assert acknowledged(client.post(path, data))  # acknowledged, not stored again
            duplicated = True
    assert study.completion_code in response.content.decode()

    responses = list(Response.objects.filter(participant=participant).select_related("trial__item"))
    assert len(responses) == len(trials) == 6  # practice, 4 test, 1 attention check
    rows = {r["trial_id"]: r for r in selectors.response_rows_flat(study)}
    for r in responses:
        frozen = r.trial.item.frozen
        answer = answer_for(r.trial)
        assert r.value == {"label": int(answer["label"]), "confidence": int(answer["confidence"])}
        assert r.client_duration_ms == 2500
        assert r.server_duration_ms is not None
        row = rows[r.trial_id]
        gold, model = frozen["gold_label"], frozen["prediction"]["label"]
        assert row["correct"] is (int(answer["label"]) == gold)
        assert row["agrees_with_model"] is (int(answer["label"]) == model)
        assert row["model_correct"] is (model == gold)
        assert row["prediction_shown"] is True
        assert row["method"] == ("gradient" if highlighted else None)
        assert row["confidence_max"] == 5
        if r.trial.role == "attention_check":
            assert r.passed is True
        else:
            assert r.passed is None


def test_crossed_prediction_splits_each_list_evenly(researcher, corpus):
    study = aided_study(researcher, corpus)
    participants = [services_session(study) for _ in range(4)]
    arms: dict[int, list[bool]] = {}
    for p in participants:
        payloads = {t.payload["show_prediction"] for t in p.assignment.trials.all()}
        assert len(payloads) == 1  # one arm per participant, for every trial
        arms.setdefault(p.assignment.study_list_id, []).append(payloads.pop())
    assert sorted(map(sorted, arms.values())) == [[False, True], [False, True]]
    shown_hidden = {row["prediction_shown"] for row in selectors.response_rows_flat(study)}
    assert shown_hidden == {True, False}


def test_hidden_prediction_is_not_shown(client, researcher, corpus):
    study = aided_study(researcher, corpus, type_options={"show_prediction": "never"})
    response = client.get(reverse("participate:entry", args=[study.uid]), follow=True)
    html = consent_and_read(client, response).content.decode()
    assert "The model predicted" not in html
    assert "positive" in html  # the label choices


def reliance_summary(rows):
    """Return the app's aided-task summary of ``rows`` per (method, prediction shown)."""
    tests = [r for r in rows if r.get("role", "test") == "test"]  # practice never counts
    conditions = sorted(
        {(r["method"], r["prediction_shown"]) for r in tests},
        key=lambda c: (c[0] or "", c[1]),
    )
    summary = aided_task_summary(
        AidedAnswers(
            participant=np.arange(len(tests)),
            item=np.arange(len(tests)),
            condition=np.asarray(
                [conditions.index((r["method"], r["prediction_shown"])) for r in tests]
            ),
            answer=np.asarray([r["label"] for r in tests]),
            gold=np.asarray([r["gold_label"] for r in tests]),
            model_output=np.asarray([r["model_label"] for r in tests]),
            seconds=np.full(len(tests), np.nan),
            condition_names=tuple(str(c) for c in conditions),
        ),
        n_resamples=0,
    )
    found = []
    for (method, shown), result in zip(conditions, summary, strict=True):
        right = result.agreement_when_model_right.value
        wrong = result.agreement_when_model_wrong.value
        found.append(
            {
                "method": method,
                "prediction_shown": shown,
                "n": result.n_answers,
                "accuracy": result.accuracy.value,
                "agreement_model_right": right,
                "agreement_model_wrong": wrong,
                "reliance_gap": None if right is None or wrong is None else right - wrong,
            }
        )
    return found


def test_reliance_summary_matches_a_worked_example():
    def row(method, shown, label, gold, model):
        return {
            "method": method,
            "prediction_shown": shown,
            "label": label,
            "gold_label": gold,
            "model_label": model,
            "correct": label == gold,
            "agrees_with_model": label == model,
            "model_correct": model == gold,
        }

    rows = [
        # gradient + prediction: model right twice (followed once), wrong twice (followed once)
        row("gradient", True, 1, 1, 1),
        row("gradient", True, 0, 1, 1),
        row("gradient", True, 0, 0, 1),
        row("gradient", True, 1, 0, 1),
        # plain text, no prediction: model right once (followed), never wrong
        row(None, False, 1, 1, 1),
        {**row(None, False, 0, 0, 0), "role": "practice"},  # practice never counts
    ]
    assert reliance_summary(rows) == [
        {
            "method": None,
            "prediction_shown": False,
            "n": 1,
            "accuracy": 1.0,
            "agreement_model_right": 1.0,
            "agreement_model_wrong": None,
            "reliance_gap": None,
        },
        {
            "method": "gradient",
            "prediction_shown": True,
            "n": 4,
            "accuracy": 0.5,  # answers 1, 0, 0, 1 against gold 1, 1, 0, 0
            "agreement_model_right": 0.5,
            "agreement_model_wrong": 0.5,
            "reliance_gap": 0.0,
        },
    ]


def test_the_api_designs_previews_launches_and_exports_an_aided_task(api, corpus):
    dataset, model = corpus
    body = {
        "name": "Aided over the API",
        "study_type": "aided_task",
        "dataset": dataset.name,
        "model": model.name,
        "methods": ["gradient", "lrp"],
        "n_items": 4,
        "ratings_per_item": 2,
        "condition_design": "between",
        "attention_check_positions": [],
        "gold_positions": [],
        "type_options": {"show_prediction": "always", "confidence_points": 7},
    }
    created = api.post("/api/studies/", body, format="json")
    assert created.status_code == 201, created.json()
    study = created.json()
    assert study["type_options"] == {
        "question": "Which label fits this text best?",
        "show_prediction": "always",
        "ask_confidence": True,
        "confidence_points": 7,
    }
    assert study["lists"] == 3  # gradient, lrp and the plain-text control
    bad = api.post(
        f"/api/studies/{study['id']}/preview/2/answer/",
        {"answer": {"label": "1", "confidence": "8"}},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["detail"] == (
        "How confident you are must be a whole number from 1 to 7; got '8'."
    )
    refused = api.post(
        "/api/studies/", body | {"type_options": {"show_prediction": "often"}}, format="json"
    )
    assert refused.status_code == 400
    assert "show_prediction='often'" in str(refused.json())
    assert api.post(f"/api/studies/{study['id']}/launch/").json()["status"] == "live"
    services_session(Study.objects.get(pk=study["id"]))
    rows = api.get(f"/api/studies/{study['id']}/responses/").json()["responses"]
    tests = [r for r in rows if r["role"] == "test"]
    assert len(tests) == 4
    assert {r["prediction_shown"] for r in tests} == {True}
    assert {r["confidence_max"] for r in tests} == {7}
    assert all(r["agrees_with_model"] == (r["label"] == r["model_label"]) for r in tests)


def test_the_crossed_arm_is_chosen_from_the_list_payloads_without_queries(
    django_assert_num_queries,
):
    kind = get_type("aided_task")
    items = [ItemRef(id=k, role="test", position=k, methods=("m",)) for k in range(3)]
    options = kind.clean_options({"show_prediction": "crossed"})

    def arm(payloads):
        specs = kind.build_trials(
            items=items,
            options=options,
            attention_positions=[],
            gold_positions=[],
            rng=Random(0),
            list_payloads=payloads,
        )
        return {s.payload["show_prediction"] for s in specs}

    with django_assert_num_queries(0):
        assert arm([]) == {True}
        assert arm([{"show_prediction": True}]) == {False}
        assert arm([{"show_prediction": True}, {"show_prediction": False}]) == {True}
