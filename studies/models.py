"""User studies: design, participants, their assignments and every answer.

A :class:`Study` shows explanations of one model on one dataset to people. Its design is
expanded at creation into :class:`Condition` rows (between-subject: one per variant of
explanations; within-subject: one for all), :class:`StudyItem` rows (an instance with the
explanation(s) a trial shows, and its role) and :class:`StudyList` rows (Latin-square lists:
each list holds each instance at most once, each item sits in exactly one list, and each list
is taken by ``ratings_per_item`` participants). Going live freezes what every item shows in
:attr:`StudyItem.frozen`, so later recomputation never changes past data.

A :class:`Participant` (from Prolific, MTurk, an invitation or the anonymous link) gets one
:class:`Assignment` (a list), whose ordered :class:`Trial` rows each take at most one
:class:`Response`. Answers are never deleted by the software: an abandoned or excluded
participant's responses stay, marked by the assignment's status and the :class:`Exclusion`
log. Only the participant's own request deletes them (:class:`ParticipantDeletion` logs it),
and exports name participants by pseudonym only (:mod:`studies.pseudonyms`).
"""

import hashlib
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.deconstruct import deconstructible

from explanations.models import ClassifierModel, Dataset, Explanation, ExplanationMethod, Instance
from studies.pseudonyms import new_pseudonym_secret, participant_pseudonym


def new_completion_code() -> str:
    """Return a random completion code (8 upper-case hex characters)."""
    return uuid.uuid4().hex[:8].upper()


def new_token() -> str:
    """Return a random single-use invitation token."""
    return uuid.uuid4().hex + uuid.uuid4().hex[:8]


