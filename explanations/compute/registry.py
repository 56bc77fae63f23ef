"""The one declaration of every explanation method: family, parameters, supported model kinds.

Commands, jobs, the API, pages, the demo and the data migrations read this module; no
other list of methods exists. A *model kind* is a ``ClassifierModel.architecture``:
``bilstm_attention`` and ``transformer`` (trained here, on the platform's own word
vocabulary: the *native* kinds), ``huggingface`` (an imported ``transformers``
classifier, explained on subword pieces and pooled per word) and ``external`` (its
explanations are imported; nothing is computed for it).

The defaults are the conventions of the design document: gradients of the predicted
class's logit, the L2 norm over the embedding dimension for the gradient, integrated
gradients with an all-zero baseline and 50 Gauss-Legendre steps, erasure measured in
probability space, LRP's epsilon rule with ``epsilon = 0.001`` and no bias
redistribution (Arras et al. 2017's defaults). A parameter may apply to some kinds
only (``pooling``, the rule that turns subword scores into word scores, exists for
``huggingface`` only); :func:`method_parameters` returns exactly the parameters that
apply to the kind, and the resolved dictionary is what is stored with every
explanation.

Pure Python: no torch, no django.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

KINDS: tuple[str, ...] = ("bilstm_attention", "transformer", "huggingface")
"""The model kinds for which explanations are computed."""

NATIVE_KINDS: tuple[str, ...] = ("bilstm_attention", "transformer")
"""The kinds trained here; ``kind=None`` means one of them (they share every parameter)."""

EXTERNAL_KIND = "external"
"""A model whose explanations are imported: no method is computed for it."""

HF: tuple[str, ...] = ("huggingface",)

POOLINGS: tuple[str, ...] = ("sum", "l2", "max_abs", "mean")
"""Rules pooling a word's subword scores into one score (``huggingface`` only)."""

_EXTERNAL_REASON = "its explanations are imported, not computed here"


@dataclass(frozen=True)
class Parameter:
    """One parameter of a method: its default, what it accepts and the kinds it applies to.

    ``choices`` lists the accepted values; otherwise ``type`` is ``"int"`` or ``"float"``
    with an optional inclusive ``minimum``/``maximum``.
    """

    name: str
    default: Any
    description: str
    choices: tuple[Any, ...] | None = None
    type: Literal["int", "float", "str"] = "str"
    minimum: float | None = None
    maximum: float | None = None
    kinds: tuple[str, ...] = KINDS

    def check(self, method: str, value: Any) -> Any:
        """Return ``value`` normalised (floats as float), or raise ValueError saying what is expected."""
        if self.choices is not None:
            if value not in self.choices:
                raise ValueError(
                    f"{method} {self.name} must be one of "
                    f"{', '.join(map(str, self.choices))}, got {value!r}"
                )
            return value
        number = (
            isinstance(value, int) if self.type == "int" else isinstance(value, int | float)
        ) and not isinstance(value, bool)
        if (
            not number
            or (self.minimum is not None and value < self.minimum)
            or (self.maximum is not None and value > self.maximum)
        ):
            raise ValueError(f"{method} {self.name} must be {self.expected()}, got {value!r}")
        return float(value) if self.type == "float" else value

    def expected(self) -> str:
        """Describe the accepted values, e.g. ``an integer >= 2`` or ``in [0, 1]``."""
        if self.choices is not None:
            return f"one of {', '.join(map(str, self.choices))}"
        low, high = self.minimum, self.maximum
        if self.type == "int":
            if low is not None and high is not None:
                return f"an integer in [{low:g}, {high:g}]"
            if low is not None:
                return f"an integer >= {low:g}"
            if high is not None:
                return f"an integer <= {high:g}"
            return "an integer"
        if low is not None and high is not None:
            return f"in [{low:g}, {high:g}]"
        if low == 0:
            return "a non-negative number"
        if low is not None:
            return f"a number >= {low:g}"
        if high is not None:
            return f"a number <= {high:g}"
        return "a number"

    def declaration(self) -> dict[str, Any]:
        """Return this parameter as JSON-ready data (stored on the method's database row)."""
        data: dict[str, Any] = {"name": self.name, "default": self.default}
        if self.choices is not None:
            data["choices"] = list(self.choices)
        else:
            data["type"] = self.type
            if self.minimum is not None:
                data["minimum"] = self.minimum
            if self.maximum is not None:
                data["maximum"] = self.maximum
        data["kinds"] = list(self.kinds)
        data["description"] = self.description
        return data


