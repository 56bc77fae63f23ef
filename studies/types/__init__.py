"""Study types: each module registers one (see :mod:`studies.types.base`)."""

from . import (
    aided_task,
    counterfactual_simulation,
    expert_review,
    forward_simulation,
    pairwise_preference,
    plausibility_rating,
    rationale_annotation,
)
from .base import StudyType, get_type, register, type_choices, type_names

__all__ = [
    "StudyType",
    "aided_task",
    "counterfactual_simulation",
    "expert_review",
    "forward_simulation",
    "get_type",
    "pairwise_preference",
    "plausibility_rating",
    "rationale_annotation",
    "register",
    "type_choices",
    "type_names",
]
