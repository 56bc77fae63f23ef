"""A study's results against independent references, with exclusions and degenerate data."""

import json

import krippendorff
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.services.results import study_analysis_build, study_analysis_get
from analysis.services.simulated import participants_simulate
from studies.models import Participant, Trial
from studies.services.assignment import EntryIds, participant_enter
from studies.services.exclusions import exclusion_create, exclusion_revoke
from studies.services.participants import (
    participant_complete,
    participant_consent,
    participant_instructions_read,
)
from studies.services.responses import response_submit
from tests.analysis.background import analysis_computed
from tests.studies.factories import make_study

from .conftest import FAST


def included(analysis) -> pd.DataFrame:
    return pd.DataFrame([r for r in analysis.tables.responses.rows if r["included"]])


def answer_everything(study, pid: str, rating: int) -> Participant:
    """A participant who gives the same rating to every trial, through the services."""
    person = participant_enter(study=study, ids=EntryIds(source="prolific", prolific_pid=pid))
    person = participant_consent(participant=person, agree=True)
    participant_instructions_read(participant=person)
    for trial in Trial.objects.filter(assignment__participant=person).order_by("position"):
        response_submit(
            participant=person,
            trial_id=trial.pk,
            data={"rating": rating},
            idempotency_key=f"{pid}-{trial.position}",
        )
    return person


def test_rating_results_match_independent_references(rated):
    analysis = study_analysis_build(study=rated, options=FAST)
    json.dumps(analysis.results, allow_nan=False)
    section = analysis.results["sections"]["rating"]
    frame = included(analysis)
    assert section["n_answers"] == len(frame)
    # Mean rating per method: pandas.
    means = frame.groupby("method")["rating"].mean()
    for row in section["method_means"]:
        assert row["estimate"] == pytest.approx(means[row["method"]])
    for row in section["differences"]:
        expected = means[row["method"]] - means["random"]
        assert row["estimate"] == pytest.approx(expected)
    # Agreement: the krippendorff package on the participants x explanations matrix.
    matrix = frame.pivot_table(index="participant_id", columns="explanation_id", values="rating")
    reference = krippendorff.alpha(
        reliability_data=matrix.to_numpy(), level_of_measurement="ordinal"
    )
    overall = next(a for a in section["agreement"] if a["method"] is None)
    assert overall["alpha"] == pytest.approx(reference)
    # Correlation of mean rating with faithfulness over explanations: scipy.
    per_explanation = frame.groupby("explanation_id").agg(
        rating=("rating", "mean"), score=("faithfulness__comprehensiveness_aopc", "first")
    )
    rho = stats.spearmanr(per_explanation["rating"], per_explanation["score"]).statistic
    tau = stats.kendalltau(per_explanation["rating"], per_explanation["score"]).statistic
    found = {c["statistic"]: c for c in section["correlations"] if c["method"] is None}
    assert found["spearman"]["estimate"] == pytest.approx(rho)
    assert found["kendall_tau_b"]["estimate"] == pytest.approx(tau)
    assert found["spearman"]["n_explanations"] == len(per_explanation)
    # The mixed model names its terms by metric and method, against the random control.
    terms = [f["term"] for f in section["mixed_models"][0]["fixed_effects"]]
    assert "comprehensiveness_aopc (per standard deviation)" in terms
    assert "method[gradient] - method[random]" in terms
    scatter = analysis.results["plots"]["plausibility_vs_comprehensiveness_aopc"]
    assert sum(len(p) for p in scatter["points"].values()) == len(per_explanation)


def test_exclusions_leave_participants_out_and_are_counted(rated, researcher):
    before = study_analysis_build(study=rated, options=FAST).results
    person = Participant.objects.filter(study=rated).order_by("pk").first()
    exclusion = exclusion_create(participant=person, reason="said they guessed", by=researcher)
    analysis = study_analysis_get(study=rated, options=FAST)  # the cache notices the change
    results = analysis.results
    tests = person.responses.filter(trial__role="test").count()
    assert results["exclusions"]["n_participants_excluded"] == 1
    assert results["exclusions"]["by_rule"] == [
        {"rule": "manual", "label": "Manual", "n_participants": 1}
    ]
    assert results["exclusions"]["log"][0]["reason"] == "said they guessed"
    assert results["counts"]["trials_included"] == before["counts"]["trials_included"] - tests
    frame = included(analysis)
    assert person.pk not in set(frame["participant_id"])
    means = frame.groupby("method")["rating"].mean()
    for row in results["sections"]["rating"]["method_means"]:
        assert row["estimate"] == pytest.approx(means[row["method"]])
    exclusion_revoke(exclusion=exclusion, by=researcher)
    again = study_analysis_get(study=rated, options=FAST).results
    assert again["exclusions"]["n_participants_excluded"] == 0
    assert again["exclusions"]["n_revoked"] == 1
    assert again["counts"] == before["counts"]


