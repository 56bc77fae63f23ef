"""Import a Hugging Face sequence classifier from a ``save_pretrained`` folder or a zip of one.

Everything that can be wrong is found before any file is written: the name, the folder
(:func:`explanations.compute.hf.loading.inspect_model_folder`) and the labels. Then the
needed files (config, weights, tokenizer; nothing else) are copied into a new hidden
folder of the model store with their sha256, the copy is loaded once to prove it works,
the folder is renamed into place and the row is saved. If anything fails after the copy
began, the folders this run created are removed; no other folder is ever removed.

``transformers`` and ``torch`` are imported inside :func:`model_import` only, so that the
web tier (views, API) can import this module without loading them.
"""

import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from explanations.io.limits import json_object_problem
from explanations.models import ClassifierModel, Dataset

if TYPE_CHECKING:
    from explanations.compute.hf.loading import ModelFolderCard

MAX_ARCHIVE_FILES = 50
MAX_ARCHIVE_BYTES = 2 * 1024**3
"""Limits of an uploaded archive: files in it, and bytes once uncompressed."""
_IGNORED_ENTRIES = ("__MACOSX/", ".DS_Store")


def label_map_parse(text: str | None) -> dict[str, str] | None:
    """Parse ``"neg=NEGATIVE,pos=POSITIVE"`` (dataset label = model label); None if empty."""
    if text is None or not text.strip():
        return None
    mapping: dict[str, str] = {}
    for part in text.split(","):
        dataset_label, sep, model_label = part.partition("=")
        dataset_label, model_label = dataset_label.strip(), model_label.strip()
        if not sep or not dataset_label or not model_label:
            raise ValueError(
                f"label map: {part.strip()!r} is not dataset_label=model_label "
                "(expected e.g. neg=NEGATIVE,pos=POSITIVE)"
            )
        if dataset_label.casefold() in {k.casefold() for k in mapping}:
            raise ValueError(f"label map: dataset label {dataset_label!r} is given twice")
        mapping[dataset_label] = model_label
    return mapping


def _label_order(
    dataset: Dataset, id2label: dict[int, str], label_map: dict[str, str] | None
) -> list[int]:
    """Return, for each dataset label in order, the model's output index for it."""
    dataset_labels = [str(label) for label in dataset.label_names]
    model_labels = [id2label[i] for i in range(len(id2label))]
    sides = f"dataset {dataset.name!r} has {dataset_labels}; the model has {model_labels}"
    if len(model_labels) != len(dataset_labels):
        raise ValueError(
            f"label count differs: the model has {len(model_labels)} labels, the dataset "
            f"{len(dataset_labels)} ({sides})"
        )
    index = {label.casefold(): i for i, label in enumerate(model_labels)}
    if len(index) != len(model_labels):
        raise ValueError(f"the model's labels are not distinct ignoring case ({sides})")
    wanted = {label.casefold(): label for label in dataset_labels}
    mapping = {k.casefold(): v for k, v in (label_map or {}).items()}
    unknown = [k for k in (label_map or {}) if k.casefold() not in wanted]
    if unknown:
        raise ValueError(f"label map names labels the dataset does not have: {unknown} ({sides})")
    order: list[int] = []
    unmatched: list[str] = []
    for label in dataset_labels:
        target = mapping.get(label.casefold(), label)
        position = index.get(target.casefold())
        if position is None:
            unmatched.append(label if target == label else f"{label}={target}")
        else:
            order.append(position)
    if unmatched:
        raise ValueError(
            f"labels do not match: no model label for {unmatched} ({sides}); give a label "
            "map dataset_label=model_label for each, e.g. neg=NEGATIVE,pos=POSITIVE"
        )
    if len(set(order)) != len(order):
        raise ValueError(f"two dataset labels map to the same model label ({sides})")
    return order


