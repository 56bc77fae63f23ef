"""Importing a dataset on the web page in a real browser, keyboard only (issue #15): the
error summary takes the focus and names line and field, the drop zone fills the file input,
the upload goes through XMLHttpRequest with a progress bar, and success lands on the
dataset page with the count."""

import json

import pytest

from explanations.models import Dataset
from tests.explanations.factories import RECORDS

from . import a11y

pytestmark = pytest.mark.django_db(transaction=True)

# Record every value the page gives a <progress>, across the script's swap of <main>.
RECORD_PROGRESS = """() => {
  window.progressValues = [];
  const own = Object.getOwnPropertyDescriptor(HTMLProgressElement.prototype, "value");
  Object.defineProperty(HTMLProgressElement.prototype, "value", {
    get() { return own.get.call(this); },
    set(v) { window.progressValues.push(v); own.set.call(this, v); },
  });
}"""

DROP = """([name, body]) => {
  const files = new DataTransfer();
  files.items.add(new File([body], name, {type: "application/octet-stream"}));
  const zone = document.querySelector("[data-drop-zone]");
  zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: files, cancelable: true}));
  zone.dispatchEvent(new DragEvent("drop", {dataTransfer: files, cancelable: true}));
}"""


def press(page, locator, key="Enter"):
    """Focus ``locator`` as Tab would and press ``key`` on it."""
    locator.focus()
    page.keyboard.press(key)


def lines(records: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def test_upload_keyboard_only_with_errors_then_success(logged_in, live_server):
    page = logged_in
    press(page, page.get_by_role("link", name="Import a dataset file"))
    page.get_by_role("heading", name="Import a dataset").wait_for()
    a11y.check_page(page)
    page.evaluate(RECORD_PROGRESS)
    page.evaluate("window.sameDocument = true")  # gone if the browser navigates

    # A file with a bad line: nothing is imported, the summary says where, with the focus.
    bad = [RECORDS[0], {"id": "a2", "label": "negative"}]
    page.locator("#id_file").set_input_files(
        files=[{"name": "mine.jsonl", "mimeType": "application/octet-stream", "buffer": lines(bad)}]
    )
    page.locator("#id_name").focus()
    page.keyboard.type("web-films")
    press(page, page.get_by_role("button", name="Import"))
    summary = page.locator(".error-summary")
    summary.wait_for()
    page.wait_for_function("document.activeElement.classList.contains('error-summary')")
    assert summary.get_attribute("role") == "alert"
    assert "mine.jsonl, line 2, field 'text'" in summary.inner_text()
    assert page.evaluate("window.sameDocument") is True  # the script's XHR, not a reload
    assert 100 in page.evaluate("window.progressValues")
    assert not Dataset.objects.filter(name="web-films").exists()
    a11y.check_page(page)

    # The good file dropped on the zone; the name was kept; Enter on the button imports it.
    page.evaluate(DROP, ["films.jsonl", lines(RECORDS).decode()])
    page.get_by_text("Chosen: films.jsonl").wait_for()
    assert page.evaluate("document.getElementById('id_file').files[0].name") == "films.jsonl"
    assert page.locator("#id_name").input_value() == "web-films"
    press(page, page.get_by_role("button", name="Import"))
    page.wait_for_url(f"{live_server.url}/datasets/web-films/")
    page.get_by_text("Added 3 instance(s) to dataset web-films").wait_for()
    assert Dataset.objects.get(name="web-films").instances.count() == 3


def test_upload_with_errors_lists_every_line_and_field(logged_in, live_server):
    """Every bad line of a CSV in the summary, focused; nothing stored; the form kept."""
    page = logged_in
    press(page, page.get_by_role("link", name="Import a dataset file"))
    page.get_by_role("heading", name="Import a dataset").wait_for()
    body = (
        "id,text,label\n"
        "r1,A fine film.,positive\n"
        "r2,,negative\n"
        "r1,Seen twice.,positive\n"
        "r4,No label here.,\n"
    )
    page.wait_for_load_state("domcontentloaded")  # the deferred script listens for the drop
    page.evaluate(DROP, ["reviews.csv", body])
    page.get_by_text("Chosen: reviews.csv").wait_for()
    page.locator("#id_name").focus()
    page.keyboard.type("web-reviews")
    press(page, page.get_by_role("button", name="Import"))

    summary = page.get_by_role("alert")
    summary.wait_for()
    page.wait_for_function("document.activeElement.classList.contains('error-summary')")
    assert summary.get_by_role("heading").inner_text() == (
        "Nothing was imported: 3 problems in the file"
    )
    assert summary.locator("li.problem").all_inner_texts() == [
        "reviews.csv, line 3, field 'text': missing; every record needs id, text and label",
        "reviews.csv, line 4, field 'id': duplicate id 'r1', first seen on line 2",
        "reviews.csv, line 5, field 'label': missing; every record needs id, text and label",
    ]
    assert not Dataset.objects.filter(name="web-reviews").exists()
    assert page.locator("#id_name").input_value() == "web-reviews"
    a11y.check_page(page)
