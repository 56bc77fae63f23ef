"""Excluding from the progress page: a per-row action, no internal id to type (issue #15)."""

import re

import pytest
from django.test import Client

from studies.models import Exclusion
from studies.services.assignment import EntryIds, participant_enter
from studies.services.participants import participant_consent

from .factories import make_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model)
    participant = participant_enter(study=study, ids=EntryIds(source="prolific", prolific_pid="p1"))
    participant_consent(participant=participant, agree=True)
    web = Client()
    web.force_login(researcher)
    return study, participant, web


def row_of(page: str, pseudonym: str) -> str:
    (row,) = [r for r in page.split("<tr>") if f"<code>{pseudonym}</code>" in r]
    return row


def test_a_row_offers_exclude_and_leads_to_the_hand_form_filled_in(setting):
    study, participant, web = setting
    progress = web.get(f"/studies/{study.pk}/progress/").content.decode()
    row = row_of(progress, participant.pseudonym)
    # A real form with a button (reachable by Tab, pressed with Enter), naming the participant.
    form = re.search(
        rf'<form method="post" action="/studies/{study.pk}/exclusions/"[^>]*>(.*?)</form>', row
    )
    assert form
    assert f'name="pseudonym" value="{participant.pseudonym}"' in form.group(1)
    assert '<button type="submit" name="exclude" value="1"' in form.group(1)
    assert f'aria-label="Exclude participant {participant.pseudonym}…"' in form.group(1)

    filled = web.post(
        f"/studies/{study.pk}/exclusions/",
        {"exclude": "1", "pseudonym": participant.pseudonym},
    )
    assert filled.status_code == 200
    text = filled.content.decode()
    assert re.search(rf'name="participant" value="{participant.pk}"', text)
    assert re.search(r'<input type="text" name="reason"[^>]*autofocus', text)
    assert not Exclusion.objects.exists()  # nothing happens before a reason is given

    done = web.post(
        f"/studies/{study.pk}/exclusions/",
        {"manual": "1", "participant": participant.pk, "reason": "answered in Klingon"},
    )
    assert done.status_code == 302
    (exclusion,) = Exclusion.objects.filter(participant=participant)
    assert exclusion.reason == "answered in Klingon"


def test_an_unknown_pseudonym_goes_back_with_a_message_naming_the_field(setting):
    study, _, web = setting
    page = web.post(
        f"/studies/{study.pk}/exclusions/", {"exclude": "1", "pseudonym": "p_nobody"}, follow=True
    )
    assert page.redirect_chain[-1][0] == f"/studies/{study.pk}/progress/"
    assert "pseudonym: no participant &#x27;p_nobody&#x27; in this study." in page.content.decode()
    assert not Exclusion.objects.exists()


def test_an_excluded_row_offers_revoke_which_revokes_the_active_exclusion(setting, researcher):
    study, participant, web = setting
    web.post(
        f"/studies/{study.pk}/exclusions/",
        {"manual": "1", "participant": participant.pk, "reason": "duplicate"},
    )
    exclusion = Exclusion.objects.get(participant=participant)
    row = row_of(web.get(f"/studies/{study.pk}/progress/").content.decode(), participant.pseudonym)
    revoke = f"/studies/{study.pk}/exclusions/{exclusion.pk}/revoke/"
    assert f'action="{revoke}"' in row
    assert ">Revoke</button>" in row
    assert "Exclude…</button>" not in row

    web.post(revoke)
    exclusion.refresh_from_db()
    assert exclusion.revoked_at is not None
    row = row_of(web.get(f"/studies/{study.pk}/progress/").content.decode(), participant.pseudonym)
    assert "Exclude…</button>" in row
    assert ">Revoke</button>" not in row
