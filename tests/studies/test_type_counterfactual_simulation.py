"""Counterfactual simulation: edits, the model's frozen output on them, and a full session."""

from collections import Counter
from unittest import mock

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from explanations.compute.prediction import predict_proba
from explanations.compute.tokenize import tokenize
from explanations.services import model_store
from explanations.services.computing import explanations_compute
from explanations.services.model_store import model_load
from studies import selectors
from studies.models import Participant, Response, StudyItem, Trial
from studies.services.lifecycle import study_launch
from studies.types.counterfactual_simulation import choose_targets, parse_edits, top_k_deletion
from tests.explanations.factories import trained_model

from .factories import make_study
from .flow import acknowledged, consent_and_read, trial_form

pytestmark = pytest.mark.django_db
N_TEST = 8


@pytest.fixture
def tiny(tmp_path):
    """A tiny BiLSTM trained on synthetic reviews, its predictions and gradient explanations."""
    model, dataset = trained_model(tmp_path)
    explanations_compute(model=model, dataset=dataset, methods=["gradient"])
    return dataset, model


def cf_study(researcher, dataset, model, **overrides):
    design = {
        "study_type": "counterfactual_simulation",
        "methods": ["gradient"],
        "condition_design": "between",
        "n_items": N_TEST,
        "ratings_per_item": 1,
        "practice_count": 1,
        "attention_check_positions": [3],
        "gold_positions": [],
        "type_options": {"k": 2, "rate_explanations": True},
    }
    design.update(overrides)
    return make_study(researcher, dataset, model, **design)


def fresh_probabilities(model, item: StudyItem) -> np.ndarray:
    """Predict the frozen edit again with the stored model (no context: not a pair task)."""
    module, vocab = model_load(model)
    tokens = item.frozen["counterfactual"]["tokens"]
    return predict_proba(module, [vocab.encode(tokens)])[0]


