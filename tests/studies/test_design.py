"""Design: seeded balanced sampling, Latin-square lists, freezing at launch, locked live designs."""

from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from explanations.models import Explanation, Score
from studies.models import Study, StudyItem
from studies.services.design import design_of, latin_square_lists, study_update
from studies.services.lifecycle import study_close, study_launch

from .factories import make_study

pytestmark = pytest.mark.django_db


def test_latin_square_by_hand():
    # 4 instances, 2 variants, all in one block: list 0 = (0,0),(1,1),(2,0),(3,1); list 1 rotates.
    assert latin_square_lists(4, 2, None) == [
        [(0, 0), (1, 1), (2, 0), (3, 1)],
        [(0, 1), (1, 0), (2, 1), (3, 0)],
    ]
    # Blocks of 2: two blocks x two rotations.
    assert latin_square_lists(4, 2, 2) == [
        [(0, 0), (1, 1)],
        [(0, 1), (1, 0)],
        [(2, 0), (3, 1)],
        [(2, 1), (3, 0)],
    ]


def test_lists_show_each_instance_once_and_each_item_in_one_list(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, n_items=6, items_per_participant=4, launch=False)
    tests = StudyItem.objects.filter(study=study, role="test")
    assert tests.count() == 6 * 3
    seen = Counter()
    for study_list in study.lists.all():
        items = list(study_list.items.all())
        instances = [i.instance_id for i in items]
        assert len(instances) == len(set(instances))  # each instance at most once per person
        seen.update(i.pk for i in items if i.role == "test")
        assert study_list.target == 2
    assert set(seen) == set(tests.values_list("pk", flat=True))
    assert set(seen.values()) == {1}
    # 2 blocks (4 + 2 instances) x 3 rotations.
    assert study.lists.count() == 6


def test_sampling_is_seeded_and_balanced_over_outcomes(researcher, corpus):
    dataset, model = corpus
    one = make_study(researcher, dataset, model, n_items=8, seed=1, launch=False, gold_positions=[])
    two = make_study(researcher, dataset, model, n_items=8, seed=1, launch=False, gold_positions=[])
    three = make_study(
        researcher, dataset, model, n_items=8, seed=2, launch=False, gold_positions=[]
    )

    def instances(study):
        return sorted(
            study.items.filter(role="test")
            .values_list("instance__external_id", flat=True)
            .distinct()
        )

    assert instances(one) == instances(two)
    assert instances(one) != instances(three)
    outcomes = Counter(
        one.items.filter(role="test", methods=["gradient"]).values_list("outcome", flat=True)
    )
    # The corpus has every outcome (predictions wrong on every 4th instance): 2 of each.
    assert outcomes == {"TP": 2, "TN": 2, "FP": 2, "FN": 2}
    used = set(one.items.filter(role="test").values_list("instance_id", flat=True))
    others = set(one.items.exclude(role="test").values_list("instance_id", flat=True))
    assert not used & others


def test_between_subject_makes_one_condition_per_method(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, condition_design="between", launch=False)
    assert [c.variants for c in study.conditions.all()] == [[["gradient"]], [["lrp"]], [["random"]]]
    for condition in study.conditions.all():
        assert {tuple(i.methods) for i in condition.items.filter(role="test")} == {
            tuple(condition.variants[0])
        }


def test_launch_freezes_items_and_scores(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, launch=False)
    assert all(not i.frozen for i in study.items.all())
    study = study_launch(study=study)
    item = study.items.filter(role="test").first()
    frozen = item.frozen
    explanation = Explanation.objects.get(
        model=model, instance=item.instance, method__name=item.methods[0]
    )
    assert frozen["explanations"][0]["scores"] == explanation.scores
    assert frozen["explanations"][0]["metric_scores"][0]["kind"] == "faithfulness"
    assert len(frozen["instance"]["tokens"]) == len(frozen["explanations"][0]["scores"])
    assert frozen["prediction"]["label_name"] in ("negative", "positive")
    # Later recomputation changes nothing already frozen.
    Explanation.objects.filter(pk=explanation.pk).update(scores=[0.0] * len(explanation.scores))
    Score.objects.filter(explanation=explanation).update(value=-1.0)
    item.refresh_from_db()
    assert item.frozen == frozen
    gold = study.items.filter(role="gold").first()
    assert gold.frozen["explanations"][0]["method"] == "human_rationale"
    assert sum(gold.frozen["explanations"][0]["scores"]) == 2  # the rationale marks tokens 5 and 10


def test_live_design_cannot_change(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model)
    design = design_of(study)
    design.name = "changed"
    with pytest.raises(ValidationError, match="only a draft"):
        study_update(study=study, design=design)
    with pytest.raises(ValidationError, match="only a draft can go live"):
        study_launch(study=study)
    study_close(study=study)
    assert Study.objects.get(pk=study.pk).status == Study.Status.CLOSED
    with pytest.raises(ValidationError, match="only a live study"):
        study_close(study=study)


def test_explanation_satisfaction_preset(researcher, corpus):
    dataset, model = corpus
    study = make_study(
        researcher, dataset, model, launch=False, questionnaire_preset="explanation_satisfaction"
    )
    items = list(study.questionnaire.all())
    assert len(items) == 8
    assert {q.points for q in items} == {5}
    assert items[0].prompt.startswith("From the explanations, I understand how the model works")
