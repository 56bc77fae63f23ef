"""Payments: rows and suggested decisions per outcome, the page and CSV, Prolific sync, actions."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from botocore.stub import Stubber
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from studies.models import Assignment, Participant, PaymentAction, Trial
from studies.payment_selectors import outcome_of, payment_rows, suggested_decision
from studies.platforms.mturk import MTurkClient, mturk_boto_client
from studies.platforms.prolific import ProlificClient
from studies.selectors import trial_current
from studies.services.assignment import EntryIds, participant_enter, participant_withdraw
from studies.services.participants import participant_complete, participant_consent
from studies.services.payments import bonuses_pay, decisions_send, prolific_sync, study_bonus_set
from studies.services.responses import response_submit

from .factories import make_study
from .flow import good_answer
from .prolific_transport import RecordedTransport, fixture

pytestmark = pytest.mark.django_db

P1, P2, P3 = "60d9aadeb86739de712faee0", "60d9aadeb86739de712faee1", "60d9aadeb86739de712faee2"


def prolific(pid: str, session: str = "") -> EntryIds:
    return EntryIds(
        source="prolific",
        prolific_pid=pid,
        prolific_study_id="6123abc",
        prolific_session_id=session or f"session-{pid}",
    )


def run(study, ids, *, fail_attention=0, answer=True):
    """Consent, then answer every trial (failing the first ``fail_attention`` attention checks)."""
    participant = participant_enter(study=study, ids=ids)
    participant_consent(participant=participant, agree=True)
    if not answer:
        return participant
    failed = 0
    start = timezone.now() - timedelta(minutes=30)
    k = 0
    while (trial := trial_current(participant.assignment)) is not None:
        trial = Trial.objects.select_related("item").get(pk=trial.pk)
        data = good_answer(trial)
        if trial.role == "attention_check" and failed < fail_attention:
            data = {"rating": str(trial.item.expected["max"] % 5 + 1)}
            failed += 1
        response_submit(
            participant=participant,
            trial_id=trial.pk,
            data=data,
            idempotency_key=f"{participant.pk}-{trial.pk}",
            now=start + timedelta(seconds=k),
        )
        k += 1
    # Twelve minutes after consenting (the answers' own times do not count).
    return participant_complete(participant=participant, now=timezone.now() + timedelta(minutes=12))


@pytest.fixture
def study(researcher, corpus):
    dataset, model = corpus
    return make_study(
        researcher,
        dataset,
        model,
        attention_check_positions=[2, 3],
        sources=["prolific", "mturk", "anonymous"],
        ratings_per_item=3,
    )


def by_pid(study):
    return {(r.platform_id or r.source): r for r in payment_rows(study)}


def test_rows_suggest_by_prolific_rule_for_each_outcome(study):
    run(study, prolific("ok"))
    run(study, prolific("one-failed"), fail_attention=1)
    run(study, prolific("two-failed"), fail_attention=2)
    participant_withdraw(participant=run(study, prolific("returned"), answer=False))
    run(study, prolific("going"), answer=False)
    run(
        study,
        EntryIds(source="mturk", mturk_worker_id="W1", mturk_assignment_id="A1", mturk_hit_id="H"),
    )
    run(study, EntryIds(source="anonymous"))
    rows = by_pid(study)
    got = {
        k: (r.outcome, r.decision, r.attention_passed, r.attention_failed) for k, r in rows.items()
    }
    assert got == {
        "ok": ("completed", "approve", 2, 0),
        "one-failed": ("completed", "approve", 1, 1),
        "two-failed": ("failed_checks", "reject", 0, 2),
        "returned": ("returned", "none", 0, 0),
        "going": ("in_progress", "none", 0, 0),
        "W1": ("completed", "approve", 2, 0),
        "anonymous": ("completed", "none", 2, 0),
    }
    ok = rows["ok"]
    assert (ok.gold_passed, ok.gold_failed) == (1, 0)  # gold shown, never decides
    assert ok.submission_id == "session-ok"
    assert ok.platform_study_id == "6123abc"
    assert ok.minutes == 12.0
    assert rows["going"].minutes is None
    assert ok.pseudonym.startswith("p_")
    assert ok.pseudonym != "ok"
    assert rows["W1"].submission_id == "A1"
    assert rows["ok"].bonus is None  # no bonus set
    assert [r.platform_id for r in payment_rows(study, decision="reject")] == ["two-failed"]


def test_the_decision_rule_is_prolifics_two_failed_attention_checks():
    assert suggested_decision(source="prolific", outcome="completed", attention_failed=2)[0] == (
        "reject"
    )
    assert suggested_decision(source="mturk", outcome="failed_checks", attention_failed=1) == (
        "approve",
        "failed 1 attention check (rejecting needs 2 or more)",
    )
    assert suggested_decision(source="prolific", outcome="screened_out", attention_failed=3)[0] == (
        "none"
    )
    assert suggested_decision(source="invited", outcome="completed", attention_failed=0)[0] == (
        "none"
    )


def test_outcome_comes_from_the_recorded_outcome_else_the_status(study):
    participant = run(study, prolific("x"), answer=False)
    assert outcome_of(participant) == "in_progress"
    participant.status, participant.outcome = Participant.Status.TIMED_OUT, ""
    assert outcome_of(participant) == "timed_out"
    participant.outcome = Participant.Outcome.SCREENED_OUT
    assert outcome_of(participant) == "screened_out"


def test_bonus_goes_to_approved_completed_only_and_is_validated(study):
    run(study, prolific("ok"))
    run(study, prolific("two-failed"), fail_attention=2)
    study_bonus_set(study=study, amount=Decimal("0.50"))
    rows = by_pid(study)
    assert (rows["ok"].bonus, rows["two-failed"].bonus) == (Decimal("0.50"), None)
    with pytest.raises(ValidationError) as caught:
        study_bonus_set(study=study, amount=Decimal("0"))
    assert "greater than or equal to 0.01" in caught.value.message_dict["bonus_amount"][0]


def test_page_and_csv_are_the_owners_only_and_the_csv_has_platform_ids(
    client, researcher, make_researcher, study
):
    run(study, prolific("ok"))
    run(study, prolific("=HYPERLINK(1)"), fail_attention=2)
    client.force_login(researcher)
    page = client.get(reverse("studies:study-payments", args=[study.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "only places that show Prolific and MTurk ids" in html
    assert "<code>ok</code>" in html
    assert "no bonus" in html
    assert "Sync with Prolific" not in html  # no token: no actions
    filtered = client.get(
        reverse("studies:study-payments", args=[study.pk]), {"decision": "reject"}
    )
    assert "<code>ok</code>" not in filtered.content.decode()
    assert "<code>=HYPERLINK(1)</code>" in filtered.content.decode()
    bad = client.get(reverse("studies:study-payments", args=[study.pk]), {"decision": "maybe"})
    assert "decision: expected one of approve, reject, none" in bad.content.decode()
    response = client.get(reverse("studies:study-payments-csv", args=[study.pk]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(table[0])[:4] == ["pseudonym", "source", "platform_id", "submission_id"]
    body = {row["platform_id"]: row for row in table}
    assert set(body) == {"ok", "'=HYPERLINK(1)"}  # a formula is defused
    assert body["ok"]["decision"] == "approve"
    assert body["'=HYPERLINK(1)"]["decision"] == "reject"
    client.force_login(make_researcher("mallory"))
    for name in ("studies:study-payments", "studies:study-payments-csv"):
        assert client.get(reverse(name, args=[study.pk])).status_code == 404
    assert client.post(reverse("studies:study-payments-bonus", args=[study.pk])).status_code == 404


def test_bonus_form_names_the_field_on_bad_input(client, researcher, study):
    client.force_login(researcher)
    url = reverse("studies:study-payments-bonus", args=[study.pk])
    page = client.post(url, {"bonus_amount": "lots"}, follow=True)
    assert "bonus_amount: &#x27;lots&#x27; is not an amount; expected e.g. 0.50" in (
        page.content.decode()
    )
    client.post(url, {"bonus_amount": "1.25"})
    study.refresh_from_db()
    assert study.bonus_amount == Decimal("1.25")


def test_sync_stores_statuses_and_frees_returned_and_timed_out_places(study):
    approved = run(study, prolific("5f1a2b3c4d5e6f7a8b9c0d11", P1))
    returned = run(study, prolific("5f1a2b3c4d5e6f7a8b9c0d12", P2), answer=False)
    timed_out = run(study, prolific("5f1a2b3c4d5e6f7a8b9c0d13", P3), answer=False)
    filled = sum(study.lists.values_list("filled", flat=True))
    transport = RecordedTransport(
        ("GET", "studies/6123abc/submissions/", 200, fixture("submissions_page1.json")),
        ("GET", "studies/6123abc/submissions/?page=2", 200, fixture("submissions_page2.json")),
    )
    report = prolific_sync(study=study, client=ProlificClient("t", transport))
    assert report.freed == 2
    assert report.unknown == 1
    assert report.statuses == {"AWAITING REVIEW": 1, "RETURNED": 2, "TIMED-OUT": 1}
    for p in (approved, returned, timed_out):
        p.refresh_from_db()
    assert (returned.status, returned.assignment.status) == ("returned", Assignment.Status.RETURNED)
    assert (timed_out.status, timed_out.assignment.status) == ("timed_out", "released")
    assert (approved.status, approved.platform_status) == ("completed", "AWAITING REVIEW")
    assert sum(study.lists.values_list("filled", flat=True)) == filled - 2
    assert PaymentAction.objects.filter(study=study, kind="free_place", ok=True).count() == 2
    again = RecordedTransport(
        ("GET", "studies/6123abc/submissions/", 200, fixture("submissions_page1.json")),
        ("GET", "studies/6123abc/submissions/?page=2", 200, fixture("submissions_page2.json")),
    )
    assert prolific_sync(study=study, client=ProlificClient("t", again)).freed == 0  # no double


def test_decisions_and_bonuses_are_sent_once_and_logged(study, researcher):
    run(study, prolific("5f1a2b3c4d5e6f7a8b9c0d11", P1))
    run(study, prolific("bad", "s-bad"), fail_attention=2)
    run(study, EntryIds(source="mturk", mturk_worker_id="W1", mturk_assignment_id="A1"))
    study_bonus_set(study=study, amount=Decimal("0.75"))
    transport = RecordedTransport(
        ("POST", f"submissions/{P1}/transition/", 200, fixture("transition_approve.json")),
        ("POST", "submissions/s-bad/transition/", 400, fixture("error_transition_400.json")),
    )
    boto = mturk_boto_client(sandbox=True, access_key_id="AKIDTEST", secret_access_key="s")
    with Stubber(boto) as stub:
        stub.add_response("approve_assignment", {}, {"AssignmentId": "A1"})
        report = decisions_send(
            study=study,
            by=researcher,
            prolific_client=ProlificClient("t", transport),
            mturk_client=MTurkClient(boto),
        )
        stub.assert_no_pending_responses()
    assert (report.ok, report.failed) == (2, 1)
    assert "HTTP 400: Submission can only be approved" in report.errors[0]
    assert transport.requests[1].body["rejection_category"] == "FAILED_CHECK"
    assert len(transport.requests[1].body["message"]) >= 100
    log = PaymentAction.objects.filter(study=study).order_by("pk")
    assert [(a.kind, a.platform, a.ok) for a in log] == [
        ("approve", "prolific", True),
        ("reject", "prolific", False),
        ("approve", "mturk", True),
    ]
    assert all(a.pseudonym.startswith("p_") for a in log)  # the log holds no platform id
    # Second click: the accepted ones are skipped; the refused one is tried again.
    retry = RecordedTransport(
        ("POST", "submissions/s-bad/transition/", 200, fixture("transition_reject.json")),
    )
    assert (
        decisions_send(study=study, by=researcher, prolific_client=ProlificClient("t", retry)).ok
        == 1
    )
    bonus_transport = RecordedTransport(
        ("POST", "submissions/bonus-payments/", 201, fixture("bonus_setup.json")),
        ("POST", "bulk-bonus-payments/62a0f5c8e3b5b3a2d1c0ffee/pay/", 202, b""),
    )
    with Stubber(boto) as stub:
        stub.add_response(
            "send_bonus",
            {},
            {
                "WorkerId": "W1",
                "BonusAmount": "0.75",
                "AssignmentId": "A1",
                "Reason": "Bonus for completing the study: thank you.",
                "UniqueRequestToken": f"elephant-bonus-{study.uid.hex}-{by_pid(study)['W1'].participant_id}",
            },
        )
        paid = bonuses_pay(
            study=study,
            by=researcher,
            prolific_client=ProlificClient("t", bonus_transport),
            mturk_client=MTurkClient(boto),
        )
        stub.assert_no_pending_responses()
    assert (paid.ok, paid.failed) == (2, 0)
    assert bonus_transport.requests[0].body == {
        "study_id": "6123abc",
        "csv_bonuses": "5f1a2b3c4d5e6f7a8b9c0d11,0.75",
    }
    assert (
        bonuses_pay(
            study=study, by=researcher, prolific_client=ProlificClient("t", RecordedTransport())
        ).ok
        == 0
    )


def test_actions_show_with_a_token_and_need_confirming(
    client, researcher, study, settings, monkeypatch
):
    settings.PROLIFIC_API_TOKEN = "t"
    run(study, prolific("5f1a2b3c4d5e6f7a8b9c0d11", P1))
    client.force_login(researcher)
    page = client.get(reverse("studies:study-payments", args=[study.pk])).content.decode()
    assert "Sync with Prolific" in page
    assert "Send approvals and rejections" in page
    transport = RecordedTransport(
        ("POST", f"submissions/{P1}/transition/", 200, fixture("transition_approve.json")),
    )
    monkeypatch.setattr(
        "studies.views.payments.prolific_client", lambda: ProlificClient("t", transport)
    )
    url = reverse("studies:study-payments-decide", args=[study.pk])
    unconfirmed = client.post(url, follow=True).content.decode()
    assert "confirm: tick the box to confirm; nothing was sent." in unconfirmed
    assert transport.requests == []
    done = client.post(url, {"confirm": "yes"}, follow=True).content.decode()
    assert "Approvals and rejections: 1 accepted, 0 refused." in done
    assert PaymentAction.objects.get(study=study).kind == "approve"
