"""What each outcome of a participant's session tells the recruitment platform.

Prolific configures one completion code per outcome (Prolific's attention and comprehension
check policy, and its completion-code actions):

- ``completed``: the study's completion code.
- ``failed_checks`` (at least ``failed_checks_threshold`` failed attention checks, two by
  default as Prolific requires before acting on them): ``failed_checks_code``, or with no
  code a page asking the person to return the submission.
- ``screened_out`` (the comprehension check failed twice): ``screened_out_code``, or with no
  code a page asking them to return the submission.
- ``returned`` (withdrew), ``full``, ``timed_out``, and people who do not consent: no code;
  a page asks them to return the submission (on MTurk, to return the HIT). Prolific asks
  that people who do not consent return rather than be screened out.
"""

from urllib.parse import urlencode

from studies.models import Participant, Study

PROLIFIC_COMPLETE = "https://app.prolific.com/submissions/complete"


def outcome_code(study: Study, outcome: str) -> str:
    """Return the Prolific completion code of ``outcome`` in ``study``, or '' for none."""
    codes = {
        Participant.Outcome.COMPLETED: study.completion_code,
        Participant.Outcome.FAILED_CHECKS: study.failed_checks_code,
        Participant.Outcome.SCREENED_OUT: study.screened_out_code,
    }
    return codes.get(Participant.Outcome(outcome), "") if outcome else ""


def prolific_complete_url(code: str) -> str:
    """Return Prolific's completion URL carrying ``code``."""
    return f"{PROLIFIC_COMPLETE}?{urlencode({'cc': code})}"
