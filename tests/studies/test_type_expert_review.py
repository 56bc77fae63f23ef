"""Expert review: invited experts review every method side by side; the lead adjudicates."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from studies import selectors
from studies.models import Adjudication, Participant, Response, Trial
from studies.services.invitations import invitations_create
from studies.types import get_type

from .factories import METHODS, make_study
from .flow import acknowledged, consent_and_read, trial_form

pytestmark = pytest.mark.django_db
CRITERIA = "justifies: The highlighted words justify the prediction.\ncomplete: Nothing important is missing."
FLAGS = ["correct", "misleading", "unsure"]


def review_study(researcher, corpus, **overrides):
    dataset, model = corpus
    design = {
        "study_type": "expert_review",
        "methods": list(METHODS),
        "n_items": 3,
        "ratings_per_item": 2,
        "attention_check_positions": [],
        "gold_positions": [],
        "type_options": {
            "criteria": CRITERIA,
            "flags": ", ".join(FLAGS),
            "lead_reviewer": "Dr Lead",
        },
    }
    design.update(overrides)
    return make_study(researcher, dataset, model, **design)


def letters(trial: Trial) -> dict[str, str]:
    """Return method -> the letter it was shown under in this trial."""
    explanations = trial.item.frozen["explanations"]
    return {explanations[i]["method"]: "ABC"[pos] for pos, i in enumerate(trial.payload["order"])}


def answer(trial: Trial, opinions: dict[str, tuple[int, int, str, str]]) -> dict[str, str]:
    """Post fields for ``opinions[method] = (justifies, complete, flag, comment)``."""
    data = {"comment": f"item {trial.item.instance_id} looked at"}
    for method, letter in letters(trial).items():
        justifies, complete, flag, comment = opinions[method]
        data |= {
            f"{letter}_justifies": str(justifies),
            f"{letter}_complete": str(complete),
            f"{letter}_flag": flag,
            f"{letter}_comment": comment,
        }
    return data


AGREEABLE = {m: (4, 4, "correct", "") for m in METHODS}
CRITICAL = {  # misleading gradient; lrp rated 1 where the other expert said 4
    "gradient": (4, 4, "misleading", "highlights the filler"),
    "lrp": (1, 4, "correct", ""),
    "random": (4, 4, "correct", ""),
}


def review_session(client: Client, token: str, opinions, *, check_refusals: bool = False):
    response = client.get(reverse("participate:invitation", args=[token]), follow=True)
    response = consent_and_read(client, response)
    path = response.request["PATH_INFO"]
    first = True
    while b"data-trial-form" in response.content:
        trial_id, key = trial_form(response)
        trial = Trial.objects.select_related("item").get(pk=trial_id)
        data = {"trial": trial_id, "idempotency_key": key} | answer(trial, opinions)
        if check_refusals and first:
            html = response.content.decode()
            assert html.count("<figcaption") == 3
            assert "Explanation A" in html
            assert "Explanation C" in html
            for method in METHODS:
                assert method not in html  # blind: never named
            assert "The highlighted words justify the prediction." in html
            missing = {k: v for k, v in data.items() if k != "B_flag"}
            refused = client.post(path, missing)
            assert refused.status_code == 400
            page = refused.content.decode()
            assert "Explanation B: please choose a flag (correct, misleading, unsure)." in page
            assert f'name="A_justifies" value="{data["A_justifies"]}" required checked' in page
            bad = client.post(path, data | {"C_complete": "9"})
            assert (
                "Explanation C: A rating of “Nothing important is missing.” must be a whole "
                "number from 1 to 5; got &#x27;9&#x27;." in bad.content.decode()
            )
            assert not Response.objects.filter(trial_id=trial_id).exists()
        response = client.post(path, data, follow=True)
        assert response.status_code == 200
        if check_refusals and first:
            assert acknowledged(client.post(path, data))  # the double submit
            first = False
    return response


def test_two_experts_review_and_the_lead_adjudicates(client, researcher, corpus, api):
    study = review_study(researcher, corpus)
    assert study.conditions.get().variants == [list(METHODS)]
    invitations = {
        i.label: i for i in invitations_create(study=study, labels=["Dr A", "Dr B", "Dr Lead"])
    }
    done = review_session(Client(), invitations["Dr A"].token, AGREEABLE, check_refusals=True)
    assert study.completion_code in done.content.decode()
    review_session(Client(), invitations["Dr B"].token, CRITICAL)

    # What was recorded: one response per trial, reviews in the snapshot's order.
    for label, opinions in (("Dr A", AGREEABLE), ("Dr B", CRITICAL)):
        participant = Participant.objects.get(study=study, invitation__label=label)
        responses = list(
            Response.objects.filter(participant=participant).select_related("trial__item")
        )
        assert len(responses) == 4  # one practice and three test items
        for r in responses:
            shown = letters(r.trial)
            explanations = r.trial.item.frozen["explanations"]
            assert r.value == {
                "reviews": [
                    {
                        "method": e["method"],
                        "explanation_id": e["id"],
                        "letter": shown[e["method"]],
                        "ratings": {
                            "justifies": opinions[e["method"]][0],
                            "complete": opinions[e["method"]][1],
                        },
                        "flag": opinions[e["method"]][2],
                        "comment": opinions[e["method"]][3],
                    }
                    for e in explanations
                ],
                "comment": f"item {r.trial.item.instance_id} looked at",
            }
    row = next(r for r in selectors.response_rows_flat(study) if r["external_id"] == "Dr B")
    assert row["gradient__flag"] == "misleading"
    assert row["lrp__justifies"] == 1
    assert row["gradient__comment"] == "highlights the filler"

    # The lead's page: blind, every item disagrees (flags on gradient, ratings on lrp).
    lead = Client()
    lead_url = reverse("participate:adjudicate", args=[invitations["Dr Lead"].token])
    page = lead.get(lead_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "3 items with a disagreement" in html
    assert "flags differ (correct, misleading)" in html
    assert "ratings of “The highlighted words justify the prediction.” range from 1 to 4" in html
    assert "Dr A" in html
    assert "Dr B" in html
    assert "Method: gradient" not in html
    refused = Client().get(reverse("participate:adjudicate", args=[invitations["Dr A"].token]))
    assert refused.status_code == 404

    item = study.items.filter(role="test").order_by("position").first()
    letter = "ABC"[[e["method"] for e in item.frozen["explanations"]].index("gradient")]
    bad = lead.post(lead_url, {"item": item.pk, "idempotency_key": "k1", f"{letter}_flag": "wrong"})
    assert bad.status_code == 400
    assert (
        "flag &#x27;wrong&#x27;: expected one of correct, misleading, unsure"
        in bad.content.decode()
    )
    decision = {
        "item": item.pk,
        "idempotency_key": "k1",
        f"{letter}_flag": "misleading",
        f"{letter}_comment": "agree with Dr B",
    }
    assert lead.post(lead_url, decision).status_code == 302
    assert lead.post(lead_url, decision).status_code == 302  # the double submit
    stored = Adjudication.objects.get(item=item)
    assert (stored.method, stored.flag, stored.comment) == (
        "gradient",
        "misleading",
        "agree with Dr B",
    )
    assert stored.adjudicator == "Dr Lead"
    assert stored.user is None

    # The researcher overrides through the API; both decisions stay, the latest counts.
    body = {"item": item.pk, "decisions": {"gradient": {"flag": "unsure"}}, "idempotency_key": "r1"}
    created = api.post(f"/api/studies/{study.pk}/adjudication/", body, format="json")
    assert created.status_code == 201
    again = api.post(f"/api/studies/{study.pk}/adjudication/", body, format="json")
    assert again.status_code == 200
    assert again.json()["created"] is False
    items = api.get(f"/api/studies/{study.pk}/adjudication/").json()["items"]
    listed = next(i for i in items if i["item"] == item.pk)
    gradient = next(e for e in listed["explanations"] if e["method"] == "gradient")
    assert gradient["decision"]["flag"] == "unsure"
    assert gradient["decision"]["by"] == "alice"
    assert [(h["flag"], h["by"]) for h in gradient["history"]] == [
        ("misleading", "Dr Lead"),
        ("unsure", "alice"),
    ]
    assert [r["reviewer"] for r in gradient["reviews"]] == ["Dr A", "Dr B"]
    assert Adjudication.objects.filter(item=item).count() == 2

    # The researcher's page names the methods and gives the lead's link.
    client.force_login(researcher)
    researcher_page = client.get(reverse("studies:study-adjudication", args=[study.pk]))
    assert "Method: gradient" in researcher_page.content.decode()
    assert lead_url in researcher_page.content.decode()


def test_the_same_key_in_two_studies_stores_a_decision_in_each(researcher, corpus, api):
    """Idempotency keys are per study: reusing one elsewhere is a new decision, not a repeat."""
    studies = []
    for name in ("one", "two"):
        study = review_study(researcher, corpus, name=name)
        invitations = invitations_create(study=study, labels=["Dr A", "Dr B", "Dr Lead"])
        review_session(Client(), invitations[0].token, AGREEABLE)
        review_session(Client(), invitations[1].token, CRITICAL)
        studies.append(study)
    for study in studies:
        item = study.items.filter(role="test").order_by("position").first()
        body = {
            "item": item.pk,
            "decisions": {"gradient": {"flag": "unsure"}},
            "idempotency_key": "decide-first",
        }
        created = api.post(f"/api/studies/{study.pk}/adjudication/", body, format="json")
        assert created.status_code == 201, created.json()
        assert created.json()["created"] is True
    for study in studies:
        assert Adjudication.objects.filter(study=study).count() == 1


def test_an_item_needs_two_reviewers(researcher, corpus):
    with pytest.raises(ValidationError, match="reviewed by at least 2 experts"):
        review_study(researcher, corpus, ratings_per_item=1)
    with pytest.raises(ValidationError) as raised:
        review_study(researcher, corpus, gold_positions=[1], launch=False)
    assert "no gold items" in raised.value.message_dict["gold_positions"][0]


def test_criteria_and_flags_are_checked():
    kind = get_type("expert_review")
    options = kind.clean_options({"criteria": CRITERIA, "flags": "ok, bad"})
    assert options["criteria"][1] == {"key": "complete", "prompt": "Nothing important is missing."}
    assert options["flags"] == ["ok", "bad"]
    with pytest.raises(ValidationError, match="line 1: expected 'key: statement'"):
        kind.clean_options({"criteria": "Bad Key: statement"})
    with pytest.raises(ValidationError, match="at least two different names"):
        kind.clean_options({"flags": "ok"})


def test_the_design_page_takes_and_shows_the_review_options(client, researcher, corpus):
    dataset, model = corpus
    client.force_login(researcher)
    form = {
        "name": "Expert panel",
        "study_type": "expert_review",
        "dataset": dataset.name,
        "model": model.name,
        "methods": list(METHODS),
        "seed": "1",
        "n_items": "3",
        "ratings_per_item": "2",
        "condition_design": "within",
        "practice_count": "0",
        "display_mode": "heatmap",
        "consent_text": "Consent.",
        "instructions": "Review.",
        "sources": ["invited"],
        "estimated_minutes": "30",
        "time_limit_minutes": "120",
        "expert_review__criteria": CRITERIA,
        "expert_review__points": "7",
        "expert_review__flags": "fine, misleading",
        "expert_review__min_reviewers": "2",
        "expert_review__lead_reviewer": "Dr Lead",
    }
    created = client.post(reverse("studies:study-new"), form)
    assert created.status_code == 302, created.content.decode()[:2000]
    study = researcher.studies.get(name="Expert panel")
    assert study.type_options == {
        "criteria": [
            {"key": "justifies", "prompt": "The highlighted words justify the prediction."},
            {"key": "complete", "prompt": "Nothing important is missing."},
        ],
        "points": 7,
        "flags": ["fine", "misleading"],
        "min_reviewers": 2,
        "rating_gap": 2,
        "lead_reviewer": "Dr Lead",
        "show_gold": False,  # an unticked box
    }
    edit = client.get(reverse("studies:study-edit", args=[study.pk])).content.decode()
    assert "justifies: The highlighted words justify the prediction." in edit
    assert 'value="fine, misleading"' in edit
    refused = client.post(
        reverse("studies:study-new"), form | {"expert_review__criteria": "Bad: x"}
    )
    assert refused.status_code == 400
    assert "expected &#x27;key: statement&#x27;" in refused.content.decode()


def test_adjudication_of_a_study_without_reviews_is_a_404_not_a_500(researcher, corpus, api):
    """A non-review study with answers once gave ``KeyError: 'reviews'`` here."""
    from .flow import answer_all

    dataset, model = corpus
    study = make_study(researcher, dataset, model)
    (invitation,) = invitations_create(study=study, labels=["someone"])
    client = Client()
    page = consent_and_read(client, client.get(f"/s/invite/{invitation.token}/", follow=True))
    answer_all(client, page)
    assert Response.objects.filter(participant__study=study).exists()
    response = api.get(f"/api/studies/{study.pk}/adjudication/")
    assert response.status_code == 404
    assert "no expert reviews to adjudicate" in response.json()["detail"]