def test_cached_analysis_notices_a_participant_completing(rating_study):
    person = answer_everything(rating_study, "finisher", 4)
    before = study_analysis_get(study=rating_study, options=FAST)
    assert before.results["counts"]["participants_completed"] == 0
    participant_complete(participant=person)  # no new answer, only the status changes
    after = study_analysis_get(study=rating_study, options=FAST)
    assert after.results["counts"]["participants_completed"] == 1
    (row,) = after.tables.participants.rows
    assert row["status"] == "completed"
    assert row["completed_at"] is not None


def test_no_answers_then_one_participant_give_messages_never_nan(rating_study, client, researcher):
    client.force_login(researcher)
    empty = study_analysis_build(study=rating_study, options=FAST).results
    json.dumps(empty, allow_nan=False)
    assert "No answers yet" in empty["messages"][0]
    assert "No included ratings yet" in empty["sections"]["rating"]["message"]
    assert empty["plots"] == {}
    analysis_computed(rating_study, {"n_resamples": "20"})
    page = client.get(f"/studies/{rating_study.pk}/analysis/", {"n_resamples": 20})
    assert b"No answers yet" in page.content
    assert b"nan" not in page.content.lower().replace(b"nano", b"")

    participants_simulate(study=rating_study, n=1, seed=0)
    one = study_analysis_build(study=rating_study, options=FAST).results
    json.dumps(one, allow_nan=False)
    assert any("Only one participant" in m for m in one["messages"])
    section = one["sections"]["rating"]
    assert all(a["alpha"] is None and a["reason"] for a in section["agreement"])
    for row in section["method_means"]:
        assert row["estimate"] is not None
        assert row["ci"] is None
        assert "only 1 participant" in row["reason"]
    analysis_computed(rating_study, {"n_resamples": "20"})
    page = client.get(f"/studies/{rating_study.pk}/analysis/", {"n_resamples": 20})
    assert page.status_code == 200
    assert b"only 1 participant" in page.content


def test_constant_ratings_are_reported_not_computed(rating_study):
    for k in range(4):  # 3 lists: the fourth person shares a list, so units are pairable
        answer_everything(rating_study, f"P{k}", rating=3)
    results = study_analysis_build(study=rating_study, options=FAST).results
    json.dumps(results, allow_nan=False)
    section = results["sections"]["rating"]
    assert all(a["alpha"] is None and "identical" in a["reason"] for a in section["agreement"])
    assert all(c["estimate"] is None and c["reason"] for c in section["correlations"])
    assert "same" in section["mixed_models"][0]["reason"]
    assert {m["estimate"] for m in section["method_means"]} == {3.0}


def test_preferences_match_counts_and_krippendorff(corpus, researcher):
    dataset, model = corpus
    study = make_study(
        researcher, dataset, model, study_type="pairwise_preference",
        methods=["gradient", "lrp", "random"], ratings_per_item=2,
    )  # fmt: skip
    participants_simulate(study=study, n=6, seed=5)
    analysis = study_analysis_build(study=study, options=FAST)
    section = analysis.results["sections"]["preference"]
    frame = included(analysis)
    wins = frame.groupby("chosen_method").size()
    for row in section["strengths"]["methods"]:
        assert row["wins"] == wins.get(row["method"], 0)
        comparisons = (
            (frame["left_method"] == row["method"]) | (frame["right_method"] == row["method"])
        ).sum()
        assert row["comparisons"] == comparisons
    codes = {m: k for k, m in enumerate(section["methods"])}
    frame["code"] = frame["chosen_method"].map(codes)
    matrix = frame.pivot_table(index="participant_id", columns="item_id", values="code")
    reference = krippendorff.alpha(
        reliability_data=matrix.to_numpy(), level_of_measurement="nominal"
    )
    assert section["agreement"][0]["alpha"] == pytest.approx(reference)
    assert sum(w["a_preferred"] + w["b_preferred"] + w["ties"] for w in section["wins"]) == len(
        frame
    )


