"""What every classifier returns, and the masked softmax both architectures share."""

from dataclasses import dataclass

import torch


@dataclass
class ClassifierOutput:
    """Logits [B, C], attention over the explained tokens [B, T], per-layer attention maps.

    ``attention`` is the BiLSTM's additive attention, or for the transformer the
    last layer's attention from the CLS position averaged over heads and restricted
    to the explained tokens (the rest of that row goes to CLS, SEP and the context).
    ``layer_attentions`` holds every transformer layer's maps [B, heads, S, S]
    (``None`` for the BiLSTM).
    """

    logits: torch.Tensor
    attention: torch.Tensor
    layer_attentions: list[torch.Tensor] | None = None


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Return ``softmax(scores)`` over the positions where ``mask`` is True, zero elsewhere.

    Masked positions get the most negative finite score, so their weight is an
    exact 0; a row with no real position gets all-zero weights rather than NaN
    (an instance whose tokens were all deleted).
    """
    filled = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.softmax(filled, dim=-1) * mask
