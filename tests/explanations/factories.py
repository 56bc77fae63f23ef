"""Build test data through the services users call."""

import json
from pathlib import Path

from django.apps import apps

from explanations.services.datasets import dataset_import

RECORDS: list[dict] = [
    {
        "id": "a1",
        "text": "A wonderful, moving film.",
        "label": "positive",
        "rationales": [[1], [1, 3]],
    },
    {"id": "a2", "text": "Dull and far too long.", "label": "negative"},
    {"id": "a3", "text": "Not bad at all.", "label": "positive"},
]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def small_dataset(tmp_path: Path, *, name: str = "films", owner=None, records=None):
    path = write_jsonl(tmp_path / f"{name}.jsonl", records or RECORDS)
    return dataset_import(path=path, name=name, owner=owner).dataset


def row_counts() -> dict[str, int]:
    """Count the rows of every table the platform owns (to prove nothing was half-written)."""
    return {
        f"{m._meta.app_label}.{m.__name__}": m._default_manager.count()
        for m in apps.get_models()
        if m._meta.app_label in {"explanations", "studies", "analysis"}
    }


POSITIVE = ["good", "great", "lovely", "superb", "fine", "warm"]
NEGATIVE = ["bad", "awful", "dull", "poor", "cold", "weak"]
FILLER = ["the", "film", "was", "plot", "and", "music", "really", "very", "a", "story"]


def synthetic_records(n: int = 80, seed: int = 0) -> list[dict]:
    """Short texts whose label follows one sentiment word among filler (learnable in seconds)."""
    import random

    rng = random.Random(seed)
    records = []
    for i in range(n):
        label = "positive" if i % 2 == 0 else "negative"
        words = [rng.choice(FILLER) for _ in range(rng.randint(4, 9))]
        words.insert(
            rng.randrange(len(words) + 1), rng.choice(POSITIVE if label == "positive" else NEGATIVE)
        )
        records.append({"id": f"t{i}", "text": " ".join(words) + ".", "label": label})
    return records


SMALL_CONFIG = {"embedding_dim": 16, "hidden_dim": 16}


def trained_model(tmp_path: Path, *, name: str = "tiny", owner=None, n: int = 80):
    """Import a synthetic dataset, train a tiny BiLSTM attention model and predict."""
    from explanations.services.modeling import model_predict, model_train

    dataset = small_dataset(
        tmp_path, name=f"{name}-data", owner=owner, records=synthetic_records(n)
    )
    model = model_train(
        dataset=dataset,
        name=name,
        architecture="bilstm_attention",
        epochs=8,
        seed=0,
        config=dict(SMALL_CONFIG),
        owner=owner,
    )
    model_predict(model=model, dataset=dataset)
    return model, dataset