@deconstructible
class DesignRange:
    """Check a design field against its declaration in :mod:`studies.design_fields`.

    So ``full_clean`` refuses what the form, the API and the service refuse, with the same
    message; the range itself is declared once, there.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, value: object) -> None:
        from studies.design_fields import DESIGN  # imports this module

        DESIGN[self.name].clean(value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DesignRange) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


class Study(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        CLOSED = "closed", "Closed"

    class ConditionDesign(models.TextChoices):
        WITHIN = "within", "Within-subject (each participant sees every method)"
        BETWEEN = "between", "Between-subject (each participant sees one method)"

    class DisplayMode(models.TextChoices):
        HEATMAP = "heatmap", "Heatmap (highlighted text)"
        BARS = "bars", "Bars"

    # Pre-registration (issue #16): who the explanation is for (Bastings & Filippova 2020).
    class IntendedUser(models.TextChoices):
        MODEL_DEVELOPER = "model_developer", "Model developer"
        DOMAIN_EXPERT = "domain_expert", "Domain expert"
        END_USER = "end_user", "End user / lay person"
        AUDITOR = "auditor", "Auditor / regulator"
        OTHER = "other", "Other (describe)"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="studies"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(
        blank=True, help_text="Shown to participants on the entry and preview pages."
    )
    study_type = models.CharField(max_length=50)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="studies")
    model = models.ForeignKey(ClassifierModel, on_delete=models.PROTECT, related_name="studies")
    methods = models.ManyToManyField(ExplanationMethod, related_name="studies")
    # Design.
    seed = models.IntegerField(validators=[DesignRange("seed")], default=0)
    n_items = models.PositiveIntegerField(
        validators=[DesignRange("n_items")], default=20, help_text="Test instances sampled."
    )
    items_per_participant = models.PositiveIntegerField(
        validators=[DesignRange("items_per_participant")],
        null=True,
        blank=True,
        help_text="Test trials per list; empty means all sampled instances.",
    )
    ratings_per_item = models.PositiveIntegerField(
        validators=[DesignRange("ratings_per_item")],
        default=3,
        help_text="k: participants per list, so each item x method is judged k times.",
    )
    condition_design = models.CharField(
        max_length=10, choices=ConditionDesign.choices, default=ConditionDesign.WITHIN
    )
    balance_outcomes = models.BooleanField(
        default=True,
        help_text="Balance items over TP/FP/TN/FN (or correct/wrong) when gold exists.",
    )
    practice_count = models.PositiveIntegerField(
        validators=[DesignRange("practice_count")], default=1
    )
    attention_check_positions = models.JSONField(
        default=list, blank=True, help_text="1-based positions among the test trials."
    )
    gold_positions = models.JSONField(
        default=list, blank=True, help_text="1-based positions among the test trials."
    )
    type_options = models.JSONField(default=dict, blank=True)
    display_mode = models.CharField(
        max_length=10, choices=DisplayMode.choices, default=DisplayMode.HEATMAP
    )
    top_k = models.PositiveIntegerField(
        validators=[DesignRange("top_k")],
        null=True,
        blank=True,
        help_text="Highlight only the k highest tokens; empty means all.",
    )
    # What participants read.
    consent_text = models.TextField()
    instructions = models.TextField()
    # Crowd settings.
    sources = models.JSONField(default=list, help_text="Entry kinds accepted.")
    completion_code = models.CharField(max_length=50, default=new_completion_code)
    pay = models.CharField(max_length=50, blank=True, help_text='E.g. "£2.00".')
    estimated_minutes = models.PositiveIntegerField(
        validators=[DesignRange("estimated_minutes")], default=10
    )
    time_limit_minutes = models.PositiveIntegerField(
        validators=[DesignRange("time_limit_minutes")],
        default=60,
        help_text="Unfinished assignments are released to others after this (at most a week).",
    )
    # Prolific outcomes and comprehension checks (issue #16, "Prolific"): the code each
    # outcome sends participants back with (empty: "no code", they are asked to return).
    failed_checks_code = models.CharField(
        max_length=50,
        blank=True,
        default="",
        validators=[DesignRange("failed_checks_code")],
        help_text="Prolific code for failed attention checks; empty asks them to return.",
    )
    screened_out_code = models.CharField(
        max_length=50,
        blank=True,
        default="",
        validators=[DesignRange("screened_out_code")],
        help_text="Prolific code for a failed comprehension check; empty asks them to return.",
    )
    failed_checks_threshold = models.PositiveIntegerField(
        validators=[DesignRange("failed_checks_threshold")],
        default=2,
        help_text="Failed attention checks that make the outcome failed_checks (Prolific: 2).",
    )
    comprehension_checks = models.JSONField(
        default=list,
        blank=True,
        help_text="Questions on the instructions: [{key, prompt, options, answer}] (answer: index).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Privacy (issue #16): never exported, never shown.
    pseudonym_secret = models.CharField(
        max_length=64,
        default=new_pseudonym_secret,
        editable=False,
        help_text="Key of the participants' pseudonyms (studies.pseudonyms); never exported.",
    )
    platform_ids_erased_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When erase_platform_ids removed the Prolific and MTurk ids (retention).",
    )
    # Pre-registration and planning (issue #16): the plan, editable in draft only
    # (studies.services.preregistration), frozen with its SHA-256 when the study launches.
    preregistration_plan = models.JSONField(
        default=dict,
        blank=True,
        help_text="Hypotheses, analysis plan and exclusion rules, before launch.",
    )
    explanation_goal = models.TextField(
        blank=True,
        default="",
        help_text="What the explanation is for, e.g. which tokens drove this prediction.",
    )
    intended_user = models.CharField(
        max_length=20, choices=IntendedUser.choices, blank=True, default=""
    )
    intended_user_other = models.CharField(max_length=200, blank=True, default="")
    preregistration_json = models.TextField(
        blank=True,
        default="",
        editable=False,
        help_text="The plan frozen at launch: canonical JSON (sorted keys, UTF-8).",
    )
    preregistration_sha256 = models.CharField(max_length=64, blank=True, default="", editable=False)
    preregistered_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Payments (issue #16, studies.payment_selectors): the bonus each completed participant
    # whose submission is approved is paid, in the platform's currency; empty means none.
    bonus_amount = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Bonus per approved completed participant (e.g. 0.50); empty: no bonus.",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("studies:study-detail", args=[self.pk])

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def consent_sha256(self) -> str:
        """Return the SHA-256 of the consent text: the version a participant agrees to."""
        return hashlib.sha256(self.consent_text.encode()).hexdigest()

    @property
    def is_live(self) -> bool:
        return self.status == self.Status.LIVE


class Condition(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="conditions")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=200, help_text="Researcher-facing; never shown to people.")
    variants = models.JSONField(
        help_text="The method tuples this condition shows, e.g. [['gradient'], ['lrp']]."
    )

    class Meta:
        ordering = ["study", "position"]
        constraints = [
            models.UniqueConstraint(fields=["study", "position"], name="condition_unique_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.study}: {self.name}"


class StudyItem(models.Model):
    class Role(models.TextChoices):
        PRACTICE = "practice", "Practice"
        TEST = "test", "Test"
        ATTENTION_CHECK = "attention_check", "Attention check (instructed response)"
        GOLD = "gold", "Gold (known answer)"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="items")
    condition = models.ForeignKey(Condition, on_delete=models.CASCADE, related_name="items")
    role = models.CharField(max_length=20, choices=Role.choices)
    position = models.PositiveIntegerField(help_text="Order within the condition and role.")
    instance = models.ForeignKey(Instance, on_delete=models.PROTECT, related_name="study_items")
    methods = models.JSONField(
        blank=True, help_text="Method names shown, in order (a variant); empty shows none."
    )
    explanations = models.ManyToManyField(Explanation, blank=True, related_name="study_items")
    outcome = models.CharField(max_length=10, blank=True, help_text="TP/FP/TN/FN, correct/wrong.")
    expected = models.JSONField(
        null=True, blank=True, help_text="Attention checks and gold: the answer rule."
    )
    frozen = models.JSONField(
        default=dict, blank=True, help_text="What the item shows, copied when the study went live."
    )

    class Meta:
        ordering = ["condition", "role", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["condition", "role", "position"], name="studyitem_unique_pos"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.instance} [{', '.join(self.methods)}]"


class StudyList(models.Model):
    """A Latin-square list: the test items one participant sees, taken by ``target`` people."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="lists")
    condition = models.ForeignKey(Condition, on_delete=models.CASCADE, related_name="lists")
    index = models.PositiveIntegerField()
    items = models.ManyToManyField(StudyItem, related_name="lists")
    target = models.PositiveIntegerField(help_text="Participants wanted (k).")
    filled = models.PositiveIntegerField(
        default=0, help_text="Assignments active or completed; kept under a row lock."
    )

    class Meta:
        ordering = ["study", "index"]
        constraints = [
            models.UniqueConstraint(fields=["study", "index"], name="studylist_unique_index"),
            models.CheckConstraint(
                condition=Q(filled__lte=models.F("target")), name="studylist_not_overfilled"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study} list {self.index}"


class QuestionnaireItem(models.Model):
    class Kind(models.TextChoices):
        LIKERT = "likert", "Likert"
        TEXT = "text", "Free text"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="questionnaire")
    position = models.PositiveIntegerField()
    key = models.SlugField(max_length=50)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    prompt = models.TextField()
    points = models.PositiveSmallIntegerField(null=True, blank=True)
    low_label = models.CharField(max_length=100, blank=True)
    high_label = models.CharField(max_length=100, blank=True)
    required = models.BooleanField(default=True)

    class Meta:
        ordering = ["study", "position"]
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name="questionnaire_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.prompt[:40]}"

    def clean(self) -> None:
        if self.kind == self.Kind.LIKERT and not (self.points and 2 <= self.points <= 11):
            raise ValidationError({"points": "a Likert item needs 2 to 11 points"})


