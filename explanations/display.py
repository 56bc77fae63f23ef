"""Turn token scores into what a page draws: heatmap colours and bar widths.

The palette is a diverging blue/orange scale (the two hues of ColorBrewer's PuOr ends,
distinguishable under protanopia, deuteranopia and tritanopia): blue for positive
scores (evidence for the explained class), orange for negative, white at zero. Scores
are scaled by the largest absolute score of the explanation so methods on different
scales stay readable side by side; the raw numbers are always shown beside them.
Text on a dark cell turns white so its contrast stays at least 4.5:1 (WCAG AA).

Words an imported Hugging Face model never saw (past its maximum length) have no score
of their own: their cells are grey, dark-grey text (contrast above 4.5:1), with a title
and a hidden text saying so, and they take no part in the colour scale.
"""

import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

POSITIVE_RGB = (33, 102, 172)  # #2166ac
NEGATIVE_RGB = (179, 88, 6)  # #b35806
WHITE = (255, 255, 255)
UNSEEN_BACKGROUND = "#ececec"
UNSEEN_FOREGROUND = "#595959"  # 5.9:1 on the grey (WCAG AA)


@dataclass(frozen=True)
class TokenCell:
    index: int
    token: str
    score: float
    weight: float  # signed, in [-1, 1]
    background: str
    foreground: str
    bar_percent: float
    sign: str  # "pos" | "neg" | "zero"
    top: bool  # among the top-k tokens by absolute score
    seen: bool = True  # False: past the model's maximum length, no score of its own


@dataclass(frozen=True)
class SeenWords:
    """How many of an instance's words a model saw, and which it did not."""

    seen: int
    words: int
    unseen: frozenset[int]

    @property
    def truncated(self) -> bool:
        return self.seen < self.words

    @property
    def note(self) -> str:
        """Return the sentence a page shows beside the explanation."""
        if not self.truncated:
            return f"The model saw all {self.words} words."
        return (
            f"The model saw {self.seen} of {self.words} words; the rest were past its maximum "
            "length: they have no score of their own and are greyed out."
        )


def seen_words(extras: Mapping[str, Any], scores: Sequence[float]) -> SeenWords | None:
    """Return the explanation's seen words, or None when it does not say (native models).

    ``extras`` holds ``seen_words`` and ``words`` (counts). Truncation cuts the end of
    the text, so the seen words are the first ``seen_words``
    (:attr:`explanations.compute.hf.alignment.WordPieces.seen`) and the rest are unseen.
    """
    seen, words = extras.get("seen_words"), extras.get("words")
    if not isinstance(seen, int | float) or not isinstance(words, int | float):
        return None
    seen_count, word_count = int(seen), min(int(words), len(scores))
    return SeenWords(seen_count, int(words), frozenset(range(seen_count, word_count)))


def _blend(rgb: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return (
        round(WHITE[0] + (rgb[0] - WHITE[0]) * t),
        round(WHITE[1] + (rgb[1] - WHITE[1]) * t),
        round(WHITE[2] + (rgb[2] - WHITE[2]) * t),
    )


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        x = c / 255
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """Return the WCAG contrast ratio between two colours."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@functools.lru_cache(maxsize=4096)
def _text_colour(rgb: tuple[int, int, int]) -> str:
    """Black or white text, whichever contrasts more with ``rgb`` (a page draws thousands of
    cells from a few hundred possible colours, so each answer is kept)."""
    return "#000000" if contrast_ratio(rgb, (0, 0, 0)) >= contrast_ratio(rgb, WHITE) else "#ffffff"


def token_cells(
    tokens: Sequence[str],
    scores: Sequence[float],
    *,
    top_k: int | None = None,
    unseen: Collection[int] = (),
) -> list[TokenCell]:
    """Return one display cell per token, scaled by the largest absolute score.

    Tokens at the ``unseen`` positions (the model never saw them) are drawn grey.
    """
    scale = max((abs(s) for s in scores), default=0.0) or 1.0
    order = sorted(range(len(scores)), key=lambda i: (-abs(scores[i]), i))
    top = set(order[:top_k]) if top_k else set(range(len(scores)))
    cells = []
    for i, (token, score) in enumerate(zip(tokens, scores, strict=True)):
        weight = score / scale
        rgb = _blend(POSITIVE_RGB if weight >= 0 else NEGATIVE_RGB, min(abs(weight), 1.0))
        fg = _text_colour(rgb)
        if i not in top:
            rgb, fg = WHITE, "#000000"
        background = "#{:02x}{:02x}{:02x}".format(*rgb)
        if i in unseen:
            background, fg = UNSEEN_BACKGROUND, UNSEEN_FOREGROUND
        cells.append(
            TokenCell(
                index=i,
                token=token,
                score=score,
                weight=weight,
                background=background,
                foreground=fg,
                bar_percent=round(abs(weight) * 100, 1),
                sign="pos" if score > 0 else "neg" if score < 0 else "zero",
                top=i in top,
                seen=i not in unseen,
            )
        )
    return cells
