"""Names of the scores stored per explanation, and what each one measures.

Every stored score (``Score.metric``) is named here, and :func:`metric_kind` says
whether it measures **faithfulness** (computed on the model) or **plausibility**
(computed against people's judgements or highlights, never the model). A few names
carry a parameter after a separator:

* ``comprehensiveness@5``, ``sufficiency@20``: the value for one erasure bin, the
  bin written as a percentage of the tokens (see :func:`bin_metric`);
* ``agreement_tau:gradient``, ``agreement_jsd:occlusion``: agreement with another
  method's explanation of the same prediction (see :func:`paired_metric`);
* ``rationale_f1:ann-3``: the value against one annotator's rationale, the plain
  name being the mean over annotators (see :func:`paired_metric`).
"""

from typing import Final

FAITHFULNESS: Final = "faithfulness"
PLAUSIBILITY: Final = "plausibility"

COMPREHENSIVENESS: Final = "comprehensiveness"
SUFFICIENCY: Final = "sufficiency"
COMPREHENSIVENESS_AOPC: Final = "comprehensiveness_aopc"
SUFFICIENCY_AOPC: Final = "sufficiency_aopc"
DECISION_FLIP: Final = "decision_flip"
TAU_LOO: Final = "tau_loo"
AGREEMENT_TAU: Final = "agreement_tau"
AGREEMENT_JSD: Final = "agreement_jsd"
RANDOMIZATION_SPEARMAN: Final = "randomization_spearman"
RATIONALE_F1: Final = "rationale_f1"
RATIONALE_IOU: Final = "rationale_iou"
RATIONALE_AUPRC: Final = "rationale_auprc"

BIN_SEPARATOR: Final = "@"
PAIR_SEPARATOR: Final = ":"

METRIC_KINDS: Final[dict[str, str]] = {
    COMPREHENSIVENESS: FAITHFULNESS,
    SUFFICIENCY: FAITHFULNESS,
    COMPREHENSIVENESS_AOPC: FAITHFULNESS,
    SUFFICIENCY_AOPC: FAITHFULNESS,
    DECISION_FLIP: FAITHFULNESS,
    TAU_LOO: FAITHFULNESS,
    AGREEMENT_TAU: FAITHFULNESS,
    AGREEMENT_JSD: FAITHFULNESS,
    RANDOMIZATION_SPEARMAN: FAITHFULNESS,
    RATIONALE_F1: PLAUSIBILITY,
    RATIONALE_IOU: PLAUSIBILITY,
    RATIONALE_AUPRC: PLAUSIBILITY,
}
"""Kind of every metric family; a parameterised name takes its family's kind.

Method agreement and the randomisation check are computed on the model's
explanations, never by people, so they count as faithfulness-side diagnostics.
"""


def percent_label(fraction: float) -> str:
    """Return ``fraction`` as a short percentage: 0.05 -> ``"5"``, 0.025 -> ``"2.5"``."""
    return f"{round(fraction * 100, 6):g}"


def bin_metric(family: str, fraction: float) -> str:
    """Return the name of one erasure bin, e.g. ``bin_metric("sufficiency", 0.2)``."""
    if family not in (COMPREHENSIVENESS, SUFFICIENCY):
        raise ValueError(f"metric family {family!r} has no bins")
    return f"{family}{BIN_SEPARATOR}{percent_label(fraction)}"


def paired_metric(family: str, other: str) -> str:
    """Return ``family:other``: agreement with method ``other`` or one annotator's value."""
    if family not in (AGREEMENT_TAU, AGREEMENT_JSD, RATIONALE_F1, RATIONALE_IOU, RATIONALE_AUPRC):
        raise ValueError(f"metric family {family!r} takes no second name")
    if not other:
        raise ValueError(f"{family}: the second name must not be empty")
    return f"{family}{PAIR_SEPARATOR}{other}"


def metric_family(name: str) -> str:
    """Return the family of a metric name (the part before ``@`` or ``:``)."""
    family = name.split(PAIR_SEPARATOR, 1)[0].split(BIN_SEPARATOR, 1)[0]
    if family not in METRIC_KINDS:
        raise ValueError(f"unknown metric {name!r}; known families: {sorted(METRIC_KINDS)}")
    return family


def metric_kind(name: str) -> str:
    """Return ``"faithfulness"`` or ``"plausibility"`` for any metric name."""
    return METRIC_KINDS[metric_family(name)]
