"""Build the demo: a researcher account and the shipped datasets, idempotently."""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count
from django.urls import reverse

from analysis.services.simulated import participants_simulate, simulated_participant_ids
from demo.hf_model import demo_bert_build
from explanations.compute.registry import supported_methods
from explanations.models import ClassifierModel, Dataset, Job
from explanations.services.computing import explanations_compute, scores_compute
from explanations.services.datasets import dataset_import
from explanations.services.model_import import model_import
from explanations.services.modeling import model_predict, model_train
from explanations.services.progress import Progress, no_progress
from studies.models import Assignment, Study
from studies.services.design import StudyDesign, study_create
from studies.services.invitations import invitations_create
from studies.services.lifecycle import study_launch
from studies.types import type_names

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
    """Create the demo researcher (or restore its printed password) and return its credentials.

    A password that already matches is left alone: setting it again would change the stored
    hash and so end every session of the demo account at each ``make run``.
    """
    if settings.PRODUCTION:
        raise RuntimeError(
            "The demo account has a published password; it is not created in production."
        )
    username = os.environ.get("ELEPHANT_DEMO_USERNAME", DEMO_USERNAME)
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username=username, defaults={"email": f"{username}@example.org"}
    )
    if not user.check_password(DEMO_PASSWORD):
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
                "Short English reviews written for Elephant (by hand and from a seeded grammar), "
                "100 with two annotators' rationales.",
            ),
            (
                NLI,
                "nli.jsonl",
                "Premise/hypothesis pairs written for Elephant (by hand and from a seeded "
                "grammar; the NLI variant).",
            ),
        ):
            result = dataset_import(
                path=DEMO_DATA / filename,
                name=name,
                owner=owner,
                description=description,
                # A re-run finds the datasets it made: the same file adds nothing.
                append=True,
                progress=progress,
            )
            result.dataset.is_public = True
            result.dataset.save(update_fields=["is_public"])
            datasets.append(result.dataset)
    return datasets


# Every method each architecture supports, as the method registry declares them.
BILSTM_METHODS = list(supported_methods("bilstm_attention"))
TRANSFORMER_METHODS = list(supported_methods("transformer"))
# The methods demo-bert's study shows, and gradient beside them: on 1,200 reviews every method
# a Hugging Face model supports took 74 s of the demo's set-up (compute_explanations without
# --methods computes them all on a researcher's own model).
BERT_METHODS = ["attention", "gradient", "integrated_gradients", "occlusion", "random"]
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
# The main model (demo-bilstm) gets every metric. The others get the erasure pair, agreement
# with attention and plausibility: on 1,200 reviews the rest (the randomisation check, which
# re-explains every instance on a re-initialised model, decision flip, leave-one-out tau, JSD)
# added about a minute to `make run`, which stays under five; compute_scores adds them.
LIGHT_METRICS = ["comprehensiveness", "sufficiency", "agreement_tau", "plausibility"]
# (model name, dataset name, architecture, methods, metrics); methods None means every
# method the model's kind supports. "huggingface" is built by demo_bert_build and brought in
# through model_import, the path a researcher's own model takes.
DEMO_MODELS: tuple[tuple[str, str, str, list[str] | None, list[str]], ...] = (
    ("demo-bilstm", SENTIMENT, "bilstm_attention", BILSTM_METHODS, SCORE_METRICS),
    ("demo-transformer", SENTIMENT, "transformer", TRANSFORMER_METHODS, LIGHT_METRICS),
    ("demo-nli-bilstm", NLI, "bilstm_attention", BILSTM_METHODS, LIGHT_METRICS),
    ("demo-bert", SENTIMENT, "huggingface", BERT_METHODS, LIGHT_METRICS),
)


# Model settings the demo corpus suits (the rest are model_train's defaults). Measured on the
# shipped corpus at seed 0, 2 threads (held-out accuracy; majority baselines 0.5 and 0.33):
# demo-bilstm 0.90 and demo-nli-bilstm 0.81 with the defaults (dropout 0.3 gave 0.80 on the
# pairs); demo-transformer 0.80 with the defaults, 0.85 with dropout 0.3. Results differ a
# little with the thread count (on 1 thread demo-bilstm reaches 0.88);
# tests/demo/test_demo_accuracy.py holds the floors, 0.85 and 0.75.
DEMO_CONFIGS: dict[str, dict[str, Any]] = {"demo-transformer": {"dropout": 0.3}}


