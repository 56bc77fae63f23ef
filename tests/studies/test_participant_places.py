"""Places on a list: taken only at consent, one per browser, Prolific ids bound to their session."""

import re

import pytest
from django.test import Client

from studies import selectors
from studies.models import Assignment, Participant, Study, StudyList
from studies.services.assignment import EntryIds, participant_enter
from studies.services.invitations import invitations_create
from studies.services.participants import participant_consent

from .factories import make_study
from .flow import answer_all, consent_and_read, trial_form

pytestmark = pytest.mark.django_db
SANDBOX = "https://workersandbox.mturk.com"


def _study(researcher, corpus, **overrides):
    dataset, model = corpus
    return make_study(researcher, dataset, model, **overrides)


def _places(study) -> int:
    return sum(StudyList.objects.filter(study=study).values_list("filled", flat=True))


def _prolific(study, pid: str, session: str = "se-1") -> str:
    return f"/s/{study.uid}/?PROLIFIC_PID={pid}&STUDY_ID=st-1&SESSION_ID={session}"


def _links(study) -> dict[str, str]:
    (invitation,) = invitations_create(study=study, labels=["Dr A"])
    mturk = f"assignmentId=A1&hitId=H1&workerId=W1&turkSubmitTo={SANDBOX}"
    return {
        "anonymous": f"/s/{study.uid}/",
        "prolific": _prolific(study, "pid-new"),
        "mturk": f"/s/{study.uid}/?{mturk}",
        "invitation": f"/s/invite/{invitation.token}/",
    }


@pytest.mark.parametrize("kind", ["anonymous", "prolific", "mturk", "invitation"])
def test_opening_an_entry_link_stores_nothing_and_agreeing_takes_the_place(
    researcher, corpus, kind
):
    study = _study(researcher, corpus)
    link = _links(study)[kind]
    client = Client()
    page = client.get(link, follow=True)
    assert page.status_code == 200
    assert b"Information and consent" in page.content
    client.get(link, follow=True)  # a reload
    assert not Participant.objects.filter(study=study).exists()
    assert _places(study) == 0
    # "I agree" creates the participant with consent and a place, together.
    client.post(page.request["PATH_INFO"], {"agree": "yes"})
    participant = Participant.objects.get(study=study)
    assert participant.source == kind.replace("invitation", "invited")
    assert participant.consented_at is not None
    assert participant.status == Participant.Status.IN_PROGRESS
    assert participant.assignment.status == Assignment.Status.ACTIVE
    assert _places(study) == 1
    # The entry link again resumes them: no second row, no second place.
    assert b"Instructions" in client.get(link, follow=True).content
    assert Participant.objects.filter(study=study).count() == 1
    assert _places(study) == 1


def test_declining_stores_nothing(researcher, corpus):
    study = _study(researcher, corpus)
    client = Client()
    page = client.get(_prolific(study, "no-thanks"), follow=True)
    ended = client.post(page.request["PATH_INFO"], {"agree": "no"})
    assert ended.status_code == 200
    assert b"did not give your consent" in ended.content
    assert b"return the submission on Prolific" in ended.content
    assert not Participant.objects.exists()
    assert _places(study) == 0


