"""Check and load a Hugging Face sequence classifier saved with ``save_pretrained``.

Offline only: every call passes ``local_files_only=True`` and the hub's offline switches
are set before ``transformers`` is imported, so no file is ever fetched. No
``trust_remote_code``: a folder whose config or tokenizer config names its own code
(``auto_map``) is refused. ``pytorch_model.bin`` weights are unpickled with
``weights_only=True`` (transformers' default, passed explicitly here), so no pickled code
runs. The tokenizer must be a *fast* one serialised in ``tokenizer.json``: word alignment
needs its character offsets, and a stored ``tokenizer.json`` behaves the same under any
later ``transformers`` version, unlike a slow vocabulary converted at every load.

:func:`inspect_model_folder` finds every problem that makes a folder unusable, with a
message naming the folder or file and what was expected, before anything is copied.
"""

import json
import os
import pickle  # noqa: S403  # only to name the error torch.load(weights_only=True) raises
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The hub client reads these once, when it is first imported: set them before transformers.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import torch  # noqa: E402
from transformers import (  # noqa: E402
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)
from transformers.models.auto.modeling_auto import (  # noqa: E402
    MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING,
)

CONFIG_FILE = "config.json"
SAFETENSORS_FILE = "model.safetensors"
BIN_FILE = "pytorch_model.bin"
WEIGHTS_FILES = (SAFETENSORS_FILE, BIN_FILE)
"""Accepted weights files, preferred first (only one is kept)."""
TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_FILES = (
    TOKENIZER_FILE,
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
)
"""The fast tokenizer's files; only ``tokenizer.json`` is required."""
SLOW_TOKENIZER_FILES = (
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
    "sentencepiece.model",
    "tokenizer.model",
)
"""A slow tokenizer's vocabulary files: copied beside ``tokenizer.json`` when present."""
MODEL_FILES = (CONFIG_FILE, *WEIGHTS_FILES, *TOKENIZER_FILES, *SLOW_TOKENIZER_FILES)
"""Every file name a model folder may contribute to the store; nothing else is copied."""

# Model types whose position ids start after the padding index (RoBERTa's scheme): their
# position table has pad_token_id + 1 rows that no input position uses.
_PADDING_OFFSET_TYPES = frozenset(
    {
        "roberta",
        "roberta-prelayernorm",
        "xlm-roberta",
        "xlm-roberta-xl",
        "camembert",
        "data2vec-text",
        "longformer",
        "ibert",
        "mpnet",
        "luke",
        "markuplm",
        "xmod",
    }
)
# transformers' tokenizers report this (int(1e30)) when the folder sets no maximum length.
_UNSET_LENGTH = 10**20


class ModelFolderError(ValueError):
    """A model folder cannot be used; the message names the folder/file and what was expected."""


@dataclass(frozen=True)
class ModelFolderCard:
    """What :func:`inspect_model_folder` finds in a usable model folder."""

    model_type: str
    architectures: list[str]
    id2label: dict[int, str]
    num_labels: int
    max_length: int
    tokenizer_class: str
    weights_file: str
    files: list[str]


