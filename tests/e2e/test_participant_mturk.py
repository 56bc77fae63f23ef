"""An MTurk worker takes the study inside a cross-site iframe, as MTurk's ExternalQuestion
shows it: no cookie reaches the app, and the last page posts the HIT back to MTurk."""

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from studies.models import Participant, Response
from tests.studies.factories import film_corpus, make_study

pytestmark = pytest.mark.django_db(transaction=True)
SANDBOX = "https://workersandbox.mturk.com"


@pytest.fixture
def hit_page():
    """Serve MTurk's side: a page on 127.0.0.1 (another site than the app on localhost, but
    a local address, which Chromium lets frame a local app) that frames the task URL."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(task: str) -> str:
        src = html.escape(task, quote=True)
        pages["/hit"] = (
            f'<title>HIT</title><iframe src="{src}" width="1150" height="850"></iframe>'
        ).encode()
        return f"http://127.0.0.1:{server.server_port}/hit"

    yield serve
    server.shutdown()
    server.server_close()


def test_mturk_worker_completes_inside_a_cross_site_iframe(
    page, live_server, researcher, tmp_path, hit_page
):
    dataset, model = film_corpus(tmp_path, owner=researcher, n=24)
    study = make_study(researcher, dataset, model, study_type="plausibility_rating")
    task = (
        f"{live_server.url}/s/{study.uid}/?assignmentId=A-1&hitId=H-1&workerId=W-1"
        f"&turkSubmitTo={SANDBOX}"
    )
    posted: list[dict[str, list[str]]] = []

    def mturk(route) -> None:
        posted.append(parse_qs(route.request.post_data or ""))
        route.fulfill(content_type="text/html", body="<title>MTurk</title><h1>HIT submitted</h1>")

    page.route(f"{SANDBOX}/mturk/externalSubmit", mturk)
    page.goto(hit_page(task))
    frame = page.frame_locator("iframe")
    frame.get_by_role("button", name="I agree, start the study").click()
    frame.get_by_role("button", name="Start the practice").click()
    previous_key = None
    for k in range(9):  # 1 practice, 6 test, 1 attention check, 1 gold
        # Wait for the next trial's page, not the form of the one just submitted.
        key = "input[name=idempotency_key]"
        if previous_key is not None:
            key += f":not([value='{previous_key}'])"
        frame.locator(key).wait_for(state="attached")
        previous_key = frame.locator("input[name=idempotency_key]").get_attribute("value")
        instruction = frame.locator("p.instruction")
        text = instruction.inner_text() if instruction.count() else ""
        rating = text.split("choose ")[1][0] if "choose " in text else str(3 + k % 3)
        frame.locator(f"input[name=rating][value='{rating}']").check()
        frame.get_by_role("button", name="Next").click()
    # The last page posts the HIT back to MTurk by itself, from inside the frame.
    frame.get_by_role("heading", name="HIT submitted").wait_for()

    participant = Participant.objects.get(study=study)
    assert participant.status == Participant.Status.COMPLETED
    assert (participant.mturk_worker_id, participant.mturk_assignment_id) == ("W-1", "A-1")
    assert Response.objects.filter(participant=participant).count() == 9
    assert posted == [{"assignmentId": ["A-1"], "completion_code": [study.completion_code]}]
    # The app's session cookie (SameSite=Lax) is refused in a cross-site frame: the flow
    # ran on the participant's uid in the URL alone.
    assert page.context.cookies(live_server.url) == []
