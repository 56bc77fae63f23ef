"""Compiled queries return what their querysets return (the suite runs on SQLite and on
PostgreSQL, where uuids and row locks differ), and refuse what the ORM would refuse."""

import uuid

import pytest
from django.db import connection, transaction
from django.db.models import Model
from django.db.transaction import TransactionManagementError
from django.test import Client

from studies import selectors
from studies.compiled import CompiledQuery
from studies.models import Assignment, Participant, Response, Trial
from studies.services import responses

from .factories import make_study
from .flow import consent_and_read, good_answer, trial_form

pytestmark = pytest.mark.django_db(transaction=True)


def fields_of(obj: Model | None, relations: tuple[str, ...] = ()) -> dict | None:
    """Every concrete field's value, and the same for each named related object."""
    if obj is None:
        return None
    values = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    for path in relations:
        head, _, rest = path.partition("__")
        values[head] = fields_of(getattr(obj, head), (rest,) if rest else ())
    return values


@pytest.fixture
def answering(researcher, corpus):
    """A participant on their second trial, having answered the practice."""
    dataset, model = corpus
    study = make_study(researcher, dataset, model)
    client = Client()
    page = consent_and_read(client, client.get(f"/s/{study.uid}/", follow=True))
    trial_id, key = trial_form(page)
    trial = Trial.objects.select_related("item").get(pk=trial_id)
    data = {"trial": trial_id, "idempotency_key": key, **good_answer(trial)}
    assert client.post(page.request["PATH_INFO"], data).status_code == 200  # the next trial
    participant = Participant.objects.get(assignment__trials__pk=trial_id)
    return participant, key


def test_the_participant_comes_with_their_study_and_assignment(answering):
    participant, _ = answering
    compiled = selectors.participant_by_uid(participant.uid)
    plain = (
        Participant.objects.select_related("study", "assignment").filter(uid=participant.uid).get()
    )
    relations = ("study", "assignment")
    assert fields_of(compiled, relations) == fields_of(plain, relations)
    assert compiled.study.comprehension_checks == plain.study.comprehension_checks  # JSON decoded
    assert selectors.participant_by_uid(uuid.uuid4()) is None


def test_a_participant_without_an_assignment_has_none(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model)
    participant = Participant.objects.create(study=study, source=Participant.Source.ANONYMOUS)
    compiled = selectors.participant_by_uid(participant.uid)
    assert compiled is not None
    assert selectors.assignment_of(compiled) is None


def test_the_current_trial_carries_its_counts_and_item(answering):
    participant, _ = answering
    assignment = Assignment.objects.get(participant=participant)
    current = selectors.trial_current(assignment)
    plain = (
        Trial.objects.filter(assignment=assignment, response__isnull=True)
        .select_related("item")
        .order_by("position")
        .first()
    )
    assert fields_of(current, ("item",)) == fields_of(plain, ("item",))
    assert current.n_total == Trial.objects.filter(assignment=assignment).count()
    assert current.n_practice == 1
    assert current.assignment is assignment
    assert current.item.frozen == plain.item.frozen


def test_the_answer_path_reads_the_same_rows(answering):
    participant, key = answering
    assignment = Assignment.objects.get(participant=participant)
    with transaction.atomic():
        locked = responses._assignment_locked(participant)
    plain = Assignment.objects.select_related("study_list__study").get(pk=assignment.pk)
    relations = ("study_list__study",)
    assert fields_of(locked, relations) == fields_of(plain, relations)
    pending = responses._pending(assignment)
    expected = list(
        Trial.objects.filter(assignment=assignment, response__isnull=True).order_by("position")[:2]
    )
    assert [fields_of(t, ("item",)) for t in pending] == [
        fields_of(t, ("item",))
        for t in Trial.objects.filter(pk__in=[t.pk for t in expected])
        .select_related("item")
        .order_by("position")
    ]
    stored = responses.ANSWER_UNDER_KEY.first(key=key)
    assert fields_of(stored, ("trial",)) == fields_of(
        Response.objects.select_related("trial").get(idempotency_key=key), ("trial",)
    )
    assert responses.ANSWER_UNDER_KEY.first(key="no-such-key") is None


def test_a_row_lock_outside_a_transaction_is_refused(answering):
    if not connection.features.has_select_for_update:
        pytest.skip("SQLite has no row locks: the ORM leaves FOR UPDATE out there too")
    participant, _ = answering
    with pytest.raises(TransactionManagementError):  # on its first run, compiling...
        responses._assignment_locked(participant)
    with transaction.atomic():
        assert responses._assignment_locked(participant) is not None
    with pytest.raises(TransactionManagementError):  # ...and compiled
        responses._assignment_locked(participant)


def test_an_argument_the_queryset_ignores_is_refused(db):
    ignored = CompiledQuery(lambda pk: Participant.objects.all()[:1], pk=int)
    with pytest.raises(TypeError, match="does not use"):
        ignored.first(pk=1)
    with pytest.raises(TypeError, match="expected arguments"):
        selectors.PARTICIPANT_BY_UID.first(pk=1)
    with pytest.raises(TypeError, match="int, uuid.UUID or str"):
        CompiledQuery(lambda when: Participant.objects.all()[:1], when=float).first(when=1.0)
