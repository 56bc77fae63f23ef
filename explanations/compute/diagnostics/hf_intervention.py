"""Zeroing the first-token attention of an imported Hugging Face encoder, per word.

An imported sequence classifier (BERT, RoBERTa, XLM-R, CamemBERT, ELECTRA, DistilBERT)
reads one vector: the last layer's output at the first token (``[CLS]``, ``<s>``). Its
"attention" (the ``attention`` explanation method, default parameters) is that layer's
first-token row of attention, averaged over the heads, and summed over the subword
pieces of each word (``pooling="sum"``). The zeroing of Serrano & Smith 2019 is defined
on that row as for the native transformer (:class:`~.intervention.TransformerIntervention`):

* zeroing a *word* sets the weight of every one of its pieces to 0 in every head's
  first-token row, and renormalises each head's row over all its remaining keys;
* special tokens (``[CLS]``, ``[SEP]``, ``<s>``, ``</s>``) and a pair's first text (the
  context) are never attributed (issue #12): they are never zeroed, keep their weight
  and take their share of the renormalisation, so a row never sums to zero (the
  first token always attends to itself);
* words past the model's maximum length are unseen: they have no piece in the input,
  are never zeroed and are not part of any order or fraction (``seen_words`` of
  ``words`` says how many there were).

Only the layers after the last layer's attention rerun: the last layer's input, its
keys and values and the first-token rows are computed once per batch
(:class:`HFIntervention`); each of ``R`` weightings per instance then costs the
mixing of the values, the layer's output projection and feed-forward block for one
vector, and the classification head. The other rows of the last layer feed nothing
(the head reads the first token only), so editing the first-token row is the whole
intervention.

The gradient orders, permutation and adversarial search need one attention vector the
output is a function of, which the per-head rows are not
(:data:`~explanations.compute.attention_debate.HUGGINGFACE_SKIPPED`).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from explanations.compute.attention_debate import (
    HF_GRADIENT_ORDERS_SKIPPED,
    huggingface_zeroing_refusal,
)
from explanations.compute.diagnostics.intervention import (
    Intervention,
    instance_generator,
    instance_keys,
    renormalised,
)
from explanations.compute.diagnostics.zeroing import (
    GRADIENT_ORDERS,
    ORDERS,
    FlipSearch,
    SingleZeroing,
    ZeroingResult,
    _assemble,
    flip_searches,
    order_positions,
    single_weight_zeroing,
)
from explanations.compute.hf.alignment import WordPieces
from explanations.compute.hf.attribution import HFClassifier, probabilities
from explanations.compute.modes import evaluation_mode

HF_ORDERS: tuple[str, ...] = tuple(name for name in ORDERS if name not in GRADIENT_ORDERS)
"""The zeroing orders defined for an imported encoder: attention, reverse, 5 random."""

DEFAULT_MAX_ELEMENTS = 1 << 22
"""Largest [instances x weightings x heads x pieces] block one rerun holds (32 MB in float64)."""


@dataclass(frozen=True)
class LastLayer:
    """What the intervention needs of an encoder's last layer and classification head.

    ``query``, ``key``, ``value``: the last layer's projections; ``heads`` x ``width`` is the
    hidden size; ``after(context, first)`` maps the heads' mixed values [N, 1, hidden]
    (before the output projection) and the layer's input at the first token [N, 1, hidden]
    to the logits [N, C] in the model's own label order.
    """

    layer: nn.Module
    query: nn.Module
    key: nn.Module
    value: nn.Module
    heads: int
    width: int
    scaling: float
    after: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def last_layer(model: nn.Module) -> LastLayer:
    """Return the last layer and head of ``model``; raise ValueError saying why not.

    Recognised: the families of ``HF_ZEROING_FAMILIES`` as ``transformers`` builds them,
    encoder (not decoder) layers with absolute positions.
    """
    config: Any = getattr(model, "config", None)
    model_type = getattr(config, "model_type", None)
    refusal = huggingface_zeroing_refusal(model_type)
    if refusal is None and getattr(config, "is_decoder", False):
        refusal = f"the zeroing is defined for encoders; this {model_type} is a decoder"
    if refusal is None and getattr(config, "position_embedding_type", "absolute") != "absolute":
        refusal = (
            "the zeroing reruns the last layer from its attention row alone, which relative "
            f"position scores ({config.position_embedding_type}) also enter"
        )
    if refusal is not None:
        raise ValueError(refusal)
    found = _distilbert(model) if model_type == "distilbert" else _bert_family(model)
    if found is None:
        raise ValueError(
            f"{type(model).__name__}: its last layer or classification head is not laid out "
            f"as transformers' {model_type} sequence classifier"
        )
    return found


def _bert_family(model: nn.Module) -> LastLayer | None:
    """Return BERT's, RoBERTa's (XLM-R, CamemBERT) or ELECTRA's last layer and head."""
    model_any: Any = model
    base = getattr(model, getattr(model, "base_model_prefix", ""), None)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList) or len(layers) == 0:
        return None
    layer: Any = layers[-1]
    own = getattr(getattr(layer, "attention", None), "self", None)
    needed = ("query", "key", "value", "scaling", "num_attention_heads", "attention_head_size")
    if own is None or not all(hasattr(own, name) for name in needed):
        return None
    if not all(hasattr(layer, name) for name in ("intermediate", "output")):
        return None
    classifier = getattr(model, "classifier", None)
    if classifier is None:
        return None
    head: Callable[[torch.Tensor], torch.Tensor]
    if getattr(model.config, "model_type", None) == "bert":  # type: ignore[union-attr]  # checked above
        pooler = getattr(base, "pooler", None)
        if pooler is None:
            return None
        head = lambda sequence: model_any.classifier(model_any.dropout(pooler(sequence)))  # noqa: E731
    else:  # RoBERTa's and ELECTRA's heads read the first token of the sequence output
        head = classifier

    def after(context: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
        attended = layer.attention.output(context, first)
        return head(layer.output(layer.intermediate(attended), attended))

    return LastLayer(
        layer=layer,
        query=own.query,
        key=own.key,
        value=own.value,
        heads=int(own.num_attention_heads),
        width=int(own.attention_head_size),
        scaling=float(own.scaling),
        after=after,
    )


def _distilbert(model: nn.Module) -> LastLayer | None:
    """Return DistilBERT's last transformer block and its head (pre_classifier, ReLU, classifier)."""
    model_any: Any = model
    layers = getattr(
        getattr(getattr(model, "distilbert", None), "transformer", None), "layer", None
    )
    if not isinstance(layers, nn.ModuleList) or len(layers) == 0:
        return None
    layer: Any = layers[-1]
    own = getattr(layer, "attention", None)
    needed = ("q_lin", "k_lin", "v_lin", "out_lin", "n_heads", "attention_head_size", "scaling")
    if own is None or not all(hasattr(own, name) for name in needed):
        return None
    if not all(hasattr(model, name) for name in ("pre_classifier", "classifier", "dropout")):
        return None

    def after(context: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
        attended = layer.sa_layer_norm(own.out_lin(context) + first)
        output = layer.output_layer_norm(layer.ffn(attended) + attended)
        pooled = torch.relu(model_any.pre_classifier(output[:, 0]))
        return cast(torch.Tensor, model_any.classifier(model_any.dropout(pooled)))

    return LastLayer(
        layer=layer,
        query=own.q_lin,
        key=own.k_lin,
        value=own.v_lin,
        heads=int(own.n_heads),
        width=int(own.attention_head_size),
        scaling=float(own.scaling),
        after=after,
    )


class HFIntervention:
    """The last layer's first-token rows for a batch, and the output with words zeroed.

    Attributes (no gradient): ``lengths`` [B] the words each instance's model saw (the
    positions of every word-level array); ``attention`` [B, W] each seen word's weight:
    the sum over its pieces of the head-mean first-token row (0 past ``lengths``);
    ``probabilities`` [B, C] the model's output in the dataset's label order;
    ``rows`` [B, heads, S] every head's first-token row over the input pieces;
    ``word_pieces`` [B, W, S] which pieces belong to which seen word.
    """

    def __init__(
        self,
        classifier: HFClassifier,
        instances: Sequence[WordPieces],
        *,
        max_elements: int = DEFAULT_MAX_ELEMENTS,
    ) -> None:
        """Run the encoder up to its last layer once; the model must be in eval mode."""
        model = classifier.model
        if model.training:
            raise ValueError("the model must be in eval mode (dropout makes outputs random)")
        if not instances:
            raise ValueError("instances: expected at least one")
        self.parts = last_layer(model)
        self.label_order = classifier.label_order
        self.max_elements = max(1, int(max_elements))
        device = classifier.device
        ids, mask, types, words = _padded(instances, classifier.pad_id, device)
        self.lengths = torch.as_tensor([p.seen_words for p in instances], device=device)
        with torch.no_grad():
            hidden = _last_layer_input(model, self.parts.layer, ids, mask, types)
            size, length, _ = hidden.shape
            shape = (size, length, self.parts.heads, self.parts.width)
            query = self.parts.query(hidden[:, :1]).view(size, 1, *shape[2:]).transpose(1, 2)
            key = self.parts.key(hidden).view(shape).transpose(1, 2)
            self.values = self.parts.value(hidden).view(shape).transpose(1, 2)  # [B, h, S, d]
            scores = (query @ key.transpose(-1, -2))[:, :, 0] * self.parts.scaling
            scores = scores.masked_fill(~mask[:, None, :], torch.finfo(scores.dtype).min)
            self.rows = torch.softmax(scores, dim=-1) * mask[:, None, :]  # [B, heads, S]
            self.first = hidden[:, :1]
            self.word_pieces = words.to(hidden.dtype)
            self.attention = torch.einsum("bs,bws->bw", self.rows.mean(dim=1), self.word_pieces)
            everything = torch.ones(size, 1, words.shape[1], dtype=torch.bool, device=device)
            self.probabilities = self.zeroed_probabilities(everything)[:, 0]

    def probabilities_for_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """Return the outputs [B, R, C] for first-token rows [B, R, heads, S] of every head.

        The rows replace the last layer's first-token attention (each should sum to one
        over the input's pieces); the layer's output projection, feed-forward block and
        the head run for ``R`` rows per instance, in slices of at most ``max_elements``.
        """
        size, count = rows.shape[:2]
        per_row = size * max(rows.shape[2] * rows.shape[3], 4 * self.first.shape[-1])
        step = max(1, self.max_elements // per_row)
        parts = []
        for start in range(0, count, step):
            chunk = rows[:, start : start + step]
            taken = chunk.shape[1]
            mixed = torch.einsum("brhs,bhsd->brhd", chunk, self.values)
            context = mixed.reshape(size * taken, 1, -1)
            first = self.first.repeat_interleave(taken, dim=0)
            logits = self.parts.after(context, first).reshape(size, taken, -1)
            if self.label_order is not None:
                logits = logits[..., list(self.label_order)]
            parts.append(torch.softmax(logits, dim=-1))
        return torch.cat(parts, dim=1)

    def zeroed_probabilities(self, keep: torch.Tensor) -> torch.Tensor:
        """Return the outputs [B, R, C] with every piece of the words where ``keep`` is False zeroed.

        ``keep`` is [B, R, W] over the seen words; zeroed pieces get weight 0 in every
        head's first-token row and each head's row is renormalised over its other keys.
        """
        if keep.dim() != 3 or keep.shape[0] != self.rows.shape[0]:
            raise ValueError(
                f"keep: expected [batch={self.rows.shape[0]}, rows, words], got {tuple(keep.shape)}"
            )
        dropped = torch.einsum("brw,bws->brs", (~keep).to(self.word_pieces.dtype), self.word_pieces)
        kept_pieces = (dropped == 0).to(self.rows.dtype)
        weights = renormalised(self.rows[:, None] * kept_pieces[:, :, None, :])
        return self.probabilities_for_rows(weights)


def _padded(
    instances: Sequence[WordPieces], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Return right-padded ids, mask, token types and the [B, W, S] piece-of-seen-word map."""
    width = max(p.length for p in instances)
    words = max(1, max(p.seen_words for p in instances))
    size = len(instances)
    ids = np.full((size, width), pad_id, dtype=np.int64)
    mask = np.zeros((size, width), dtype=bool)
    with_types = instances[0].token_type_ids is not None
    types = np.zeros((size, width), dtype=np.int64)
    owner = np.zeros((size, words, width), dtype=bool)
    for row, pieces in enumerate(instances):
        ids[row, : pieces.length] = pieces.input_ids
        mask[row, : pieces.length] = True
        if with_types and pieces.token_type_ids is not None:
            types[row, : pieces.length] = pieces.token_type_ids
        # Every attributed piece in the input belongs to a seen word (seen words are a prefix).
        positions = np.flatnonzero(pieces.attributed)
        owner[row, pieces.piece_words[positions], positions] = True
    return (
        torch.as_tensor(ids, device=device),
        torch.as_tensor(mask, device=device),
        torch.as_tensor(types, device=device) if with_types else None,
        torch.as_tensor(owner, device=device),
    )


def _last_layer_input(
    model: nn.Module,
    layer: nn.Module,
    ids: torch.Tensor,
    mask: torch.Tensor,
    types: torch.Tensor | None,
) -> torch.Tensor:
    """Return the hidden states [B, S, hidden] that enter ``layer`` (the last) in a forward pass."""
    captured: list[torch.Tensor] = []

    def keep_input(_: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        captured.append(args[0] if args else kwargs["hidden_states"])

    arguments: dict[str, Any] = {"input_ids": ids, "attention_mask": mask.long()}
    if types is not None:
        arguments["token_type_ids"] = types
    handle = layer.register_forward_pre_hook(keep_input, with_kwargs=True)
    try:
        base: Any = getattr(model, "base_model", model)
        base(**arguments)
    finally:
        handle.remove()
    if len(captured) != 1:
        raise ValueError(f"the last layer ran {len(captured)} times in one forward pass")
    return captured[0]


def hf_word_attention(
    classifier: HFClassifier,
    instances: Sequence[WordPieces],
    *,
    chunk_size: int = 64,
    max_tokens: int = 4096,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Return each instance's seen-word attention (float64) and the probabilities [N, C].

    The weights are those of the intervention (and of the ``attention`` explanation
    with its default parameters, on the seen words).
    """
    rows: list[np.ndarray] = [np.zeros(0)] * len(instances)
    probabilities: list[np.ndarray] = [np.zeros(0)] * len(instances)
    with evaluation_mode(classifier.model):
        for group in _groups(instances, chunk_size, max_tokens):
            intervention = HFIntervention(classifier, [instances[i] for i in group])
            weights = intervention.attention.to(torch.float64).cpu().numpy()
            outputs = intervention.probabilities.to(torch.float64).cpu().numpy()
            for row, i in enumerate(group):
                rows[i] = weights[row, : instances[i].seen_words].copy()
                probabilities[i] = outputs[row]
    return rows, np.stack(probabilities) if instances else np.zeros((0, 0))


def hf_leave_one_out_tvd(
    classifier: HFClassifier, instances: Sequence[WordPieces]
) -> list[np.ndarray]:
    """Return J&W's leave-one-out per seen word: TVD(p(x), p(x without every piece of the word)).

    Jain & Wallace's ``remove_and_run`` deletes the token and shortens the sequence;
    here the word's pieces are deleted (special tokens and a pair's context stay), as
    the ``omission`` explanation does. All variants share length-sorted batches.
    """
    variants: list[tuple[np.ndarray, np.ndarray | None]] = []
    for pieces in instances:
        variants.append((pieces.input_ids, pieces.token_type_ids))
        variants.extend(pieces.without([word]) for word in range(pieces.seen_words))
    with evaluation_mode(classifier.model):
        outputs = probabilities(classifier, variants) if variants else np.zeros((0, 0))
    result: list[np.ndarray] = []
    start = 0
    for pieces in instances:
        full, deleted = outputs[start], outputs[start + 1 : start + 1 + pieces.seen_words]
        result.append(0.5 * np.abs(deleted - full).sum(axis=1))
        start += 1 + pieces.seen_words
    return result


def _groups(instances: Sequence[WordPieces], chunk_size: int, max_tokens: int) -> list[list[int]]:
    """Return length-sorted groups of at most ``chunk_size`` instances and ``max_tokens`` pieces."""
    order = sorted(range(len(instances)), key=lambda i: (instances[i].length, i))
    groups: list[list[int]] = []
    current: list[int] = []
    for i in order:
        width = instances[i].length
        if current and (len(current) >= chunk_size or (len(current) + 1) * width > max_tokens):
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups


def hf_zeroing_diagnostics(
    classifier: HFClassifier,
    instances: Sequence[WordPieces],
    *,
    orders: Sequence[str] | None = None,
    seed: int = 0,
    keys: Sequence[int] | None = None,
    chunk_size: int = 16,
    max_tokens: int = 2048,
) -> ZeroingResult:
    """Return Serrano & Smith's (a) and (b) for every instance, over its seen words.

    The same definitions, random streams and result as
    :func:`~.zeroing.zeroing_diagnostics` (positions, items and fractions count seen
    words); ``orders`` default :data:`HF_ORDERS`, the gradient orders are refused.
    Instances go in length-sorted groups of at most ``chunk_size`` instances and
    ``max_tokens`` instances x pieces.
    """
    chosen = tuple(HF_ORDERS if orders is None else orders)
    unknown = [name for name in chosen if name not in ORDERS]
    if unknown:
        raise ValueError(
            f"orders: unknown {', '.join(unknown)}; expected some of {', '.join(ORDERS)}"
        )
    refused = [name for name in chosen if name in GRADIENT_ORDERS]
    if refused:
        raise ValueError(f"orders {', '.join(refused)}: {HF_GRADIENT_ORDERS_SKIPPED}")
    if not instances:
        raise ValueError("instances: expected at least one")
    last_layer(classifier.model)  # refuse an unsupported family before any work
    streams = instance_keys(keys, len(instances))
    parts: list[tuple[list[int], SingleZeroing, dict[str, FlipSearch], np.ndarray]] = []
    with evaluation_mode(classifier.model):
        for group in _groups(instances, chunk_size, max_tokens):
            intervention = HFIntervention(classifier, [instances[i] for i in group])
            # Duck-typed: the zeroing reads lengths, attention, probabilities, zeroed_probabilities.
            shared = cast(Intervention, intervention)
            generators = [instance_generator(seed, streams[i]) for i in group]
            single = single_weight_zeroing(shared, generators)
            flips = flip_searches(shared, order_positions(shared, chosen, generators))
            labels = intervention.probabilities.argmax(dim=1).cpu().numpy()
            parts.append((group, single, flips, labels))
    skipped = {name: HF_GRADIENT_ORDERS_SKIPPED for name in GRADIENT_ORDERS}
    return _assemble(len(instances), parts, chosen, skipped)


__all__ = [
    "DEFAULT_MAX_ELEMENTS",
    "HF_ORDERS",
    "HFIntervention",
    "LastLayer",
    "hf_leave_one_out_tvd",
    "hf_word_attention",
    "hf_zeroing_diagnostics",
    "last_layer",
]