def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFolderError(f"{path}: not a readable JSON file ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelFolderError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def _weights_file(folder: Path) -> str:
    for name in WEIGHTS_FILES:
        if (folder / name).is_file():
            return name
    present = sorted(p.name for p in folder.iterdir())
    if any(n.endswith(".index.json") for n in present):
        hint = (
            "; sharded checkpoints are not supported: re-save with "
            "save_pretrained(folder, max_shard_size='100GB')"
        )
    elif any(n in ("tf_model.h5", "flax_model.msgpack") for n in present):
        hint = "; only PyTorch weights are supported (TensorFlow/Flax files found)"
    else:
        hint = ""
    raise ModelFolderError(
        f"{folder}: no weights file; expected {SAFETENSORS_FILE} or {BIN_FILE}{hint}"
    )


def _check_tokenizer_files(folder: Path) -> None:
    if (folder / TOKENIZER_FILE).is_file():
        return
    slow = [name for name in SLOW_TOKENIZER_FILES if (folder / name).is_file()]
    if slow:
        raise ModelFolderError(
            f"{folder}: slow-only tokenizer ({', '.join(slow)} but no {TOKENIZER_FILE}); "
            f"a fast tokenizer is needed for word alignment: re-save it with "
            f"AutoTokenizer.from_pretrained(folder).save_pretrained(folder), which writes "
            f"{TOKENIZER_FILE}"
        )
    raise ModelFolderError(
        f"{folder}: missing tokenizer files; expected {TOKENIZER_FILE} "
        f"(save the tokenizer with tokenizer.save_pretrained(folder))"
    )


def _refuse_remote_code(folder: Path, name: str, data: dict[str, Any]) -> None:
    if "auto_map" in data:
        raise ModelFolderError(
            f"{folder / name}: names custom code (auto_map); models that need "
            f"trust_remote_code are refused: use a model class that transformers ships"
        )


ENCODER_MODEL_TYPES: tuple[str, ...] = (
    "albert",
    "bert",
    "camembert",
    "deberta",
    "deberta-v2",
    "distilbert",
    "electra",
    "roberta",
    "xlm-roberta",
)
"""Model types whose sequence classifier reads the first token (``[CLS]``/``<s>``).

Attribution pads on the right and feeds embeddings directly; a decoder classifier (GPT-2,
Llama, ...) finds its last real token from the input ids, so it would read padding, and
its first token attends only to itself. Such models are refused at import.
"""


def _load_config(folder: Path) -> PretrainedConfig:
    try:
        return AutoConfig.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFolderError(
            f"{folder / CONFIG_FILE}: transformers cannot read it ({exc})"
        ) from exc


def _check_sequence_classifier(folder: Path, config: PretrainedConfig) -> list[str]:
    architectures = list(config.architectures or [])
    classifiers = [a for a in architectures if a.endswith("ForSequenceClassification")]
    if not classifiers:
        saved = ", ".join(architectures) or "none"
        raise ModelFolderError(
            f"{folder / CONFIG_FILE}: not a sequence classifier (architectures: {saved}); "
            f"expected a ...ForSequenceClassification model, e.g. one fine-tuned with "
            f"AutoModelForSequenceClassification"
        )
    if config.model_type not in ENCODER_MODEL_TYPES:
        raise ModelFolderError(
            f"{folder / CONFIG_FILE}: model type {config.model_type!r} is not supported; "
            f"expected an encoder that classifies from its first token "
            f"({', '.join(ENCODER_MODEL_TYPES)}). Decoder classifiers (GPT-2, Llama, ...) "
            "read the last real token, which word-level attribution here does not handle"
        )
    if type(config) not in MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING:
        raise ModelFolderError(
            f"{folder / CONFIG_FILE}: transformers has no sequence classifier for model "
            f"type {config.model_type!r}"
        )
    return architectures


def _load_tokenizer(folder: Path) -> PreTrainedTokenizerFast:
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            folder, local_files_only=True, trust_remote_code=False
        )
    except (OSError, ValueError, KeyError, TypeError, ImportError) as exc:
        raise ModelFolderError(f"{folder}: the tokenizer cannot be loaded ({exc})") from exc
    if not isinstance(tokenizer, PreTrainedTokenizerFast) or not tokenizer.is_fast:
        raise ModelFolderError(
            f"{folder}: slow-only tokenizer ({type(tokenizer).__name__}); a fast tokenizer "
            f"({TOKENIZER_FILE}) is needed for word alignment"
        )
    return tokenizer


def _max_length(folder: Path, config: PretrainedConfig, tokenizer: PreTrainedTokenizerFast) -> int:
    limits = []
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        if config.model_type in _PADDING_OFFSET_TYPES:
            positions -= int(config.pad_token_id or 0) + 1
        limits.append(positions)
    declared = tokenizer.model_max_length
    if isinstance(declared, int) and 0 < declared < _UNSET_LENGTH:
        limits.append(declared)
    if not limits or min(limits) < 2:
        raise ModelFolderError(
            f"{folder}: cannot tell the model's maximum input length; expected "
            f"max_position_embeddings in {CONFIG_FILE} or model_max_length in tokenizer_config.json"
        )
    return min(limits)