def demo_models_ensure(*, owner: User, progress: Progress = no_progress) -> list[ClassifierModel]:
    """Train the demo models, predict, and compute every explanation and score (idempotent)."""
    models = []
    for name, dataset_name, architecture, methods, metrics in DEMO_MODELS:
        dataset = Dataset.objects.get(name=dataset_name)
        model = ClassifierModel.objects.filter(name=name).first()
        if model is None and architecture == ClassifierModel.Architecture.HUGGINGFACE:
            model = demo_bert_import(dataset=dataset, name=name, owner=owner, progress=progress)
        elif model is None:
            model = model_train(
                dataset=dataset,
                name=name,
                architecture=architecture,
                seed=0,
                config=DEMO_CONFIGS.get(name),
                owner=owner,
                progress=progress,
            )
        if model.predictions.count() < dataset.instances.count():
            model_predict(model=model, dataset=dataset, progress=progress)
        _job_succeeded(
            explanations_compute(
                model=model, dataset=dataset, methods=methods, created_by=owner, progress=progress
            ),
            model=model,
        )
        _job_succeeded(
            scores_compute(
                model=model, dataset=dataset, metrics=metrics, created_by=owner, progress=progress
            ),
            model=model,
        )
        models.append(model)
    return models


def demo_bert_import(
    *, dataset: Dataset, name: str, owner: User, progress: Progress = no_progress
) -> ClassifierModel:
    """Build the demo's BERT classifier in a temporary folder and import it like a user's model.

    The build's held-out metrics become the model's training metrics (an imported model has
    none of its own). The folder is removed once the model store holds its copy.
    """
    with tempfile.TemporaryDirectory(prefix="elephant-demo-bert-") as temporary:
        folder = Path(temporary) / name
        metrics = demo_bert_build(dataset=dataset, folder=folder, seed=0, progress=progress)
        model = model_import(path=folder, name=name, dataset=dataset, owner=owner)
    model.training_metrics = metrics
    model.seed = 0
    model.save(update_fields=["training_metrics", "seed"])
    return model


def _job_succeeded(job: Job, *, model: ClassifierModel) -> None:
    """Raise when ``job`` failed (a job run in-process records its failure and returns)."""
    if job.status == Job.Status.FAILED:
        raise RuntimeError(
            f"{job.get_kind_display()} for model {model.name} failed (job {job.pk}): {job.error}"
        )


# (name, study type, model name, methods, extra design fields); every study has attention
# checks. Every study is on the sentiment reviews. Each list takes DEMO_RATINGS_PER_ITEM
# people unless its study says otherwise; simulated participants take half of each list
# (demo_participants_simulate), so the between-condition studies, with one list per
# condition, take 8 to leave 4 simulated and 4 real places in each.
DEMO_RATINGS_PER_ITEM = 3
DEMO_STUDIES: tuple[tuple[str, str, str, list[str], dict[str, Any]], ...] = (
    (
        "Demo: how convincing is each explanation?",
        "plausibility_rating",
        "demo-bilstm",
        ["attention", "integrated_gradients", "occlusion", "random"],
        {
            "n_items": 24,
            "items_per_participant": 8,
            "attention_check_positions": [4],
            "gold_positions": [7],
            "questionnaire_preset": "explanation_satisfaction",
        },
    ),
    (
        "Demo: which explanation is better?",
        "pairwise_preference",
        "demo-bilstm",
        ["attention", "integrated_gradients", "random"],
        {"n_items": 12, "items_per_participant": 6, "attention_check_positions": [3]},
    ),
    (
        "Demo: can you predict the model? (forward simulation)",
        "forward_simulation",
        "demo-bilstm",
        ["attention", "integrated_gradients"],
        {
            "n_items": 16,
            "condition_design": "between",
            "attention_check_positions": [2],
            "ratings_per_item": 8,
        },
    ),
    (
        "Demo: label the text with the model's help (aided task)",
        "aided_task",
        "demo-bilstm",
        ["integrated_gradients"],
        {
            "n_items": 12,
            "condition_design": "between",
            "attention_check_positions": [3],
            "ratings_per_item": 8,
        },
    ),
    (
        "Demo: how convincing is each explanation of a BERT model?",
        "plausibility_rating",
        "demo-bert",
        ["attention", "integrated_gradients", "occlusion", "random"],
        {
            "n_items": 24,
            "items_per_participant": 8,
            "attention_check_positions": [4],
            "gold_positions": [7],
            "questionnaire_preset": "explanation_satisfaction",
        },
    ),
)


