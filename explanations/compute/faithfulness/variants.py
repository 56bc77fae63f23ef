"""Erasure variants of a batch of instances, sent through the model in one call.

Every erasure metric compares the model's output on an instance with its output on
copies of that instance with some tokens deleted. :class:`VariantPool` gathers the
copies of a whole batch (every bin, every prefix, every leave-one-out deletion, for
every method), drops duplicates (deleting the top-ranked token is both a decision-
flip step and a leave-one-out deletion; the same leave-one-out deletions serve every
method), and evaluates them with a single call of the probability function, which
batches them by length. Variants of different instances therefore share batches.

Deletion removes tokens (the sequence gets shorter) and keeps the order of the
remaining tokens; a pair task's first text (the context) is never changed.
"""

from collections.abc import Callable, Sequence

import numpy as np

ProbabilityFn = Callable[[Sequence[Sequence[int]], Sequence[Sequence[int]] | None], np.ndarray]
"""``(seqs, contexts) -> [N, C]`` class probabilities, rows in input order.

The service passes ``functools.partial(predict_proba, model)``; tests pass small
numpy functions. It must accept empty sequences (every token deleted).
"""


class VariantPool:
    """Collect erasure variants of a batch of instances; evaluate them all at once."""

    def __init__(
        self,
        seqs: Sequence[Sequence[int]],
        contexts: Sequence[Sequence[int]] | None = None,
    ) -> None:
        """Hold the instances' token ids (and, for pair tasks, their contexts)."""
        if contexts is not None and len(contexts) != len(seqs):
            raise ValueError(f"got {len(contexts)} contexts for {len(seqs)} sequences")
        self._seqs = [np.asarray(seq, dtype=np.int64).reshape(-1) for seq in seqs]
        self._contexts = contexts
        self._rows: dict[tuple[int, bytes], int] = {}
        self._variants: list[tuple[int, np.ndarray]] = []

    def __len__(self) -> int:
        """Return the number of distinct variants collected so far."""
        return len(self._variants)

    @property
    def instances(self) -> int:
        """Return the number of instances the variants are drawn from."""
        return len(self._seqs)

    def length(self, instance: int) -> int:
        """Return the number of tokens of ``instance``."""
        return int(self._seqs[instance].shape[0])

    def add(self, instance: int, kept: np.ndarray) -> int:
        """Add ``instance`` reduced to the ``kept`` positions; return its result row.

        ``kept`` must be increasing positions (the order of the remaining tokens is
        the original order). Adding a variant twice returns the same row.
        """
        kept = np.asarray(kept, dtype=np.int64)
        key = (instance, kept.tobytes())
        row = self._rows.get(key)
        if row is None:
            row = len(self._variants)
            self._rows[key] = row
            self._variants.append((instance, kept))
        return row

    def evaluate(
        self, probability_fn: ProbabilityFn, *, chunk_size: int | None = None
    ) -> np.ndarray:
        """Return the ``[V, C]`` probabilities of every variant, rows in order of addition.

        All variants go through one call of ``probability_fn`` (it sorts and batches
        them), or one call per ``chunk_size`` variants to bound memory.
        """
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        total = len(self._variants)
        step = total if chunk_size is None else chunk_size
        parts: list[np.ndarray] = []
        for start in range(0, total, max(step, 1)):
            chunk = self._variants[start : start + step]
            seqs = [self._seqs[instance][kept].tolist() for instance, kept in chunk]
            contexts = (
                None
                if self._contexts is None
                else [self._contexts[instance] for instance, _ in chunk]
            )
            probs = np.asarray(probability_fn(seqs, contexts), dtype=np.float64)
            if probs.ndim != 2 or probs.shape[0] != len(chunk):
                raise ValueError(
                    f"the probability function returned shape {probs.shape} "
                    f"for {len(chunk)} sequences; expected ({len(chunk)}, classes)"
                )
            if not np.all(np.isfinite(probs)):
                raise ValueError("the probability function returned NaN or infinite values")
            parts.append(probs)
        if not parts:
            return np.zeros((0, 0), dtype=np.float64)
        return np.concatenate(parts, axis=0)
