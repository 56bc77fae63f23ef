"""Approve, reject and bonus MTurk assignments through boto3's ``mturk`` client.

``MTURK_SANDBOX`` (on by default) sends everything to the requester sandbox, where no money
moves; off, to the live marketplace. Credentials are boto3's own (``MTURK_ACCESS_KEY_ID`` and
``MTURK_SECRET_ACCESS_KEY`` when set, else its usual chain). MTurk lives in us-east-1 only.
"""

from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

REGION = "us-east-1"
SANDBOX_ENDPOINT = "https://mturk-requester-sandbox.us-east-1.amazonaws.com"
LIVE_ENDPOINT = "https://mturk-requester.us-east-1.amazonaws.com"
MAX_FEEDBACK = 1024  # MTurk's limit on RequesterFeedback


class MTurkError(Exception):
    """MTurk refused a call or could not be reached; names the operation."""

    def __init__(self, operation: str, detail: str) -> None:
        self.operation, self.detail = operation, detail
        super().__init__(f"MTurk {operation}: {detail}"[:500])


def mturk_boto_client(
    *, sandbox: bool, access_key_id: str = "", secret_access_key: str = ""
) -> Any:
    """Return boto3's ``mturk`` client for the sandbox or the live marketplace."""
    credentials = (
        {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key}
        if access_key_id
        else {}
    )
    return boto3.client(
        "mturk",
        region_name=REGION,
        endpoint_url=SANDBOX_ENDPOINT if sandbox else LIVE_ENDPOINT,
        **credentials,
    )


class MTurkClient:
    """The three requester calls payments need, with errors that name the operation."""

    def __init__(self, boto_client: Any) -> None:
        self._client = boto_client

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = getattr(self._client, operation)(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise MTurkError(
                operation, f"{error.get('Code', 'error')}: {error.get('Message', '')}"
            ) from exc
        except BotoCoreError as exc:
            raise MTurkError(operation, str(exc)) from exc
        return answer

    def approve(self, assignment_id: str, *, feedback: str = "") -> None:
        """Approve the assignment (the worker is paid the HIT's reward)."""
        params: dict[str, Any] = {"AssignmentId": assignment_id}
        if feedback:
            params["RequesterFeedback"] = feedback[:MAX_FEEDBACK]
        self._call("approve_assignment", **params)

    def reject(self, assignment_id: str, *, feedback: str) -> None:
        """Reject the assignment; ``feedback`` tells the worker why (MTurk requires it)."""
        if not feedback.strip():
            raise ValueError("feedback: MTurk needs a reason to reject; got an empty one")
        self._call(
            "reject_assignment",
            AssignmentId=assignment_id,
            RequesterFeedback=feedback[:MAX_FEEDBACK],
        )

    def send_bonus(
        self,
        *,
        worker_id: str,
        assignment_id: str,
        amount: Decimal,
        reason: str,
        unique_token: str,
    ) -> None:
        """Pay ``amount`` US dollars; ``unique_token`` makes a retried call pay only once."""
        self._call(
            "send_bonus",
            WorkerId=worker_id,
            BonusAmount=f"{amount:.2f}",
            AssignmentId=assignment_id,
            Reason=reason,
            UniqueRequestToken=unique_token[:64],
        )
