"""The analysis page in a real browser (issue #15): progress first, then the result in place.

The page never computes the analysis: the first view shows a progress panel that asks the
status URL every two seconds, and the result replaces it once the background build is
done, without the researcher reloading. Times are shown in the browser's time zone.
"""

import pytest

from analysis.models import AnalysisResult
from analysis.services import jobs
from analysis.services.results import study_analysis_build
from analysis.services.simulated import participants_simulate
from tests.studies.factories import film_corpus, make_study

from .a11y import check_page
from .analysis_jobs import hold_builds, run_held
from .screenshots import SCREENSHOTS, save_last_page

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tokyo(browser, live_server, researcher, request):
    """A researcher logged in from a browser in Tokyo (UTC+9, no summer time)."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "a-long-test-password")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/datasets/")
    yield page
    save_last_page(page, request.node.name)
    context.close()


def test_the_result_replaces_the_progress_panel(
    tokyo, live_server, researcher, tmp_path, monkeypatch
):
    page = tokyo
    held = hold_builds(monkeypatch)
    dataset, model = film_corpus(tmp_path, owner=researcher, n=24)
    study = make_study(researcher, dataset, model, ratings_per_item=3)
    assert participants_simulate(study=study, n=5, seed=4) == 5

    page.goto(f"{live_server.url}/studies/{study.pk}/analysis/?n_resamples=60")
    panel = page.locator("#analysis-status")
    assert "Computing the analysis…" in panel.inner_text()
    assert "Waiting to start" in panel.inner_text()
    assert page.get_by_role("heading", level=1).inner_text() == f"Analysis of {study.name}"
    check_page(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "analysis_page_progress_panel.png"))
    assert len(held) == 1  # one build queued, none run by the page

    def build(**kwargs):
        """The real build; at its third step the page (polling) must say so."""
        report = kwargs.pop("progress")

        def watched(step, steps, stage):
            report(step, steps, stage)
            if step == 3:
                page.get_by_text("Computing… step 3 of 4: Plausibility ratings").wait_for()
                assert page.locator("#analysis-status progress").get_attribute("value") == "3"

        return study_analysis_build(**kwargs, progress=watched)

    monkeypatch.setattr(jobs, "study_analysis_build", build)
    assert run_held(held) == 1  # the background build, done while the page waits
    kept = AnalysisResult.objects.get(study=study)
    assert kept.status == AnalysisResult.Status.DONE
    page.get_by_role("link", name="Download the analysis bundle (.zip)").wait_for()
    assert page.locator("#analysis-status").count() == 0
    assert page.get_by_role("heading", name="Plausibility ratings").count() == 1
    assert page.locator(".plot svg").count() >= 2
    computed = page.locator(".computed-at time").inner_text()
    assert "GMT+9" in computed, computed  # the browser's time zone, not the server's UTC
    tokyo_hour = (kept.computed_at.hour + 9) % 24
    assert f"{tokyo_hour % 12 or 12:02d}:{kept.computed_at.minute:02d}" in computed, computed
    assert held == []  # the views after the result queued nothing
