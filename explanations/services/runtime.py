"""A loaded model of any kind, behind one interface: predict, explain, erase words.

The jobs (predictions, explanations, faithfulness scores) see instances, never the kind
of model: :func:`runtime_for` returns a :class:`NativeRuntime` for the models trained
here (our vocabulary over ``Instance.tokens``) or an :class:`HFRuntime` for an imported
Hugging Face classifier (its own tokenizer, subword pieces pooled to our words). Both
return one score per explained word, so everything downstream is the same.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from django.conf import settings
from torch import nn

from explanations.compute.attribution import Attribution, explain, reinitialize
from explanations.compute.batching import make_batch
from explanations.compute.faithfulness.variants import ProbabilityFn
from explanations.compute.hf.alignment import WordPieces, encode_words
from explanations.compute.hf.attribution import (
    HFClassifier,
    WordErasure,
    explain_words,
)
from explanations.compute.hf.attribution import (
    predict_proba as hf_predict_proba,
)
from explanations.compute.prediction import predict_proba
from explanations.compute.vocab import Vocabulary
from explanations.models import ClassifierModel, Instance

from .model_store import hf_model_load, model_load


@dataclass(frozen=True)
class ErasureInputs:
    """What the faithfulness metrics need: sequences, contexts and a probability function.

    ``positions[i]`` are the explained words of instance i the sequences stand for (the
    words the model saw), or None when every word is in the sequence; explanation
    scores are restricted to them before scoring.
    """

    seqs: list[list[int]]
    contexts: list[list[int]] | None
    probability_fn: ProbabilityFn
    positions: list[np.ndarray] | None = None

    def restrict(self, scores: Sequence[Sequence[float] | np.ndarray]) -> list[np.ndarray]:
        """Return each instance's scores at :attr:`positions` (all of them when None)."""
        arrays = [np.asarray(s, dtype=np.float64) for s in scores]
        if self.positions is None:
            return arrays
        return [a[p] for a, p in zip(arrays, self.positions, strict=True)]


class Runtime(Protocol):
    @property
    def kind(self) -> str:
        """Return ``native`` or ``huggingface``."""

    def predict(self, instances: Sequence[Instance]) -> np.ndarray:
        """Return class probabilities [N, C] in the dataset's label order."""

    def explain(
        self, instances: Sequence[Instance], method: str, params: Mapping[str, Any]
    ) -> list[Attribution]:
        """Return one :class:`Attribution` per instance, a score per explained word."""

    def erasure_inputs(self, instances: Sequence[Instance]) -> ErasureInputs:
        """Return the inputs of :func:`~explanations.compute.faithfulness.faithfulness_scores`."""

    def randomized(self, seed: int) -> Runtime:
        """Return the same model with re-initialised weights (the randomisation check)."""


@dataclass(frozen=True)
class NativeRuntime:
    """A model trained here: token ids from our vocabulary, one per word."""

    module: nn.Module
    vocab: Vocabulary
    kind: str = "native"

    def _encode(
        self, instances: Sequence[Instance]
    ) -> tuple[list[list[int]], list[list[int]] | None]:
        seqs = [self.vocab.encode(i.explained_tokens) for i in instances]
        contexts = (
            [self.vocab.encode(i.context_tokens or []) for i in instances]
            if instances and instances[0].context_tokens is not None
            else None
        )
        return seqs, contexts

    def predict(self, instances: Sequence[Instance]) -> np.ndarray:
        seqs, contexts = self._encode(instances)
        return predict_proba(self.module, seqs, contexts)

    def explain(
        self, instances: Sequence[Instance], method: str, params: Mapping[str, Any]
    ) -> list[Attribution]:
        seqs, contexts = self._encode(instances)
        return explain(self.module, make_batch(seqs, contexts), method, **params)

    def erasure_inputs(self, instances: Sequence[Instance]) -> ErasureInputs:
        seqs, contexts = self._encode(instances)
        return ErasureInputs(seqs, contexts, functools.partial(predict_proba, self.module))

    def randomized(self, seed: int) -> Runtime:
        return NativeRuntime(reinitialize(self.module, seed=seed), self.vocab)


@dataclass(frozen=True)
class HFRuntime:
    """An imported Hugging Face classifier: its tokenizer's pieces pooled to our words."""

    classifier: HFClassifier
    tokenizer: Any
    max_length: int
    kind: str = "huggingface"

    def encode(self, instances: Sequence[Instance]) -> list[WordPieces]:
        """Return each instance as the model sees it, pieces mapped to explained words."""
        pair = bool(instances) and instances[0].context_tokens is not None
        return encode_words(
            self.tokenizer,
            [i.explained_text for i in instances],
            [i.explained_offsets for i in instances],
            [i.text for i in instances] if pair else None,
            max_length=self.max_length,
        )

    def predict(self, instances: Sequence[Instance]) -> np.ndarray:
        return hf_predict_proba(self.classifier, self.encode(instances))

    def explain(
        self, instances: Sequence[Instance], method: str, params: Mapping[str, Any]
    ) -> list[Attribution]:
        return explain_words(self.classifier, self.encode(instances), method, params)

    def erasure_inputs(self, instances: Sequence[Instance]) -> ErasureInputs:
        encoded = self.encode(instances)
        erasure = WordErasure(self.classifier, encoded)
        seqs, contexts = erasure.inputs()
        positions = [np.flatnonzero(p.seen) for p in encoded]
        return ErasureInputs(seqs, contexts, erasure, positions)

    def randomized(self, seed: int) -> Runtime:
        raise ValueError(
            "the randomisation check is not available for imported Hugging Face models: "
            "re-initialising a pretrained encoder layer by layer is not implemented"
        )


def runtime_for(model: ClassifierModel) -> Runtime:
    """Return the loaded model behind the :class:`Runtime` interface (cached per process).

    Raises ModelUnavailable when the model has no weights here or the device is unusable.
    """
    if model.architecture == ClassifierModel.Architecture.HUGGINGFACE:
        pretrained, tokenizer = hf_model_load(model)
        order = model.config.get("label_order")
        classifier = HFClassifier(
            model=pretrained,
            pad_id=int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0),
            mask_id=tokenizer.mask_token_id,
            label_order=tuple(int(i) for i in order) if order is not None else None,
            max_batch_tokens=int(settings.ELEPHANT_MAX_BATCH_TOKENS),
        )
        return HFRuntime(classifier, tokenizer, int(model.config["max_length"]))
    module, vocab = model_load(model)
    return NativeRuntime(module, vocab)
