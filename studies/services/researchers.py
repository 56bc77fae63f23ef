"""Researcher accounts: a researcher is an active account that is neither staff nor superuser.

Nothing else marks a researcher. The researcher pages and the API ask only that the user is
signed in, and :mod:`studies.selectors` (and ``explanations.selectors``) scope everything to
what the user owns (plus datasets shared with it or public), so a plain account already has
exactly a researcher's rights: its own datasets, models and studies, nobody else's. Staff
status would open the admin, whose change lists are not scoped by owner (every study,
participant and answer), and superuser status makes every study visible; a researcher gets
neither.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction


def researcher_username_check(*, username: str) -> None:
    """Raise ValidationError on ``username`` if it is not a valid, free user name."""
    user_model = get_user_model()
    field = user_model._meta.get_field(user_model.USERNAME_FIELD)
    assert isinstance(field, models.Field)  # the user name is a plain column
    try:
        field.clean(username.strip(), None)
    except ValidationError as exc:
        raise ValidationError({"username": exc.messages}) from exc
    if user_model._default_manager.filter(username=username.strip()).exists():
        raise ValidationError({"username": f"a user named {username.strip()!r} already exists"})


def researcher_create(*, username: str, email: str = "", password: str | None) -> User:
    """Create a researcher; ``password`` None leaves it unusable (set one later).

    Raise ValidationError by field: ``username`` (taken, empty or not a valid user name),
    ``email`` (not an address) or ``password`` (refused by the password validators).
    """
    user_model = get_user_model()
    user: User = user_model(
        username=username.strip(),
        email=BaseUserManager.normalize_email(email.strip()),
        is_active=True,
        is_staff=False,
        is_superuser=False,
    )
    errors: dict[str, list[str]] = {}
    try:
        researcher_username_check(username=username)
        # The rest of the model's checks (email, lengths); the password is checked below.
        user.full_clean(exclude=["username", "password"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if password is None:
        user.set_unusable_password()
    else:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            errors["password"] = exc.messages
        user.set_password(password)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        # Someone took the name between the check and the save.
        raise ValidationError(
            {"username": f"a user named {user.username!r} already exists"}
        ) from exc
    return user


def researcher_make(*, user: User) -> User:
    """Turn an existing account into a researcher: active, not staff, not superuser.

    Its studies, datasets and models stay its own; it loses the admin and the view of
    other people's studies. Its password is left as it is.
    """
    user.is_active = True
    user.is_staff = False
    user.is_superuser = False
    user.save(update_fields=["is_active", "is_staff", "is_superuser"])
    return user