@dataclass(frozen=True)
class Method:
    """One explanation method; ``unsupported`` maps a kind to the reason it is not offered."""

    name: str
    family: str
    description: str
    parameters: tuple[Parameter, ...]
    unsupported: Mapping[str, str] = field(default_factory=dict)

    def parameters_for(self, kind: str) -> tuple[Parameter, ...]:
        """Return the parameters that apply to ``kind``, in declaration order."""
        return tuple(p for p in self.parameters if kind in p.kinds)


def _output(value: str) -> Parameter:
    return Parameter(
        "output",
        value,
        "What is explained: the target's logit or its softmax probability.",
        choices=(value,),
    )


def _pooling(default: str) -> Parameter:
    return Parameter(
        "pooling",
        default,
        "How a word's subword scores become one score: their sum, the L2 norm over all its "
        "pieces (and embedding dimensions), the score of largest magnitude, or their mean.",
        choices=POOLINGS,
        kinds=HF,
    )


_HEAD_POOLING = Parameter(
    "head_pooling",
    "mean",
    "How the attention heads of a layer are combined.",
    choices=("mean", "max"),
    kinds=HF,
)

_METHODS: tuple[Method, ...] = (
    Method(
        "attention",
        "attention",
        "The model's own attention weights over the tokens (for a Hugging Face model, the "
        "first token's row of a layer, the last by default, pooled over the heads).",
        (
            Parameter(
                "layer",
                -1,
                "The layer whose attention is read; negative counts from the last (-1).",
                type="int",
                kinds=HF,
            ),
            _HEAD_POOLING,
            _pooling("sum"),
        ),
    ),
    Method(
        "attention_rollout",
        "attention",
        "Attention rollout over every transformer layer (Abnar & Zuidema 2020).",
        (
            Parameter(
                "residual",
                0.5,
                "Weight of the identity (the residual connection) mixed into each layer's "
                "attention before the layers are multiplied.",
                type="float",
                minimum=0.0,
                maximum=1.0,
            ),
            _HEAD_POOLING,
            _pooling("sum"),
        ),
        unsupported={"bilstm_attention": "it needs stacked self-attention layers"},
    ),
    Method(
        "gradient",
        "gradient",
        "Gradient (sensitivity): the L2 norm over the embedding of d logit_c / d x_i.",
        (
            _output("logit"),
            Parameter(
                "norm",
                "l2",
                "Norm over the embedding dimension of the gradient.",
                choices=("l2",),
            ),
            _pooling("l2"),
        ),
    ),
    Method(
        "grad_input",
        "gradient",
        "Gradient x input, summed over the embedding, signed.",
        (
            _output("logit"),
            Parameter(
                "reduction",
                "sum",
                "Reduction over the embedding dimension of gradient x input.",
                choices=("sum",),
            ),
            _pooling("sum"),
        ),
    ),
    Method(
        "integrated_gradients",
        "gradient",
        "Integrated gradients from an all-zero embedding baseline (Sundararajan et al. 2017), "
        "summed over the embedding; the completeness gap is kept.",
        (
            _output("logit"),
            Parameter(
                "n_steps",
                50,
                "Number of integration steps.",
                type="int",
                minimum=2,
            ),
            Parameter(
                "integration",
                "gausslegendre",
                "Quadrature: Gauss-Legendre nodes (Captum's default) or the Riemann trapezoid.",
                choices=("gausslegendre", "riemann_trapezoid"),
            ),
            Parameter(
                "baseline",
                "zero",
                "Baseline embeddings: all zero, or the padding token's.",
                choices=("zero", "pad"),
                kinds=NATIVE_KINDS,
            ),
            Parameter(
                "baseline",
                "zero",
                "Baseline embeddings of the words' pieces: all zero, the mask token's or the "
                "padding token's (special tokens keep their own embedding).",
                choices=("zero", "mask", "pad"),
                kinds=HF,
            ),
            _pooling("sum"),
        ),
    ),
    Method(
        "occlusion",
        "occlusion",
        "p_c(x) - p_c(x with embedding i zeroed), in probability space (Bastings & Filippova).",
        (
            _output("probability"),
            Parameter(
                "replacement",
                "zero_embedding",
                "What replaces the occluded word's embedding (every piece of it for a Hugging "
                "Face model).",
                choices=("zero_embedding",),
            ),
            _pooling("sum"),
        ),
    ),
    Method(
        "omission",
        "occlusion",
        "Leave-one-out: p_c(x) - p_c(x without token i).",
        (_output("probability"),),
    ),
    Method(
        "lrp",
        "propagation",
        "Layer-wise relevance propagation, epsilon rule, through the LSTM gates and the "
        "attention (Arras et al. 2017).",
        (
            _output("logit"),
            Parameter(
                "epsilon",
                0.001,
                "Stabiliser of the epsilon rule.",
                type="float",
                minimum=0.0,
            ),
            Parameter(
                "bias_factor",
                0.0,
                "Share of the bias and stabiliser relevance redistributed to the inputs "
                "(0: absorbed, 1: redistributed).",
                type="float",
                minimum=0.0,
            ),
        ),
        unsupported={
            kind: "its rules here are the LSTM gates'; attention-aware LRP for transformers "
            "(Ali et al. 2022) is not implemented"
            for kind in ("transformer", "huggingface")
        },
    ),
    Method(
        "random",
        "random",
        "Seeded random scores: the control every analysis shows.",
        (
            Parameter("seed", 0, "Seed of the random generator.", type="int"),
            Parameter(
                "distribution",
                "uniform",
                "Distribution of the random scores.",
                choices=("uniform",),
            ),
        ),
    ),
)

