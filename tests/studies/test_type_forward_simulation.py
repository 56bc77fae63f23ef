"""Forward simulation: learn -> pre -> learn with explanations -> post, through the pages."""

import re
from collections import Counter

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from analysis.compute.simulation import SimulationAnswers, simulation_effects
from studies import selectors
from studies.models import Participant, Response, Trial
from studies.services.assignment import EntryIds, participant_enter
from studies.services.participants import participant_consent, participant_instructions_read
from studies.services.responses import response_submit

from .factories import make_study
from .flow import acknowledged, consent_and_read, trial_form

pytestmark = pytest.mark.django_db
N_TEST, N_LEARN = 8, 4


def forward_study(researcher, corpus, **overrides):
    dataset, model = corpus
    design = {
        "study_type": "forward_simulation",
        "methods": ["gradient"],
        "condition_design": "between",
        "n_items": N_TEST,
        "practice_count": N_LEARN,
        "ratings_per_item": 1,
        "attention_check_positions": [3],
        "gold_positions": [],
    }
    design.update(overrides)
    return make_study(researcher, dataset, model, **design)


def answer_for(trial: Trial) -> dict[str, str]:
    """Pre: the gold label (right only when the model is); post: the model's output."""
    frozen = trial.item.frozen
    if trial.role == "learn":
        return {}
    if trial.role == "rating":
        return {"rating": str(1 + trial.position % 7)}
    if trial.role == "attention_check":
        return {"label": str((trial.item.expected or {})["label"])}
    label = frozen["gold_label"] if trial.phase == "pre" else frozen["prediction"]["label"]
    return {"label": str(label)}


def test_a_full_session_in_the_explanation_condition(client, researcher, corpus):
    study = forward_study(researcher, corpus)
    response = client.get(reverse("participate:entry", args=[study.uid]), follow=True)
    response = consent_and_read(client, response)
    path = response.request["PATH_INFO"]
    participant = Participant.objects.get(study=study)
    trials = list(participant.assignment.trials.select_related("item").order_by("position"))
    assert participant.assignment.study_list.condition.name == "gradient"

    phases = [t.phase for t in trials]
    runs = [p for k, p in enumerate(phases) if k == 0 or phases[k - 1] != p]
    assert runs[:3] == ["learn", "pre", "learn_explained"]
    assert set(runs[3:]) == {"post", "post_rating"}
    by_phase = {p: [t for t in trials if t.phase == p] for p in set(phases)}
    pre = [t for t in by_phase["pre"] if t.role == "test"]
    post = [t for t in by_phase["post"] if t.role == "test"]
    learn = by_phase["learn"]
    # Balance: equal TP/FP/TN/FN among this participant's test items.
    assert Counter(t.item.outcome for t in pre) == {"TP": 2, "FP": 2, "TN": 2, "FN": 2}
    # Pairing: the same test items before and after, reshuffled; learning items disjoint.
    assert sorted(t.item_id for t in pre) == sorted(t.item_id for t in post)
    assert len({t.item_id for t in pre}) == N_TEST
    assert [t.item_id for t in pre] != [t.item_id for t in post]
    assert sorted(t.item_id for t in learn) == sorted(
        t.item_id for t in by_phase["learn_explained"]
    )
    assert not {t.item.instance_id for t in learn} & {t.item.instance_id for t in pre}
    # A rating follows every post test trial, about the same item.
    for k, trial in enumerate(trials):
        if trial.phase == "post" and trial.role == "test":
            assert trials[k + 1].role == "rating"
            assert trials[k + 1].item_id == trial.item_id
    assert [t.role for t in by_phase["pre"]].count("attention_check") == 1
    assert trials.index(next(t for t in trials if t.role == "attention_check")) == N_LEARN + 2

    seen: dict[str, str] = {}
    duplicated = False
    response_ = response
    while b"data-trial-form" in response_.content:
        trial_id, key = trial_form(response_)
        trial = Trial.objects.select_related("item").get(pk=trial_id)
        html = response_.content.decode()
        seen.setdefault(f"{trial.phase}:{trial.role}", html)
        if trial.phase == "pre" and trial.role == "test" and not duplicated:
            refused = client.post(path, {"trial": trial_id, "idempotency_key": key})
            assert refused.status_code == 400
            assert (
                "Please choose one of the labels (negative, positive)." in refused.content.decode()
            )
        if trial.role == "rating" and "rating:bad" not in seen:
            refused = client.post(path, {"trial": trial_id, "idempotency_key": key, "rating": "8"})
            assert refused.status_code == 400
            assert (
                "A rating of the explanation must be a whole number from 1 to 7; got &#x27;8&#x27;."
                in refused.content.decode()
            )
            seen["rating:bad"] = ""
        data = {"trial": trial_id, "idempotency_key": key} | answer_for(trial)
        response_ = client.post(path, data, follow=True)
        assert response_.status_code == 200
        if trial.phase == "pre" and trial.role == "test" and not duplicated:
            assert acknowledged(client.post(path, data))
            duplicated = True
    assert study.completion_code in response_.content.decode()

    # What each phase shows: output while learning, explanation only in the second learning
    # phase and the ratings, neither while predicting.
    assert "The model predicted" in seen["learn:learn"]
    assert "explanation-heatmap" not in seen["learn:learn"]
    assert "explanation-heatmap" in seen["learn_explained:learn"]
    for key in ("pre:test", "post:test", "pre:attention_check"):
        assert "The model predicted" not in seen[key]
        assert "explanation-heatmap" not in seen[key]
        assert "What will the model predict?" in seen[key]
    assert (
        "Does this explanation show me why the system thought what it did?"
        in seen["post_rating:rating"]
    )
    assert "explanation-heatmap" in seen["post_rating:rating"]

    responses = list(Response.objects.filter(participant=participant).select_related("trial__item"))
    assert len(responses) == len(trials) == N_LEARN * 2 + N_TEST * 3 + 1
    for r in responses:
        expected = {"learn": {"seen": True}}.get(r.trial.role)
        if expected is None:
            key = "rating" if r.trial.role == "rating" else "label"
            expected = {key: int(answer_for(r.trial)[key])}
        assert r.value == expected
        assert r.passed is (True if r.trial.role == "attention_check" else None)
    rows = selectors.response_rows_flat(study)
    for row in rows:
        if row["role"] == "test":
            frozen = Trial.objects.get(pk=row["trial_id"]).item.frozen
            assert row["model_label"] == frozen["prediction"]["label"]
            assert row["correct"] is (row["predicted_label"] == frozen["prediction"]["label"])
            assert row["method"] == "gradient"
    # Pre answers were the gold label: right on TP and TN only (4 of 8); post all right.
    tests = [r for r in rows if r["role"] == "test"]
    (effect,) = simulation_effects(
        SimulationAnswers(
            participant=np.asarray([r["participant_id"] for r in tests]),
            item=np.asarray([r["instance_id"] for r in tests]),
            method=np.zeros(len(tests), dtype=np.int64),
            post=np.asarray([r["phase"] == "post" for r in tests]),
            guess=np.asarray([r["predicted_label"] for r in tests]),
            model_output=np.asarray([r["model_label"] for r in tests]),
            method_names=("gradient",),
        ),
        n_resamples=0,
    )
    assert {
        "participant_id": participant.pk,
        "condition": effect.method,
        "n_items": effect.n_items,
        "pre_accuracy": effect.pre_accuracy.value,
        "post_accuracy": effect.post_accuracy.value,
        "effect": effect.effect.value,
    } == {
        "participant_id": participant.pk,
        "condition": "gradient",
        "n_items": N_TEST,
        "pre_accuracy": 0.5,
        "post_accuracy": 1.0,
        "effect": 0.5,
    }


