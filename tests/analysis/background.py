"""Run a study's analysis job in the test, as the background worker would.

The pages only queue a build (on commit, which a test's transaction never reaches); a
test that wants to see a result runs the queued build itself with this.
"""

from collections.abc import Mapping

from analysis.services.jobs import analysis_build_run, analysis_state_get
from analysis.services.options import options_from_query
from studies.models import Study


def analysis_computed(study: Study, query: Mapping[str, str] | None = None) -> None:
    """Queue the study's analysis with the options of ``query`` (as a page does) and run it."""
    state = analysis_state_get(study=study, options=options_from_query(query or {}))
    if not state.current:
        analysis_build_run(state.result.pk)
