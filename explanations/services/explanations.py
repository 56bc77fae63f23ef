"""Import and export explanations computed elsewhere, all-or-nothing and idempotent.

Word-level JSON lines go to any model (a new name creates an external one). Subword-level
files (our subword JSONL, Thermostat's JSON lines) go to a model imported with
``import_model``: their pieces are checked against the model's own tokenizer and pooled
to our words as computed explanations are (see :mod:`explanations.io.subword`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from explanations.compute.hf.alignment import POOLINGS
from explanations.compute.registry import method_parameters
from explanations.io.explanations import (
    ParsedExplanation,
    iter_explanations,
    read_explanations,
    write_explanations,
)
from explanations.io.problems import ImportFailed, Problem, ProblemCollector
from explanations.io.subword import (
    FORMATS,
    THERMOSTAT_ID_FIELD,
    SubwordLine,
    iter_subword_lines,
    iter_thermostat_lines,
    line_pooling,
    pool_line,
    target_label,
)
from explanations.models import ClassifierModel, Dataset, Explanation, Instance

from .bulk import ExplanationRow, explanation_rows_copy_stream, explanation_rows_upsert
from .methods import known_methods_ensure
from .progress import Progress, no_progress

if TYPE_CHECKING:
    from .runtime import HFRuntime

ENCODE_CHUNK = 256
"""Instances encoded with the model's tokenizer at a time."""


@dataclass(frozen=True)
class ExplanationImportResult:
    model: ClassifierModel
    written: int


def instance_lengths(dataset: Dataset) -> dict[str, tuple[int, int]]:
    """Map each instance's external id to ``(pk, number of explained tokens)``."""
    field = "tokens_b" if dataset.is_pair else "tokens"
    return {
        ext: (pk, len(tokens))
        for ext, pk, tokens in dataset.instances.values_list("external_id", "pk", field)
    }


def model_writable(model: ClassifierModel, owner: User | None) -> bool:
    """Return whether explanations may be written into ``model`` on behalf of ``owner``.

    Writing requires owning the model (there are no write shares of models). ``owner`` None
    is the command line, run by whoever runs the server, which may write anywhere.
    """
    return owner is None or model.owner_id == owner.pk


def model_for_import(*, name: str, dataset: Dataset, owner: User | None) -> ClassifierModel:
    """Return model ``name`` (creating an external one) after checking ``owner`` may write it.

    A refusal names neither the model's owner nor its dataset, and reads the same whether
    or not ``owner`` can see the model.
    """
    model = ClassifierModel.objects.filter(name=name).first()
    if model is None:
        model = ClassifierModel(
            name=name,
            dataset=dataset,
            architecture=ClassifierModel.Architecture.EXTERNAL,
            label_names=dataset.label_names,
            owner=owner,
        )
        try:
            model.full_clean()
        except ValidationError as exc:
            # A name that is not a slug: a refusal naming the field, not a traceback.
            messages = " ".join(m for ms in exc.message_dict.values() for m in ms)
            raise ImportFailed([Problem(f"--model {name}", None, "model", messages)]) from exc
        model.save()
        return model
    if not model_writable(model, owner):
        message = (
            f"model {name!r} is not yours: explanations go only into models you own; "
            "choose another name for a new model"
        )
    elif model.dataset_id not in (None, dataset.pk):
        message = f"model {name!r} was made for another dataset, not {dataset}"
    else:
        return model
    raise ImportFailed([Problem(f"--model {name}", None, "model", message)])


