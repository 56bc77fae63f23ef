"""Metric names and their kind (faithfulness or plausibility)."""

import pytest

from explanations.compute.score_names import (
    bin_metric,
    metric_kind,
    paired_metric,
    percent_label,
)


def test_names_with_parameters():
    assert bin_metric("comprehensiveness", 0.05) == "comprehensiveness@5"
    assert bin_metric("sufficiency", 0.025) == "sufficiency@2.5"
    assert percent_label(0.1) == "10"
    assert paired_metric("agreement_tau", "gradient") == "agreement_tau:gradient"
    with pytest.raises(ValueError, match="no bins"):
        bin_metric("tau_loo", 0.5)
    with pytest.raises(ValueError, match="no second name"):
        paired_metric("decision_flip", "x")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("comprehensiveness@5", "faithfulness"),
        ("sufficiency_aopc", "faithfulness"),
        ("decision_flip", "faithfulness"),
        ("tau_loo", "faithfulness"),
        ("agreement_jsd:integrated_gradients", "faithfulness"),
        ("randomization_spearman", "faithfulness"),
        ("rationale_f1", "plausibility"),
        ("rationale_auprc:annotator-2", "plausibility"),
    ],
)
def test_metric_kind(name, kind):
    assert metric_kind(name) == kind


def test_unknown_metric():
    with pytest.raises(ValueError, match="unknown metric"):
        metric_kind("accuracy")
