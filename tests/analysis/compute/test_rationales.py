"""Human-rationale agreement against krippendorff and scikit-learn; per-method scores
against pandas and a materialised item bootstrap."""

import json
from itertools import combinations

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import f1_score

from analysis.compute.bootstrap import iter_resamples
from analysis.compute.rationales import RationaleSet, rationale_agreement


def _rationales(seed, n_instances=12, n_annotators=4):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 15, n_instances)
    annotator, instance, selections = [], [], []
    for i, length in enumerate(lengths):
        important = rng.random(length) < 0.3
        for a in range(n_annotators):
            if rng.random() < 0.2:
                continue  # this annotator skipped the instance
            noisy = important ^ (rng.random(length) < 0.15)
            annotator.append(a)
            instance.append(i)
            selections.append(noisy.astype(float))
    return RationaleSet(
        annotator=np.array(annotator), instance=np.array(instance), selections=tuple(selections)
    )


def _matrix(rationales):
    """Annotators x tokens matrix with NaN where an annotator did not annotate."""
    lengths = {}
    for where, s in zip(rationales.instance.tolist(), rationales.selections, strict=True):
        lengths[where] = s.size
    offsets = dict(
        zip(sorted(lengths), np.cumsum([0] + [lengths[i] for i in sorted(lengths)]), strict=False)
    )
    total = sum(lengths.values())
    matrix = np.full((rationales.annotator.max() + 1, total), np.nan)
    for who, where, s in zip(
        rationales.annotator.tolist(),
        rationales.instance.tolist(),
        rationales.selections,
        strict=True,
    ):
        matrix[who, offsets[where] : offsets[where] + s.size] = s
    return matrix


def test_alpha_over_token_selections_matches_krippendorff():
    rationales = _rationales(0)
    result = rationale_agreement(rationales, n_resamples=0)
    reference = krippendorff.alpha(
        reliability_data=_matrix(rationales), level_of_measurement="nominal"
    )
    assert result.alpha.level == "nominal"
    assert result.alpha.alpha == pytest.approx(reference, abs=1e-12)


def test_soft_rationales_use_the_interval_metric_and_skip_f1():
    rng = np.random.default_rng(1)
    hard = _rationales(1)
    soft = RationaleSet(
        annotator=hard.annotator,
        instance=hard.instance,
        selections=tuple((s * 0.8 + rng.random(s.size) * 0.2).round(2) for s in hard.selections),
    )
    result = rationale_agreement(soft, n_resamples=0)
    reference = krippendorff.alpha(reliability_data=_matrix(soft), level_of_measurement="interval")
    assert result.alpha.alpha == pytest.approx(reference, abs=1e-10)
    assert result.mean_pairwise_f1.value is None
    assert "0/1" in result.mean_pairwise_f1.reason


def test_mean_pairwise_f1_matches_sklearn_and_item_bootstrap():
    rationales = _rationales(2)
    result = rationale_agreement(rationales, n_resamples=30, level=0.8, seed=3)
    per_instance = []
    for where in np.unique(rationales.instance):
        rows = np.flatnonzero(rationales.instance == where)
        scores = [
            f1_score(rationales.selections[a], rationales.selections[b], zero_division=np.nan)
            for a, b in combinations(rows, 2)
        ]
        scores = [s for s in scores if np.isfinite(s)]
        if scores:
            per_instance.append(np.mean(scores))
    per_instance = np.array(per_instance)
    assert result.mean_pairwise_f1.value == pytest.approx(per_instance.mean())
    chunk = next(
        iter_resamples(
            "item",
            n_participants=1,
            n_items=per_instance.size,
            n_answers=per_instance.size,
            n_resamples=30,
            seed=3,
            chunk_size=30,
        )
    )
    means = [np.repeat(per_instance, chunk.item[b].astype(int)).mean() for b in range(30)]
    assert result.mean_pairwise_f1.ci.lower == pytest.approx(np.quantile(means, 0.1))
    assert result.n_instances == 12
    json.dumps(result.to_dict(), allow_nan=False)


def test_degenerate_rationales():
    single = RationaleSet(annotator=[0], instance=[0], selections=(np.array([1.0, 0.0]),))
    result = rationale_agreement(single, n_resamples=10)
    assert result.alpha.alpha is None
    assert result.mean_pairwise_f1.value is None
    json.dumps(result.to_dict(), allow_nan=False)
    with pytest.raises(ValueError, match="has 2 tokens in another rationale but 3 here"):
        RationaleSet(
            annotator=[0, 1],
            instance=[5, 5],
            selections=(np.array([1.0, 0.0]), np.array([1.0, 0.0, 1.0])),
        )
    with pytest.raises(ValueError, match="two rationales"):
        RationaleSet(annotator=[0, 0], instance=[5, 5], selections=(np.ones(2), np.zeros(2)))
