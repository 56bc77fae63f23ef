"""The explanation methods the platform knows, with their families and default parameters.

Defaults follow the conventions in DESIGN.md; compute code resolves the exact values it
used and stores them with every explanation.
"""

from typing import Any

KNOWN_METHODS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "attention": ("attention", "The model's own attention weights over the tokens.", {}),
    "attention_rollout": (
        "attention",
        "Attention rollout over every transformer layer (Abnar & Zuidema 2020).",
        {},
    ),
    "gradient": ("gradient", "L2 norm over the embedding of d logit_c / d x_i.", {"norm": "l2"}),
    "grad_input": ("gradient", "Gradient x input, summed over the embedding, signed.", {}),
    "integrated_gradients": (
        "gradient",
        "Integrated gradients from an all-zero embedding baseline (Sundararajan et al. 2017).",
        {"n_steps": 50, "integration": "gausslegendre", "baseline": "zero"},
    ),
    "occlusion": ("occlusion", "p_c(x) - p_c(x with embedding i zeroed).", {}),
    "omission": ("occlusion", "Leave-one-out: p_c(x) - p_c(x without token i).", {}),
    "lrp": (
        "propagation",
        "Layer-wise relevance propagation (Arras et al. 2017).",
        {"epsilon": 0.001},
    ),
    "random": ("random", "Seeded random scores: the control every analysis shows.", {"seed": 0}),
}