def test_the_control_condition_learns_twice_without_explanations(researcher, corpus):
    study = forward_study(researcher, corpus, attention_check_positions=[])
    first = participant_enter(study=study, ids=EntryIds(source="anonymous"))
    participant_consent(participant=first, agree=True)
    control = participant_enter(study=study, ids=EntryIds(source="anonymous"))
    control = participant_consent(participant=control, agree=True)
    participant_instructions_read(participant=control)
    assert control.assignment.study_list.condition.name == ""
    trials = list(control.assignment.trials.select_related("item").order_by("position"))
    assert [t.role for t in trials].count("rating") == 0
    assert all(t.item.frozen["explanations"] == [] for t in trials)
    assert Counter(t.item.outcome for t in trials if t.phase == "pre") == {
        "TP": 2,
        "FP": 2,
        "TN": 2,
        "FN": 2,
    }
    for trial in trials:
        response_submit(
            participant=control,
            trial_id=trial.pk,
            data=answer_for(trial),
            idempotency_key=f"c-{trial.pk}",
        )
    rows = [r for r in selectors.response_rows_flat(study) if r["role"] == "learn"]
    assert {r["explanation_shown"] for r in rows} == {False}
    assert {r["method"] for r in rows} == {None}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"condition_design": "within"}, "choose the between-subject design"),
        ({"n_items": 6}, "list 0 (gradient) does not: it has 1 TP, 2 FP, 1 TN, 2 FN"),
    ],
)
def test_launch_refuses_designs_that_break_the_protocol(researcher, corpus, overrides, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        forward_study(researcher, corpus, **overrides)


def test_gold_items_are_refused_at_design_time(researcher, corpus):
    with pytest.raises(ValidationError) as raised:
        forward_study(researcher, corpus, gold_positions=[2], launch=False)
    assert "use attention checks instead" in raised.value.message_dict["gold_positions"][0]


def test_the_researcher_preview_and_api_show_the_phases(client, api, researcher, corpus):
    study = forward_study(researcher, corpus, launch=False)
    client.force_login(researcher)
    page = client.get(reverse("studies:study-preview-trial", args=[study.pk, 1]))
    assert page.status_code == 200
    assert "Learning: see what the model predicts" in page.content.decode()
    rows = api.get(f"/api/studies/{study.pk}/preview/").json()
    assert [r["phase"] for r in rows][: N_LEARN + 1] == ["learn"] * N_LEARN + ["pre"]
    assert "What will the model predict?" in rows[N_LEARN]["html"]
    within = forward_study(researcher, corpus, launch=False, condition_design="within")
    refused = api.get(f"/api/studies/{within.pk}/preview/")
    assert refused.status_code == 400
    assert "choose the between-subject design" in refused.json()["detail"]