def test_the_consent_page_refuses_a_changed_address(researcher, corpus):
    study = _study(researcher, corpus)
    page = Client().get(_prolific(study, "pid-1"), follow=True)
    path = page.request["PATH_INFO"]
    token = path.rstrip("/").rsplit("/", 1)[1]
    tampered = path.replace(token, token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"))
    refused = Client().post(tampered, {"agree": "yes"})
    assert refused.status_code == 400
    assert b"damaged or out of date" in refused.content
    # A token is valid for its own study only.
    other = _study(researcher, corpus, name="other study")
    moved = path.replace(str(study.uid), str(other.uid))
    assert Client().post(moved, {"agree": "yes"}).status_code == 400
    assert not Participant.objects.exists()


def test_two_tabs_agreeing_for_one_prolific_id_get_one_place(researcher, corpus):
    study = _study(researcher, corpus)
    first, second = Client(), Client()
    page_1 = first.get(_prolific(study, "twice"), follow=True)
    page_2 = second.get(_prolific(study, "twice"), follow=True)
    assert not Participant.objects.exists()
    first.post(page_1.request["PATH_INFO"], {"agree": "yes"})
    resumed = second.post(page_2.request["PATH_INFO"], {"agree": "yes"}, follow=True)
    assert b"Instructions" in resumed.content
    assert Participant.objects.filter(study=study).count() == 1
    assert _places(study) == 1


def test_a_full_study_at_consent_turns_away_without_a_place(researcher, corpus):
    study = _study(researcher, corpus, ratings_per_item=1)  # 3 lists x 1
    for k in range(3):
        client = Client()
        consent_and_read(client, client.get(_prolific(study, f"p{k}"), follow=True))
    late = Client()
    page = late.get(_prolific(study, "late"), follow=True)
    full = late.post(page.request["PATH_INFO"], {"agree": "yes"}, follow=True)
    assert b"This study is full" in full.content
    turned_away = Participant.objects.get(prolific_pid="late")
    assert turned_away.status == Participant.Status.FULL
    assert not Assignment.objects.filter(participant=turned_away).exists()
    assert _places(study) == 3


def test_a_study_closed_before_consent_stores_nothing(researcher, corpus):
    study = _study(researcher, corpus)
    client = Client()
    page = client.get(_prolific(study, "slow-reader"), follow=True)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.CLOSED)
    refused = client.post(page.request["PATH_INFO"], {"agree": "yes"})
    assert refused.status_code == 410
    assert not Participant.objects.exists()


def test_progress_counts_and_lists_only_those_who_agreed(researcher, corpus):
    study = _study(researcher, corpus)
    # Rows from before this rule, or made by a service: one only entered, one declined.
    participant_enter(study=study, ids=EntryIds(source="prolific", prolific_pid="looked"))
    declined = participant_enter(study=study, ids=EntryIds(source="prolific", prolific_pid="no"))
    participant_consent(participant=declined, agree=False)
    client = Client()
    consent_and_read(client, client.get(_prolific(study, "agreed"), follow=True))

    progress = selectors.study_progress(study)
    assert progress["participants"]["started"] == 1
    assert progress["participants"]["in_progress"] == 1
    assert "declined" not in progress["participants"]
    assert [p.prolific_pid for p in selectors.participants_of(study)] == ["agreed"]
    web = Client()
    web.force_login(researcher)
    page = web.get(f"/studies/{study.pk}/progress/")
    assert re.search(r"<strong>1</strong>started", page.content.decode())
    assert [p.prolific_pid for p in page.context["participants"]] == ["agreed"]
    assert "Declined" not in page.content.decode()
    # The one who only looked comes back (their link has no SESSION_ID): their own consent
    # page, and they count once they agree.
    client = Client()
    page = client.get(_prolific(study, "looked", session=""), follow=True)
    assert page.request["PATH_INFO"].endswith("/consent/")
    consent_and_read(client, page)
    assert selectors.study_progress(study)["participants"]["started"] == 2


@pytest.mark.parametrize(
    ("first", "second", "shown", "hidden"),
    [
        ("PROLIFIC_PID=5f3a00000000000000009c21", "PROLIFIC_PID=someone-else", "5f3a…9c21",
         "5f3a00000000000000009c21"),
        (f"assignmentId=A1&hitId=H&workerId=WORKER0001&turkSubmitTo={SANDBOX}",
         f"assignmentId=A2&hitId=H&workerId=WORKER0002&turkSubmitTo={SANDBOX}",
         "WO…01", "WORKER0001"),
    ],
    ids=["prolific", "mturk"],
)  # fmt: skip
def test_one_browser_takes_one_place_per_study(researcher, corpus, first, second, shown, hidden):
    study = _study(researcher, corpus)
    client = Client()
    consent_and_read(client, client.get(f"/s/{study.uid}/?{first}", follow=True))
    assert _places(study) == 1
    refused = client.get(f"/s/{study.uid}/?{second}")
    assert refused.status_code == 409
    html = refused.content.decode()
    assert "This browser already takes part in this study" in html
    assert shown in html
    assert hidden not in html
    assert "Continue there" in html
    assert Participant.objects.filter(study=study).count() == 1
    assert _places(study) == 1
    # The anonymous link in that browser resumes the participant it holds.
    assert b"data-trial-form" in client.get(f"/s/{study.uid}/", follow=True).content


