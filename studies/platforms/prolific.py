"""A small typed client of Prolific's researcher API (v1), on when ``PROLIFIC_API_TOKEN`` is set.

Every request goes to ``https://api.prolific.com/api/v1/`` with the header
``Authorization: Token <token>`` and JSON bodies. The endpoints used, as Prolific's API
reference documents them:

- ``GET studies/{study_id}/submissions/``: the study's submissions, paged;
  ``{"results": [{"id", "participant_id", "status", "started_at", "completed_at", ...}],
  "_links": {"next": {"href": url or null}, ...}, "meta": {"count": n}}``. ``status`` is one
  of ACTIVE, AWAITING REVIEW, APPROVED, REJECTED, RETURNED, TIMED-OUT, SCREENED OUT.
- ``POST submissions/{submission_id}/transition/`` with ``{"action": "APPROVE"}`` or
  ``{"action": "REJECT", "message": ..., "rejection_category": ...}`` (the message is shown
  to the participant and must be at least 100 characters); answers the submission.
- ``POST submissions/bonus-payments/`` with ``{"study_id": ..., "csv_bonuses":
  "<participant id>,<amount>\\n..."}`` sets bonuses up (amounts in the study's currency, as
  decimals); answers ``{"id", "study", "amount", "fees", "total_amount"}`` (in the minor
  unit, e.g. pence).
- ``POST bulk-bonus-payments/{id}/pay/`` pays what was set up (202, empty body).

A submission's id is the ``SESSION_ID`` Prolific passed at entry. Requests go through a
:class:`Transport`, so tests inject recorded responses and see the exact requests.
"""

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import urlsplit

BASE_URL = "https://api.prolific.com/api/v1/"
TIMEOUT_SECONDS = 30
MIN_REJECTION_MESSAGE = 100  # Prolific refuses shorter rejection messages

# Submission statuses (Prolific's spelling).
RETURNED = "RETURNED"
TIMED_OUT = "TIMED-OUT"
AWAITING_REVIEW = "AWAITING REVIEW"
REJECTION_CATEGORIES = frozenset(
    {
        "TOO_QUICKLY",
        "TOO_SLOWLY",
        "FAILED_INSTRUCTIONS",
        "INCOMP_LONGITUDINAL",
        "FAILED_CHECK",
        "LOW_EFFORT",
        "MALINGERING",
        "NO_CODE",
        "BAD_CODE",
        "NO_DATA",
        "UNSUPP_DEVICE",
        "OTHER",
    }
)


@dataclass(frozen=True)
class HttpRequest:
    """One request as sent: method, path below the base URL, headers and JSON body."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes


class Transport(Protocol):
    def __call__(self, request: HttpRequest) -> HttpResponse: ...


class ProlificError(Exception):
    """Prolific answered an error, or something it should not have; names the endpoint."""

    def __init__(self, method: str, path: str, status: int | None, detail: str) -> None:
        self.method, self.path, self.status, self.detail = method, path, status, detail
        said = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"Prolific {method} {path}: {said}: {detail}"[:500])


@dataclass(frozen=True)
class Submission:
    id: str
    participant_id: str
    status: str
    started_at: str | None
    completed_at: str | None


@dataclass(frozen=True)
class BonusSetup:
    """Bonuses set up and not yet paid; amounts in the currency's minor unit (pence, cents)."""

    id: str
    study_id: str
    amount: int
    fees: int
    total_amount: int


