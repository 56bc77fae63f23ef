"""Tiny deterministic probability functions whose outputs can be worked out by hand."""

import math
from collections.abc import Sequence

import numpy as np


class CountingModel:
    """p(class 1 | x) = (1 + number of 1-tokens) / (2 + number of tokens); records its calls.

    A pair task's context counts like the explained text:
    p(1 | context, x) = (1 + ones(context) + ones(x)) / (2 + len(context) + len(x)).
    """

    def __init__(self) -> None:
        self.calls: list[tuple[list[list[int]], list[list[int]] | None]] = []

    def __call__(
        self, seqs: Sequence[Sequence[int]], contexts: Sequence[Sequence[int]] | None = None
    ) -> np.ndarray:
        sent = [list(seq) for seq in seqs]
        ctx = None if contexts is None else [list(c) for c in contexts]
        self.calls.append((sent, ctx))
        rows = []
        for i, seq in enumerate(sent):
            tokens = seq + ([] if ctx is None else ctx[i])
            p1 = (1 + sum(1 for t in tokens if t == 1)) / (2 + len(tokens))
            rows.append([1 - p1, p1])
        return np.array(rows)


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


class LogisticModel:
    """p(class 1 | x) = sigmoid(bias + sum of weights[token]); token 1 -> +1, 0 -> -1, else 0."""

    def __init__(self, bias: float = 0.5) -> None:
        self.bias = bias
        self.calls: list[list[list[int]]] = []

    def logit(self, seq: Sequence[int]) -> float:
        return self.bias + sum(1.0 if t == 1 else -1.0 if t == 0 else 0.0 for t in seq)

    def __call__(
        self, seqs: Sequence[Sequence[int]], contexts: Sequence[Sequence[int]] | None = None
    ) -> np.ndarray:
        self.calls.append([list(seq) for seq in seqs])
        p1 = np.array([sigmoid(self.logit(seq)) for seq in seqs])
        return np.stack([1 - p1, p1], axis=1)