class Invitation(models.Model):
    """A single-use link for an invited expert; used, it resumes the same participant."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(max_length=64, unique=True, default=new_token)
    label = models.CharField(max_length=200, help_text="Who it is for (researcher-facing).")
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["study", "created_at", "pk"]

    def __str__(self) -> str:
        return f"invitation for {self.label}"


class Participant(models.Model):
    class Source(models.TextChoices):
        PROLIFIC = "prolific", "Prolific"
        MTURK = "mturk", "Amazon Mechanical Turk"
        INVITED = "invited", "Invitation"
        ANONYMOUS = "anonymous", "Anonymous link"

    class Status(models.TextChoices):
        ENTERED = "entered", "Entered"
        CONSENTED = "consented", "Consented"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        RETURNED = "returned", "Returned (withdrew)"
        TIMED_OUT = "timed_out", "Timed out (abandoned)"
        DECLINED = "declined", "Declined consent"
        FULL = "full", "Study was full"
        SCREENED_OUT = "screened_out", "Screened out (failed the comprehension check twice)"

    class Outcome(models.TextChoices):
        """How the participant's session ended, as the recruitment platform is told.

        Decided when the session ends (empty until then); each Prolific outcome gets its
        own code (:func:`studies.outcomes.outcome_code`) or a request to return.
        """

        COMPLETED = "completed", "Completed"
        FAILED_CHECKS = "failed_checks", "Completed, but failed the attention checks"
        SCREENED_OUT = "screened_out", "Screened out (failed the comprehension check twice)"
        RETURNED = "returned", "Withdrew (asked to return the submission)"
        FULL = "full", "Study was full (asked to return the submission)"
        TIMED_OUT = "timed_out", "Timed out (place released)"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="participants")
    source = models.CharField(max_length=20, choices=Source.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ENTERED)
    prolific_pid = models.CharField(max_length=100, blank=True)
    prolific_study_id = models.CharField(max_length=100, blank=True)
    prolific_session_id = models.CharField(max_length=100, blank=True)
    mturk_worker_id = models.CharField(max_length=100, blank=True)
    mturk_assignment_id = models.CharField(max_length=100, blank=True)
    mturk_hit_id = models.CharField(max_length=100, blank=True)
    mturk_submit_to = models.URLField(blank=True)
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.PROTECT, related_name="participant"
    )
    simulated = models.BooleanField(
        default=False, help_text="Simulated by the software (demos, tests), not a person."
    )
    entered_at = models.DateTimeField(auto_now_add=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    # Issue #16: the version of the consent text this participant agreed to.
    consent_sha256 = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the consent text agreed to."
    )
    instructions_read_at = models.DateTimeField(null=True, blank=True)
    questionnaire_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True, help_text="Returned or timed out.")
    # Prolific outcomes and comprehension checks (issue #16, "Prolific").
    outcome = models.CharField(
        max_length=20,
        choices=Outcome.choices,
        blank=True,
        default="",
        help_text="How the session ended, as the platform is told; empty while it goes on.",
    )
    comprehension_attempts = models.JSONField(
        default=list,
        blank=True,
        help_text="Each attempt at the comprehension check: answers, wrong keys, passed, at.",
    )
    # Payments (issue #16): the submission's status on Prolific at the last sync.
    platform_status = models.CharField(
        max_length=30, blank=True, default="", help_text="E.g. AWAITING REVIEW, RETURNED."
    )
    platform_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["study", "entered_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "prolific_pid"],
                condition=~Q(prolific_pid=""),
                name="participant_unique_prolific",
            ),
            models.UniqueConstraint(
                fields=["study", "mturk_worker_id"],
                condition=~Q(mturk_worker_id=""),
                name="participant_unique_worker",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} participant {self.pk} of {self.study}"

    @property
    def external_id(self) -> str:
        """Return the platform's id of this person (PID, worker id, invitation label) or ''."""
        if self.prolific_pid:
            return self.prolific_pid
        if self.mturk_worker_id:
            return self.mturk_worker_id
        return self.invitation.label if self.invitation else ""

    @property
    def pseudonym(self) -> str:
        """Return the id every export uses for this participant (read with ``study``)."""
        return participant_pseudonym(self.study.pseudonym_secret, self.uid)