def model_import(
    *,
    path: Path,
    name: str,
    dataset: Dataset,
    label_map: dict[str, str] | None = None,
    owner: User | None = None,
) -> ClassifierModel:
    """Copy a Hugging Face classifier into the model store and record it for ``dataset``.

    Raises ValueError (``ModelFolderError`` for the folder) with a clear message, before
    anything is written, for a bad or taken name, a missing folder or file, a slow-only
    tokenizer, a model that is not a sequence classifier, custom code, and labels that
    do not match the dataset's (case-insensitive, or through ``label_map``
    {dataset label: model label}). Pair datasets are fine: the tokenizer gets a text pair.
    """
    # Imported here, not at the top: they load torch and transformers (seconds, hundreds
    # of MB), which the web tier importing this module must not pay for.
    import torch

    from explanations.compute.hf.loading import inspect_model_folder, load_classifier
    from explanations.compute.serialization import sha256_of

    from .model_store import model_store_path

    destination = model_store_path(name)  # checks the name before any other work
    if ClassifierModel.objects.filter(name=name).exists():
        raise ValueError(f"a model named {name!r} exists already; choose another name")
    if destination.exists() or destination.is_symlink():
        raise ValueError(
            f"the model store already has a folder named {name!r}; choose another name"
        )
    card = inspect_model_folder(Path(path))
    label_order = _label_order(dataset, card.id2label, label_map)
    problem = json_object_problem(_model_config(card, label_order, {}, pair=dataset.is_pair))
    if problem:  # config.json's text is stored in the model card (jsonb: no NUL)
        raise ValueError(f"{path}/config.json: the model card {problem}")

    store = destination.parent
    store.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".import-{name}-", dir=store))
    placed = False
    try:
        hashes = {}
        for filename in card.files:  # the needed files only, never anything else
            shutil.copyfile(Path(path) / filename, staging / filename)
            hashes[filename] = sha256_of(staging / filename)
        copied = inspect_model_folder(staging)
        if copied != card:
            raise ValueError(f"{path}: the folder changed while it was being imported; try again")
        load_classifier(staging, device=torch.device("cpu"))  # the weights fit the classifier
        staging.rename(destination)
        placed = True
        model = ClassifierModel(
            name=name,
            dataset=dataset,
            architecture=ClassifierModel.Architecture.HUGGINGFACE,
            config=_model_config(card, label_order, hashes, pair=dataset.is_pair),
            weights_path=name,
            weights_sha256=hashes[card.weights_file],
            label_names=list(dataset.label_names),
            owner=owner,
        )
        try:
            model.full_clean()
        except ValidationError as exc:
            raise ValueError(f"model {name!r}: {'; '.join(exc.messages)}") from exc
        with transaction.atomic():
            model.save()
    except BaseException:
        shutil.rmtree(destination if placed else staging, ignore_errors=True)
        raise
    return model


def _model_config(
    card: "ModelFolderCard", label_order: list[int], hashes: dict[str, str], *, pair: bool
) -> dict[str, Any]:
    return {
        "model_type": card.model_type,
        "architectures": list(card.architectures),
        # JSON object keys are strings; the model's output index as text.
        "id2label": {str(i): label for i, label in sorted(card.id2label.items())},
        "label_order": label_order,
        "max_length": card.max_length,
        "tokenizer_class": card.tokenizer_class,
        "files": hashes,
        "source": "huggingface",
        "pair": pair,
    }


def model_archive_import(
    *,
    archive: IO[bytes],
    archive_name: str,
    name: str,
    dataset: Dataset,
    label_map: dict[str, str] | None = None,
    owner: User | None = None,
) -> ClassifierModel:
    """Import a zip of a ``save_pretrained`` folder (see :func:`model_archive_extract`).

    Error messages name the archive, never the temporary folder it was extracted into.
    """
    with tempfile.TemporaryDirectory(prefix="elephant-model-") as temporary:
        try:
            folder = model_archive_extract(archive, Path(temporary), archive_name=archive_name)
            return model_import(
                path=folder, name=name, dataset=dataset, label_map=label_map, owner=owner
            )
        except ValueError as exc:
            message = str(exc).replace(f"{temporary}/model", archive_name)
            raise type(exc)(message.replace(temporary, archive_name)) from exc


