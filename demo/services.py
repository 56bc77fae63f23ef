"""Build the demo: a researcher account and the shipped datasets, idempotently."""

import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from explanations.models import Dataset
from explanations.services.datasets import dataset_import
from explanations.services.progress import Progress, no_progress

DEMO_DATA = Path(settings.BASE_DIR) / "explanations" / "demo"
DEMO_USERNAME = "researcher"
# A fixed, printed password for the local demo only; production refuses it below.
DEMO_PASSWORD = "elephant-demo-password"  # noqa: S105
SENTIMENT = "demo-sentiment"
NLI = "demo-nli"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str


def demo_researcher_ensure() -> tuple[User, DemoAccount]:
    """Create (or reset) the demo researcher and return it with its credentials."""
    if settings.PRODUCTION:
        raise RuntimeError(
            "The demo account has a published password; it is not created in production."
        )
    username = os.environ.get("ELEPHANT_DEMO_USERNAME", DEMO_USERNAME)
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username=username, defaults={"email": f"{username}@example.org"}
    )
    user.set_password(DEMO_PASSWORD)
    user.is_staff = True
    user.is_superuser = True
    user.save()
    return user, DemoAccount(username=username, password=DEMO_PASSWORD)


def demo_datasets_ensure(*, owner: User, progress: Progress = no_progress) -> list[Dataset]:
    """Import the shipped demo datasets (a no-op when already imported)."""
    datasets = []
    with transaction.atomic():
        for name, filename, description in (
            (
                SENTIMENT,
                "sentiment.jsonl",
                "Short English reviews written for Elephant, with human rationales.",
            ),
            (NLI, "nli.jsonl", "Premise/hypothesis pairs written for Elephant (the NLI variant)."),
        ):
            result = dataset_import(
                path=DEMO_DATA / filename,
                name=name,
                owner=owner,
                description=description,
                progress=progress,
            )
            result.dataset.is_public = True
            result.dataset.save(update_fields=["is_public"])
            datasets.append(result.dataset)
    return datasets
