"""Why a participant's request was refused, with the HTTP status it maps to."""

from studies.models import Participant


class Rejected(Exception):
    """A refused request: nothing was changed; ``message`` is shown to the person."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class StudyFull(Rejected):
    """Every list already has its k participants."""

    status = 409


class StudyNotOpen(Rejected):
    """The study is a draft or closed."""

    status = 410


class AlreadyTakingPart(Rejected):
    """This browser's session already holds another participant of the study (one place per browser)."""

    status = 409

    def __init__(self, message: str, *, participant: Participant) -> None:
        super().__init__(message)
        self.participant = participant


class NotYours(Rejected):
    """The trial or assignment belongs to someone else (or to nobody in this session)."""

    status = 403


class OutOfOrder(Rejected):
    """The trial is not the current one, or it is already answered."""

    status = 409


class TimeLimitPassed(Rejected):
    """The assignment was released because its time limit passed; answers so far are kept."""

    status = 410
