"""Turn token scores into what a page draws: heatmap colours and bar widths.

The palette is a diverging blue/orange scale (the two hues of ColorBrewer's PuOr ends,
distinguishable under protanopia, deuteranopia and tritanopia): blue for positive
scores (evidence for the explained class), orange for negative, white at zero. Scores
are scaled by the largest absolute score of the explanation so methods on different
scales stay readable side by side; the raw numbers are always shown beside them.
Text on a dark cell turns white so its contrast stays at least 4.5:1 (WCAG AA).
"""

from collections.abc import Sequence
from dataclasses import dataclass

POSITIVE_RGB = (33, 102, 172)  # #2166ac
NEGATIVE_RGB = (179, 88, 6)  # #b35806
WHITE = (255, 255, 255)


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


def token_cells(
    tokens: Sequence[str], scores: Sequence[float], *, top_k: int | None = None
) -> list[TokenCell]:
    """Return one display cell per token, scaled by the largest absolute score."""
    scale = max((abs(s) for s in scores), default=0.0) or 1.0
    order = sorted(range(len(scores)), key=lambda i: (-abs(scores[i]), i))
    top = set(order[:top_k]) if top_k else set(range(len(scores)))
    cells = []
    for i, (token, score) in enumerate(zip(tokens, scores, strict=True)):
        weight = score / scale
        rgb = _blend(POSITIVE_RGB if weight >= 0 else NEGATIVE_RGB, min(abs(weight), 1.0))
        black = (0, 0, 0)
        fg = "#000000" if contrast_ratio(rgb, black) >= contrast_ratio(rgb, WHITE) else "#ffffff"
        if i not in top:
            rgb, fg = WHITE, "#000000"
        cells.append(
            TokenCell(
                index=i,
                token=token,
                score=score,
                weight=weight,
                background="#{:02x}{:02x}{:02x}".format(*rgb),
                foreground=fg,
                bar_percent=round(abs(weight) * 100, 1),
                sign="pos" if score > 0 else "neg" if score < 0 else "zero",
                top=i in top,
            )
        )
    return cells
