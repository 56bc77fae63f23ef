"""Each method's parameters with their defaults, as stored with every explanation.

The defaults are the conventions of the design document: gradients of the
predicted class's logit, the L2 norm over the embedding dimension for the
gradient, integrated gradients with an all-zero baseline and 50 Gauss-Legendre
steps, erasure measured in probability space, LRP's epsilon rule with
``eps = 0.001`` and no bias redistribution (Arras et al. 2017's defaults).
"""

from typing import Any

METHODS: tuple[str, ...] = (
    "attention",
    "attention_rollout",
    "gradient",
    "grad_input",
    "integrated_gradients",
    "occlusion",
    "omission",
    "lrp",
    "random",
)

METHOD_FAMILIES: dict[str, str] = {
    "attention": "attention",
    "attention_rollout": "attention",
    "gradient": "gradient",
    "grad_input": "gradient",
    "integrated_gradients": "gradient",
    "occlusion": "occlusion",
    "omission": "occlusion",
    "lrp": "propagation",
    "random": "random",
}
"""The design document's ``ExplanationMethod.family`` of each method."""

_DEFAULTS: dict[str, dict[str, Any]] = {
    "attention": {},
    "attention_rollout": {"residual": 0.5},
    "gradient": {"output": "logit", "norm": "l2"},
    "grad_input": {"output": "logit", "reduction": "sum"},
    "integrated_gradients": {
        "output": "logit",
        "n_steps": 50,
        "integration": "gausslegendre",
        "baseline": "zero",
    },
    "occlusion": {"output": "probability", "replacement": "zero_embedding"},
    "omission": {"output": "probability"},
    "lrp": {"output": "logit", "eps": 0.001, "bias_factor": 0.0},
    "random": {"seed": 0, "distribution": "uniform"},
}

_CHOICES: dict[tuple[str, str], tuple[Any, ...]] = {
    ("gradient", "output"): ("logit",),
    ("gradient", "norm"): ("l2",),
    ("grad_input", "output"): ("logit",),
    ("grad_input", "reduction"): ("sum",),
    ("integrated_gradients", "output"): ("logit",),
    ("integrated_gradients", "integration"): ("gausslegendre", "riemann_trapezoid"),
    ("integrated_gradients", "baseline"): ("zero", "pad"),
    ("occlusion", "output"): ("probability",),
    ("occlusion", "replacement"): ("zero_embedding",),
    ("omission", "output"): ("probability",),
    ("lrp", "output"): ("logit",),
    ("random", "distribution"): ("uniform",),
}


def method_parameters(method: str, **params: Any) -> dict[str, Any]:
    """Return the method's parameters with defaults filled in, checked for type and range."""
    if method not in _DEFAULTS:
        raise ValueError(
            f"unknown attribution method {method!r}; expected one of {', '.join(METHODS)}"
        )
    defaults = _DEFAULTS[method]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        allowed = ", ".join(defaults) or "none"
        raise ValueError(f"{method} takes no parameter {', '.join(unknown)} (allowed: {allowed})")
    resolved = defaults | params
    for key, value in resolved.items():
        choices = _CHOICES.get((method, key))
        if choices is not None and value not in choices:
            raise ValueError(
                f"{method} {key} must be one of {', '.join(map(str, choices))}, got {value!r}"
            )
    if method == "integrated_gradients":
        steps = resolved["n_steps"]
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 2:
            raise ValueError(f"integrated_gradients n_steps must be an integer >= 2, got {steps!r}")
    if method == "lrp":
        for key in ("eps", "bias_factor"):
            if not isinstance(resolved[key], int | float) or resolved[key] < 0:
                raise ValueError(f"lrp {key} must be a non-negative number, got {resolved[key]!r}")
        resolved["eps"] = float(resolved["eps"])
        resolved["bias_factor"] = float(resolved["bias_factor"])
    if method == "attention_rollout":
        residual = resolved["residual"]
        if not isinstance(residual, int | float) or not 0.0 <= residual <= 1.0:
            raise ValueError(f"attention_rollout residual must be in [0, 1], got {residual!r}")
        resolved["residual"] = float(residual)
    if method == "random" and (
        not isinstance(resolved["seed"], int) or isinstance(resolved["seed"], bool)
    ):
        raise ValueError(f"random seed must be an integer, got {resolved['seed']!r}")
    return resolved
