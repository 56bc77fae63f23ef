"""Forward simulation and rationale annotation, each completed end to end in the browser."""

import pytest

from explanations.models import HumanRationale
from studies.models import Participant, Response, Trial
from studies.services.invitations import invitations_create
from tests.studies.factories import film_corpus, make_study

from . import participant as p

pytestmark = pytest.mark.django_db(transaction=True)
LABEL_KEYS = {"negative": "1", "positive": "2"}
SENTIMENT_WORDS = {"great", "awful", "fine", "boring", "moving", "dull", "clever", "weak"}


@pytest.fixture
def corpus(tmp_path, researcher):
    return film_corpus(tmp_path, owner=researcher, n=24)


def test_forward_simulation_completed_end_to_end(page, live_server, researcher, corpus):
    dataset, model = corpus
    study = make_study(
        researcher,
        dataset,
        model,
        study_type="forward_simulation",
        methods=["gradient"],
        condition_design="between",
        n_items=4,  # one each of TP, FP, TN, FN
        practice_count=2,  # the learning items
        ratings_per_item=1,
        attention_check_positions=[3],
        gold_positions=[],
    )
    page.goto(f"{live_server.url}/s/{study.uid}/")
    p.arrive(page)
    p.consent_and_start(page)
    participant = Participant.objects.get(study=study)
    assert participant.assignment.study_list.condition.name == "gradient"  # the first list

    titles: list[str] = []
    k = 0
    while p.on_trial(page):
        title = page.locator("h2.phase-title").inner_text()
        if not titles or titles[-1] != title:
            titles.append(title)
        explanation = page.locator("figure.explanation-heatmap").count()
        predicted = page.locator("p.prediction").count()
        if page.locator("input[name=label]").count():
            # Predict the model: no output and no explanation on the page.
            assert (explanation, predicted) == (0, 0)
            wanted = p.ATTENTION_LABEL.search(p.instruction(page))
            if wanted:
                label = wanted.group(1)
            else:  # this participant goes by the review's ending
                label = (
                    "positive"
                    if "was good" in page.locator(".task-text").inner_text()
                    else "negative"
                )
            p.choose_and_submit(
                page,
                LABEL_KEYS[label],
                checked=f"input[name=label][value='{int(label == 'positive')}']",
            )
        elif page.locator("input[name=rating]").count():
            assert explanation == 1  # the rating is about the item's explanation
            key = str(1 + k % 7)
            p.choose_and_submit(page, key, checked=f"input[name=rating][value='{key}']")
        else:
            # Learning: the model's output, with the explanation the second time round.
            assert predicted == 1
            assert explanation == (1 if title.startswith("Learning again") else 0)
            p.press_and_wait(page, "Enter")
        k += 1

    assert titles == [
        "Learning: see what the model predicts",
        "Test: predict the model",
        "Learning again, with explanations",
        "Test again: predict the model",
        "Your view of the explanation",
        "Test again: predict the model",
        "Your view of the explanation",
        "Test again: predict the model",
        "Your view of the explanation",
        "Test again: predict the model",
        "Your view of the explanation",
    ]
    page.get_by_role("heading", name="Thank you!").wait_for()
    participant.refresh_from_db()
    assert participant.status == Participant.Status.COMPLETED
    trials = Trial.objects.filter(assignment__participant=participant)
    responses = Response.objects.filter(participant=participant)
    assert responses.count() == trials.count() == 2 * 2 + 4 * 3 + 1
    assert list(responses.exclude(passed=None).values_list("passed", flat=True)) == [True]


def marked(page) -> list[int]:
    return [
        int(i)
        for i in page.locator("[data-rationale] input:checked").evaluate_all(
            "els => els.map(e => e.dataset.index)"
        )
    ]


def mark_with_keys(page, indices: list[int]) -> None:
    """Tab to the first word, then ArrowRight to each word to mark and Space."""
    p.tab_to(page, "[data-rationale] input[data-index='0']")
    at = 0
    for index in sorted(indices):
        for _ in range(index - at):
            page.keyboard.press("ArrowRight")
        at = index
        page.keyboard.press("Space")


def drag_across(page, first: int, last: int) -> None:
    """Press on one word and release on another, with the mouse."""
    start = page.locator(f".rat-tok:has(input[data-index='{first}'])").bounding_box()
    end = page.locator(f".rat-tok:has(input[data-index='{last}'])").bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=8)
    page.mouse.up()


