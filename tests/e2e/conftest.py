"""Browser tests: Playwright for Python driving Debian's Chromium (no browser download).

``make test`` skips them, with the reason printed, when no Chromium is installed;
``.ci/run`` installs Chromium and sets ELEPHANT_REQUIRE_BROWSER=1, so there a browser that
cannot start fails the run instead of skipping it.
"""

import os
import shutil
from pathlib import Path

import pytest

# SCREENSHOTS is read from here by tests that save more than their last page.
from .screenshots import SCREENSHOTS as SCREENSHOTS
from .screenshots import save_last_page

CHROMIUM = os.environ.get("ELEPHANT_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("ELEPHANT_REQUIRE_BROWSER") == "1"
# Playwright's sync API runs an event loop in the test thread; the ORM calls made by the
# tests themselves (fixtures) are still synchronous and safe there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        if REQUIRED:
            pytest.fail(
                f"Chromium not found at {CHROMIUM}; .ci/run installs the Debian package chromium"
            )
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install Debian's chromium to run the browser tests"
        )
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--disable-quic",
                ],
            )
            yield browser
            browser.close()
    except Exception as exc:
        if REQUIRED:
            raise
        pytest.skip(f"Chromium at {CHROMIUM} did not start: {exc}")


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    save_last_page(page, request.node.name)
    context.close()


@pytest.fixture
def logged_in(page, live_server, researcher):
    """A researcher logged in through the login form, with the keyboard."""
    page.goto(f"{live_server.url}/accounts/login/")
    # The username field has autofocus, which Chromium applies at its next rendering step.
    page.wait_for_function("document.activeElement.name === 'username'")
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type("a-long-test-password")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/datasets/")
    return page