def check_generated_edits(study, model):
    """Frozen outputs equal a fresh prediction; each list's test edits flip half the time."""
    items = list(study.items.select_related("instance"))
    assert items
    for item in items:
        edit = item.frozen["counterfactual"]
        fresh = fresh_probabilities(model, item)
        assert np.allclose(fresh, edit["prediction"]["probabilities"], atol=1e-6)
        assert edit["prediction"]["label"] == int(np.argmax(fresh))
        assert edit["flipped"] is (int(np.argmax(fresh)) != item.frozen["prediction"]["label"])
        tokens = item.instance.tokens
        assert edit["tokens"] == [t for i, t in enumerate(tokens) if i not in edit["deleted"]]
        assert len(edit["deleted"]) == 2
        if edit["kind"] == "top_k":
            gradient = item.instance.explanations.get(method__name="gradient").scores
            top = sorted(range(len(gradient)), key=lambda i: -gradient[i])[:2]
            assert edit["deleted"] == sorted(top)
    for study_list in study.lists.all():
        tests = study_list.items.filter(role="test")
        flips = Counter(i.frozen["counterfactual"]["flipped"] for i in tests)
        assert flips == {True: N_TEST // 2, False: N_TEST // 2}


@pytest.mark.slow
def test_a_full_session_predicts_the_model_on_the_edits(client, researcher, tiny):
    dataset, model = tiny
    study = cf_study(researcher, dataset, model)
    check_generated_edits(study, model)
    response = client.get(reverse("participate:entry", args=[study.uid]), follow=True)
    response = consent_and_read(client, response)
    path = response.request["PATH_INFO"]
    participant = Participant.objects.get(study=study)
    trials = list(participant.assignment.trials.select_related("item").order_by("position"))
    assert participant.assignment.study_list.condition.name == "gradient"
    assert [t.phase for t in trials][:2] == ["practice", "pre"]
    pre = [t.item_id for t in trials if t.phase == "pre" and t.role == "test"]
    post = [t.item_id for t in trials if t.phase == "post" and t.role == "test"]
    assert sorted(pre) == sorted(post)
    assert len(set(pre)) == N_TEST
    assert [t.role for t in trials].count("rating") == N_TEST

    pages: dict[str, str] = {}
    duplicated = False
    while b"data-trial-form" in response.content:
        trial_id, key = trial_form(response)
        trial = Trial.objects.select_related("item").get(pk=trial_id)
        pages.setdefault(f"{trial.phase}:{trial.role}", response.content.decode())
        if trial.role == "rating":
            answer = {"rating": "5"}
        elif trial.role == "attention_check":
            answer = {"label": str(trial.item.expected["label"])}
        else:  # right after explanations, wrong before: the model's output on the edit, or not
            cf_label = trial.item.frozen["counterfactual"]["prediction"]["label"]
            answer = {"label": str(cf_label if trial.phase == "post" else 1 - cf_label)}
        if not duplicated and trial.phase == "pre":
            refused = client.post(path, {"trial": trial_id, "idempotency_key": key, "label": "x"})
            assert refused.status_code == 400
            assert (
                "The label must be one of negative, positive; got &#x27;x&#x27;."
                in refused.content.decode()
            )
        data = {"trial": trial_id, "idempotency_key": key} | answer
        response = client.post(path, data, follow=True)
        assert response.status_code == 200
        if not duplicated and trial.phase == "pre":
            assert acknowledged(client.post(path, data))
            duplicated = True
    assert study.completion_code in response.content.decode()

    pre_page, post_page = pages["pre:test"], pages["post:test"]
    assert "On this text the model predicted" in pre_page
    assert "The edited text" in pre_page
    assert "<del>" in pre_page
    assert "What will the model predict for the edited text?" in pre_page
    assert "explanation-heatmap" not in pre_page
    assert "explanation-heatmap" in post_page
    assert "explanation-heatmap" not in pages["practice:practice"]

    responses = list(Response.objects.filter(participant=participant).select_related("trial__item"))
    assert len(responses) == len(trials) == 1 + 1 + 3 * N_TEST
    rows = {r["trial_id"]: r for r in selectors.response_rows_flat(study)}
    for r in responses:
        row = rows[r.trial_id]
        if r.trial.role != "test":
            continue
        edit = r.trial.item.frozen["counterfactual"]
        assert row["model_label"] == edit["prediction"]["label"]
        assert row["correct"] is (r.trial.phase == "post")
        assert row["flipped"] is edit["flipped"]
        assert row["edit_kind"] in ("top_k", "random")
        assert row["original_label"] == r.trial.item.frozen["prediction"]["label"]


@pytest.mark.slow
def test_imported_edits_are_predicted_and_a_missing_one_is_refused(researcher, tiny):
    dataset, model = tiny
    edits = [{"id": i.external_id, "text": " ".join(i.tokens[1:])} for i in dataset.instances.all()]
    options = {"edit_source": "imported", "edits": edits}
    study = cf_study(researcher, dataset, model, type_options=options)
    for item in study.items.select_related("instance"):
        edit = item.frozen["counterfactual"]
        assert edit["kind"] == "imported"
        assert edit["deleted"] is None
        assert edit["tokens"] == tokenize(" ".join(item.instance.tokens[1:]))[0]
        assert np.allclose(fresh_probabilities(model, item), edit["prediction"]["probabilities"])
    partial = {"edit_source": "imported", "edits": edits[:10]}
    with pytest.raises(
        ValidationError, match=r"instance\(s\) the design uses have no imported edit"
    ):
        cf_study(researcher, dataset, model, type_options=partial)


def test_a_model_without_weights_is_refused_at_launch(researcher, corpus):
    dataset, model = corpus  # explanations imported: no weights here
    with pytest.raises(ValidationError, match="has no weights here"):
        cf_study(researcher, dataset, model, n_items=4, attention_check_positions=[])


def test_edit_helpers():
    assert top_k_deletion([0.1, 0.5, -0.9, 0.5, 0.2], 2) == [1, 3]  # ties by position
    assert top_k_deletion([0.1, 0.5, -0.9, 0.5, 0.2], 3) == [1, 3, 4]
    targets = choose_targets({1: (True, False), 2: (False, True), 3: (True, True)}, 1, rng_of(0))
    assert targets == {1: True, 2: False, 3: False}
    assert choose_targets({1: (True, False), 2: (True, False)}, 1, rng_of(0)) is None
    with pytest.raises(ValidationError, match="line 2: not JSON"):
        parse_edits('{"id": "a", "text": "x"}\n{oops')
    with pytest.raises(ValidationError, match="line 2: instance 'a' has two edits"):
        parse_edits([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])


def rng_of(seed):
    import random

    return random.Random(seed)


def imported_edits_form(dataset, model, lines: str) -> dict:
    """The design page's form for a between-subject study with imported edits."""
    return {
        "name": "Edits",
        "study_type": "counterfactual_simulation",
        "dataset": dataset.name,
        "model": model.name,
        "methods": ["gradient"],
        "seed": "1",
        "n_items": "4",
        "ratings_per_item": "1",
        "condition_design": "between",
        "balance_outcomes": "on",
        "practice_count": "0",
        "display_mode": "heatmap",
        "consent_text": "Consent.",
        "instructions": "Predict.",
        "sources": ["anonymous"],
        "estimated_minutes": "10",
        "time_limit_minutes": "60",
        "counterfactual_simulation__edit_source": "imported",
        "counterfactual_simulation__edits": lines,
    }


def test_the_design_page_takes_imported_edits_as_json_lines(client, researcher, corpus):
    dataset, model = corpus
    client.force_login(researcher)
    lines = '{"id": "r0", "text": "Review 0: the film was."}\n{"id": "r1", "text": "Review 1."}'
    form = imported_edits_form(dataset, model, lines)
    created = client.post(reverse("studies:study-new"), form)
    assert created.status_code == 302, created.content.decode()[:2000]
    study = researcher.studies.get(name="Edits")
    assert study.type_options["edits"] == [
        {"id": "r0", "text": "Review 0: the film was."},
        {"id": "r1", "text": "Review 1."},
    ]
    assert study.type_options["edit_source"] == "imported"
    edit_page = client.get(reverse("studies:study-edit", args=[study.pk])).content.decode()
    assert "{&quot;id&quot;: &quot;r1&quot;, &quot;text&quot;: &quot;Review 1.&quot;}" in edit_page
    bad = client.post(
        reverse("studies:study-new"), form | {"counterfactual_simulation__edits": "{oops"}
    )
    assert "option edits, line 1: not JSON" in bad.content.decode()


@pytest.mark.slow
def test_paging_through_a_draft_preview_loads_the_model_once(client, researcher, tiny):
    dataset, model = tiny
    study = cf_study(researcher, dataset, model, launch=False)
    client.force_login(researcher)
    # Patched where it is defined: the type imports it when it first needs the model.
    with mock.patch.object(model_store, "model_load", wraps=model_store.model_load) as loads:
        for position in (1, 2, 3):
            page = client.get(reverse("studies:study-preview-trial", args=[study.pk, position]))
            assert page.status_code == 200
    assert loads.call_count <= 1
    study = study_launch(study=study)
    check_generated_edits(study, model)


def test_a_draft_preview_loads_no_model_and_says_launch_computes_the_output(
    client, researcher, corpus
):
    dataset, model = corpus
    study = cf_study(
        researcher, dataset, model, n_items=4, attention_check_positions=[], launch=False
    )
    client.force_login(researcher)
    failing = mock.patch.object(
        model_store,
        "model_load",
        side_effect=AssertionError("a draft's preview loaded the model"),
    )
    with failing:
        assert client.get(reverse("studies:study-preview", args=[study.pk])).status_code == 200
        for position in (1, 2, 3):
            page = client.get(reverse("studies:study-preview-trial", args=[study.pk, position]))
            assert page.status_code == 200
            text = page.content.decode()
            assert "computed when the study goes live" in text
            assert "<del>" in text  # the candidate deletion is shown
        rows = selectors.preview_trials(study)
    edits = [row["view"].snapshot["counterfactual"] for row in rows]
    assert edits
    assert all(e["prediction"] is None and e["flipped"] is None for e in edits)
    assert all(e["kind"] in ("top_k", "random") and len(e["deleted"]) == 2 for e in edits)
