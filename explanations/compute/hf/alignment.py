"""Words and subword pieces: encode instances for a Hugging Face model, piece by word.

People see, and every score uses, the words of ``Instance.tokens`` (our own tokenizer's,
fixed at import). A Hugging Face model sees subword pieces. :func:`encode_words` runs the
model's *fast* tokenizer once per instance and maps each piece of the explained text to
the word whose character span it overlaps (its offsets against the word offsets):

* a piece overlapping several words belongs to the first of them (the others then have
  no piece of their own);
* a piece in a gap between words (whitespace a tokenizer kept) belongs to the next word;
* special tokens (``[CLS]``, ``[SEP]``, ``<s>``, ``</s>``), the pieces of a pair's first
  text (the context) and a piece after the last word belong to no word (index ``-1``):
  they are never attributed, never erased, and keep their own embedding everywhere.

Truncation to the model's maximum length cuts pieces off; the words after the last one
with a piece in the model's input are then *unseen* (without truncation every word is
seen, even one the tokenizer dropped or merged into a neighbour's piece). Unseen words get no score of their own and are left out
of every faithfulness metric; :attr:`WordPieces.seen` says which they are.

Erasure acts on whole words: :meth:`WordPieces.without` drops every piece of the deleted
words (the special-token template and the context stay as they were), so the model sees
the same input a re-tokenised text would give it, minus those words.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

NO_WORD = -1
"""``piece_words`` value of a special token, a context piece or an unaligned piece."""


@dataclass(frozen=True)
class WordPieces:
    """One instance as the model sees it, with the explained word of every piece.

    ``input_ids`` [P] is the model's whole input (special tokens and, for pairs, the
    context included) after truncation; ``token_type_ids`` [P] or None when the model
    takes none; ``piece_words`` [P] the explained word of each piece or ``NO_WORD``;
    ``special`` [P] whether a piece is a special token; ``n_words`` the number of
    explained words (``len(Instance.explained_tokens)``); ``truncated`` whether the
    tokenizer cut the input at the model's maximum length.
    """

    input_ids: np.ndarray
    token_type_ids: np.ndarray | None
    piece_words: np.ndarray
    special: np.ndarray
    n_words: int
    truncated: bool = False

    @property
    def length(self) -> int:
        """Return the number of pieces the model sees."""
        return int(self.input_ids.shape[0])

    @property
    def seen(self) -> np.ndarray:
        """Return a bool [n_words]: whether the model saw each word (it was not truncated).

        Without truncation every word was seen. A truncated input's seen words are a
        prefix: every word up to the last one with a piece in the input. A seen word with
        no piece of its own (its characters fell inside a neighbour's piece, or the
        tokenizer dropped them) scores 0 and erasing it removes nothing.
        """
        if not self.truncated:
            return np.ones(self.n_words, dtype=bool)
        seen = np.zeros(self.n_words, dtype=bool)
        words = self.piece_words[self.piece_words >= 0]
        if len(words):
            seen[: int(words.max()) + 1] = True
        return seen

    @property
    def seen_words(self) -> int:
        """Return the number of words the model saw."""
        return int(self.seen.sum())

    @property
    def attributed(self) -> np.ndarray:
        """Return a bool [P]: the pieces that belong to an explained word."""
        return self.piece_words >= 0

    def without(self, deleted: np.ndarray | Sequence[int]) -> tuple[np.ndarray, np.ndarray | None]:
        """Return ``(input_ids, token_type_ids)`` with every piece of the ``deleted`` words removed."""
        drop = np.isin(self.piece_words, np.asarray(deleted, dtype=np.int64)) & self.attributed
        keep = ~drop
        types = None if self.token_type_ids is None else self.token_type_ids[keep]
        return self.input_ids[keep], types

    def keeping(self, kept: np.ndarray | Sequence[int]) -> tuple[np.ndarray, np.ndarray | None]:
        """Return the input with only the ``kept`` words' pieces (and every unattributed piece)."""
        keep = ~self.attributed | np.isin(self.piece_words, np.asarray(kept, dtype=np.int64))
        types = None if self.token_type_ids is None else self.token_type_ids[keep]
        return self.input_ids[keep], types


def align_pieces(
    piece_offsets: Sequence[Sequence[int]], word_offsets: Sequence[Sequence[int]]
) -> np.ndarray:
    """Return the word index of each piece (``NO_WORD`` where none), by character offsets.

    ``piece_offsets`` are the pieces' [start, end) spans in the explained text (only that
    text's pieces); ``word_offsets`` the words' spans, in text order. See the module
    docstring for the rules.
    """
    n = len(word_offsets)
    result = np.full(len(piece_offsets), NO_WORD, dtype=np.int64)
    if n == 0 or not len(piece_offsets):
        return result
    words = np.asarray(word_offsets, dtype=np.int64).reshape(n, 2)
    ends = words[:, 1]
    pieces = np.asarray(piece_offsets, dtype=np.int64).reshape(-1, 2)
    # The first word ending after the piece's start: it overlaps the piece if it also
    # starts before the piece's end; otherwise the piece sits in a gap before that word.
    first = np.searchsorted(ends, pieces[:, 0], side="right")
    inside = first < n
    result[inside] = first[inside]
    # A zero-width piece (RoBERTa's lone space marker) follows the same rule: the word
    # containing or following its position, none after the last word.
    return result