def test_rationale_annotation_completed_end_to_end(page, live_server, researcher, corpus):
    dataset, model = corpus
    study = make_study(
        researcher,
        dataset,
        model,
        study_type="rationale_annotation",
        methods=["gradient"],
        n_items=3,
        ratings_per_item=1,
        gold_positions=[],  # the known rationale is never shown, so no page can reveal it
    )
    page.goto(f"{live_server.url}/s/{study.uid}/")
    p.arrive(page)
    p.consent_and_start(page)

    answers: dict[int, list[int]] = {}
    k = 0
    dragged = False
    while p.on_trial(page):
        words = page.locator("[data-rationale] .rat-tok span").all_inner_texts()
        wanted = p.ATTENTION_WORD.search(p.instruction(page))
        if wanted:
            target = [0 if wanted.group(1) == "first" else 1]
            mark_with_keys(page, target)
        elif not dragged and k >= 2:
            # With the mouse: a drag from the sentiment word to the end of the sentence.
            first = next(i for i, w in enumerate(words) if w in SENTIMENT_WORDS)
            target = list(range(first, len(words)))
            drag_across(page, first, len(words) - 1)
            dragged = True
        else:
            target = [i for i, w in enumerate(words) if w in SENTIMENT_WORDS | {"good", "bad"}]
            # Enter with nothing marked: the page says what is missing, nothing is stored.
            if k == 0:
                p.tab_to(page, "[data-rationale] input[data-index='0']")
                p.press_and_wait(page, "Enter")
                assert page.get_by_role("alert").inner_text() == (
                    "Please mark at least one word that justifies the label."
                )
            mark_with_keys(page, target)
        assert marked(page) == target, (k, words)
        count = f"{len(target)} word{'s' if len(target) != 1 else ''} marked"
        assert page.locator("[data-rationale-count]").inner_text() == count
        answers[p.trial_id(page)] = target
        p.press_and_wait(page, "Enter")
        k += 1

    assert dragged
    page.get_by_role("heading", name="Thank you!").wait_for()
    participant = Participant.objects.get(study=study)
    assert participant.status == Participant.Status.COMPLETED
    stored = {
        r.trial_id: r.value["indices"] for r in Response.objects.filter(participant=participant)
    }
    assert stored == answers
    assert list(
        Response.objects.filter(participant=participant)
        .exclude(passed=None)
        .values_list("passed", flat=True)
    ) == [True]
    # Each answered test trial became a human rationale of its instance.
    test_trials = Trial.objects.filter(assignment__participant=participant, role="test")
    assert HumanRationale.objects.filter(source="study").count() == test_trials.count() == 3


def test_aided_task_completed_with_the_keyboard(page, live_server, researcher, corpus):
    dataset, model = corpus
    study = make_study(
        researcher,
        dataset,
        model,
        study_type="aided_task",
        methods=["gradient"],
        condition_design="between",
        n_items=4,
        ratings_per_item=1,
        gold_positions=[],
        type_options={"show_prediction": "always"},
    )
    page.goto(f"{live_server.url}/s/{study.uid}/")
    p.arrive(page)
    p.consent_and_start(page)
    answers: dict[int, tuple[int, int]] = {}
    k = 0
    while p.on_trial(page):
        wanted = p.ATTENTION_LABEL.search(p.instruction(page))
        text = page.locator(".stimulus").inner_text()
        label = wanted.group(1) if wanted else ("positive" if "was good" in text else "negative")
        confidence = 1 + k % 5
        page.keyboard.press(LABEL_KEYS[label])
        # Enter before saying how sure: the browser asks for it and moves the focus there.
        page.keyboard.press("Enter")
        page.wait_for_function("document.activeElement.name === 'confidence'")
        assert p.trial_id(page) not in answers
        page.keyboard.press("Space")
        for _ in range(confidence - 1):
            page.keyboard.press("ArrowRight")
        answers[p.trial_id(page)] = (int(label == "positive"), confidence)
        p.press_and_wait(page, "Enter")
        k += 1

    page.get_by_role("heading", name="Thank you!").wait_for()
    participant = Participant.objects.get(study=study)
    stored = {
        r.trial_id: (r.value["label"], r.value["confidence"])
        for r in Response.objects.filter(participant=participant)
    }
    assert stored == answers
    assert list(
        Response.objects.filter(participant=participant)
        .exclude(passed=None)
        .values_list("passed", flat=True)
    ) == [True]


def test_expert_review_by_invitation_with_the_keyboard(page, live_server, researcher, corpus):
    dataset, model = corpus
    study = make_study(
        researcher,
        dataset,
        model,
        study_type="expert_review",
        methods=["gradient", "lrp", "random"],
        n_items=2,
        ratings_per_item=2,  # two experts per item, the fewest the type allows
        practice_count=0,
        attention_check_positions=[],
        gold_positions=[],
        type_options={"flags": "correct, misleading, unsure"},
    )
    (invitation,) = invitations_create(study=study, labels=["Dr Expert"])
    page.goto(f"{live_server.url}/s/invite/{invitation.token}/")
    p.arrive(page)
    p.consent_and_start(page)
    answers: dict[int, dict[str, str]] = {}
    while p.on_trial(page):
        assert page.locator("figcaption").all_inner_texts() == [
            "Explanation A",
            "Explanation B",
            "Explanation C",
        ]
        chosen = {}
        for k, name in enumerate(p.radio_groups(page)):
            chosen[name] = p.choose_in_group(page, name, 1 + k % 3)
        p.tab_to(page, "textarea[name=comment]")
        page.keyboard.type("Seen by keyboard.")
        answers[p.trial_id(page)] = chosen
        p.tab_to(page, "button[type=submit]:not(.link-button)")
        p.press_and_wait(page, "Enter")

    page.get_by_role("heading", name="Thank you!").wait_for()
    participant = Participant.objects.get(study=study)
    assert participant.source == Participant.Source.INVITED
    responses = Response.objects.filter(participant=participant)
    assert responses.count() == len(answers) == 2
    for response in responses:
        assert response.value["comment"] == "Seen by keyboard."
        chosen = answers[response.trial_id]
        assert len(chosen) == 3 * 3  # two criteria and a flag for each explanation
        for review in response.value["reviews"]:
            letter = review["letter"]
            assert review["flag"] == chosen[f"{letter}_flag"]
            for key, rating in review["ratings"].items():
                assert str(rating) == chosen[f"{letter}_{key}"]
