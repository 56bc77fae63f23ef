"""Explanations of an imported Hugging Face classifier, one score per word.

Every method computes one score per subword piece and pools the pieces of each word
(:func:`~explanations.compute.hf.alignment.pool_words`, the rule stored as the
``pooling`` parameter). Conventions are the platform's (design document): the target
is the predicted class; gradient methods explain its logit, erasure methods its
softmax probability; the gradient is taken with respect to the word embeddings (the
output of the model's input embedding layer, as Captum's LayerIntegratedGradients is
used by transformers-interpret and ferret), so position and segment embeddings are
added by the model as usual.

* ``gradient``: per piece the L2 norm of d logit_c / d e_p over the embedding; pooled
  with ``l2``, the L2 norm over all of the word's pieces and dimensions.
* ``grad_input``: per piece sum_d (d logit_c / d e_pd) e_pd.
* ``integrated_gradients``: baseline ``zero`` (word embeddings of the word pieces
  zeroed), ``mask`` (each word piece replaced by the mask token's embedding) or ``pad``
  (by the padding token's); special tokens and a pair's context keep their embedding.
  Gauss-Legendre nodes on [0, 1] (Captum's default) or the trapezoid rule; the
  completeness gap sum(attr) - (f(x) - f(b)) is kept.
* ``occlusion``: p_c(x) - p_c(x with every piece of word w given a zero embedding).
* ``omission``: p_c(x) - p_c(x without the pieces of word w), the sequence shortened.
* ``attention``: the attention from the first token (``[CLS]``, ``<s>``) to each piece in
  one layer (default the last), heads pooled by mean or max.
* ``attention_rollout``: Abnar & Zuidema's rollout over every layer, first-token row.
* ``random``: seeded uniform scores per word, keyed by the seed and the input ids.

Speed and memory: instances are sorted by length and grouped so that a forward and
backward pass holds at most ``max_batch_tokens`` rows x pieces (integrated gradients
counts each step as a row and splits one long instance's steps over several passes);
no weight gradient is ever computed (only the embeddings require a gradient); every
tensor is created on the model's device. On a CPU the passes of the gradient methods
and integrated gradients run on worker threads, one intra-op thread each, with the
token budget shared between them (as :mod:`explanations.compute.attribution.scheduling`
does for the native models: a 228-piece pass of 50 steps measured 1.34 s on two workers
against 1.91 s on one with two threads). The gradient methods skip the prediction pass
when the targets are given; occlusion's variants of every instance share length-sorted
passes under ``torch.inference_mode``.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from explanations.compute.attribution.gradients import quadrature
from explanations.compute.attribution.random_control import instance_generator
from explanations.compute.attribution.result import Attribution
from explanations.compute.attribution.scheduling import run_chunks
from explanations.compute.hf.alignment import NO_WORD, WordPieces, pool_words
from explanations.compute.hf.first_token import first_token_twin
from explanations.compute.modes import evaluation_mode

Work = TypeVar("Work")
Result = TypeVar("Result")

DEFAULT_MAX_BATCH_TOKENS = 8192
"""Rows x pieces in one forward and backward pass (``ELEPHANT_MAX_BATCH_TOKENS``).

At 8,192 a 512-piece input runs 16 integrated-gradients steps per pass; for a
BERT-base model that pass holds about 3 GB of activations in float32 (eager
attention keeps its 12 x 512 x 512 maps per layer), within a 16 GB GPU or this
24 GB CPU machine with room to spare.
"""


CPU_GRADIENT_TOKENS = 2048
"""On a CPU, rows x pieces in one pass of ``gradient`` and ``grad_input`` (at most).