def test_aided_task_accuracy_per_condition(corpus, researcher):
    dataset, model = corpus
    study = make_study(
        researcher, dataset, model, study_type="aided_task", methods=["gradient", "random"],
        condition_design="between", n_items=4, ratings_per_item=2, gold_positions=[],
    )  # fmt: skip
    participants_simulate(study=study, n=6, seed=2)
    analysis = study_analysis_build(study=study, options=FAST)
    section = analysis.results["sections"]["aided"]
    frame = included(analysis)
    frame["condition"] = frame["method"].fillna("no highlights")
    accuracy = (frame["label"] == frame["gold_label"]).groupby(frame["condition"]).mean()
    assert [c["condition"] for c in section["conditions"]][0] == "no highlights"
    for row in section["conditions"]:
        assert row["accuracy"]["value"] == pytest.approx(accuracy[row["condition"]])
    assert "accuracy_by_condition" in analysis.results["plots"]


def test_rationale_agreement_matches_krippendorff(corpus, researcher):
    dataset, model = corpus
    study = make_study(
        researcher, dataset, model, study_type="rationale_annotation", methods=["gradient"],
        n_items=3, ratings_per_item=3,
    )  # fmt: skip
    participants_simulate(study=study, n=3, seed=8)
    analysis = study_analysis_build(study=study, options=FAST)
    section = analysis.results["sections"]["rationales"]
    frame = included(analysis)
    columns = {}
    for row in frame.itertuples():
        for token in range(row.n_tokens):
            columns.setdefault((row.instance_id, token), {})[row.participant_id] = float(
                token in row.indices
            )
    people = sorted(frame["participant_id"].unique())
    matrix = np.array([[columns[key].get(p, np.nan) for key in sorted(columns)] for p in people])
    reference = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert section["agreement"]["alpha"]["alpha"] == pytest.approx(reference)
    assert section["mean_words_marked"] == pytest.approx(frame["n_marked"].mean())


def test_forward_simulation_effects_match_pandas(corpus, researcher):
    dataset, model = corpus
    study = make_study(
        researcher, dataset, model, study_type="forward_simulation",
        methods=["gradient"], condition_design="between", n_items=8, practice_count=2,
        ratings_per_item=2, attention_check_positions=[], gold_positions=[],
    )  # fmt: skip
    participants_simulate(study=study, n=4, seed=6)
    analysis = study_analysis_build(study=study, options=FAST)
    section = analysis.results["sections"]["simulation"]
    frame = included(analysis)
    frame["condition"] = frame["method"].fillna("no explanation")
    frame["right"] = frame["predicted_label"] == frame["model_label"]
    accuracy = frame.groupby(["condition", "phase"])["right"].mean()
    for effect in section["effects"]:
        pre, post = accuracy[effect["method"], "pre"], accuracy[effect["method"], "post"]
        assert effect["pre_accuracy"]["value"] == pytest.approx(pre)
        assert effect["effect"]["value"] == pytest.approx(post - pre)
    assert section["control_condition"] == "no explanation"


def test_expert_review_summaries_match_the_answers(corpus, researcher):
    dataset, model = corpus
    study = make_study(
        researcher, dataset, model, study_type="expert_review", methods=["gradient", "random"],
        n_items=3, ratings_per_item=2, attention_check_positions=[], gold_positions=[],
    )  # fmt: skip
    participants_simulate(study=study, n=2, seed=4)
    analysis = study_analysis_build(study=study, options=FAST)
    section = analysis.results["sections"]["review"]
    frame = included(analysis)
    for row in section["criteria_summary"]:
        if row["method"] is None:
            continue
        column = frame[f"{row['method']}__{row['criterion']}"]
        assert row["mean"] == pytest.approx(column.mean())
        assert row["n_ratings"] == column.notna().sum()
    for row in section["flag_summary"]:
        flagged = frame[frame[f"{row['method']}__flag"] == row["flag"]]
        assert row["n_flags"] == len(flagged)
    assert section["n_adjudicated"] == 0
