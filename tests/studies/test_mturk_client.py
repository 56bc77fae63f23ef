"""The MTurk client through boto3, checked with botocore's Stubber: exact parameters, no network."""

from decimal import Decimal

import pytest
from botocore.stub import Stubber

from studies.platforms.mturk import (
    LIVE_ENDPOINT,
    SANDBOX_ENDPOINT,
    MTurkClient,
    MTurkError,
    mturk_boto_client,
)

ASSIGNMENT = "3AMYWKA6YBLU92KSOGLNT786ESOY6A"
WORKER = "A1B2C3D4E5F6G7"


@pytest.fixture
def boto():
    # Dummy credentials: the Stubber answers every call, nothing leaves the machine.
    return mturk_boto_client(
        sandbox=True, access_key_id="AKIDTESTTESTTEST", secret_access_key="test-secret"
    )


def test_sandbox_or_live_endpoint_by_setting():
    live = mturk_boto_client(sandbox=False, access_key_id="AKIDTEST", secret_access_key="s")
    sandbox = mturk_boto_client(sandbox=True, access_key_id="AKIDTEST", secret_access_key="s")
    assert live.meta.endpoint_url == LIVE_ENDPOINT
    assert sandbox.meta.endpoint_url == SANDBOX_ENDPOINT
    assert sandbox.meta.region_name == "us-east-1"


def test_approve_reject_and_bonus_send_exactly_these_parameters(boto):
    with Stubber(boto) as stub:
        stub.add_response("approve_assignment", {}, {"AssignmentId": ASSIGNMENT})
        stub.add_response(
            "reject_assignment",
            {},
            {"AssignmentId": ASSIGNMENT, "RequesterFeedback": "Failed 2 attention checks."},
        )
        stub.add_response(
            "send_bonus",
            {},
            {
                "WorkerId": WORKER,
                "BonusAmount": "0.50",
                "AssignmentId": ASSIGNMENT,
                "Reason": "Thank you.",
                "UniqueRequestToken": "elephant-bonus-1",
            },
        )
        client = MTurkClient(boto)
        client.approve(ASSIGNMENT)
        client.reject(ASSIGNMENT, feedback="Failed 2 attention checks.")
        client.send_bonus(
            worker_id=WORKER,
            assignment_id=ASSIGNMENT,
            amount=Decimal("0.5"),
            reason="Thank you.",
            unique_token="elephant-bonus-1",
        )
        stub.assert_no_pending_responses()


def test_errors_name_the_operation_and_mturk_message(boto):
    with Stubber(boto) as stub:
        stub.add_client_error(
            "approve_assignment",
            service_error_code="RequestError",
            service_message="This operation can be called with a status of: Submitted",
            http_status_code=400,
        )
        with pytest.raises(MTurkError) as caught:
            MTurkClient(boto).approve(ASSIGNMENT)
    assert str(caught.value) == (
        "MTurk approve_assignment: RequestError: "
        "This operation can be called with a status of: Submitted"
    )


def test_rejecting_needs_a_reason(boto):
    with Stubber(boto) as stub:
        with pytest.raises(ValueError, match="feedback: MTurk needs a reason"):
            MTurkClient(boto).reject(ASSIGNMENT, feedback="  ")
        stub.assert_no_pending_responses()  # nothing was sent