Measured on the BERT-style bench (``bench/hf_attribution.py``): passes larger than
about 2,000 pieces are no faster on a CPU, and the activations kept for the backward
pass grow with them (8,192 pieces held 450-520 MB against Captum's 120-190 MB).
"""


@dataclass(frozen=True)
class HFClassifier:
    """An imported sequence classifier with what attribution needs around it.

    ``label_order[i]`` is the model's output index of the dataset's label i: logits and
    probabilities are reordered to the dataset's labels before anything uses them.
    """

    model: nn.Module
    pad_id: int
    mask_id: int | None = None
    label_order: tuple[int, ...] | None = None
    max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS

    @property
    def device(self) -> torch.device:
        """Return the device of the model's parameters."""
        return next(self.model.parameters()).device

    @cached_property
    def _first_token(self) -> nn.Module:
        """Return the model, its last layer computed for the first token where possible."""
        return first_token_twin(self.model) or self.model

    @property
    def embedding(self) -> nn.Module:
        """Return the model's input (word) embedding layer."""
        layer = self.model.get_input_embeddings()  # type: ignore[operator]  # a PreTrainedModel
        assert isinstance(layer, nn.Module)
        return layer

    def logits(
        self,
        *,
        mask: torch.Tensor,
        types: torch.Tensor | None,
        input_ids: torch.Tensor | None = None,
        embeds: torch.Tensor | None = None,
        attentions: bool = False,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None]:
        """Return the logits [B, C] in the dataset's label order (and attentions if asked).

        Without attentions the pass runs on the first-token twin
        (:mod:`explanations.compute.hf.first_token`): the same logits, less work.
        """
        arguments: dict[str, Any] = {"attention_mask": mask}
        if input_ids is not None:
            arguments["input_ids"] = input_ids
        else:
            arguments["inputs_embeds"] = embeds
        if types is not None:
            arguments["token_type_ids"] = types
        if attentions:
            arguments["output_attentions"] = True
        output = (self.model if attentions else self._first_token)(**arguments)
        logits = output.logits
        if self.label_order is not None:
            logits = logits[:, list(self.label_order)]
        return logits, (output.attentions if attentions else None)


@dataclass(frozen=True)
class _Padded:
    ids: torch.Tensor
    mask: torch.Tensor
    types: torch.Tensor | None
    attributed: torch.Tensor
    lengths: list[int]


def _pad(
    classifier: HFClassifier,
    inputs: Sequence[tuple[np.ndarray, np.ndarray | None]],
    attributed: Sequence[np.ndarray] | None = None,
) -> _Padded:
    """Right-pad ``(input_ids, token_type_ids)`` rows into tensors on the model's device."""
    device = classifier.device
    width = max(1, *(len(ids) for ids, _ in inputs))
    ids = np.full((len(inputs), width), classifier.pad_id, dtype=np.int64)
    mask = np.zeros((len(inputs), width), dtype=np.int64)
    types = None if inputs[0][1] is None else np.zeros((len(inputs), width), dtype=np.int64)
    words = np.zeros((len(inputs), width), dtype=bool)
    for row, (row_ids, row_types) in enumerate(inputs):
        ids[row, : len(row_ids)] = row_ids
        mask[row, : len(row_ids)] = 1
        if types is not None and row_types is not None:
            types[row, : len(row_types)] = row_types
        if attributed is not None:
            words[row, : len(row_ids)] = attributed[row]
    return _Padded(
        ids=torch.as_tensor(ids, device=device),
        mask=torch.as_tensor(mask, device=device),
        types=None if types is None else torch.as_tensor(types, device=device),
        attributed=torch.as_tensor(words, device=device),
        lengths=[len(row_ids) for row_ids, _ in inputs],
    )


def _groups(lengths: Sequence[int], rows_each: int, max_tokens: int) -> Iterator[list[int]]:
    """Yield index groups, longest first, of at most ``max_tokens`` rows x pieces each."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    start = 0
    while start < len(order):
        width = max(1, lengths[order[start]])
        size = max(1, max_tokens // (width * rows_each))
        yield order[start : start + size]
        start += size


def probabilities(
    classifier: HFClassifier, inputs: Sequence[tuple[np.ndarray, np.ndarray | None]]
) -> np.ndarray:
    """Return softmax probabilities [N, C] (float64, dataset label order) of model inputs."""
    if not inputs:
        return np.zeros((0, 0), dtype=np.float64)
    parts: dict[int, np.ndarray] = {}
    with torch.inference_mode():
        for group in _groups([len(ids) for ids, _ in inputs], 1, classifier.max_batch_tokens):
            padded = _pad(classifier, [inputs[i] for i in group])
            logits, _ = classifier.logits(
                input_ids=padded.ids, mask=padded.mask, types=padded.types
            )
            values = torch.softmax(logits.to(torch.float64), dim=-1).cpu().numpy()
            parts.update(zip(group, values, strict=True))
    return np.stack([parts[i] for i in range(len(inputs))])


def predict_proba(classifier: HFClassifier, instances: Sequence[WordPieces]) -> np.ndarray:
    """Return the class probabilities [N, C] of whole instances."""
    return probabilities(classifier, [(p.input_ids, p.token_type_ids) for p in instances])


def _targets(
    classifier: HFClassifier,
    instances: Sequence[WordPieces],
    target: Sequence[int] | None,
    *,
    need_probs: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(targets, probabilities)``: the given classes or the predicted ones.

    With ``need_probs=False`` and the targets given, no forward pass is run (the
    gradient methods need no probability) and an empty array stands for them.
    """
    classes = _classes(classifier)
    probs = (
        predict_proba(classifier, instances)
        if target is None or need_probs or classes is None
        else np.zeros((0, 0))
    )
    if target is None:
        return probs.argmax(axis=1), probs
    if classes is None:
        classes = probs.shape[1]
    chosen = np.asarray(list(target), dtype=np.int64)
    if chosen.shape != (len(instances),):
        raise ValueError(f"{len(chosen)} targets for {len(instances)} instances")
    if len(chosen) and (chosen.min() < 0 or chosen.max() >= classes):
        raise ValueError(f"targets must be class indices in 0..{classes - 1}")
    return chosen, probs


def _classes(classifier: HFClassifier) -> int | None:
    """Return the number of classes the logits have, if known without a forward pass."""
    if classifier.label_order is not None:
        return len(classifier.label_order)
    labels = getattr(getattr(classifier.model, "config", None), "num_labels", None)
    return labels if isinstance(labels, int) else None


@dataclass
class PieceScores:
    """One score per piece of the model's input, before pooling (unattributed pieces are ignored)."""

    scores: np.ndarray
    target: int
    extras: dict[str, float] = field(default_factory=dict)

    def pooled(self, pieces: WordPieces, pooling: str) -> Attribution:
        """Return the word-level :class:`Attribution` under ``pooling``."""
        scores, seen = pool_words(self.scores, pieces, pooling)
        scores[~seen] = 0.0
        return Attribution(
            scores=scores,
            target=self.target,
            extras={
                "seen_words": float(seen.sum()),
                "words": float(pieces.n_words),
                **self.extras,
            },
        )


def _gradient_pass(
    classifier: HFClassifier,
    embeds: torch.Tensor,
    padded_mask: torch.Tensor,
    types: torch.Tensor | None,
    targets: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(d logit_target / d embeds, target logits)`` for a batch of embeddings."""
    embeds = embeds.detach().requires_grad_(True)
    with torch.enable_grad():
        logits, _ = classifier.logits(embeds=embeds, mask=padded_mask, types=types)
        chosen = logits.gather(1, targets.view(-1, 1)).squeeze(1)
        (gradient,) = torch.autograd.grad(chosen.sum(), embeds)
    return gradient, chosen.detach()


def _workers(classifier: HFClassifier) -> int:
    """Return how many worker threads share the passes: the CPU's thread budget, else 1."""
    return max(1, torch.get_num_threads()) if classifier.device.type == "cpu" else 1


def _gradient_methods(
    classifier: HFClassifier,
    instances: Sequence[WordPieces],
    targets: np.ndarray,
    params: Mapping[str, Any],
    *,
    times_input: bool,
) -> list[PieceScores]:
    lengths = [p.length for p in instances]
    budget = classifier.max_batch_tokens
    if classifier.device.type == "cpu":
        budget = min(budget, CPU_GRADIENT_TOKENS)
    groups = list(_groups(lengths, 1, max(1, budget // _workers(classifier))))

    def work(group: list[int]) -> np.ndarray:
        padded = _pad(
            classifier, [(instances[i].input_ids, instances[i].token_type_ids) for i in group]
        )
        embeds = classifier.embedding(padded.ids)
        chosen = torch.as_tensor(targets[group], device=classifier.device)
        gradient, _ = _gradient_pass(classifier, embeds, padded.mask, padded.types, chosen)
        detached = embeds.detach()
        piece = (gradient * detached).sum(dim=-1) if times_input else gradient.norm(dim=-1)
        return piece.to(torch.float64).cpu().numpy()

    results: dict[int, PieceScores] = {}
    for group, values in zip(groups, _run(classifier, work, groups), strict=True):
        for row, i in enumerate(group):
            results[i] = PieceScores(values[row, : lengths[i]].copy(), int(targets[i]))
    return [results[i] for i in range(len(instances))]


def _run(
    classifier: HFClassifier, function: Callable[[Work], Result], items: Sequence[Work]
) -> list[Result]:
    """Return ``[function(item) for item in items]``, on worker threads on a CPU."""
    if _workers(classifier) == 1:
        return [function(item) for item in items]
    return run_chunks(function, items)


def _baseline(
    classifier: HFClassifier,
    embeds: torch.Tensor,
    attributed: torch.Tensor,
    baseline: str,
) -> torch.Tensor:
    """Return baseline embeddings: word pieces replaced, special tokens and context kept."""
    if baseline == "zero":
        replacement = torch.zeros_like(embeds[0, 0])
    else:
        token = classifier.mask_id if baseline == "mask" else classifier.pad_id
        if token is None:
            raise ValueError(
                f"integrated_gradients baseline {baseline!r}: the tokenizer has no mask token"
            )
        index = torch.tensor([token], device=embeds.device)
        replacement = classifier.embedding(index)[0].to(embeds.dtype)
    return torch.where(attributed.unsqueeze(-1), replacement, embeds)


@dataclass(frozen=True)
class _Path:
    """One group's integrated-gradients path: inputs, baseline and their difference."""

    padded: _Padded
    inputs: torch.Tensor
    base: torch.Tensor
    delta: torch.Tensor
    chosen: torch.Tensor


def _integrated_gradients(
    classifier: HFClassifier,
    instances: Sequence[WordPieces],
    targets: np.ndarray,
    params: Mapping[str, Any],
) -> list[PieceScores]:
    nodes, weights = quadrature(params["n_steps"], params["integration"])
    steps = len(nodes)
    device = classifier.device
    lengths = [p.length for p in instances]
    # Each worker's pass holds at most its share of the budget.
    budget = max(1, classifier.max_batch_tokens // _workers(classifier))
    groups = list(_groups(lengths, steps, budget))
    paths: list[_Path] = []
    work: list[tuple[int, int, int]] = []
    for number, group in enumerate(groups):
        padded = _pad(
            classifier,
            [(instances[i].input_ids, instances[i].token_type_ids) for i in group],
            [instances[i].attributed for i in group],
        )
        with torch.no_grad():
            inputs = classifier.embedding(padded.ids)
            base = _baseline(classifier, inputs, padded.attributed, params["baseline"])
        chosen = torch.as_tensor(targets[group], device=device)
        paths.append(_Path(padded, inputs, base, inputs - base, chosen))
        size, width = padded.ids.shape
        # Steps per pass: all of them for a group that fits, else a slice of one instance's.
        per_pass = max(1, budget // width) if size == 1 else steps
        work.extend(
            (number, start, min(steps, start + per_pass)) for start in range(0, steps, per_pass)
        )

    def integrate(item: tuple[int, int, int]) -> torch.Tensor:
        """Return the weighted gradient sum of one group over the steps start:stop."""
        number, start, stop = item
        path = paths[number]
        size, width = path.padded.ids.shape
        dtype = path.inputs.dtype
        alphas = torch.as_tensor(nodes[start:stop], dtype=dtype, device=device)
        step_weights = torch.as_tensor(weights[start:stop], dtype=dtype, device=device)
        k = len(alphas)
        points = path.base.unsqueeze(1) + alphas.view(1, k, 1, 1) * path.delta.unsqueeze(1)
        types = path.padded.types
        gradient, _ = _gradient_pass(
            classifier,
            points.reshape(size * k, width, -1),
            path.padded.mask.repeat_interleave(k, dim=0),
            None if types is None else types.repeat_interleave(k, dim=0),
            path.chosen.repeat_interleave(k),
        )
        return (gradient.view(size, k, width, -1) * step_weights.view(1, k, 1, 1)).sum(dim=1)

    totals = [torch.zeros_like(path.inputs) for path in paths]
    for (number, _, _), partial in zip(work, _run(classifier, integrate, work), strict=True):
        totals[number] += partial
    results: dict[int, PieceScores] = {}
    for group, path, total in zip(groups, paths, totals, strict=True):
        size = len(group)
        padded = path.padded
        piece = (total * path.delta).sum(dim=-1)
        with torch.no_grad():
            ends, _ = classifier.logits(
                embeds=torch.cat([path.inputs, path.base]),
                mask=padded.mask.repeat(2, 1),
                types=None if padded.types is None else padded.types.repeat(2, 1),
            )
            f_x = ends[:size].gather(1, path.chosen.view(-1, 1)).squeeze(1)
            f_b = ends[size:].gather(1, path.chosen.view(-1, 1)).squeeze(1)
        values = piece.to(torch.float64).cpu().numpy()
        sums = (piece * padded.attributed).sum(dim=1).to(torch.float64).cpu().numpy()
        f_x_values = f_x.to(torch.float64).cpu().numpy()
        f_b_values = f_b.to(torch.float64).cpu().numpy()
        for row, i in enumerate(group):
            extras = {
                "completeness_gap": float(sums[row] - (f_x_values[row] - f_b_values[row])),
                "f_x": float(f_x_values[row]),
                "f_baseline": float(f_b_values[row]),
            }
            results[i] = PieceScores(values[row, : lengths[i]].copy(), int(targets[i]), extras)
    return [results[i] for i in range(len(instances))]


def _occlusion(
    classifier: HFClassifier,
    instances: Sequence[WordPieces],
    targets: np.ndarray,
    probs: np.ndarray,
    params: Mapping[str, Any],
) -> list[Attribution]:
    """Zero the embeddings of each word's pieces in turn.

    The variants of every instance share length-sorted passes of at most
    ``max_batch_tokens`` rows x pieces (short instances fill a pass together); each pass
    looks up the word embeddings of its instances once and masks one word per row.
    """
    device = classifier.device
    lengths = [p.length for p in instances]
    variants = [
        (i, word)
        for i in sorted(range(len(instances)), key=lambda i: (-lengths[i], i))
        for word in np.flatnonzero(instances[i].seen).tolist()
    ]
    scores = [np.zeros(p.n_words, dtype=np.float64) for p in instances]
    budget = classifier.max_batch_tokens
    start = 0
    with torch.inference_mode():
        while start < len(variants):
            width = lengths[variants[start][0]]
            part = variants[start : start + max(1, budget // width)]
            start += len(part)
            owners = sorted({i for i, _ in part})
            padded = _pad(
                classifier, [(instances[i].input_ids, instances[i].token_type_ids) for i in owners]
            )
            words = np.full(padded.ids.shape, NO_WORD, dtype=np.int64)
            for row, i in enumerate(owners):
                words[row, : lengths[i]] = instances[i].piece_words
            slot = {i: row for row, i in enumerate(owners)}
            rows = torch.as_tensor([slot[i] for i, _ in part], device=device)
            hidden = torch.as_tensor(words, device=device)[rows] == torch.as_tensor(
                [word for _, word in part], device=device
            ).unsqueeze(1)
            embeds = classifier.embedding(padded.ids)[rows].masked_fill(hidden.unsqueeze(-1), 0.0)
            logits, _ = classifier.logits(
                embeds=embeds,
                mask=padded.mask[rows],
                types=None if padded.types is None else padded.types[rows],
            )
            chosen = torch.as_tensor(targets[[i for i, _ in part]], device=device)
            occluded = torch.softmax(logits.to(torch.float64), dim=-1).gather(1, chosen.view(-1, 1))
            for (i, word), value in zip(part, occluded.view(-1).cpu().tolist(), strict=True):
                scores[i][word] = probs[i, int(targets[i])] - value
    return [
        _word_attribution(scores[i], pieces, int(targets[i])) for i, pieces in enumerate(instances)
    ]


def _word_attribution(scores: np.ndarray, pieces: WordPieces, target: int) -> Attribution:
    seen = pieces.seen
    scores = np.where(seen, scores, 0.0).astype(np.float64)
    return Attribution(
        scores=scores,
        target=target,
        extras={"seen_words": float(seen.sum()), "words": float(pieces.n_words)},
    )


def _omission(
    classifier: HFClassifier,
    instances: Sequence[WordPieces],
    targets: np.ndarray,
    probs: np.ndarray,
) -> list[Attribution]:
    """Delete each word's pieces in turn; every instance's variants share length-sorted batches."""
    variants: list[tuple[np.ndarray, np.ndarray | None]] = []
    owners: list[tuple[int, int]] = []
    for i, pieces in enumerate(instances):
        for word in np.flatnonzero(pieces.seen).tolist():
            variants.append(pieces.without([word]))
            owners.append((i, word))
    deleted = probabilities(classifier, variants) if variants else np.zeros((0, 0))
    scores = [np.zeros(p.n_words, dtype=np.float64) for p in instances]
    for row, (i, word) in enumerate(owners):
        scores[i][word] = probs[i, int(targets[i])] - deleted[row, int(targets[i])]
    return [
        _word_attribution(scores[i], pieces, int(targets[i])) for i, pieces in enumerate(instances)
    ]


def _head_pool(attention: torch.Tensor, how: str) -> torch.Tensor:
    return attention.max(dim=1).values if how == "max" else attention.mean(dim=1)


def _attention(
    classifier: HFClassifier,
    instances: Sequence[WordPieces],
    targets: np.ndarray,
    params: Mapping[str, Any],
    *,
    rolled: bool,
) -> list[PieceScores]:
    results: dict[int, PieceScores] = {}
    lengths = [p.length for p in instances]
    for group in _groups(lengths, 1, classifier.max_batch_tokens):
        padded = _pad(
            classifier,
            [(instances[i].input_ids, instances[i].token_type_ids) for i in group],
            [instances[i].attributed for i in group],
        )
        with torch.no_grad():
            _, maps = classifier.logits(
                input_ids=padded.ids, mask=padded.mask, types=padded.types, attentions=True
            )
            if not maps:
                raise ValueError(
                    "the model returned no attention weights (load it with attn_implementation='eager')"
                )
            if rolled:
                width = padded.ids.shape[1]
                identity = torch.eye(width, dtype=maps[0].dtype, device=maps[0].device)
                residual = params["residual"]
                rolled_map = identity.expand(len(group), -1, -1)
                for layer in maps:
                    mixed = (1.0 - residual) * _head_pool(
                        layer, params["head_pooling"]
                    ) + residual * identity
                    mixed = mixed / mixed.sum(dim=-1, keepdim=True)
                    rolled_map = mixed @ rolled_map
                row = rolled_map[:, 0, :]
            else:
                layer_index = params["layer"]
                if not -len(maps) <= layer_index < len(maps):
                    raise ValueError(
                        f"attention layer {layer_index} does not exist: the model has {len(maps)} layers"
                    )
                row = _head_pool(maps[layer_index], params["head_pooling"])[:, 0, :]
            elsewhere = 1.0 - (row * padded.attributed).sum(dim=1)
        values = row.to(torch.float64).cpu().numpy()
        rest = elsewhere.to(torch.float64).cpu().numpy()
        for r, i in enumerate(group):
            results[i] = PieceScores(
                values[r, : lengths[i]].copy(),
                int(targets[i]),
                {"attention_elsewhere": float(rest[r])},
            )
    return [results[i] for i in range(len(instances))]


def _random(
    instances: Sequence[WordPieces], targets: np.ndarray, params: Mapping[str, Any]
) -> list[Attribution]:
    results = []
    for i, pieces in enumerate(instances):
        generator = instance_generator(params["seed"], pieces.input_ids.tolist(), None)
        results.append(_word_attribution(generator.random(pieces.n_words), pieces, int(targets[i])))
    return results


_PIECE_METHODS = (
    "gradient",
    "grad_input",
    "integrated_gradients",
    "attention",
    "attention_rollout",
)
_WORD_METHODS = ("occlusion", "omission", "random")


def explain_pieces(
    classifier: HFClassifier,
    instances: Sequence[WordPieces],
    method: str,
    params: Mapping[str, Any],
    *,
    target: Sequence[int] | None = None,
) -> list[PieceScores]:
    """Return one score per piece for the methods that score pieces (before pooling)."""
    if method not in _PIECE_METHODS:
        raise ValueError(f"method {method!r} scores whole words, not pieces")
    if not instances:
        return []
    with evaluation_mode(classifier.model):
        targets, _ = _targets(classifier, instances, target, need_probs=False)
        if method in ("gradient", "grad_input"):
            return _gradient_methods(
                classifier, instances, targets, params, times_input=method == "grad_input"
            )
        if method == "integrated_gradients":
            return _integrated_gradients(classifier, instances, targets, params)
        return _attention(
            classifier, instances, targets, params, rolled=method == "attention_rollout"
        )


def explain_words(
    classifier: HFClassifier,
    instances: Sequence[WordPieces],
    method: str,
    params: Mapping[str, Any],
    *,
    target: Sequence[int] | None = None,
) -> list[Attribution]:
    """Return one :class:`Attribution` per instance: a score per word, unseen words 0.

    ``params`` are the method's resolved parameters (the registry's, kind
    ``huggingface``); piece-level methods pool with ``params["pooling"]``. The
    ``extras`` of every result hold ``seen_words`` and ``words``.
    """
    if method not in _PIECE_METHODS + _WORD_METHODS:
        raise ValueError(
            f"method {method!r} is not available for Hugging Face models; "
            f"expected one of {', '.join(_PIECE_METHODS + _WORD_METHODS)}"
        )
    if not instances:
        return []
    if method in _PIECE_METHODS:
        pieces = explain_pieces(classifier, instances, method, params, target=target)
        return [
            scores.pooled(instance, params["pooling"])
            for scores, instance in zip(pieces, instances, strict=True)
        ]
    with evaluation_mode(classifier.model):
        targets, probs = _targets(classifier, instances, target)
        if method == "occlusion":
            return _occlusion(classifier, instances, targets, probs, params)
        if method == "omission":
            return _omission(classifier, instances, targets, probs)
        return _random(instances, targets, params)


class WordErasure:
    """The probability function of the faithfulness metrics, erasing whole words.

    :func:`~explanations.compute.faithfulness.faithfulness_scores` deletes tokens from
    ``seqs``; here ``seqs[i]`` are instance i's *seen* word indices and ``contexts[i]`` is
    ``[i]`` (which instance a variant comes from, even when every word is deleted). A
    variant's input keeps the special tokens and the context and drops every piece of
    the deleted words.
    """

    def __init__(self, classifier: HFClassifier, instances: Sequence[WordPieces]) -> None:
        """Hold the model and the encoded instances."""
        self.classifier = classifier
        self.instances = list(instances)

    def inputs(self) -> tuple[list[list[int]], list[list[int]]]:
        """Return ``(seqs, contexts)`` to pass to the faithfulness metrics."""
        seqs = [np.flatnonzero(p.seen).tolist() for p in self.instances]
        return seqs, [[i] for i in range(len(self.instances))]

    def __call__(
        self, seqs: Sequence[Sequence[int]], contexts: Sequence[Sequence[int]] | None
    ) -> np.ndarray:
        """Return the probabilities [N, C] of each instance reduced to the kept words."""
        if contexts is None:
            raise ValueError("WordErasure needs the instance index of each variant as its context")
        inputs = [
            self.instances[int(context[0])].keeping(list(seq))
            for seq, context in zip(seqs, contexts, strict=True)
        ]
        return probabilities(self.classifier, inputs)
