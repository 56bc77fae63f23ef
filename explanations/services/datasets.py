"""Import and export datasets, all-or-nothing."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from explanations.io.datasets import (
    ParsedInstance,
    dataset_record,
    guess_format,
    read_dataset,
    write_csv,
    write_jsonl,
)
from explanations.io.limits import MAX_LABELS, TextLimits
from explanations.io.problems import ImportFailed, Problem
from explanations.models import Dataset, HumanRationale, Instance

from .progress import Progress, no_progress

BATCH = 2000


@dataclass(frozen=True)
class DatasetImportResult:
    dataset: Dataset
    created: int
    unchanged: int
    rationales: int


def _label_names(
    records: Sequence[ParsedInstance],
    path: Path,
    given: Sequence[str] | None,
    existing: Dataset | None,
) -> list[str]:
    if existing is not None:
        names = list(existing.label_names)
    elif given:
        names = list(given)
    else:
        names = sorted({r.label for r in records if r.label is not None})
    if len(names) > MAX_LABELS:
        raise ImportFailed(
            [
                Problem(
                    str(path),
                    None,
                    "label",
                    f"{len(names):,} distinct labels; expected at most {MAX_LABELS:,} "
                    "(a label is stored as a small integer)",
                )
            ]
        )
    known = set(names)
    problems = [
        Problem(
            str(path),
            r.line,
            "label",
            f"unknown label {r.label!r}; expected one of {', '.join(names)}",
        )
        for r in records
        if r.label not in known
    ]
    if problems:
        raise ImportFailed(problems)
    return names


def _check_pairs(records: Sequence[ParsedInstance], path: Path, existing: Dataset | None) -> bool:
    is_pair = existing.is_pair if existing else bool(records[0].text_b)
    problems = [
        Problem(
            str(path),
            r.line,
            "text_b",
            "missing; this dataset holds text pairs"
            if is_pair
            else "unexpected; this dataset holds single texts",
        )
        for r in records
        if bool(r.text_b) != is_pair
    ]
    if problems:
        raise ImportFailed(problems)
    return is_pair


def text_limits() -> TextLimits:
    """Return the configured limits on one instance's size (see the README's Limits)."""
    return TextLimits(
        max_tokens=settings.ELEPHANT_MAX_TOKENS_PER_INSTANCE,
        max_chars=settings.ELEPHANT_MAX_CHARS_PER_TEXT,
    )


def _partition_existing(
    records: Sequence[ParsedInstance], path: Path, dataset: Dataset, labels: list[str]
) -> tuple[list[ParsedInstance], int, list[Problem]]:
    """Split records into new ones, ones already stored identically, and changes (refused)."""
    stored = {
        ext: (text, text_b, gold)
        for ext, text, text_b, gold in dataset.instances.values_list(
            "external_id", "text", "text_b", "gold_label"
        )
    }
    new, unchanged, problems = [], 0, []
    for r in records:
        if r.external_id not in stored:
            new.append(r)
            continue
        if stored[r.external_id] == (r.text, r.text_b, labels.index(r.label) if r.label else None):
            unchanged += 1
        else:
            problems.append(
                Problem(
                    str(path),
                    r.line,
                    "id",
                    f"id {r.external_id!r} is already stored in dataset {dataset.name!r} with a different "
                    "text or label; expected the same record or a new id",
                )
            )
    return new, unchanged, problems


def _append_refusal(
    path: Path, dataset: Dataset, new: int, unchanged: int, changed: int
) -> Problem:
    """Say what importing into existing ``dataset`` would change, and how to allow it."""
    stored = dataset.instances.count()
    # Studies refer to datasets by relation name only: explanations must not import studies.
    live = dataset.studies.filter(status="live").count()
    return Problem(
        str(path),
        None,
        "name",
        f"dataset {dataset.name!r} already has {stored} instance(s) ({live} live "
        f"stud{'y uses' if live == 1 else 'ies use'} it); this file would add {new}, leave "
        f"{unchanged} unchanged and change {changed} (stored instances are never changed); "
        "pass --append (append=true over the API) to add them, or choose a new name",
    )


def dataset_import(
    *,
    path: Path,
    name: str,
    fmt: str | None = None,
    owner: User | None = None,
    label_names: Sequence[str] | None = None,
    description: str = "",
    append: bool = False,
    progress: Progress = no_progress,
) -> DatasetImportResult:
    """Import a dataset file (or ERASER folder) into dataset ``name``, all or nothing.

    A dataset ``name`` that exists is refused, saying what the file would change, unless
    ``append``: then new ids are added, ids stored with the same text and label are left
    as they are, and an id stored with a different text or label is refused (stored
    instances are never changed). Texts over the configured limits are refused (see
    :func:`text_limits`). Raise :class:`ImportFailed` naming every problem.
    """
    path = Path(path)
    fmt = fmt or guess_format(path)
    records = read_dataset(path, fmt, text_limits())
    existing = Dataset.objects.filter(name=name).first()
    labels = _label_names(records, path, label_names, existing)
    is_pair = _check_pairs(records, path, existing)
    with transaction.atomic():
        if existing is None:
            dataset = Dataset(
                name=name,
                label_names=labels,
                source_format=fmt,
                is_pair=is_pair,
                owner=owner,
                description=description,
            )
            _dataset_clean(dataset, path)
            dataset.save()
            new, unchanged = list(records), 0
            start = 0
        else:
            dataset = existing
            new, unchanged, changed = _partition_existing(records, path, dataset, labels)
            if not append:
                refusal = _append_refusal(path, dataset, len(new), unchanged, len(changed))
                raise ImportFailed([refusal, *changed])
            if changed:
                raise ImportFailed(changed)
            start = dataset.instances.count()
        label_index = {label: i for i, label in enumerate(labels)}
        created_rationales = 0
        for begin in range(0, len(new), BATCH):
            chunk = new[begin : begin + BATCH]
            instances = Instance.objects.bulk_create(
                [
                    Instance(
                        dataset=dataset,
                        external_id=r.external_id,
                        position=start + begin + k,
                        split=r.split,
                        text=r.text,
                        text_b=r.text_b,
                        tokens=r.tokens,
                        token_offsets=[list(o) for o in r.offsets],
                        tokens_b=r.tokens_b,
                        token_offsets_b=[list(o) for o in r.offsets_b],
                        gold_label=label_index[r.label] if r.label is not None else None,
                    )
                    for k, r in enumerate(chunk)
                ]
            )
            if not all(i.pk for i in instances):  # SQLite < 3.35 or a backend without RETURNING
                ids = dict(
                    dataset.instances.filter(
                        external_id__in=[r.external_id for r in chunk]
                    ).values_list("external_id", "pk")
                )
                for instance in instances:
                    instance.pk = ids[instance.external_id]
            rationales = [
                HumanRationale(instance=instance, annotator=annotator, token_indices=indices)
                for instance, r in zip(instances, chunk, strict=True)
                for annotator, indices in zip(r.rationale_annotators, r.rationales, strict=True)
            ]
            HumanRationale.objects.bulk_create(rationales)
            created_rationales += len(rationales)
            progress(begin + len(chunk), len(new), "instances")
    return DatasetImportResult(
        dataset=dataset, created=len(new), unchanged=unchanged, rationales=created_rationales
    )


def _dataset_clean(dataset: Dataset, path: Path) -> None:
    """Run ``full_clean``; raise :class:`ImportFailed` naming each refused field."""
    try:
        dataset.full_clean()
    except ValidationError as exc:
        raise ImportFailed(
            [
                Problem(str(path), None, field, " ".join(messages))
                for field, messages in exc.message_dict.items()
            ]
        ) from exc


def dataset_records(dataset: Dataset) -> list[dict[str, Any]]:
    """Return the dataset's records in file order, in the canonical export layout."""
    rationales: dict[int, list[list[int]]] = {}
    for instance_id, indices in (
        HumanRationale.objects.filter(instance__dataset=dataset, source="import")
        .order_by("pk")
        .values_list("instance_id", "token_indices")
    ):
        rationales.setdefault(instance_id, []).append(indices)
    labels = dataset.label_names
    return [
        dataset_record(
            ext,
            text,
            labels[gold] if gold is not None else None,
            text_b,
            split,
            rationales.get(pk, []),
        )
        for pk, ext, text, text_b, split, gold in dataset.instances.order_by(
            "position"
        ).values_list("pk", "external_id", "text", "text_b", "split", "gold_label")
    ]


def dataset_export(*, dataset: Dataset, path: Path, fmt: str = "jsonl") -> int:
    """Write ``dataset`` to ``path`` as JSONL or CSV; return the number of records."""
    records = dataset_records(dataset)
    path = Path(path)
    with path.open("w", encoding="utf-8", newline="") as out:
        if fmt == "jsonl":
            write_jsonl(records, out)
        elif fmt == "csv":
            write_csv(records, out, dataset.is_pair)
        else:
            raise ValueError(f"export format {fmt!r}: expected jsonl or csv")
    return len(records)