METHODS: Mapping[str, Method] = {m.name: m for m in _METHODS}
"""Every method by name, in declaration order."""

_STORED_REASON = (
    "it is stored by another computation (run_diagnostics), not computed by compute_explanations"
)
_STORED_METHODS: tuple[Method, ...] = (
    Method(
        "adversarial_attention",
        "attention",
        "Jain & Wallace's adversarial attention: the distribution kept by the adversarial "
        "search (most different from the model's attention, output within the TVD bound), "
        "stored by run_diagnostics so a study can show it beside the attention.",
        (),
        unsupported={kind: _STORED_REASON for kind in KINDS},
    ),
    Method(
        "adversary_attention",
        "attention",
        "Wiegreffe & Pinter's model-consistent adversary: the attention of a model trained to "
        "keep the outputs of the model under test while its attention differs most (loss "
        "TVD(y_adv, y) - lambda KL(a_adv || a)), stored by run_diagnostics with its lambda.",
        (),
        unsupported={kind: _STORED_REASON for kind in KINDS},
    ),
)
STORED_METHODS: Mapping[str, Method] = {m.name: m for m in _STORED_METHODS}
"""Methods whose explanations are stored by other computations, never by compute_explanations."""


def _method(name: str) -> Method:
    try:
        return METHODS[name] if name in METHODS else STORED_METHODS[name]
    except KeyError:
        raise ValueError(
            f"unknown attribution method {name!r}; expected one of {', '.join(METHODS)}"
        ) from None


def _kind(kind: str | None) -> str:
    """Return the kind whose parameters apply (the first native kind for None)."""
    if kind is None:
        return NATIVE_KINDS[0]
    if kind not in KINDS:
        if kind == EXTERNAL_KIND:
            raise ValueError(f"no method is computed for an {kind} model: {_EXTERNAL_REASON}")
        raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind


def method_names() -> tuple[str, ...]:
    """Return every method's name, in declaration order."""
    return tuple(METHODS)


def stored_method_names() -> tuple[str, ...]:
    """Return the stored-only methods' names (see :data:`STORED_METHODS`)."""
    return tuple(STORED_METHODS)