def model_archive_extract(archive: IO[bytes], into: Path, *, archive_name: str = "archive") -> Path:
    """Extract a zip of a model folder safely into ``into``/model and return that folder.

    Files may sit at the top of the archive or inside one top folder. Refused with a
    ValueError: not a zip, an absolute path, ``..``, a symbolic link, any deeper folder,
    a name given twice, more than :data:`MAX_ARCHIVE_FILES` files or more than
    :data:`MAX_ARCHIVE_BYTES` bytes uncompressed.
    """
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValueError(f"{archive_name}: not a zip archive ({exc})") from exc
    with bundle:
        members = _archive_members(bundle, archive_name)
        folder = into / "model"
        folder.mkdir()
        total = 0
        for member, filename in members:
            try:
                with bundle.open(member) as stream, (folder / filename).open("xb") as out:
                    while block := stream.read(1 << 20):
                        total += len(block)
                        if total > MAX_ARCHIVE_BYTES:
                            raise ValueError(
                                f"{archive_name}: more than {MAX_ARCHIVE_BYTES} bytes uncompressed"
                            )
                        out.write(block)
            except (zipfile.BadZipFile, RuntimeError, OSError, EOFError) as exc:
                # RuntimeError: an encrypted entry; BadZipFile: a bad CRC or a truncated file.
                raise ValueError(
                    f"{archive_name}: cannot extract {member.filename} ({exc})"
                ) from exc
    return folder


def _archive_members(
    bundle: zipfile.ZipFile, archive_name: str
) -> list[tuple[zipfile.ZipInfo, str]]:
    members: list[tuple[zipfile.ZipInfo, str]] = []
    tops: set[str] = set()
    total = 0
    for member in bundle.infolist():
        raw = member.filename
        if raw.startswith(_IGNORED_ENTRIES[0]) or PurePosixPath(raw).name == _IGNORED_ENTRIES[1]:
            continue  # macOS's resource forks and folder settings, added by Finder's zip
        if "\\" in raw or raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
            raise ValueError(f"{archive_name}: {raw!r} is an absolute or Windows path; refused")
        parts = PurePosixPath(raw).parts
        if any(part in ("..", ".") for part in parts):
            raise ValueError(f"{archive_name}: {raw!r} leaves its folder ('..'); refused")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise ValueError(f"{archive_name}: {raw!r} is a symbolic link; refused")
        if member.is_dir():
            if len(parts) > 1:
                raise ValueError(
                    f"{archive_name}: nested folder {raw!r}; expected the files of one "
                    "save_pretrained folder, at the top or inside one folder"
                )
            tops.add(parts[0])
            continue
        if len(parts) > 2:
            raise ValueError(
                f"{archive_name}: {raw!r} is in a nested folder; expected the files of one "
                "save_pretrained folder, at the top or inside one folder"
            )
        tops.add(parts[0] if len(parts) == 2 else "")
        members.append((member, parts[-1]))
        total += member.file_size
    if len(tops) > 1:
        shown = sorted(t + "/" if t else "(top level)" for t in tops)
        raise ValueError(
            f"{archive_name}: files in several places ({', '.join(shown)}); expected one folder"
        )
    if not members:
        raise ValueError(f"{archive_name}: the archive holds no files")
    if len(members) > MAX_ARCHIVE_FILES:
        raise ValueError(
            f"{archive_name}: {len(members)} files; at most {MAX_ARCHIVE_FILES} are accepted"
        )
    if total > MAX_ARCHIVE_BYTES:
        raise ValueError(f"{archive_name}: more than {MAX_ARCHIVE_BYTES} bytes uncompressed")
    names = [filename for _member, filename in members]
    if len(set(names)) != len(names):
        raise ValueError(f"{archive_name}: a file name appears twice")
    return members
