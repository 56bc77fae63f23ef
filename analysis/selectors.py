"""Reads of the analysis app: which study a user may analyse."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from studies.models import Study
from studies.selectors import study_access


def study_for_analysis(user: AbstractBaseUser | AnonymousUser, pk: int) -> Study:
    """Return study ``pk`` if ``user`` may see its analysis (its owner), else raise Http404."""
    return study_access(user, pk)
