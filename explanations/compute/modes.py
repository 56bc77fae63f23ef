"""Run a block with a model in eval mode, whatever mode it was in, and restore that mode."""

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def evaluation_mode(model: nn.Module) -> Iterator[None]:
    """Run the block with ``model`` in eval mode (no dropout); restore its former mode."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)