def explanations_import(
    *,
    path: Path,
    model_name: str,
    dataset: Dataset,
    owner: User | None = None,
    fmt: str = "jsonl",
    method: str | None = None,
    id_field: str | None = None,
    pooling: str | None = None,
    progress: Progress = no_progress,
) -> ExplanationImportResult:
    """Import explanation lines for ``dataset`` under model ``model_name``, all or nothing.

    ``fmt`` is ``jsonl`` (one score per word), ``subword`` or ``thermostat`` (one score per
    subword piece of an imported Hugging Face model; see :func:`subword_explanations_import`).
    A line for a (model, instance, method) already stored replaces its scores, so
    importing the same file twice leaves one row per explanation.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise ImportFailed(
            [
                Problem(
                    str(path),
                    None,
                    "format",
                    f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}",
                )
            ]
        )
    if fmt != "jsonl":
        return subword_explanations_import(
            path=path,
            model_name=model_name,
            dataset=dataset,
            owner=owner,
            fmt=fmt,
            method=method,
            id_field=id_field,
            pooling=pooling,
            progress=progress,
        )
    misplaced = [
        name
        for name, value in (("method", method), ("id_field", id_field), ("pooling", pooling))
        if value
    ]
    if misplaced:
        raise ImportFailed(
            [
                Problem(
                    str(path),
                    None,
                    misplaced[0],
                    "applies to the subword and thermostat formats only; a jsonl line names "
                    "its own method and has one score per word",
                )
            ]
        )
    methods = known_methods_ensure()
    instances = instance_lengths(dataset)
    existing = ClassifierModel.objects.filter(name=model_name).first()
    if connection.vendor == "postgresql" and (
        existing is None or not existing.explanations.exists()
    ):
        # Nothing can conflict: stream rows into COPY while reading (see bulk.py).
        problems = ProblemCollector(path)
        # Lines with seen_words/words (an export of a Hugging Face model's explanations)
        # need their extras written: they are kept aside and upserted after the stream.
        aside: list[ParsedExplanation] = []
        with transaction.atomic():
            model = model_for_import(name=model_name, dataset=dataset, owner=owner)
            parsed_lines = iter_explanations(
                path, instances=instances, methods=methods, problems=problems
            )
            written = explanation_rows_copy_stream(
                model_id=model.pk,
                rows=_stream_rows(parsed_lines, aside),
                problems=problems,
                progress=progress,
            )
            written += explanation_rows_upsert(
                model_id=model.pk,
                rows=[(p.instance_id, p.method_id, p.scores, p.params) for p in aside],
                extras=[p.extras for p in aside],
            )
        return ExplanationImportResult(model=model, written=written)
    parsed = read_explanations(path, instances=instances, methods=methods)
    with transaction.atomic():
        model = model_for_import(name=model_name, dataset=dataset, owner=owner)
        written = explanation_rows_upsert(
            model_id=model.pk,
            rows=[(p.instance_id, p.method_id, p.scores, p.params) for p in parsed],
            extras=[p.extras for p in parsed],
            progress=progress,
        )
    return ExplanationImportResult(model=model, written=written)


def _stream_rows(
    parsed: Iterator[ParsedExplanation], aside: list[ParsedExplanation]
) -> Iterator[ExplanationRow]:
    """Yield the rows without extras; put the others in ``aside``."""
    for p in parsed:
        if p.extras:
            aside.append(p)
        else:
            yield (p.instance_id, p.method_id, p.scores, p.params)


def default_pooling(method: str) -> str:
    """Return the pooling rule the method's computed explanations use (``sum`` if none).

    A method not computed for Hugging Face models here (``lrp``) may still be imported.
    """
    try:
        parameters = method_parameters(method, "huggingface")
    except ValueError:
        return "sum"
    return str(parameters.get("pooling", "sum"))


def hf_model_for_import(
    *, path: Path, name: str, dataset: Dataset, fmt: str, owner: User | None = None
) -> ClassifierModel:
    """Return model ``name`` if it is an imported Hugging Face model of ``dataset``.

    A model ``owner`` may not write to is refused as one that does not exist.
    """
    model = ClassifierModel.objects.filter(name=name).first()
    needs = (
        f"--format {fmt} gives scores per subword piece of a model imported with "
        "import_model (architecture huggingface)"
    )
    if model is None or not model_writable(model, owner):
        yours = "" if owner is None else " of yours"
        message = f"no model{yours} named {name!r}; {needs}: import the model first"
    elif model.architecture != ClassifierModel.Architecture.HUGGINGFACE:
        kind = model.get_architecture_display().lower()
        message = f"model {name!r} is not an imported Hugging Face model ({kind}); {needs}"
    elif model.dataset_id not in (None, dataset.pk):
        message = f"model {name!r} was made for another dataset, not {dataset}"
    else:
        return model
    raise ImportFailed([Problem(str(path), None, "model", message)])


def subword_explanations_import(
    *,
    path: Path,
    model_name: str,
    dataset: Dataset,
    fmt: str,
    owner: User | None = None,
    method: str | None = None,
    id_field: str | None = None,
    pooling: str | None = None,
    progress: Progress = no_progress,
) -> ExplanationImportResult:
    """Import subword-level explanations of an imported Hugging Face model, all or nothing.

    ``fmt`` is ``subword`` (each line names its method) or ``thermostat`` (``method``
    names the file's explainer; ``id_field`` the field holding the instance id, default
    ``idx``). Every line's pieces must be those the model's tokenizer gives the stored
    text; scores are pooled per word by the line's ``params.pooling``, else ``pooling``,
    else the method's default. Stored with ``extras`` ``seen_words`` and ``words`` and
    ``params`` ``pooling`` and ``source``; every bad line is reported, nothing is written.
    ``owner`` (None on the command line) must own the model.
    """
    path = Path(path)
    model = hf_model_for_import(path=path, name=model_name, dataset=dataset, fmt=fmt, owner=owner)
    methods = known_methods_ensure()
    option_problems = _subword_options(
        path, fmt=fmt, method=method, id_field=id_field, pooling=pooling, methods=methods
    )
    if option_problems:
        raise ImportFailed(option_problems)
    instances = dict(dataset.instances.values_list("external_id", "pk"))
    problems = ProblemCollector(path)
    lines: list[SubwordLine]
    if fmt == "thermostat":
        assert method is not None  # checked by _subword_options
        lines = list(
            iter_thermostat_lines(
                path,
                instances=instances,
                method=method,
                id_field=id_field or THERMOSTAT_ID_FIELD,
                problems=problems,
            )
        )
    else:
        lines = list(
            iter_subword_lines(path, instances=instances, methods=methods, problems=problems)
        )
    # Imported here, not at the top: the tokenizer comes with the loaded model (torch,
    # transformers), which the web tier importing this module must not pay for.
    from .model_store import ModelUnavailable
    from .runtime import HFRuntime, runtime_for

    try:
        runtime = runtime_for(model)
    except ModelUnavailable as exc:
        raise ImportFailed([Problem(str(path), None, "model", str(exc))]) from exc
    if not isinstance(runtime, HFRuntime):  # pragma: no cover  (checked by hf_model_for_import)
        raise ImportFailed([Problem(str(path), None, "model", "not a Hugging Face model")])
    rows, extras, targets = _pool_lines(
        lines,
        runtime=runtime,
        model=model,
        instances=instances,
        methods=methods,
        fmt=fmt,
        pooling=pooling,
        problems=problems,
        progress=progress,
    )
    if problems.problems:
        raise ImportFailed(sorted(problems.problems, key=lambda p: p.line or 0))
    with transaction.atomic():
        written = explanation_rows_upsert(
            model_id=model.pk, rows=rows, extras=extras, target_labels=targets, progress=progress
        )
    return ExplanationImportResult(model=model, written=written)


def _subword_options(
    path: Path,
    *,
    fmt: str,
    method: str | None,
    id_field: str | None,
    pooling: str | None,
    methods: dict[str, int],
) -> list[Problem]:
    problems = []
    if fmt == "thermostat":
        if not method:
            problems.append(
                Problem(
                    str(path),
                    None,
                    "method",
                    "missing; a Thermostat file holds one explainer: name the method it "
                    f"computed (one of {', '.join(methods)})",
                )
            )
        elif method not in methods:
            problems.append(
                Problem(
                    str(path),
                    None,
                    "method",
                    f"unknown method {method!r}; expected one of {', '.join(methods)}",
                )
            )
    else:
        for name, value in (("method", method), ("id_field", id_field)):
            if value:
                problems.append(
                    Problem(
                        str(path),
                        None,
                        name,
                        "applies to the thermostat format only; a subword line names its "
                        "instance and method",
                    )
                )
    if pooling is not None and pooling not in POOLINGS:
        problems.append(
            Problem(
                str(path),
                None,
                "pooling",
                f"{pooling!r} is not a pooling rule; expected one of {', '.join(POOLINGS)}",
            )
        )
    return problems


def _pool_lines(
    lines: Sequence[SubwordLine],
    *,
    runtime: HFRuntime,
    model: ClassifierModel,
    instances: dict[str, int],
    methods: dict[str, int],
    fmt: str,
    pooling: str | None,
    problems: ProblemCollector,
    progress: Progress,
) -> tuple[list[ExplanationRow], list[dict[str, Any]], list[int | None]]:
    """Encode the lines' instances with the model's tokenizer, check and pool every line."""
    tokenizer = runtime.tokenizer
    label_order = model.config.get("label_order")
    n_labels = len(model.label_names)
    rows: list[ExplanationRow] = []
    extras: list[dict[str, Any]] = []
    targets: list[int | None] = []
    for begin in range(0, len(lines), ENCODE_CHUNK):
        chunk = lines[begin : begin + ENCODE_CHUNK]
        by_pk = Instance.objects.in_bulk([instances[item.instance] for item in chunk])
        encodings = runtime.encode([by_pk[instances[item.instance]] for item in chunk])
        for item, encoding in zip(chunk, encodings, strict=True):
            rule = line_pooling(item.params, pooling or default_pooling(item.method))
            pooled = pool_line(
                item,
                encoding,
                id_tokens=tokenizer.convert_ids_to_tokens,
                pad_id=tokenizer.pad_token_id,
                pooling=rule,
                problems=problems,
            )
            target = None
            if item.outputs is not None:
                if len(item.outputs) != n_labels:
                    problems.add(
                        item.line,
                        "predictions",
                        f"has {len(item.outputs)} values; expected {n_labels}, one per "
                        f"output of model {model.name!r}",
                    )
                    continue
                target = target_label(item.outputs, label_order)
            if pooled is None:
                continue
            params = {**item.params, "pooling": pooled.pooling, "source": fmt}
            rows.append((instances[item.instance], methods[item.method], pooled.scores, params))
            extras.append({"seen_words": int(pooled.seen.sum()), "words": encoding.n_words})
            targets.append(target)
        progress(min(begin + ENCODE_CHUNK, len(lines)), len(lines), "lines checked")
    return rows, extras, targets


def explanations_export(
    *, model: ClassifierModel, path: Path, methods: list[str] | None = None
) -> int:
    """Write the model's explanations as JSON lines in the import format; return the count.

    Explanations of a Hugging Face model also carry ``seen_words`` and ``words``: how
    many of the instance's words the model saw, of how many (the rest were past its
    maximum length).
    """
    queryset = Explanation.objects.filter(model=model)
    if methods:
        queryset = queryset.filter(method__name__in=methods)
    rows = queryset.order_by("pk").values_list(
        "instance__external_id", "method__name", "scores", "parameters", "extras"
    )
    with Path(path).open("w", encoding="utf-8") as out:
        return write_explanations(rows.iterator(chunk_size=5000), out)
