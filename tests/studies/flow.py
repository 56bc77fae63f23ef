"""Drive a participant through the pages with Django's test client, as a browser would."""

import re

from studies.models import Trial

TRIAL_ID = re.compile(r'name="trial" value="(\d+)"')
KEY = re.compile(r'name="idempotency_key" value="([0-9a-f]+)"')


def trial_form(response) -> tuple[int, str]:
    """Return the trial id and idempotency key in a rendered trial page."""
    html = response.content.decode()
    trial_id, key = TRIAL_ID.search(html), KEY.search(html)
    assert trial_id, "the page has no trial form"
    assert key, "the trial form has no idempotency key"
    return int(trial_id.group(1)), key.group(1)


def good_answer(trial: Trial, *, straight: bool = False) -> dict[str, str]:
    """Return a valid answer; attention checks and gold get the expected one."""
    expected = trial.item.expected or {}
    if "choice" in _fields(trial):
        if "side" in expected:
            return {"choice": expected["side"]}
        if expected.get("method"):
            sides = trial.payload["sides"]
            methods = [trial.item.frozen["explanations"][i]["method"] for i in sides]
            return {"choice": "left" if methods[0] == expected["method"] else "right"}
        return {"choice": "left" if straight else ("left" if trial.position % 2 else "right")}
    if "min" in expected:
        return {"rating": str(expected["min"])}
    return {"rating": "3" if straight else str(1 + trial.position % 5)}


def _fields(trial: Trial) -> set[str]:
    return {"choice"} if len(trial.item.methods) == 2 else {"rating"}


def consent_and_read(client, response):
    """From the consent page, agree and read the instructions; return the first trial page."""
    assert b"Information and consent" in response.content
    response = client.post(response.request["PATH_INFO"], {"agree": "yes"}, follow=True)
    assert b"Instructions" in response.content
    response = client.post(response.request["PATH_INFO"], follow=True)
    return response


def answer_all(client, response, *, straight: bool = False, questionnaire: dict | None = None):
    """Answer every trial, then the questionnaire; return the last response (not followed)."""
    while b"data-trial-form" in response.content:
        trial_id, key = trial_form(response)
        trial = Trial.objects.select_related("item").get(pk=trial_id)
        data = {"trial": trial_id, "idempotency_key": key, "client_duration_ms": "1234"}
        data.update(good_answer(trial, straight=straight))
        response = client.post(response.request["PATH_INFO"], data, follow=True)
        assert response.status_code == 200, response.content
    if b"A few last questions" in response.content:
        data = questionnaire or {f"ess_{k}": "4" for k in range(1, 9)}
        response = client.post(response.request["PATH_INFO"], data)
    return response


def acknowledged(response) -> bool:
    """Whether an answer POST was taken: its response is the next trial's page, with no error,
    or after the last trial a redirect to the next step."""
    if response.status_code == 302:
        return True
    return response.status_code == 200 and b'role="alert"' not in response.content
