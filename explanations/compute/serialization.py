"""Saving and loading a trained classifier: weights with their SHA-256 and a JSON card.

A model directory holds ``weights.pt`` (the state dict, loaded with
``weights_only=True`` so no pickled code ever runs) and ``model.json`` (format
version, resolved config, vocabulary, label names and the weights' SHA-256).
Loading recomputes the hash and refuses weights that do not match.
"""

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from explanations.compute.architectures import build_model, resolve_config
from explanations.compute.vocab import Vocabulary

WEIGHTS_FILE = "weights.pt"
CARD_FILE = "model.json"
FORMAT_VERSION = 1


class ModelIntegrityError(ValueError):
    """The weights on disk are not the ones the model card names."""


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_model(
    model: nn.Module,
    config: Mapping[str, Any],
    vocab: Vocabulary,
    label_names: Sequence[str],
    directory: Path,
) -> str:
    """Save ``model`` into ``directory`` and return the SHA-256 of its weights file."""
    resolved = resolve_config(config)
    if len(vocab) != resolved["vocab_size"]:
        raise ValueError(
            f"vocabulary has {len(vocab)} entries but config vocab_size is {resolved['vocab_size']}"
        )
    if len(label_names) != resolved["num_labels"]:
        raise ValueError(f"{len(label_names)} label names for num_labels {resolved['num_labels']}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({key: value.detach().cpu() for key, value in model.state_dict().items()}, buffer)
    weights = buffer.getvalue()
    digest = hashlib.sha256(weights).hexdigest()
    card = {
        "format_version": FORMAT_VERSION,
        "config": resolved,
        "vocabulary": vocab.to_dict(),
        "label_names": list(label_names),
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": digest,
    }
    _write_atomically(directory / WEIGHTS_FILE, weights)
    _write_atomically(directory / CARD_FILE, json.dumps(card, indent=2).encode())
    return digest


def load_model(directory: Path) -> tuple[nn.Module, dict[str, Any], Vocabulary, list[str]]:
    """Load a model saved by :func:`save_model`: (model in eval mode, config, vocabulary, labels).

    Raises :class:`ModelIntegrityError` if the weights' SHA-256 differs from the
    card's, and ValueError naming the file for a missing or malformed card.
    """
    directory = Path(directory)
    card_path = directory / CARD_FILE
    try:
        card = json.loads(card_path.read_text())
    except FileNotFoundError:
        raise ValueError(
            f"{card_path}: no model card (was the model saved with save_model?)"
        ) from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{card_path}: not valid JSON ({error})") from None
    for key in ("format_version", "config", "vocabulary", "label_names", "weights_sha256"):
        if key not in card:
            raise ValueError(f"{card_path}: missing field {key!r}")
    if card["format_version"] != FORMAT_VERSION:
        raise ValueError(
            f"{card_path}: format_version {card['format_version']}, expected {FORMAT_VERSION}"
        )
    weights_path = directory / card.get("weights_file", WEIGHTS_FILE)
    if not weights_path.exists():
        raise ValueError(f"{weights_path}: weights file missing")
    actual = sha256_of(weights_path)
    if actual != card["weights_sha256"]:
        raise ModelIntegrityError(
            f"{weights_path}: SHA-256 {actual} does not match {card['weights_sha256']} in {card_path}; "
            "the weights were changed or corrupted"
        )
    config = resolve_config(card["config"])
    model = build_model(config)
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    return model, config, Vocabulary.from_dict(card["vocabulary"]), list(card["label_names"])