def method_family(name: str) -> str:
    """Return the method's family (``ExplanationMethod.family``)."""
    return _method(name).family


def method_description(name: str) -> str:
    """Return the method's one-line description."""
    return _method(name).description


def method_parameters(method: str, kind: str | None = None, **params: Any) -> dict[str, Any]:
    """Return the method's parameters for ``kind`` with defaults filled in, checked.

    ``kind=None`` means a native model (``bilstm_attention`` or ``transformer``: the same
    parameters). Only the parameters that apply to the kind are accepted and returned.
    Raises ValueError for an unknown method, kind or parameter, a value out of range, or
    a method the kind does not support.
    """
    declared = _method(method)
    resolved_kind = _kind(kind)
    if kind is not None:
        reason = unsupported_reason(method, kind)
        if reason is not None:
            raise ValueError(
                f"method {method!r} is not available for model kind {kind!r}: {reason}"
            )
    applying = {p.name: p for p in declared.parameters_for(resolved_kind)}
    unknown = sorted(set(params) - set(applying))
    if unknown:
        allowed = ", ".join(applying) or "none"
        elsewhere = sorted(
            {kind_name for p in declared.parameters if p.name in unknown for kind_name in p.kinds}
        )
        where = f"; it applies to {', '.join(elsewhere)} models" if elsewhere else ""
        raise ValueError(
            f"{method} takes no parameter {', '.join(unknown)} (allowed: {allowed}){where}"
        )
    return {
        name: parameter.check(method, params.get(name, parameter.default))
        for name, parameter in applying.items()
    }


def method_declaration(name: str) -> list[dict[str, Any]]:
    """Return the method's parameters as JSON-ready data: name, default, accepted values, kinds."""
    return [p.declaration() for p in _method(name).parameters]


def supported_methods(kind: str) -> tuple[str, ...]:
    """Return the methods computed for models of ``kind``, in declaration order."""
    if kind == EXTERNAL_KIND:
        return ()
    _kind(kind)
    return tuple(m.name for m in _METHODS if kind not in m.unsupported)


def unsupported_reason(method: str, kind: str) -> str | None:
    """Return why ``method`` is not offered for ``kind``, or None when it is."""
    declared = _method(method)
    if kind == EXTERNAL_KIND:
        return _EXTERNAL_REASON
    _kind(kind)
    return declared.unsupported.get(kind)


def methods_check(methods: Sequence[str], *, kind: str, model_name: str) -> list[str]:
    """Return ``methods`` without repeats, or raise ValueError for one ``model_name`` lacks.

    The message names the unknown or unsupported method (with the reason), the model and
    the methods it supports.
    """
    supported = supported_methods(kind)
    offered = ", ".join(supported) or "none (its explanations are imported)"
    unknown = [m for m in methods if m not in METHODS and m not in STORED_METHODS]
    if unknown:
        raise ValueError(
            f"unknown method(s) {', '.join(unknown)}; model {model_name} ({kind}) "
            f"supports {offered}"
        )
    refused = [m for m in dict.fromkeys(methods) if m not in supported]
    if refused:
        reasons = "; ".join(f"{m}: {unsupported_reason(m, kind)}" for m in refused)
        raise ValueError(
            f"method(s) {', '.join(refused)} not supported by model {model_name} ({kind}): "
            f"{reasons}. It supports {offered}"
        )
    return list(dict.fromkeys(methods))


def methods_resolve(methods: Sequence[str] | None, *, kind: str, model_name: str) -> list[str]:
    """Return the methods to compute for ``model_name``: ``methods`` checked, or all it supports.

    None or an empty list means every method the kind supports; a kind that supports none
    (an ``external`` model) is a ValueError, as is any method :func:`methods_check` refuses.
    """
    if methods:
        return methods_check(methods, kind=kind, model_name=model_name)
    supported = list(supported_methods(kind))
    if not supported:
        raise ValueError(
            f"model {model_name} ({kind}) supports no computed method: {_EXTERNAL_REASON}"
        )
    return supported
