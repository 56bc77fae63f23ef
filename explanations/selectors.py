"""Reads, and the one place that decides who may see which dataset, model or explanation.

A researcher sees the datasets they own, those shared with them, and public ones; models,
instances, explanations and scores follow their dataset. Views never fetch these with
``Model.objects.get``: they call ``*_access`` below, which raises ``Http404`` for anything
the user may not see (not 403: the name of someone else's dataset is not disclosed).
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from .models import ClassifierModel, Dataset, Explanation, Instance, Job, Score

User = AbstractBaseUser | AnonymousUser


def datasets_visible_to(user: User) -> QuerySet[Dataset]:
    """Return the datasets ``user`` may see."""
    if not user.is_authenticated:
        return Dataset.objects.none()
    if getattr(user, "is_superuser", False):
        return Dataset.objects.all()
    return Dataset.objects.filter(
        Q(owner=user) | Q(shared_with=user) | Q(is_public=True)
    ).distinct()


def _visible_dataset_ids(user: User) -> QuerySet[Dataset, dict[str, int]]:
    return datasets_visible_to(user).values("pk")  # type: ignore[return-value]  # a subquery of ids


def instances_visible_to(user: User) -> QuerySet[Instance]:
    return Instance.objects.filter(dataset__in=_visible_dataset_ids(user))


def models_visible_to(user: User) -> QuerySet[ClassifierModel]:
    """Return models of a visible dataset, and ``user``'s own models that have no dataset.

    A model shows its dataset's name, instances and scores, so it follows its dataset even
    for its owner: once a dataset's owner stops sharing it, a model on it is hidden too.
    """
    if not user.is_authenticated:
        return ClassifierModel.objects.none()
    return ClassifierModel.objects.filter(
        Q(dataset__in=_visible_dataset_ids(user)) | Q(owner=user, dataset__isnull=True)
    ).distinct()


def explanations_visible_to(user: User) -> QuerySet[Explanation]:
    return Explanation.objects.filter(instance__dataset__in=_visible_dataset_ids(user))


def scores_visible_to(user: User) -> QuerySet[Score]:
    return Score.objects.filter(explanation__instance__dataset__in=_visible_dataset_ids(user))


def jobs_visible_to(user: User) -> QuerySet[Job]:
    """Return the jobs ``user`` started, and those whose dataset and model they may see.

    A job names its model and dataset: both must be visible (a job of someone's private
    model on a public dataset is not).
    """
    if not user.is_authenticated:
        return Job.objects.none()
    visible_models = models_visible_to(user).values("pk")
    return Job.objects.filter(
        Q(created_by=user)
        | (
            Q(dataset__in=_visible_dataset_ids(user))
            & (Q(model__isnull=True) | Q(model__in=visible_models))
        )
    )


def dataset_access(user: User, name: str) -> Dataset:
    """Return dataset ``name`` if ``user`` may see it, else raise Http404."""
    dataset = datasets_visible_to(user).filter(name=name).first()
    if dataset is None:
        raise Http404(f"No dataset named {name!r} is visible to you.")
    return dataset


def instance_access(user: User, dataset_name: str, external_id: str) -> Instance:
    """Return the instance if ``user`` may see its dataset, else raise Http404."""
    dataset = dataset_access(user, dataset_name)
    instance = dataset.instances.filter(external_id=external_id).first()
    if instance is None:
        raise Http404(f"No instance {external_id!r} in dataset {dataset_name!r}.")
    return instance


def model_access(user: User, name: str) -> ClassifierModel:
    """Return model ``name`` if ``user`` may see it, else raise Http404."""
    model = models_visible_to(user).filter(name=name).first()
    if model is None:
        raise Http404(f"No model named {name!r} is visible to you.")
    return model


def model_owned_by(user: User, model: ClassifierModel) -> bool:
    """Return whether ``user`` may compute on ``model``: its owner, or staff."""
    return model.owner_id == user.pk or bool(getattr(user, "is_staff", False))


def model_access_for_write(user: User, name: str) -> ClassifierModel:
    """Return model ``name`` if ``user`` owns it (or is staff): computing on it writes to it.

    Raise Http404 when ``user`` cannot see it, PermissionDenied when they see it only.
    """
    model = model_access(user, name)
    if not model_owned_by(user, model):
        raise PermissionDenied(f"Only the owner of model {model.name} may compute on it.")
    return model


def job_access(user: User, pk: int) -> Job:
    """Return job ``pk`` if ``user`` may see it, else raise Http404."""
    job = jobs_visible_to(user).filter(pk=pk).first()
    if job is None:
        raise Http404(f"No job {pk} is visible to you.")
    return job
