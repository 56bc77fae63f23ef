"""A Prolific transport that answers from recorded fixtures and keeps every request sent."""

import json
from pathlib import Path

from studies.platforms.prolific import HttpRequest, HttpResponse

FIXTURES = Path(__file__).parent / "fixtures" / "prolific"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str):
    return json.loads(fixture(name))


class RecordedTransport:
    """Answer each expected (method, path) in order with its recorded status and body."""

    def __init__(self, *answers: tuple[str, str, int, bytes]) -> None:
        self.answers = list(answers)
        self.requests: list[HttpRequest] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        assert self.answers, f"unexpected request {request.method} {request.path}"
        method, path, status, body = self.answers.pop(0)
        assert (request.method, request.path) == (method, path)
        return HttpResponse(status=status, body=body)
