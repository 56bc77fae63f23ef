"""Participants' data (issue #16): pseudonyms, deletion on request, retention, consent version."""

import uuid
from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.contrib.admin.sites import site
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.test import Client, RequestFactory
from django.utils import timezone

from analysis.services.options import AnalysisOptions
from analysis.services.results import study_analysis_get
from analysis.services.simulated import participants_simulate
from explanations.models import HumanRationale
from studies.models import (
    Exclusion,
    Participant,
    ParticipantDeletion,
    QuestionnaireAnswer,
    Response,
    Study,
    StudyList,
    Trial,
)
from studies.pseudonyms import looks_like_pseudonym, participant_pseudonym
from studies.services.exclusions import exclusion_create
from studies.services.lifecycle import study_close
from studies.services.privacy import participant_data_delete, platform_ids_erase
from studies.services.rationales import rationale_annotator

from .factories import make_study
from .flow import answer_all, consent_and_read

pytestmark = pytest.mark.django_db

SANDBOX = "https://workersandbox.mturk.com"
FAST = AnalysisOptions(n_resamples=20)


def crowd_study(researcher, corpus, **overrides) -> Study:
    """A live rating study with a questionnaire (so finishing stays on this site)."""
    dataset, model = corpus
    return make_study(
        researcher, dataset, model, questionnaire_preset="explanation_satisfaction", **overrides
    )


def take_part(study: Study, **params: str) -> Participant:
    """Enter ``study`` by its link with the platform's ``params``, answer everything."""
    client = Client()
    entered = client.get(f"/s/{study.uid}/", params, follow=True)
    answer_all(client, consent_and_read(client, entered))
    return Participant.objects.select_related("study").get(
        pk=client.session[f"studies:participant:{study.uid}"]
    )


def prolific(study: Study, pid: str, session: str = "SESSION-1") -> Participant:
    return take_part(study, PROLIFIC_PID=pid, STUDY_ID="PROLIFIC-STUDY-1", SESSION_ID=session)


def mturk(study: Study, worker: str) -> Participant:
    return take_part(
        study, workerId=worker, assignmentId=f"ASSIGN-{worker}", hitId="HIT-1", turkSubmitTo=SANDBOX
    )


# Pseudonyms.


def test_a_pseudonym_is_a_keyed_hash_of_the_uid_not_of_a_platform_id():
    uid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    name = participant_pseudonym("a" * 64, uid)
    assert looks_like_pseudonym(name)
    assert name == participant_pseudonym("a" * 64, uid)  # stable
    assert name != participant_pseudonym("b" * 64, uid)  # another study, another name
    assert name != participant_pseudonym("a" * 64, uuid.uuid4())
    assert not looks_like_pseudonym("p_" + "g" * 16)
    with pytest.raises(ValueError, match="secret is empty"):
        participant_pseudonym("", uid)


def test_each_study_has_its_own_secret_and_the_migration_gives_old_studies_their_own(
    researcher, corpus
):
    dataset, model = corpus
    first = make_study(researcher, dataset, model, launch=False)
    second = make_study(researcher, dataset, model, launch=False, name="second")
    assert len(first.pseudonym_secret) == 64
    assert first.pseudonym_secret != second.pseudonym_secret
    # Before the migration's step, AddField had given every existing study the same default.
    Study.objects.update(pseudonym_secret="0" * 64)
    import_module("studies.migrations.0007_privacy")._own_secrets(apps, None)
    secrets = set(Study.objects.values_list("pseudonym_secret", flat=True))
    assert len(secrets) == 2
    assert "0" * 64 not in secrets


def test_the_progress_and_exclusion_pages_name_participants_by_pseudonym(researcher, corpus):
    study = crowd_study(researcher, corpus)
    person = prolific(study, "PID-PROGRESS-PAGE-0001")
    exclusion_create(participant=person, reason="by hand", by=researcher)
    web = Client()
    web.force_login(researcher)
    for url in (f"/studies/{study.pk}/progress/", f"/studies/{study.pk}/exclusions/"):
        page = web.get(url).content.decode()
        assert person.pseudonym in page
        assert "PID-PROGRESS-PAGE-0001" not in page


# Deletion on request.


