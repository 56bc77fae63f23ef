"""Drive the participant pages with the keyboard alone, checking each page's accessibility.

Every function here presses keys (Tab, Enter, Space, digits, arrows) as a participant
would, never clicks, and runs :func:`tests.e2e.a11y.check_page` on each page it arrives at.
"""

import base64
import re
from collections.abc import Callable

from playwright.sync_api import Page

from . import a11y

PROLIFIC_COMPLETE = "https://app.prolific.com/submissions/complete"
ATTENTION_NUMBER = re.compile(r"choose (\d+) for this item")
ATTENTION_LABEL = re.compile(r"choose “([^”]+)” for this item")
ATTENTION_WORD = re.compile(r"mark only the (first|second) word")
ATTENTION_SIDE = re.compile(r"choose Explanation ([AB]) \((left|right)\) for this item")


def arrive(page: Page) -> None:
    """Check the page the browser has just arrived at."""
    page.wait_for_load_state("load")
    # Chromium applies autofocus at its next rendering step, after "load": wait for it, so
    # the check (which puts the focus back where it found it) does not race it.
    page.wait_for_function(
        "() => !document.querySelector('[autofocus]')"
        " || document.activeElement === document.querySelector('[autofocus]')"
    )
    a11y.check_page(page)


def stub_prolific(page: Page) -> None:
    """Answer Prolific's completion URL with a stub page (the tests run offline).

    Playwright's ``route`` never sees a request that follows a redirect, and the flow
    reaches Prolific by a redirect, so this intercepts with Chromium's own Fetch domain.
    """
    cdp = page.context.new_cdp_session(page)
    body = base64.b64encode(b"<title>Prolific</title><h1>Prolific (stub)</h1>").decode()

    def fulfil(event: dict) -> None:
        cdp.send(
            "Fetch.fulfillRequest",
            {
                "requestId": event["requestId"],
                "responseCode": 200,
                "responseHeaders": [{"name": "Content-Type", "value": "text/html"}],
                "body": body,
            },
        )

    cdp.on("Fetch.requestPaused", fulfil)
    cdp.send("Fetch.enable", {"patterns": [{"urlPattern": f"{PROLIFIC_COMPLETE}*"}]})


def tab_to(page: Page, selector: str, *, limit: int = 60) -> None:
    """Press Tab until the focused element matches ``selector``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector} on {page.url}")


def press_and_wait(page: Page, key: str) -> None:
    """Press ``key`` and wait for the page it submits to, then check that page."""
    with page.expect_navigation():
        page.keyboard.press(key)
    arrive(page)


def consent_and_start(page: Page) -> None:
    """On the consent page, Tab to "I agree" and press Enter; start from the instructions."""
    page.get_by_role("heading", name="Information and consent").wait_for()
    tab_to(page, "button[name=agree][value=yes]")
    press_and_wait(page, "Enter")
    page.get_by_role("heading", name="Instructions").wait_for()
    # The start button has the focus already (autofocus): Enter starts.
    assert page.evaluate("document.activeElement.tagName") == "BUTTON"
    press_and_wait(page, "Enter")


def trial_id(page: Page) -> int:
    return int(page.locator("input[name=trial]").input_value())


def on_trial(page: Page) -> bool:
    return page.locator("form[data-trial-form]").count() == 1


def instruction(page: Page) -> str:
    box = page.locator("p.instruction")
    return box.inner_text() if box.count() else ""


def choose_and_submit(page: Page, key: str, *, checked: str | None = None) -> None:
    """Press ``key`` to choose an option, check that ``checked`` is now selected, press Enter."""
    page.keyboard.press(key)
    if checked is not None:
        assert page.locator(f"{checked}:checked").count() == 1, f"{key} did not select {checked}"
    press_and_wait(page, "Enter")


def rating_key(page: Page, k: int) -> str:
    """Return the number key of a rating trial: the one an attention check asks for, else a
    rating among 3..5 (at or above the midpoint, so gold items pass; varied, so the answers
    do not straight-line)."""
    match = ATTENTION_NUMBER.search(instruction(page))
    return match.group(1) if match else str(3 + k % 3)


def answer_ratings(page: Page, *, stop_after: int | None = None) -> list[int]:
    """Answer rating trials with number keys and Enter; return the trial ids answered."""
    answered: list[int] = []
    while on_trial(page) and (stop_after is None or len(answered) < stop_after):
        key = rating_key(page, len(answered))
        answered.append(trial_id(page))
        choose_and_submit(page, key, checked=f"input[name=rating][value='{key}']")
    return answered


def radio_groups(page: Page) -> list[str]:
    """Return the names of the radio groups in ``<main>``, in DOM order."""
    names: list[str] = page.evaluate(
        """() => [...new Set(Array.from(document.querySelectorAll("main input[type=radio]"))
                   .map((r) => r.name))]"""
    )
    return names


def choose_in_group(page: Page, name: str, position: int) -> str:
    """Tab to radio group ``name``, Space for its first option, ArrowRight to the
    ``position``-th (1-based); return the value chosen."""
    tab_to(page, f"input[type=radio][name='{name}']")
    page.keyboard.press("Space")
    for _ in range(position - 1):
        page.keyboard.press("ArrowRight")
    return page.locator(f"input[name='{name}']:checked").input_value()


def answer_questionnaire(page: Page, value: Callable[[int], int] = lambda k: 1 + k % 5) -> int:
    """Answer every Likert question with Tab, Space and arrows, then Tab to Finish and Enter.

    Return the number of questions answered.
    """
    page.get_by_role("heading", name="A few last questions").wait_for()
    names = radio_groups(page)
    for k, name in enumerate(names):
        chosen = choose_in_group(page, name, value(k))
        assert chosen == str(value(k)), (name, chosen)
    tab_to(page, "button[type=submit]:not(.link-button)")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    return len(names)
