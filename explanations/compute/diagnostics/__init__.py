"""Attention under test: the faithfulness diagnostics of the attention debate (pure torch).

Each module is one experiment, computed on the model, never by people
(faithfulness), with its definition and the official code it follows in its
docstring:

* :mod:`.metrics`: total variation distance and Jensen-Shannon divergence (nats);
* :mod:`.intervention`: the layers after attention rerun for many weightings at once;
* :mod:`.correlation`: Kendall tau of attention with gradient and leave-one-out
  (Jain & Wallace 2019, Table 2), with J&W's own definitions and published figures;
* :mod:`.permutation`: permuted attention, median output TVD (J&W 4.2.1);
* :mod:`.adversarial`: adversarial attention within an output TVD bound (J&W 4.2.2);
* :mod:`.zeroing`: zeroing weights, single and until the decision flips (Serrano &
  Smith 2019).

The BiLSTM attention model gets all of them. The native transformer gets the
correlation (its attention is the last layer's CLS row averaged over heads) and
the zeroing of that row; permutation, adversarial search, J&W's detached-attention
gradient and the gradient zeroing orders are defined for one attention vector that
the output is a function of, which the transformer's per-head rows are not
(:data:`TRANSFORMER_SKIPPED` says so for each). An imported Hugging Face encoder gets
the same two on its last layer's first-token row, per word (:mod:`.hf_intervention`;
:data:`HUGGINGFACE_SKIPPED`).
"""

from explanations.compute.attention_debate import HUGGINGFACE_SKIPPED, TRANSFORMER_SKIPPED
from explanations.compute.diagnostics.adversarial import (
    AdversarialResult,
    AdversarialSettings,
    adversarial_attention,
)
from explanations.compute.diagnostics.correlation import (
    JAIN_WALLACE_REFERENCE,
    Correlation,
    CorrelationSummary,
    ReferenceFigure,
    jain_wallace_gradient,
    jain_wallace_leave_one_out,
    kendall_per_instance,
    summarise,
)
from explanations.compute.diagnostics.intervention import (
    BiLSTMIntervention,
    TransformerIntervention,
    intervention_for,
)
from explanations.compute.diagnostics.metrics import jsd, tvd
from explanations.compute.diagnostics.permutation import PermutationResult, permutation_test
from explanations.compute.diagnostics.zeroing import (
    ORDERS,
    FlipSearch,
    SingleZeroing,
    ZeroingResult,
    zeroing_diagnostics,
)

__all__ = [
    "JAIN_WALLACE_REFERENCE",
    "HUGGINGFACE_SKIPPED",
    "ORDERS",
    "TRANSFORMER_SKIPPED",
    "AdversarialResult",
    "AdversarialSettings",
    "BiLSTMIntervention",
    "Correlation",
    "CorrelationSummary",
    "FlipSearch",
    "PermutationResult",
    "ReferenceFigure",
    "SingleZeroing",
    "TransformerIntervention",
    "ZeroingResult",
    "adversarial_attention",
    "intervention_for",
    "jain_wallace_gradient",
    "jain_wallace_leave_one_out",
    "jsd",
    "kendall_per_instance",
    "permutation_test",
    "summarise",
    "tvd",
    "zeroing_diagnostics",
]