def urllib_transport(request: HttpRequest) -> HttpResponse:
    """Send ``request`` to Prolific with the standard library; errors come back as statuses."""
    data = None if request.body is None else json.dumps(request.body).encode()
    outgoing = urllib.request.Request(  # noqa: S310  # BASE_URL is https, fixed here
        BASE_URL + request.path, data=data, method=request.method, headers=dict(request.headers)
    )
    try:
        with urllib.request.urlopen(outgoing, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            return HttpResponse(status=answer.status, body=answer.read())
    except urllib.error.HTTPError as exc:
        return HttpResponse(status=exc.code, body=exc.read())


class ProlificClient:
    """Prolific's researcher API: submissions, approve and reject, bonuses."""

    def __init__(self, token: str, transport: Transport = urllib_transport) -> None:
        if not token:
            raise ValueError("PROLIFIC_API_TOKEN is empty; expected Prolific's API token")
        self._token = token
        self._transport = transport

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Token {self._token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = HttpRequest(method=method, path=path, headers=headers, body=body)
        try:
            response = self._transport(request)
        except OSError as exc:  # network down, DNS, timeout
            raise ProlificError(method, path, None, str(exc)) from exc
        if not 200 <= response.status < 300:
            raise ProlificError(method, path, response.status, _error_detail(response.body))
        if not response.body.strip():
            return None
        try:
            return json.loads(response.body)
        except ValueError as exc:
            raise ProlificError(method, path, response.status, "answer is not JSON") from exc

    def submissions(self, study_id: str) -> list[Submission]:
        """Return every submission of Prolific study ``study_id``, following the pages."""
        path: str | None = f"studies/{study_id}/submissions/"
        found: list[Submission] = []
        while path is not None:
            page = self._call("GET", path)
            try:
                found.extend(_submission(item) for item in page["results"])
            except (KeyError, TypeError) as exc:
                raise ProlificError("GET", path, 200, f"unexpected answer: missing {exc}") from exc
            path = _next_path(page)
        return found

    def approve(self, submission_id: str) -> Submission:
        """Approve submission ``submission_id`` (the participant is paid the reward)."""
        path = f"submissions/{submission_id}/transition/"
        return _submission(self._call("POST", path, {"action": "APPROVE"}))

    def reject(self, submission_id: str, *, message: str, category: str) -> Submission:
        """Reject submission ``submission_id`` with ``message`` shown to the participant."""
        if len(message) < MIN_REJECTION_MESSAGE:
            raise ValueError(
                f"message: Prolific needs at least {MIN_REJECTION_MESSAGE} characters, "
                f"got {len(message)}"
            )
        if category not in REJECTION_CATEGORIES:
            raise ValueError(f"category: {category!r} is not one of Prolific's categories")
        body = {"action": "REJECT", "message": message, "rejection_category": category}
        return _submission(self._call("POST", f"submissions/{submission_id}/transition/", body))

    def bonus_setup(self, study_id: str, bonuses: Sequence[tuple[str, Decimal]]) -> BonusSetup:
        """Set up bonuses (participant id, amount) for study ``study_id``; nothing is paid yet."""
        csv_bonuses = "\n".join(f"{pid},{amount:.2f}" for pid, amount in bonuses)
        answer = self._call(
            "POST",
            "submissions/bonus-payments/",
            {"study_id": study_id, "csv_bonuses": csv_bonuses},
        )
        try:
            return BonusSetup(
                id=str(answer["id"]),
                study_id=str(answer["study"]),
                amount=int(answer["amount"]),
                fees=int(answer["fees"]),
                total_amount=int(answer["total_amount"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProlificError(
                "POST", "submissions/bonus-payments/", 201, f"unexpected answer: {exc}"
            ) from exc

    def bonus_pay(self, setup_id: str) -> None:
        """Pay the bonuses set up as ``setup_id``."""
        self._call("POST", f"bulk-bonus-payments/{setup_id}/pay/")


def _submission(item: Any) -> Submission:
    return Submission(
        id=str(item["id"]),
        # Older answers name the participant "participant", newer ones "participant_id".
        participant_id=str(item.get("participant_id") or item.get("participant") or ""),
        status=str(item["status"]),
        started_at=item.get("started_at"),
        completed_at=item.get("completed_at"),
    )


def _next_path(page: Mapping[str, Any]) -> str | None:
    """Return the next page's path below the base URL, or None on the last page."""
    href = ((page.get("_links") or {}).get("next") or {}).get("href")
    if not href:
        return None
    parts = urlsplit(href)
    path = parts.path.removeprefix(urlsplit(BASE_URL).path)
    return path + (f"?{parts.query}" if parts.query else "")


def _error_detail(body: bytes) -> str:
    """Return Prolific's error message from an error body (JSON or text)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode(errors="replace").strip()[:300] or "(empty body)"
    if isinstance(data, Mapping):
        error = data.get("error", data)
        if isinstance(error, Mapping):
            detail = error.get("detail") or error.get("title") or error
            return str(detail)[:300]
        return str(error)[:300]
    return str(data)[:300]
