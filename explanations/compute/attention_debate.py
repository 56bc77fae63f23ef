"""What the attention debate published, and what a transformer or imported model skips.

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
RETRAINED = (
    "Wiegreffe & Pinter's tests retrain the BiLSTM attention model with one change (uniform "
    "attention, another seed, an adversarial loss) or pool a context-free MLP by its one "
    "attention vector; they are defined for that architecture, trained here"
)
TRAINING_SKIPPED: dict[str, str] = {
    name: RETRAINED for name in ("uniform", "seed_variance", "diagnostic_mlp", "model_adversary")
}
"""Wiegreffe & Pinter's tests, which every model but the BiLSTM skips, with the reason."""
TRANSFORMER_SKIPPED: dict[str, str] = {
    **TRAINING_SKIPPED,
    "permutation": ONE_VECTOR,
    "adversarial_attention": ONE_VECTOR,
    "jain_wallace_gradient": "J&W detach the one attention vector of the BiLSTM; " + ONE_VECTOR,
    "zeroing_gradient_orders": GRADIENT_ORDERS_SKIPPED,
}
"""Each diagnostic the native transformer does not get, with the reason."""

HF_ONE_VECTOR = (
    "defined for one attention vector the output is a function of; an imported encoder's "
    "output depends on each head's first-token row of its last layer separately"
)
HF_GRADIENT_ORDERS_SKIPPED = (
    "the gradient orders rank words by the gradient with respect to one attention vector; "
    "an imported encoder's output depends on each head's first-token row separately, so "
    "there is no such vector to differentiate"
)
HUGGINGFACE_SKIPPED: dict[str, str] = {
    **TRAINING_SKIPPED,
    "permutation": HF_ONE_VECTOR,
    "adversarial_attention": HF_ONE_VECTOR,
    "jain_wallace_gradient": "J&W detach the one attention vector of the BiLSTM; " + HF_ONE_VECTOR,
    "zeroing_gradient_orders": HF_GRADIENT_ORDERS_SKIPPED,
}
"""Each diagnostic an imported Hugging Face classifier does not get, with the reason.

It gets the correlation (its ``attention``: the last layer's first-token row, mean over
heads, summed over each word's pieces) and the zeroing of that row (attention, reverse
and random orders), for the families in :data:`HF_ZEROING_FAMILIES`.
"""

HF_ZEROING_FAMILIES: tuple[str, ...] = (
    "bert",
    "roberta",
    "xlm-roberta",
    "camembert",
    "electra",
    "distilbert",
)
"""``model_type`` of the encoders whose last layer the zeroing reruns (post-norm layers,
absolute positions, a head that reads the first token only)."""


def huggingface_zeroing_refusal(model_type: str | None) -> str | None:
    """Return why the zeroing is not run for an imported ``model_type``, or None when it is."""
    if model_type in HF_ZEROING_FAMILIES:
        return None
    return (
        f"the zeroing reruns the last encoder layer from its first-token attention row, which "
        f"is built for the families {', '.join(HF_ZEROING_FAMILIES)}; this model is "
        f"{model_type or 'of an unknown family'}"
    )


def huggingface_skipped(model_type: str | None) -> dict[str, str]:
    """Return what an imported classifier of ``model_type`` does not get, with the reason."""
    refusal = huggingface_zeroing_refusal(model_type)
    return {**HUGGINGFACE_SKIPPED, **({"zeroing": refusal} if refusal else {})}