# The outcome an ended session's status implies; a completed session's outcome also
# depends on its attention checks, so it is decided where the session completes.
OUTCOME_OF_STATUS: dict[str, str] = {
    Participant.Status.COMPLETED: Participant.Outcome.COMPLETED,
    Participant.Status.RETURNED: Participant.Outcome.RETURNED,
    Participant.Status.TIMED_OUT: Participant.Outcome.TIMED_OUT,
    Participant.Status.FULL: Participant.Outcome.FULL,
    Participant.Status.SCREENED_OUT: Participant.Outcome.SCREENED_OUT,
}


class Assignment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        RELEASED = "released", "Released (time limit passed; answers kept)"
        RETURNED = "returned", "Returned (participant withdrew; answers kept)"
        SCREENED_OUT = "screened_out", "Screened out (comprehension check failed; place released)"

    participant = models.OneToOneField(
        Participant, on_delete=models.CASCADE, related_name="assignment"
    )
    study_list = models.ForeignKey(StudyList, on_delete=models.PROTECT, related_name="assignments")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField()
    deadline = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["study_list", "started_at", "pk"]
        indexes = [models.Index(fields=["status", "deadline"])]

    def __str__(self) -> str:
        return f"assignment of {self.participant} to {self.study_list}"


class Trial(models.Model):
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="trials")
    position = models.PositiveIntegerField(help_text="0-based order of presentation.")
    item = models.ForeignKey(StudyItem, on_delete=models.PROTECT, related_name="trials")
    role = models.CharField(max_length=20, choices=StudyItem.Role.choices)
    phase = models.CharField(max_length=30, default="main", help_text="Set by the study type.")
    payload = models.JSONField(
        default=dict, blank=True, help_text="Per-trial randomisation decided by the type (sides)."
    )
    shown_at = models.DateTimeField(null=True, blank=True, help_text="First rendered.")

    class Meta:
        ordering = ["assignment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "position"], name="trial_unique_pos"),
        ]

    def __str__(self) -> str:
        return f"trial {self.position} of {self.assignment}"


