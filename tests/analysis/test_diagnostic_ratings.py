"""People's ratings of attention against the attention diagnostics (issue #13, item 7).

A study that shows the ``attention`` explanation freezes each instance's diagnostics
with it as faithfulness scores; the rating analysis relates the ratings to them as it
does to any faithfulness score. The correlation is checked against scipy.
"""

import pandas as pd
import pytest
from scipy import stats

from analysis.services.results import study_analysis_build
from analysis.services.simulated import participants_simulate
from explanations.models import Diagnostic, Explanation, ExplanationMethod
from explanations.services.methods import known_methods_ensure
from studies.models import StudyItem
from tests.studies.factories import make_study

from .conftest import FAST

pytestmark = pytest.mark.django_db


@pytest.fixture
def diagnosed(corpus):
    """The corpus with attention explanations and, for each instance, stored diagnostics."""
    dataset, model = corpus
    known_methods_ensure()
    attention = ExplanationMethod.objects.get(name="attention")
    for k, instance in enumerate(dataset.instances.order_by("position")):
        n = len(instance.tokens)
        Explanation.objects.create(
            model=model, instance=instance, method=attention, scores=[1 / n] * n
        )
        Diagnostic.objects.create(
            model=model,
            instance=instance,
            experiment="permutation",
            predicted_label=0,
            max_attention=1 / n,
            values={"median_tvd": round(0.01 * ((k * 7) % 13), 3), "tvd": []},
            parameters={"permutations": 100, "seed": 0, "skipped": {}},
        )
        # Never flips: undefined, so left out rather than counted as a number.
        Diagnostic.objects.create(
            model=model,
            instance=instance,
            experiment="zeroing",
            predicted_label=0,
            max_attention=1 / n,
            values={
                "jsd_difference": 0.1 * (k % 3),
                "flips": {"attention": {"flipped": False, "fraction": None}},
            },
            parameters={"seed": 0, "skipped": {}},
        )
    return dataset, model


def test_attention_ratings_are_related_to_the_diagnostics(diagnosed, researcher):
    dataset, model = diagnosed
    study = make_study(researcher, dataset, model, methods=["attention", "random"])
    shown = {
        e["method"]: e
        for item in StudyItem.objects.filter(study=study, role="test")
        for e in item.frozen["explanations"]
    }
    frozen = {s["metric"]: s for s in shown["attention"]["metric_scores"]}
    assert frozen["diagnostic_permutation_tvd"]["kind"] == "faithfulness"
    assert frozen["diagnostic_permutation_tvd"]["parameters"]["permutations"] == 100
    assert "diagnostic_flip_fraction" not in frozen  # never flips: no number
    assert not any(s["metric"].startswith("diagnostic_") for s in shown["random"]["metric_scores"])

    participants_simulate(study=study, n=8, seed=5)
    analysis = study_analysis_build(study=study, options=FAST)
    section = analysis.results["sections"]["rating"]
    assert "diagnostic_permutation_tvd" in section["metrics"]
    frame = pd.DataFrame(analysis.tables.responses.rows)
    frame = frame[frame["included"] & frame["rating"].notna()]
    column = "faithfulness__diagnostic_permutation_tvd"
    per_explanation = (
        frame[frame["method"] == "attention"]
        .groupby("explanation_id")
        .agg(rating=("rating", "mean"), score=(column, "first"))
    )
    rho = stats.spearmanr(per_explanation["rating"], per_explanation["score"]).statistic
    found = {
        (c["method"], c["statistic"]): c
        for c in section["correlations"]
        if c["metric"] == "diagnostic_permutation_tvd"
    }
    assert found[("attention", "spearman")]["estimate"] == pytest.approx(rho)
    # Only attention has the diagnostic: over all methods it is the same explanations.
    assert found[(None, "spearman")]["estimate"] == pytest.approx(rho)
    assert "plausibility_vs_diagnostic_permutation_tvd" in analysis.results["plots"]