def test_a_consent_page_opened_before_agreeing_as_someone_else_is_refused(researcher, corpus):
    study = _study(researcher, corpus)
    client = Client()
    first = client.get(_prolific(study, "first-id"), follow=True)
    second = client.get(_prolific(study, "second-id"), follow=True)  # another tab, same browser
    client.post(first.request["PATH_INFO"], {"agree": "yes"})
    refused = client.post(second.request["PATH_INFO"], {"agree": "yes"})
    assert refused.status_code == 409
    assert b"This browser already takes part" in refused.content
    assert list(Participant.objects.values_list("prolific_pid", flat=True)) == ["first-id"]
    assert _places(study) == 1


def test_an_invitation_in_a_browser_that_already_takes_part_is_refused(researcher, corpus):
    study = _study(researcher, corpus)
    (invitation,) = invitations_create(study=study, labels=["Dr B"])
    client = Client()
    consent_and_read(client, client.get(f"/s/{study.uid}/", follow=True))
    refused = client.get(f"/s/invite/{invitation.token}/")
    assert refused.status_code == 409
    assert b"as an anonymous participant" in refused.content
    invitation.refresh_from_db()
    assert invitation.used_at is None


def test_a_prolific_id_is_bound_to_its_session_id(researcher, corpus):
    study = _study(researcher, corpus, questionnaire_preset="explanation_satisfaction")
    client = Client()
    page = consent_and_read(client, client.get(_prolific(study, "pid-9", "se-1"), follow=True))
    current = trial_form(page)[0]
    # The same person, the same submission, another browser: resumed where they were.
    elsewhere = Client()
    assert trial_form(elsewhere.get(_prolific(study, "pid-9", "se-1"), follow=True))[0] == current
    # The same PROLIFIC_PID under another SESSION_ID: refused, in any browser.
    for browser in (Client(), client):
        refused = browser.get(_prolific(study, "pid-9", "se-2"))
        assert refused.status_code == 409
        assert b"another Prolific session (SESSION_ID)" in refused.content
    participant = Participant.objects.get(study=study)
    assert participant.prolific_session_id == "se-1"
    assert _places(study) == 1
    # And after completing, the bound session still leads to the completion redirect.
    last = answer_all(client, client.get(_prolific(study, "pid-9", "se-1"), follow=True))
    assert client.get(last["Location"]).status_code == 302
    assert Client().get(_prolific(study, "pid-9", "se-2")).status_code == 409


@pytest.mark.parametrize(
    "query",
    [
        "PROLIFIC_PID=5f3a%00x&STUDY_ID=st-1&SESSION_ID=se-1",
        "PROLIFIC_PID=5f3a&STUDY_ID=st-1&SESSION_ID=se%001",
        "assignmentId=a%001&workerId=w-1&hitId=h-1&turkSubmitTo=https://www.mturk.com",
    ],
)
def test_an_entry_link_with_a_nul_in_its_ids_is_refused_on_every_backend(researcher, corpus, query):
    """PostgreSQL text cannot hold NUL: such a link gets a 400 page, not a 500 (nor a row)."""
    study = _study(researcher, corpus, sources=["prolific", "mturk"])
    refused = Client().get(f"/s/{study.uid}/?{query}")
    assert refused.status_code == 400
    assert b"Its ids contain a NUL character." in refused.content
    assert not Participant.objects.filter(study=study).exists()