def _id2label(folder: Path, config: PretrainedConfig) -> dict[int, str]:
    labels = {int(k): str(v) for k, v in (config.id2label or {}).items()}
    count = int(config.num_labels or 0)
    if count < 1 or sorted(labels) != list(range(count)):
        raise ModelFolderError(
            f"{folder / CONFIG_FILE}: id2label has ids {sorted(labels)} for num_labels "
            f"{count}; expected ids 0 to {count - 1}"
        )
    return labels


def inspect_model_folder(path: Path) -> ModelFolderCard:
    """Return what a ``save_pretrained`` folder holds, or raise ModelFolderError.

    Reads the config and the tokenizer (not the weights: only their presence is checked)
    and refuses a missing folder or file, custom code, a model that is not a sequence
    classifier and a tokenizer that is not a fast one.
    """
    _offline()
    folder = Path(path)
    if not folder.exists():
        raise ModelFolderError(f"{folder}: no such model folder")
    if not folder.is_dir():
        raise ModelFolderError(f"{folder}: not a folder; expected a save_pretrained folder")
    if not (folder / CONFIG_FILE).is_file():
        raise ModelFolderError(
            f"{folder}: missing {CONFIG_FILE}; expected a folder written by save_pretrained"
        )
    _refuse_remote_code(folder, CONFIG_FILE, _read_json(folder / CONFIG_FILE))
    weights_file = _weights_file(folder)
    _check_tokenizer_files(folder)
    if (folder / "tokenizer_config.json").is_file():
        tokenizer_config = _read_json(folder / "tokenizer_config.json")
        _refuse_remote_code(folder, "tokenizer_config.json", tokenizer_config)
    config = _load_config(folder)
    architectures = _check_sequence_classifier(folder, config)
    id2label = _id2label(folder, config)
    tokenizer = _load_tokenizer(folder)
    files = [CONFIG_FILE, weights_file] + [
        name for name in (*TOKENIZER_FILES, *SLOW_TOKENIZER_FILES) if (folder / name).is_file()
    ]
    return ModelFolderCard(
        model_type=str(config.model_type),
        architectures=architectures,
        id2label=id2label,
        num_labels=len(id2label),
        max_length=_max_length(folder, config, tokenizer),
        tokenizer_class=type(tokenizer).__name__,
        weights_file=weights_file,
        files=files,
    )


def load_classifier(
    path: Path, *, device: torch.device
) -> tuple[PreTrainedModel, PreTrainedTokenizerFast]:
    """Load the classifier (eval mode, float32, no weight gradients, on ``device``) and tokenizer.

    Raises ModelFolderError when the weights do not fill the classifier: a missing key
    means a randomly initialised part (e.g. the classification head of a folder saved from
    a bare encoder), which would explain noise.
    """
    _offline()
    folder = Path(path)
    weights_file = _weights_file(folder)
    try:
        model, info = AutoModelForSequenceClassification.from_pretrained(
            folder,
            local_files_only=True,
            trust_remote_code=False,
            use_safetensors=weights_file == SAFETENSORS_FILE,
            weights_only=True,
            attn_implementation="eager",
            dtype=torch.float32,
            output_loading_info=True,
        )
    except pickle.UnpicklingError as exc:
        # weights_only refused a pickle that holds more than tensors: running it could run code.
        reason = next(
            (line.strip() for line in str(exc).splitlines() if "Unsupported global" in line),
            str(exc).splitlines()[0] if str(exc) else "not a plain tensor file",
        ).split(" Please use")[0]
        raise ModelFolderError(
            f"{folder / weights_file}: refused: the file holds more than tensors and loading "
            f"it would run pickled code ({reason}); save the model with safetensors"
        ) from exc
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        raise ModelFolderError(f"{folder / weights_file}: cannot load the weights ({exc})") from exc
    missing = sorted(info.get("missing_keys") or [])
    mismatched = sorted(str(k) for k in info.get("mismatched_keys") or [])
    if missing or mismatched:
        problem = (
            f"missing {', '.join(missing[:5])}" if missing else f"wrong shape {mismatched[:5]}"
        )
        raise ModelFolderError(
            f"{folder / weights_file}: the weights do not fit the classifier ({problem}); "
            f"expected the weights of a fine-tuned sequence classifier"
        )
    model.eval()
    model.to(device)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model, _load_tokenizer(folder)