def test_deleting_by_platform_id_removes_the_answers_and_keeps_the_place_taken(researcher, corpus):
    study = crowd_study(researcher, corpus)
    keep = prolific(study, "PID-KEEP")
    gone = prolific(study, "PID-GONE", session="SESSION-2")
    exclusion_create(participant=gone, reason="by hand", by=researcher)
    name = gone.pseudonym
    n_answers = Response.objects.filter(participant=gone).count()
    assert n_answers > 0
    assert QuestionnaireAnswer.objects.filter(participant=gone).exists()
    filled = list(StudyList.objects.filter(study=study).values_list("filled", flat=True))
    before = study_analysis_get(study=study, options=FAST).results["counts"]
    assert before["participants"] == 2

    log = participant_data_delete(
        study=study, actor=researcher, platform_id="PID-GONE", reason="asked by e-mail"
    )

    assert (log.pseudonym, log.answers, log.deleted_by) == (name, n_answers, researcher)
    assert log.questionnaire_answers > 0
    assert not Participant.objects.filter(pk=gone.pk).exists()
    assert not Response.objects.filter(participant_id=gone.pk).exists()
    assert not Trial.objects.filter(assignment__participant_id=gone.pk).exists()
    assert not Exclusion.objects.filter(participant_id=gone.pk).exists()
    assert Response.objects.filter(participant=keep).exists()
    # The place is not given to anyone else.
    assert list(StudyList.objects.filter(study=study).values_list("filled", flat=True)) == filled
    # The cached analysis is not served again: the next one leaves them out.
    after = study_analysis_get(study=study, options=FAST).results["counts"]
    assert after["participants"] == 1
    assert after["answers"] == before["answers"] - n_answers
    # Twice is a clear error, by either id.
    with pytest.raises(ValidationError, match="already deleted") as again:
        participant_data_delete(study=study, actor=researcher, pseudonym=name)
    assert "pseudonym" in again.value.message_dict
    with pytest.raises(ValidationError, match="no such participant") as by_pid:
        participant_data_delete(study=study, actor=researcher, platform_id="PID-GONE")
    assert "platform_id" in by_pid.value.message_dict
    assert ParticipantDeletion.objects.filter(study=study).count() == 1


def test_deleting_by_pseudonym_removes_the_rationales_made_from_the_answers(researcher, corpus):
    dataset, model = corpus
    study = make_study(
        researcher,
        dataset,
        model,
        study_type="rationale_annotation",
        methods=["gradient"],
        n_items=3,
        ratings_per_item=2,
        sources=["invited"],
    )
    participants_simulate(study=study, n=2, seed=1)
    first, second = Participant.objects.filter(study=study).select_related("study").order_by("pk")
    mine = HumanRationale.objects.filter(
        annotator=rationale_annotator(study_id=study.pk, participant_id=first.pk)
    )
    theirs = HumanRationale.objects.filter(
        annotator=rationale_annotator(study_id=study.pk, participant_id=second.pk)
    )
    n_mine, n_theirs = mine.count(), theirs.count()
    assert n_mine > 0
    assert n_theirs > 0
    log = participant_data_delete(study=study, actor=researcher, pseudonym=first.pseudonym)
    assert log.rationales == n_mine
    assert not mine.exists()
    assert theirs.count() == n_theirs


def test_deletion_is_refused_to_others_and_for_unclear_requests(
    researcher, make_researcher, corpus
):
    study = crowd_study(researcher, corpus)
    person = prolific(study, "PID-REFUSED")
    with pytest.raises(PermissionDenied):
        participant_data_delete(
            study=study, actor=make_researcher("mallory"), platform_id="PID-REFUSED"
        )
    with pytest.raises(ValidationError, match="exactly one") as neither:
        participant_data_delete(study=study, actor=researcher)
    assert "platform_id" in neither.value.message_dict
    with pytest.raises(ValidationError, match="exactly one"):
        participant_data_delete(
            study=study, actor=researcher, platform_id="PID-REFUSED", pseudonym=person.pseudonym
        )
    with pytest.raises(ValidationError, match="expected p_ and 16 hex digits"):
        participant_data_delete(study=study, actor=researcher, pseudonym="PID-REFUSED")
    with pytest.raises(ValidationError, match="no such participant"):
        participant_data_delete(study=study, actor=researcher, pseudonym="p_" + "0" * 16)
    assert Participant.objects.filter(pk=person.pk).exists()
    assert not ParticipantDeletion.objects.exists()


def test_delete_participant_command(researcher, corpus, capsys):
    study = crowd_study(researcher, corpus)
    person = mturk(study, "WORKER-CMD")
    name = person.pseudonym
    call_command("delete_participant", study=str(study.pk), platform_id="WORKER-CMD", by="alice")
    out = capsys.readouterr().out
    assert f"Deleted participant {name}" in out
    assert "stays taken" in out
    assert "WORKER-CMD" not in out
    assert ParticipantDeletion.objects.get(study=study).deleted_by == researcher
    with pytest.raises(CommandError, match="--pseudonym: participant .* already deleted"):
        call_command("delete_participant", study=str(study.pk), pseudonym=name)
    with pytest.raises(CommandError, match="--study 999999: no study"):
        call_command("delete_participant", study="999999", pseudonym=name)
    with pytest.raises(CommandError, match="--by 'nobody': no user"):
        call_command("delete_participant", study=str(study.pk), pseudonym=name, by="nobody")