class Response(models.Model):
    trial = models.OneToOneField(Trial, on_delete=models.PROTECT, related_name="response")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="responses")
    value = models.JSONField(help_text="The answer, validated by the study type.")
    passed = models.BooleanField(
        null=True, blank=True, help_text="Attention checks and gold: whether the rule was met."
    )
    idempotency_key = models.CharField(max_length=64, unique=True)
    shown_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField()
    client_duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["participant", "trial__position"]

    def __str__(self) -> str:
        return f"response to {self.trial}"

    @property
    def server_duration_ms(self) -> int | None:
        """Return the milliseconds between rendering and answering, measured on the server."""
        if self.shown_at is None:
            return None
        return round((self.answered_at - self.shown_at).total_seconds() * 1000)


class QuestionnaireAnswer(models.Model):
    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="questionnaire_answers"
    )
    item = models.ForeignKey(QuestionnaireItem, on_delete=models.CASCADE, related_name="answers")
    value = models.JSONField(help_text="An integer for Likert items, a string for text items.")
    answered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["participant", "item__position"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "item"], name="answer_unique_item"),
        ]

    def __str__(self) -> str:
        return f"{self.item.key}={self.value}"


class Exclusion(models.Model):
    """A logged decision to leave a participant out of the analysis; revoking keeps the log."""

    class Rule(models.TextChoices):
        FAILED_CHECKS = "failed_checks", "Failed attention checks or gold items"
        TOO_FAST = "too_fast", "Too fast"
        STRAIGHT_LINING = "straight_lining", "Straight-lining (same answer throughout)"
        MANUAL = "manual", "Manual"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="exclusions")
    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="exclusions"
    )
    rule = models.CharField(max_length=20, choices=Rule.choices)
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["study", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "rule"],
                condition=Q(revoked_at__isnull=True),
                name="exclusion_one_active_per_rule",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant} excluded: {self.rule}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class Adjudication(models.Model):
    """A lead reviewer's final flag on one explanation of an expert-review item.

    Never changed: a new decision on the same item and method is a new row and the latest
    one counts, so every decision stays with who made it (the lead's invitation, or the
    researcher) and when.
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="adjudications")
    item = models.ForeignKey(StudyItem, on_delete=models.PROTECT, related_name="adjudications")
    method = models.CharField(max_length=100)
    flag = models.CharField(max_length=50)
    comment = models.TextField(blank=True)
    invitation = models.ForeignKey(
        Invitation, null=True, blank=True, on_delete=models.PROTECT, related_name="adjudications"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="adjudications",
    )
    idempotency_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "item", "method", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "idempotency_key", "method"],
                name="adjudication_once_per_submission",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} on {self.item}: {self.flag}"

    @property
    def adjudicator(self) -> str:
        """Return who decided: the lead's invitation label or the researcher's user name."""
        if self.invitation is not None:
            return self.invitation.label
        return self.user.get_username() if self.user is not None else "(deleted user)"


class ParticipantDeletion(models.Model):
    """A participant's data deleted at their request: who asked it done, when, how much.

    The log names the participant by pseudonym only (never a platform id), so it can be
    published with the study's bundle (``manifest.json``, ``deletions``).
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="deletions")
    pseudonym = models.CharField(max_length=20)
    source = models.CharField(max_length=20, choices=Participant.Source.choices)
    answers = models.PositiveIntegerField(help_text="Responses removed.")
    questionnaire_answers = models.PositiveIntegerField(default=0)
    rationales = models.PositiveIntegerField(
        default=0, help_text="Human rationale rows derived from the answers, removed."
    )
    reason = models.TextField(blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when done on the command line without --by.",
    )
    deleted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "deleted_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "pseudonym"], name="participantdeletion_once_per_participant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pseudonym} deleted from {self.study}"


# Payments (issue #16): what was done on Prolific or MTurk, by whom, and whether it worked.
class PaymentAction(models.Model):
    """One approval, rejection, bonus or freed place sent to a crowd platform.

    The log outlives a deleted participant (``participant`` becomes empty; the pseudonym
    stays) and never holds a platform id, like :class:`ParticipantDeletion`.
    """

    class Kind(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"
        BONUS = "bonus", "Bonus paid"
        FREE_PLACE = "free_place", "Place freed (returned or timed out on the platform)"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="payment_actions")
    participant = models.ForeignKey(
        Participant,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="payment_actions",
    )
    pseudonym = models.CharField(max_length=20)
    platform = models.CharField(max_length=20, choices=Participant.Source.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    ok = models.BooleanField(help_text="Whether the platform accepted it.")
    detail = models.TextField(blank=True, help_text="The platform's answer or error.")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.pseudonym} on {self.platform}: {'ok' if self.ok else 'failed'}"
