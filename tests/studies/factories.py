"""Build study data through the services users call."""

import json
from pathlib import Path
from typing import Any

from explanations.models import Explanation, Score
from explanations.services.datasets import dataset_import
from explanations.services.explanations import explanations_import
from explanations.services.predictions import predictions_store
from studies.services.design import StudyDesign, study_create
from studies.services.lifecycle import study_launch

WORDS = ["great", "awful", "fine", "boring", "moving", "dull", "clever", "weak"]
METHODS = ["gradient", "lrp", "random"]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def film_corpus(tmp_path: Path, *, owner=None, n: int = 40, name: str = "reviews"):
    """Import ``n`` labelled reviews (every third with a rationale), a model, its predictions,
    explanations by three methods and a faithfulness score for each explanation."""
    records = []
    for i in range(n):
        positive = i % 2 == 0
        word = WORDS[i % len(WORDS)]
        record: dict[str, Any] = {
            "id": f"r{i}",
            "text": f"Review {i}: the film was {word} and the ending was {'good' if positive else 'bad'}.",
            "label": "positive" if positive else "negative",
        }
        if i % 3 == 0:
            record["rationales"] = [[5, 10]]
        records.append(record)
    dataset = dataset_import(
        path=write_jsonl(tmp_path / f"{name}.jsonl", records),
        name=name,
        owner=owner,
        label_names=["negative", "positive"],
    ).dataset
    instances = list(dataset.instances.order_by("position"))
    lines = []
    for k, instance in enumerate(instances):
        length = len(instance.tokens)
        for m, method in enumerate(METHODS):
            scores = [round(((t * 7 + k * 3 + m * 5) % 11) / 10 - 0.3, 3) for t in range(length)]
            lines.append({"instance": instance.external_id, "method": method, "scores": scores})
    model = explanations_import(
        path=write_jsonl(tmp_path / f"{name}-expl.jsonl", lines),
        model_name=f"{name}-model",
        dataset=dataset,
        owner=owner,
    ).model
    # Instances 0 and 1 of every four are predicted wrong, so TP, FP, TN and FN all occur.
    probabilities = []
    for k, instance in enumerate(instances):
        gold = int(instance.gold_label or 0)
        label = 1 - gold if k % 4 < 2 else gold
        probabilities.append([0.2, 0.8] if label == 1 else [0.7, 0.3])
    predictions_store(
        model=model, instance_ids=[i.pk for i in instances], probabilities=probabilities
    )
    for explanation in Explanation.objects.filter(model=model):
        score = Score(
            explanation=explanation,
            metric="comprehensiveness_aopc",
            kind=Score.Kind.FAITHFULNESS,
            value=round(explanation.pk / 1000, 4),
        )
        score.full_clean()
        score.save()
    return dataset, model


def make_study(
    owner, dataset, model, *, study_type="plausibility_rating", launch=True, **overrides
):
    defaults = {
        "name": f"{study_type} study",
        "study_type": study_type,
        "dataset": dataset,
        "model": model,
        "methods": ["gradient", "lrp"] if study_type == "pairwise_preference" else list(METHODS),
        "n_items": 6,
        "ratings_per_item": 2,
        "practice_count": 1,
        "attention_check_positions": [2],
        "gold_positions": [4],
        "seed": 7,
    }
    defaults.update(overrides)
    study = study_create(owner=owner, design=StudyDesign(**defaults))
    if launch:
        study = study_launch(study=study)
    return study
