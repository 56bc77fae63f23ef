"""The tidy tables: names by kind, frozen scores joined, sides, participants' counts."""

import pytest

from analysis.services.simulated import participants_simulate
from analysis.services.tables import metric_slug, score_column, study_tables
from explanations.models import Score
from studies.models import Response
from tests.studies.factories import make_study


@pytest.mark.parametrize(
    ("metric", "slug"),
    [
        ("comprehensiveness_aopc", "comprehensiveness_aopc"),
        ("comprehensiveness@5", "comprehensiveness_at_5"),
        ("sufficiency@2.5", "sufficiency_at_2_5"),
        ("agreement_tau:gradient", "agreement_tau_with_gradient"),
        ("rationale_f1:ann-3", "rationale_f1_with_ann_3"),
    ],
)
def test_metric_names_become_column_names(metric, slug):
    assert metric_slug(metric) == slug
    assert score_column("faithfulness", metric) == f"faithfulness__{slug}"
    assert score_column("plausibility", metric, "left") == f"plausibility__{slug}__left"


def test_scores_are_the_frozen_ones_even_after_recomputation(rating_study):
    launched = {
        s.explanation_id: s.value for s in Score.objects.filter(metric="comprehensiveness_aopc")
    }
    Score.objects.all().update(value=99.0)  # recomputed after launch: past data must not move
    participants_simulate(study=rating_study, n=3, seed=0)
    tables = study_tables(rating_study)
    rows = [r for r in tables.responses.rows if r["explanation_id"] is not None]
    assert rows
    for row in rows:
        assert row["faithfulness__comprehensiveness_aopc"] == launched[row["explanation_id"]]
    kinds = {c.name: c.kind for c in tables.responses.columns}
    assert kinds["faithfulness__comprehensiveness_aopc"] == "faithfulness"
    assert kinds["rating"] == "answer"
    assert kinds["simulated"] == "marker"
    items = [r for r in tables.items.rows if r["explanation_id"] is not None]
    assert {r["faithfulness__comprehensiveness_aopc"] for r in items} <= set(launched.values())
    assert len(tables.items.rows) == sum(len(i.methods) for i in rating_study.items.all())


def test_pairs_carry_each_sides_scores(corpus, researcher):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, study_type="pairwise_preference")
    scores = dict(
        Score.objects.filter(metric="comprehensiveness_aopc").values_list("explanation_id", "value")
    )
    participants_simulate(study=study, n=2, seed=0)
    rows = [r for r in study_tables(study).responses.rows if r["role"] == "test"]
    assert rows
    for row in rows:
        assert (
            row["faithfulness__comprehensiveness_aopc__left"] == scores[row["left_explanation_id"]]
        )
        assert (
            row["faithfulness__comprehensiveness_aopc__right"]
            == scores[row["right_explanation_id"]]
        )
        assert row["chosen_method"] in (row["left_method"], row["right_method"])


def test_participants_table_counts_answers_and_checks(rated):
    tables = study_tables(rated)
    assert len(tables.participants.rows) == 7
    for row in tables.participants.rows:
        mine = Response.objects.filter(participant_id=row["participant_id"])
        assert row["n_answers"] == mine.count()
        assert row["n_test_answers"] == mine.filter(trial__role="test").count()
        assert row["n_checks_failed"] == mine.filter(passed=False).count()
        assert row["simulated"] is True
        assert row["status"] == "completed"
    assert sum(r["n_answers"] for r in tables.participants.rows) == len(tables.responses.rows)
