"""Rationale annotation: a participant's session through the pages, the rationales it
leaves, and those rationales in the plausibility scores of ``compute_scores``."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from sklearn.metrics import auc, precision_recall_curve

from explanations.models import Explanation, HumanRationale, Score
from studies import selectors
from studies.models import Participant, Response, Trial
from studies.services.assignment import EntryIds, participant_enter
from studies.services.participants import participant_consent, participant_instructions_read
from studies.services.rationales import rationales_sync
from studies.services.responses import response_submit
from studies.types import get_type

from .factories import make_study
from .flow import acknowledged, consent_and_read, trial_form

pytestmark = pytest.mark.django_db

KNOWN_RATIONALE = [5, 10]  # film_corpus gives every third review this rationale
SENTIMENT = [6, 11]  # "the film was <word> and the ending was <good|bad>"


def rationale_study(researcher, corpus, **overrides):
    dataset, model = corpus
    options = {"study_type": "rationale_annotation", "methods": ["gradient"], "n_items": 3}
    options["ratings_per_item"] = 1
    options.update(overrides)
    return make_study(researcher, dataset, model, **options)


def marks_for(trial: Trial) -> list[int]:
    """What our careful participant marks: the instruction, the known rationale, else sentiment."""
    expected = trial.item.expected or {}
    if "indices" in expected:
        return expected["indices"]
    if trial.role == "gold":
        return KNOWN_RATIONALE
    return SENTIMENT


def test_a_full_session_records_answers_and_rationales(client, researcher, corpus):
    study = rationale_study(researcher, corpus)
    response = client.get(reverse("participate:entry", args=[study.uid]), follow=True)
    response = consent_and_read(client, response)
    path = response.request["PATH_INFO"]
    html = response.content.decode()
    # The words are toggles, the label is shown, no explanation and no method name.
    assert 'name="t0"' in html
    assert "rationale_annotation.js" in html
    assert "explanation-heatmap" not in html
    assert "gradient" not in html
    first_id, first_key = trial_form(response)

    refused = client.post(path, {"trial": first_id, "idempotency_key": first_key})
    assert refused.status_code == 400
    assert "Please mark at least one word that justifies the label." in refused.content.decode()
    out_of_text = client.post(
        path, {"trial": first_id, "idempotency_key": first_key, "tokens": "99"}
    )
    assert out_of_text.status_code == 400
    assert "Word 100 is not in this text (it has 13 words)." in out_of_text.content.decode()
    assert not Response.objects.exists()

    sent: dict[int, list[int]] = {}
    duplicated = False
    response = refused
    while b"data-trial-form" in response.content:
        trial_id, key = trial_form(response)
        trial = Trial.objects.select_related("item").get(pk=trial_id)
        marks = marks_for(trial)
        data = {"trial": trial_id, "idempotency_key": key, **{f"t{i}": "1" for i in marks}}
        response = client.post(path, data, follow=True)
        assert response.status_code == 200
        if trial.role == "test" and not duplicated:
            again = client.post(path, data)  # a double submit: acknowledged, stored once
            assert acknowledged(again)
            duplicated = True
        sent[trial_id] = marks
    assert study.completion_code in response.content.decode()

    participant = Participant.objects.get(study=study)
    assert participant.status == Participant.Status.COMPLETED
    responses = list(Response.objects.filter(participant=participant).select_related("trial"))
    assert len(responses) == len(sent) == 6  # practice, 3 test, attention check, gold
    roles = sorted(r.trial.role for r in responses)
    assert roles == ["attention_check", "gold", "practice", "test", "test", "test"]
    for r in responses:
        assert r.value == {"indices": sent[r.trial_id], "comment": ""}
        assert r.passed is ({"attention_check": True, "gold": True}.get(r.trial.role))
        assert r.client_duration_ms is None
        assert r.shown_at is not None

    annotator = f"study{study.pk}:participant{participant.pk}"
    counted = [r for r in responses if r.trial.role in ("test", "gold")]
    rationales = HumanRationale.objects.filter(annotator=annotator)
    assert sorted((h.instance_id, h.token_indices, h.source) for h in rationales) == sorted(
        (r.trial.item.instance_id, sent[r.trial_id], "study") for r in counted
    )
    assert rationales_sync(study_id=study.pk) == 0  # already in step with the answers

    rows = {row["trial_id"]: row for row in selectors.response_rows_flat(study)}
    gold = next(r for r in responses if r.trial.role == "gold")
    assert rows[gold.trial_id]["gold_rationale_f1"] == 1.0
    test = next(r for r in responses if r.trial.role == "test")
    assert (
        rows[test.trial_id].items()
        >= {
            "indices": SENTIMENT,
            "n_marked": 2,
            "n_tokens": 13,
            "label_source": "gold",
            "gold_rationale_f1": None,
        }.items()
    )


def test_options_are_checked_with_a_message_naming_the_option():
    kind = get_type("rationale_annotation")
    options = kind.clean_options({"gold_min_f1": 0.6, "max_tokens": 3})
    assert options["min_tokens"] == 1
    assert options["label_source"] == "gold"
    with pytest.raises(Exception, match="max_tokens=1 is below min_tokens=2"):
        kind.clean_options({"min_tokens": 2, "max_tokens": 1})
    with pytest.raises(Exception, match="label_source='model'"):
        kind.clean_options({"label_source": "model"})
    with pytest.raises(Exception, match="unknown option"):
        kind.clean_options({"colour": "red"})


def _session(study, answers):
    """Answer a study through the services; ``answers`` maps an instance to marked indices."""
    participant = participant_enter(study=study, ids=EntryIds(source="anonymous"))
    participant = participant_consent(participant=participant, agree=True)
    participant_instructions_read(participant=participant)
    for trial in participant.assignment.trials.select_related("item").order_by("position"):
        marks = answers.get(trial.item.instance_id, marks_for(trial))
        response_submit(
            participant=participant,
            trial_id=trial.pk,
            data={"tokens": ",".join(map(str, marks))},
            idempotency_key=f"p{participant.pk}-t{trial.pk}",
        )
    return participant


def test_rationale_answers_feed_the_plausibility_scores(researcher, corpus):
    dataset, model = corpus
    study = rationale_study(researcher, corpus, ratings_per_item=2, gold_positions=[])
    test_items = list(study.items.filter(role="test").select_related("instance"))
    with_import = next(i for i in test_items if i.instance.rationales.exists())
    target = with_import.instance
    first = _session(study, {target.pk: [3, 4, 6]})
    second = _session(study, {target.pk: [6]})

    call_command(
        "compute_scores",
        model=model.name,
        dataset=dataset.name,
        metrics="plausibility",
        verbosity=0,
    )

    explanation = Explanation.objects.get(model=model, instance=target, method__name="gradient")
    values = {s.metric: s.value for s in Score.objects.filter(explanation=explanation)}
    vector = explanation.scores
    order = sorted(range(len(vector)), key=lambda i: (-vector[i], i))
    expected = {}
    for annotator, marked in [
        ("ann-0", KNOWN_RATIONALE),  # the imported rationale (import names it by position)
        (f"study{study.pk}:participant{first.pk}", [3, 4, 6]),
        (f"study{study.pk}:participant{second.pk}", [6]),
    ]:
        top = set(order[: len(marked)])
        truth = [1 if i in marked else 0 for i in range(len(vector))]
        precision, recall, _ = precision_recall_curve(truth, vector)
        expected[annotator] = (len(top & set(marked)) / len(marked), auc(recall, precision))
    imported = HumanRationale.objects.get(instance=target, source="import").annotator
    expected[imported] = expected.pop("ann-0")
    for annotator, (f1, area) in expected.items():
        assert values[f"rationale_f1:{annotator}"] == pytest.approx(f1)
        assert values[f"rationale_auprc:{annotator}"] == pytest.approx(area)
    assert values["rationale_f1"] == pytest.approx(sum(f for f, _ in expected.values()) / 3)
    assert Score.objects.get(explanation=explanation, metric="rationale_f1").kind == "plausibility"
