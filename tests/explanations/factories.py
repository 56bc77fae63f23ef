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