def encode_words(
    tokenizer: Any,
    texts: Sequence[str],
    word_offsets: Sequence[Sequence[Sequence[int]]],
    contexts: Sequence[str] | None = None,
    *,
    max_length: int,
) -> list[WordPieces]:
    """Encode each explained text (after its pair context, if any) with ``tokenizer``.

    ``tokenizer`` is a fast Hugging Face tokenizer (it must return offsets);
    ``word_offsets[i]`` are the [start, end) spans of instance i's explained words in
    ``texts[i]``. For pairs the context is the first sequence and the explained text
    the second, as the model was fine-tuned (``[CLS] context [SEP] text [SEP]``).
    Inputs longer than ``max_length`` pieces are truncated (longest sequence first).
    """
    if len(word_offsets) != len(texts):
        raise ValueError(f"{len(word_offsets)} word offset lists for {len(texts)} texts")
    if contexts is not None and len(contexts) != len(texts):
        raise ValueError(f"{len(contexts)} contexts for {len(texts)} texts")
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("word alignment needs a fast tokenizer (one that returns offsets)")
    if not texts:
        return []
    arguments: dict[str, Any] = {
        "return_offsets_mapping": True,
        "return_special_tokens_mask": True,
        "truncation": True,
        "max_length": max_length,
    }
    encoded = (
        tokenizer(list(contexts), list(texts), **arguments)
        if contexts is not None
        else tokenizer(list(texts), **arguments)
    )
    explained_sequence = 1 if contexts is not None else 0
    result = []
    for row in range(len(texts)):
        ids = np.asarray(encoded["input_ids"][row], dtype=np.int64)
        special = np.asarray(encoded["special_tokens_mask"][row], dtype=bool)
        sequence_ids = encoded.sequence_ids(row)
        offsets = encoded["offset_mapping"][row]
        explained = np.array(
            [s == explained_sequence and not special[p] for p, s in enumerate(sequence_ids)],
            dtype=bool,
        )
        piece_words = np.full(ids.shape[0], NO_WORD, dtype=np.int64)
        positions = np.flatnonzero(explained)
        piece_words[positions] = align_pieces([offsets[p] for p in positions], word_offsets[row])
        types = encoded.get("token_type_ids")
        # A fast tokenizer keeps what truncation cut off as the row's overflow.
        truncated = bool(encoded.encodings[row].overflowing)
        result.append(
            WordPieces(
                input_ids=ids,
                token_type_ids=None if types is None else np.asarray(types[row], dtype=np.int64),
                piece_words=piece_words,
                special=special,
                n_words=len(word_offsets[row]),
                truncated=truncated,
            )
        )
    return result


POOLINGS: tuple[str, ...] = ("sum", "l2", "max_abs", "mean")


def pool_words(
    piece_scores: np.ndarray, pieces: WordPieces, pooling: str
) -> tuple[np.ndarray, np.ndarray]:
    """Pool one score per piece [P] into one per word; return ``(scores, seen)``.

    ``sum`` adds the word's pieces (additive attributions keep completeness), ``l2`` takes
    the square root of the sum of squares (for the gradient's per-piece L2 norms this is
    the L2 norm over all of the word's pieces and embedding dimensions), ``max_abs`` the
    piece of largest magnitude (its sign kept), ``mean`` the average. A word with no
    piece gets 0.0; ``seen`` is :attr:`WordPieces.seen`.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    scores = np.asarray(piece_scores, dtype=np.float64).reshape(-1)
    if scores.shape[0] != pieces.length:
        raise ValueError(f"{scores.shape[0]} piece scores for {pieces.length} pieces")
    mask = pieces.attributed
    words = pieces.piece_words[mask]
    values = scores[mask]
    n = pieces.n_words
    counts = np.bincount(words, minlength=n).astype(np.float64)
    seen = pieces.seen
    pooled: np.ndarray
    if pooling == "sum":
        pooled = np.bincount(words, weights=values, minlength=n)
    elif pooling == "mean":
        pooled = np.bincount(words, weights=values, minlength=n) / np.maximum(counts, 1.0)
    elif pooling == "l2":
        pooled = np.sqrt(np.bincount(words, weights=values * values, minlength=n))
    else:
        pooled = np.zeros(n, dtype=np.float64)
        best = np.full(n, -1.0)
        for word, value in zip(words.tolist(), values.tolist(), strict=True):
            if abs(value) > best[word]:
                best[word] = abs(value)
                pooled[word] = value
    return pooled.astype(np.float64), seen
