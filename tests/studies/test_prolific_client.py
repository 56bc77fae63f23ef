"""The Prolific client: exact requests, recorded answers, errors naming the endpoint."""

from decimal import Decimal

import pytest

from studies.platforms.prolific import (
    ProlificClient,
    ProlificError,
    Submission,
    _next_path,
)

from .prolific_transport import RecordedTransport, fixture, fixture_json

TOKEN = "test-token-not-real"  # noqa: S105
AUTH = {"Authorization": f"Token {TOKEN}", "Accept": "application/json"}
JSON_AUTH = {**AUTH, "Content-Type": "application/json"}


def test_submissions_follow_the_pages_with_the_token_header():
    transport = RecordedTransport(
        ("GET", "studies/6123abc/submissions/", 200, fixture("submissions_page1.json")),
        ("GET", "studies/6123abc/submissions/?page=2", 200, fixture("submissions_page2.json")),
    )
    found = ProlificClient(TOKEN, transport).submissions("6123abc")
    assert [s.status for s in found] == ["AWAITING REVIEW", "RETURNED", "TIMED-OUT", "RETURNED"]
    assert found[0] == Submission(
        id="60d9aadeb86739de712faee0",
        participant_id="5f1a2b3c4d5e6f7a8b9c0d11",
        status="AWAITING REVIEW",
        started_at="2026-12-01T10:00:00.000000Z",
        completed_at="2026-12-01T10:12:30.000000Z",
    )
    assert [dict(r.headers) for r in transport.requests] == [AUTH, AUTH]
    assert [r.body for r in transport.requests] == [None, None]


def test_approve_and_reject_post_the_transition_with_prolific_fields():
    transport = RecordedTransport(
        (
            "POST",
            "submissions/60d9aadeb86739de712faee0/transition/",
            200,
            fixture("transition_approve.json"),
        ),
        (
            "POST",
            "submissions/60d9aadeb86739de712faee0/transition/",
            200,
            fixture("transition_reject.json"),
        ),
    )
    client = ProlificClient(TOKEN, transport)
    approved = client.approve("60d9aadeb86739de712faee0")
    message = "You failed two attention checks. " * 4
    rejected = client.reject("60d9aadeb86739de712faee0", message=message, category="FAILED_CHECK")
    assert (approved.status, rejected.status) == ("APPROVED", "REJECTED")
    # Older answers name the participant "participant".
    assert approved.participant_id == "5f1a2b3c4d5e6f7a8b9c0d11"
    assert [r.body for r in transport.requests] == [
        {"action": "APPROVE"},
        {"action": "REJECT", "message": message, "rejection_category": "FAILED_CHECK"},
    ]
    assert all(dict(r.headers) == JSON_AUTH for r in transport.requests)


def test_reject_refuses_what_prolific_would_refuse_before_sending():
    transport = RecordedTransport()
    client = ProlificClient(TOKEN, transport)
    with pytest.raises(ValueError, match="message: Prolific needs at least 100 characters"):
        client.reject("s1", message="too short", category="FAILED_CHECK")
    with pytest.raises(ValueError, match="category: 'BAD' is not one of"):
        client.reject("s1", message="x" * 100, category="BAD")
    assert transport.requests == []


def test_bonuses_are_set_up_as_csv_then_paid():
    transport = RecordedTransport(
        ("POST", "submissions/bonus-payments/", 201, fixture("bonus_setup.json")),
        ("POST", "bulk-bonus-payments/62a0f5c8e3b5b3a2d1c0ffee/pay/", 202, b""),
    )
    client = ProlificClient(TOKEN, transport)
    setup = client.bonus_setup(
        "6123abc",
        [("5f1a2b3c4d5e6f7a8b9c0d11", Decimal("0.5")), ("5f1a2b3c4d5e6f7a8b9c0d12", Decimal("1"))],
    )
    client.bonus_pay(setup.id)
    expected = fixture_json("bonus_setup.json")
    assert (setup.id, setup.amount, setup.fees, setup.total_amount) == (
        expected["id"],
        150,
        50,
        200,
    )
    assert transport.requests[0].body == {
        "study_id": "6123abc",
        "csv_bonuses": "5f1a2b3c4d5e6f7a8b9c0d11,0.50\n5f1a2b3c4d5e6f7a8b9c0d12,1.00",
    }
    assert transport.requests[1].body is None
    assert dict(transport.requests[1].headers) == AUTH


def test_an_http_error_names_the_endpoint_status_and_prolific_detail():
    transport = RecordedTransport(
        ("POST", "submissions/s1/transition/", 400, fixture("error_transition_400.json")),
    )
    with pytest.raises(ProlificError) as caught:
        ProlificClient(TOKEN, transport).approve("s1")
    assert str(caught.value) == (
        "Prolific POST submissions/s1/transition/: HTTP 400: "
        "Submission can only be approved or rejected when it is awaiting review."
    )
    assert caught.value.status == 400


def test_text_errors_network_failures_and_odd_answers_are_prolific_errors():
    transport = RecordedTransport(
        ("GET", "studies/x/submissions/", 401, b"Unauthorized"),
        ("GET", "studies/x/submissions/", 200, b"<html>not json</html>"),
        ("GET", "studies/x/submissions/", 200, b'{"data": []}'),
    )
    client = ProlificClient(TOKEN, transport)
    with pytest.raises(ProlificError, match=r"GET studies/x/submissions/: HTTP 401: Unauthorized"):
        client.submissions("x")
    with pytest.raises(ProlificError, match="answer is not JSON"):
        client.submissions("x")
    with pytest.raises(ProlificError, match="unexpected answer: missing 'results'"):
        client.submissions("x")

    def offline(request):
        raise OSError("Name or service not known")

    with pytest.raises(ProlificError, match="no answer: Name or service not known"):
        ProlificClient(TOKEN, offline).approve("s1")


def test_the_client_needs_a_token_and_next_links_map_below_the_base_url():
    with pytest.raises(ValueError, match="PROLIFIC_API_TOKEN is empty"):
        ProlificClient("")
    assert _next_path({"_links": {"next": {"href": None}}}) is None
    assert _next_path({}) is None
    assert (
        _next_path(
            {
                "_links": {
                    "next": {
                        "href": "https://api.prolific.com/api/v1/studies/a/submissions/?page=3"
                    }
                }
            }
        )
        == "studies/a/submissions/?page=3"
    )
