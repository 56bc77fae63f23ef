"""What the attention debate published, and which diagnostics a transformer skips: plain data.

No torch here: the web tier (the "Attention under test" page, the job's plan) and the
compute core (:mod:`explanations.compute.diagnostics`) read the same table and texts.
"""

from typing import NamedTuple


class ReferenceFigure(NamedTuple):
    """A published BiLSTM figure of J&W's Table 2, shown beside ours, never mixed in."""

    dataset: str
    compared_with: str
    mean: float
    sd: float | None
    source: str = "Jain & Wallace 2019, Table 2 (BiLSTM)"


JAIN_WALLACE_REFERENCE: tuple[ReferenceFigure, ...] = (
    ReferenceFigure("SST", "gradient", 0.34, 0.21),
    ReferenceFigure("IMDB", "gradient", 0.44, 0.06),
    ReferenceFigure("AGNews", "gradient", 0.36, 0.13),
    ReferenceFigure("20News", "gradient", 0.07, 0.17),
    ReferenceFigure("SNLI", "gradient", 0.31, 0.22),
    # The issue quotes these two means without their standard deviations.
    ReferenceFigure("SST", "leave_one_out", 0.27, None),
    ReferenceFigure("IMDB", "leave_one_out", 0.34, None),
)

ONE_VECTOR = (
    "defined for one attention vector the output is a function of; the transformer's "
    "output depends on each head's CLS row separately"
)
GRADIENT_ORDERS_SKIPPED = (
    "the gradient orders rank tokens by the gradient with respect to one attention vector; "
    "the transformer's output depends on each head's CLS row separately, so there is no "
    "such vector to differentiate"
)
TRANSFORMER_SKIPPED: dict[str, str] = {
    "permutation": ONE_VECTOR,
    "adversarial_attention": ONE_VECTOR,
    "jain_wallace_gradient": "J&W detach the one attention vector of the BiLSTM; " + ONE_VECTOR,
    "zeroing_gradient_orders": GRADIENT_ORDERS_SKIPPED,
}
"""Each diagnostic the native transformer does not get, with the reason."""
