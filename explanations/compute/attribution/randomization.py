"""Model randomisation for the sanity check of Adebayo et al. (2018).

An explanation method that gives similar scores for a trained model and for the
same architecture with random weights does not depend on what the model learnt.
:func:`reinitialize` returns that random-weight twin (full re-initialisation, the
end point of their cascading randomisation), seeded so the check is repeatable.
"""

import torch
from torch import nn

from explanations.compute.architectures import build_model


def reinitialize(model: nn.Module, *, seed: int) -> nn.Module:
    """Return a copy of ``model``'s architecture with fresh weights (eval mode, same device)."""
    config = getattr(model, "config", None)
    if not isinstance(config, dict):
        raise ValueError(f"{type(model).__name__} has no config: build it with build_model")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = build_model(config)
    reference = next(model.parameters())
    return fresh.to(device=reference.device, dtype=reference.dtype).eval()
