"""Token vocabulary of a classifier, built from an imported dataset's tokens.

Index 0 is the padding token ``<pad>`` and index 1 the unknown token ``<unk>``;
the remaining entries are the lower-cased tokens of the training texts, most
frequent first (ties broken alphabetically, so the order never depends on the
order the texts were read in).
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

PAD_TOKEN = "<pad>"  # noqa: S105  # a vocabulary entry, not a password
UNK_TOKEN = "<unk>"  # noqa: S105  # a vocabulary entry, not a password


class Vocabulary:
    """Map lower-cased tokens to integer ids, with PAD at 0 and UNK at 1."""

    PAD_INDEX: int = 0
    UNK_INDEX: int = 1

    def __init__(self, tokens: Sequence[str]) -> None:
        """Wrap an ordered token list whose first two entries are ``<pad>`` and ``<unk>``."""
        if list(tokens[:2]) != [PAD_TOKEN, UNK_TOKEN]:
            raise ValueError(
                f"vocabulary must start with {PAD_TOKEN!r}, {UNK_TOKEN!r}; got {list(tokens[:2])}"
            )
        index: dict[str, int] = {}
        for position, token in enumerate(tokens):
            if token in index:
                raise ValueError(f"vocabulary token {token!r} appears twice (index {position})")
            index[token] = position
        self._tokens = list(tokens)
        self._index = index

    @classmethod
    def build(
        cls,
        token_lists: Iterable[Sequence[str]],
        *,
        min_freq: int = 1,
        max_size: int | None = None,
    ) -> "Vocabulary":
        """Build a vocabulary from tokenised texts.

        Tokens are lower-cased, counted, and kept when they occur at least
        ``min_freq`` times; ``max_size`` caps the total size, the two special
        tokens included, keeping the most frequent tokens.
        """
        if min_freq < 1:
            raise ValueError(f"min_freq must be at least 1, got {min_freq}")
        if max_size is not None and max_size < 2:
            raise ValueError(f"max_size must leave room for <pad> and <unk>, got {max_size}")
        counts: Counter[str] = Counter()
        for tokens in token_lists:
            counts.update(token.lower() for token in tokens)
        for special in (PAD_TOKEN, UNK_TOKEN):
            counts.pop(special, None)
        kept = sorted(
            (token for token, count in counts.items() if count >= min_freq),
            key=lambda token: (-counts[token], token),
        )
        if max_size is not None:
            kept = kept[: max_size - 2]
        return cls([PAD_TOKEN, UNK_TOKEN, *kept])

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Return the ids of ``tokens`` (lower-cased), unknown tokens mapped to UNK."""
        index = self._index
        return [index.get(token.lower(), self.UNK_INDEX) for token in tokens]

    def token(self, index: int) -> str:
        """Return the token stored at ``index``."""
        return self._tokens[index]

    def __len__(self) -> int:
        """Return the number of entries, the two special tokens included."""
        return len(self._tokens)

    def __contains__(self, token: object) -> bool:
        """Return whether the lower-cased ``token`` has its own entry."""
        return isinstance(token, str) and token.lower() in self._index

    def __eq__(self, other: object) -> bool:
        """Return whether both vocabularies hold the same tokens in the same order."""
        return isinstance(other, Vocabulary) and self._tokens == other._tokens

    def __hash__(self) -> int:
        """Hash the ordered token list."""
        return hash(tuple(self._tokens))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable form, read back by :meth:`from_dict`."""
        return {"lowercase": True, "tokens": list(self._tokens)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Vocabulary":
        """Rebuild a vocabulary written by :meth:`to_dict`."""
        tokens = data.get("tokens")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ValueError("vocabulary data needs a 'tokens' list of strings")
        return cls(tokens)
