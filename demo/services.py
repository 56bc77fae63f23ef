"""Build the demo: a researcher account and the shipped datasets, idempotently."""

import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from explanations.models import ClassifierModel, Dataset
from explanations.services.computing import explanations_compute, scores_compute
from explanations.services.datasets import dataset_import
from explanations.services.modeling import model_predict, model_train
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


BILSTM_METHODS = [
    "attention",
    "gradient",
    "grad_input",
    "integrated_gradients",
    "occlusion",
    "omission",
    "lrp",
    "random",
]
TRANSFORMER_METHODS = [
    "attention",
    "attention_rollout",
    "gradient",
    "grad_input",
    "integrated_gradients",
    "occlusion",
    "omission",
    "random",
]
SCORE_METRICS = [
    "comprehensiveness",
    "sufficiency",
    "decision_flip",
    "tau_loo",
    "agreement_tau",
    "agreement_jsd",
    "randomization_spearman",
    "plausibility",
]
# The randomisation check re-explains every instance on a re-initialised model; the demo
# runs it for the main model only, to keep `make run` within minutes.
LIGHT_METRICS = [m for m in SCORE_METRICS if m != "randomization_spearman"]
# (model name, dataset name, architecture, methods, metrics)
DEMO_MODELS = (
    ("demo-bilstm", SENTIMENT, "bilstm_attention", BILSTM_METHODS, SCORE_METRICS),
    ("demo-transformer", SENTIMENT, "transformer", TRANSFORMER_METHODS, LIGHT_METRICS),
    ("demo-nli-bilstm", NLI, "bilstm_attention", BILSTM_METHODS, LIGHT_METRICS),
)


def demo_models_ensure(*, owner: User, progress: Progress = no_progress) -> list[ClassifierModel]:
    """Train the demo models, predict, and compute every explanation and score (idempotent)."""
    models = []
    for name, dataset_name, architecture, methods, metrics in DEMO_MODELS:
        dataset = Dataset.objects.get(name=dataset_name)
        model = ClassifierModel.objects.filter(name=name).first()
        if model is None:
            model = model_train(
                dataset=dataset,
                name=name,
                architecture=architecture,
                seed=0,
                owner=owner,
                progress=progress,
            )
        if model.predictions.count() < dataset.instances.count():
            model_predict(model=model, dataset=dataset, progress=progress)
        explanations_compute(
            model=model, dataset=dataset, methods=methods, created_by=owner, progress=progress
        )
        scores_compute(
            model=model, dataset=dataset, metrics=metrics, created_by=owner, progress=progress
        )
        models.append(model)
    return models