@dataclass(frozen=True)
class DemoStudy:
    study: Study
    anonymous_path: str
    prolific_path: str
    invitation_path: str


def _links(study: Study) -> DemoStudy:
    entry = reverse("participate:entry", args=[study.uid])
    invitation = study.invitations.filter(used_at__isnull=True).first()
    return DemoStudy(
        study=study,
        anonymous_path=entry,
        prolific_path=f"{entry}?PROLIFIC_PID=demo-prolific-pid&STUDY_ID=demo-study&SESSION_ID=demo-session",
        invitation_path=reverse("participate:invitation", args=[invitation.token])
        if invitation
        else "",
    )


def demo_studies_ensure(*, owner: User) -> list[DemoStudy]:
    """Create and launch the demo studies, found by name (idempotent).

    A study an interrupted run created but did not launch is still a draft: it is launched.
    """
    dataset = Dataset.objects.get(name=SENTIMENT)
    studies = []
    available = set(type_names())
    for name, study_type, model_name, methods, extra in DEMO_STUDIES:
        if study_type not in available:
            continue
        study = Study.objects.filter(owner=owner, name=name).first()
        if study is None:
            model = ClassifierModel.objects.get(name=model_name)
            design = StudyDesign(
                name=name,
                study_type=study_type,
                dataset=dataset,
                model=model,
                methods=methods,
                seed=0,
                pay="GBP 2.00",
                estimated_minutes=10,
                completion_code="ELEPHANTDEMO",
                **({"ratings_per_item": DEMO_RATINGS_PER_ITEM} | extra),
            )
            study = study_create(owner=owner, design=design)
        if study.status == Study.Status.DRAFT:
            study = study_launch(study=study)
        if not study.invitations.filter(used_at__isnull=True).exists():
            invitations_create(study=study, labels=["Demo expert"])
        studies.append(_links(study))
    return studies


class _OverHalf(Exception):
    """A simulated participant was given a list whose simulated half is already taken."""


def simulated_places(study: Study) -> dict[int, int]:
    """Return, by list id, how many simulated participants each list of ``study`` takes.

    Half of its places, rounded down: the other half stays for people, so every link the
    demo prints (anonymous, Prolific, invitation) still lets someone through.
    """
    return {pk: target // 2 for pk, target in study.lists.values_list("pk", "target")}


def _simulated_by_list(study: Study) -> dict[int, int]:
    rows = (
        Assignment.objects.filter(
            study_list__study=study,
            participant__simulated=True,
            status__in=[Assignment.Status.ACTIVE, Assignment.Status.COMPLETED],
        )
        .values("study_list")
        .annotate(n=Count("pk"))
    )
    return {row["study_list"]: row["n"] for row in rows}


def demo_participants_simulate(*, studies: list[Study], n: int) -> dict[int, int]:
    """Top each study up to ``n`` simulated participants (idempotent); return counts by study.

    Simulated participants take at most half of each list's places (:func:`simulated_places`),
    whatever ``n`` asks. The engine gives each one the least-filled list, so lists fill
    evenly; should one land in a list whose simulated half is taken (people came first to
    the others), it is rolled back and the study's topping-up stops there.
    """
    counts: dict[int, int] = {}
    for study in studies:
        have = len(simulated_participant_ids(study))
        places = simulated_places(study)
        for _ in range(min(n, sum(places.values())) - have):
            try:
                # One at a time with the run's seed: the same people a single batch would make.
                with transaction.atomic():
                    if participants_simulate(study=study, n=1, seed=have) == 0:
                        break
                    taken = _simulated_by_list(study)
                    if any(count > places[pk] for pk, count in taken.items()):
                        raise _OverHalf
            except _OverHalf:
                break
        counts[study.pk] = len(simulated_participant_ids(study))
    return counts