def test_the_progress_page_deletes_after_a_confirmation_step(researcher, corpus):
    study = crowd_study(researcher, corpus)
    person = prolific(study, "PID-WEB")
    name = person.pseudonym
    web = Client()
    web.force_login(researcher)
    url = f"/studies/{study.pk}/participants/delete/"
    progress = web.get(f"/studies/{study.pk}/progress/").content.decode()
    assert f'action="{url}"' in progress
    assert f'value="{name}"' in progress
    # First POST: the confirmation page, nothing deleted yet.
    confirm = web.post(url, {"participant": "PID-WEB", "reason": "asked"})
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert name in html
    assert 'name="confirm" value="yes"' in html
    assert Participant.objects.filter(pk=person.pk).exists()
    # Confirmed: deleted, logged, listed on the page.
    done = web.post(
        url, {"participant": "PID-WEB", "reason": "asked", "confirm": "yes"}, follow=True
    )
    assert not Participant.objects.filter(pk=person.pk).exists()
    page = done.content.decode()
    assert "Deletion log" in page
    assert name in page
    assert "stays taken" in page
    again = web.post(url, {"participant": name, "confirm": "yes"}, follow=True)
    assert "already deleted" in again.content.decode()
    # Another researcher cannot reach the study at all.
    other = Client()
    other.force_login(type(researcher).objects.create_user("eve", password="a-long-test-password"))
    assert other.post(url, {"participant": name}).status_code == 404


# Retention.


def test_erase_platform_ids_after_the_retention_period(researcher, corpus, settings, capsys):
    settings.ELEPHANT_PLATFORM_ID_RETENTION_DAYS = 30
    old = crowd_study(researcher, corpus, name="old")
    recent = crowd_study(researcher, corpus, name="recent")
    live = crowd_study(researcher, corpus, name="live")
    people = {
        "old-p": prolific(old, "PID-OLD"),
        "old-m": mturk(old, "WORKER-OLD"),
        "recent": prolific(recent, "PID-RECENT"),
        "live": prolific(live, "PID-LIVE"),
    }
    names = {key: p.pseudonym for key, p in people.items()}
    for study in (old, recent):
        study_close(study=study)
    Study.objects.filter(pk=old.pk).update(closed_at=timezone.now() - timedelta(days=31))
    Study.objects.filter(pk=recent.pk).update(closed_at=timezone.now() - timedelta(days=29))

    call_command("erase_platform_ids", dry_run=True)
    out = capsys.readouterr().out
    assert f"study {old.pk} (old)" in out
    assert "would erase 6 platform id(s) of 2" in out
    assert "dry run: nothing changed" in out
    assert Participant.objects.get(pk=people["old-p"].pk).prolific_pid == "PID-OLD"

    call_command("erase_platform_ids")
    out = capsys.readouterr().out
    assert "erased 6 platform id(s)" in out
    for key in ("old-p", "old-m"):
        row = Participant.objects.select_related("study").get(pk=people[key].pk)
        assert row.external_id == ""
        assert (row.prolific_session_id, row.mturk_assignment_id, row.mturk_hit_id) == ("", "", "")
        assert row.pseudonym == names[key]  # unchanged
    assert Participant.objects.get(pk=people["recent"].pk).prolific_pid == "PID-RECENT"
    assert Participant.objects.get(pk=people["live"].pk).prolific_pid == "PID-LIVE"
    old.refresh_from_db()
    assert old.platform_ids_erased_at is not None
    # Nothing left to erase: a second run changes nothing.
    assert platform_ids_erase() == []
    with pytest.raises(CommandError, match="--days: expected a number of days >= 0"):
        call_command("erase_platform_ids", days=-1)


# Consent.


def test_the_consent_text_is_fixed_once_live(researcher, corpus):
    dataset, model = corpus
    draft = make_study(researcher, dataset, model, launch=False)
    live = make_study(researcher, dataset, model, name="live")
    admin = site._registry[Study]
    request = RequestFactory().get("/")
    request.user = researcher
    assert "consent_text" not in admin.get_readonly_fields(request, draft)
    assert "consent_text" in admin.get_readonly_fields(request, live)
