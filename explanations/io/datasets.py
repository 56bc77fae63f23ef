"""Parse dataset files (JSONL, CSV, ERASER folders) into validated records.

JSONL and CSV records have the fields ``id``, ``text``, ``label``, optional ``text_b``,
optional ``split`` and optional ``rationales`` (a list of token-index lists, one per
annotator; in CSV a JSON string). Token indices refer to the tokens of
:func:`explanations.compute.tokenize.tokenize` of the explained text (``text_b`` for pairs).
"""

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from explanations.compute.tokenize import tokenize

from .csv_cells import FedLines, cell_limit_for, csv_error_message, overlong_cell
from .limits import (
    MAX_ID_LENGTH,
    MAX_SPLIT_LENGTH,
    TextLimits,
    chars_message,
    nul_at,
    nul_message,
    tokens_message,
    too_long_message,
)
from .lines import iter_json_lines, read_text_lines
from .problems import ImportFailed, Problem, ProblemCollector

FORMATS = ("jsonl", "csv", "eraser")
FIELDS = ("id", "text", "label", "text_b", "split", "rationales")


@dataclass
class ParsedInstance:
    line: int
    external_id: str
    text: str
    label: str | None
    text_b: str = ""
    split: str = ""
    rationales: list[list[int]] = field(default_factory=list)
    rationale_annotators: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    offsets: list[tuple[int, int]] = field(default_factory=list)
    tokens_b: list[str] = field(default_factory=list)
    offsets_b: list[tuple[int, int]] = field(default_factory=list)

    @property
    def explained_length(self) -> int:
        return len(self.tokens_b) if self.text_b else len(self.tokens)


def _check_record(
    record: Any,
    line: int,
    problems: ProblemCollector,
    seen: dict[str, int],
    limits: TextLimits | None = None,
) -> ParsedInstance | None:
    """Validate one JSONL/CSV record; return None and record problems when it is bad."""
    if not isinstance(record, dict):
        problems.add(line, None, f"expected a JSON object, got {type(record).__name__}")
        return None
    unknown = sorted(set(record) - set(FIELDS))
    if unknown:
        problems.add(line, unknown[0], f"unknown field; expected only {', '.join(FIELDS)}")
        return None
    ok = True
    for name in ("id", "text", "label"):
        if name not in record or record[name] is None or record[name] == "":
            problems.add(line, name, "missing; every record needs id, text and label")
            ok = False
    if not ok:
        return None
    raw_id = record["id"]
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        problems.add(line, "id", f"expected a string or integer, got {type(raw_id).__name__}")
        return None
    external_id = str(raw_id)
    if not _strings_ok(record, line, problems):
        return None
    if external_id in seen:
        problems.add(
            line, "id", f"duplicate id {external_id!r}, first seen on line {seen[external_id]}"
        )
        return None
    seen[external_id] = line
    for name in ("text", "text_b", "split"):
        if name in record and record[name] is not None and not isinstance(record[name], str):
            problems.add(line, name, f"expected a string, got {type(record[name]).__name__}")
            ok = False
    if not isinstance(record["label"], str):
        problems.add(
            line, "label", f"expected a label name (string), got {type(record['label']).__name__}"
        )
        ok = False
    if not ok:
        return None
    for name in ("text", "text_b"):
        message = chars_message(record.get(name) or "", limits)
        if message:
            problems.add(line, name, message)
            return None
    parsed = ParsedInstance(
        line=line,
        external_id=external_id,
        text=record["text"],
        label=record["label"],
        text_b=record.get("text_b") or "",
        split=record.get("split") or "",
    )
    parsed.tokens, parsed.offsets = tokenize(parsed.text)
    if parsed.text_b:
        parsed.tokens_b, parsed.offsets_b = tokenize(parsed.text_b)
    if not parsed.explained_length:
        field_name = "text_b" if parsed.text_b else "text"
        problems.add(line, field_name, "has no tokens; expected some text")
        return None
    if not _tokens_ok(parsed, line, problems, limits):
        return None
    rationales = record.get("rationales")
    if rationales is not None:
        checked = _check_rationales(rationales, parsed.explained_length, line, problems)
        if checked is None:
            return None
        parsed.rationales = checked
        parsed.rationale_annotators = [f"annotator_{i + 1}" for i in range(len(checked))]
    return parsed


def _strings_ok(record: dict[str, Any], line: int, problems: ProblemCollector) -> bool:
    """Refuse NUL characters in any field, and an id or split longer than its column."""
    for name, value in record.items():
        position = nul_at(value)
        if position:
            problems.add(line, name, nul_message(position))
            return False
    for name, limit, what in (
        ("id", MAX_ID_LENGTH, "the size of an instance id"),
        ("split", MAX_SPLIT_LENGTH, "a split name such as train, val or test"),
    ):
        value = record.get(name)
        if not isinstance(value, str | int):  # the type checks that follow name the field
            continue
        message = too_long_message(str(value), limit, what)
        if message:
            problems.add(line, name, message)
            return False
    return True


def _tokens_ok(
    parsed: ParsedInstance, line: int, problems: ProblemCollector, limits: TextLimits | None
) -> bool:
    """Refuse an instance whose texts together have more tokens than ``limits`` allow."""
    message = tokens_message(len(parsed.tokens) + len(parsed.tokens_b), limits)
    if message:
        # Name the text that holds most of them: the one to shorten.
        longer = "text_b" if len(parsed.tokens_b) > len(parsed.tokens) else "text"
        problems.add(line, longer, message)
        return False
    return True


def _check_rationales(
    value: Any, n_tokens: int, line: int, problems: ProblemCollector
) -> list[list[int]] | None:
    expected = "expected a list of token-index lists, one per annotator"
    if not isinstance(value, list) or not all(isinstance(r, list) for r in value):
        problems.add(line, "rationales", expected)
        return None
    checked: list[list[int]] = []
    for k, rationale in enumerate(value):
        for index in rationale:
            if isinstance(index, bool) or not isinstance(index, int):
                problems.add(
                    line,
                    "rationales",
                    f"rationale {k + 1}: {index!r} is not an integer; {expected}",
                )
                return None
            if not 0 <= index < n_tokens:
                problems.add(
                    line,
                    "rationales",
                    f"rationale {k + 1}: token index {index} is out of range; the text has "
                    f"{n_tokens} tokens (0 to {n_tokens - 1})",
                )
                return None
        checked.append(sorted(set(rationale)))
    return checked


def read_jsonl(path: Path, limits: TextLimits | None = None) -> list[ParsedInstance]:
    """Parse a JSONL dataset file; raise :class:`ImportFailed` listing every bad line."""
    problems = ProblemCollector(path)
    seen: dict[str, int] = {}
    records: list[ParsedInstance] = []
    for line, obj, error in iter_json_lines(path):
        if error:
            problems.add(line, None, error)
        else:
            parsed = _check_record(obj, line, problems, seen, limits)
            if parsed:
                records.append(parsed)
        if problems.full:
            break
    problems.raise_if_any()
    return records


def read_csv(path: Path, limits: TextLimits | None = None) -> list[ParsedInstance]:
    """Parse a CSV dataset file with a header row; ``rationales`` cells hold JSON.

    A cell is read up to Python's CSV limit of 131,072 characters, or up to the
    characters-per-text limit when that is larger; a longer cell stops the reading with a
    problem naming its line and column (the reader cannot resume inside a record).
    """
    lines = read_text_lines(path)  # UTF-8 and emptiness checks, with line numbers
    problems = ProblemCollector(path)
    cell_limit = cell_limit_for(limits.max_chars if limits else None)
    fed = FedLines(lines)
    reader = csv.DictReader(fed)
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        message = csv_error_message(exc, "\n".join(t for _, t in lines[: fed.taken]), cell_limit)
        raise ImportFailed([Problem(str(path), lines[fed.taken - 1][0], None, message)]) from exc
    missing = [f for f in ("id", "text", "label") if f not in header]
    if missing:
        raise ImportFailed(
            [
                Problem(
                    str(path),
                    lines[0][0],
                    missing[0],
                    "missing column; the header needs id, text, label",
                )
            ]
        )
    seen: dict[str, int] = {}
    records: list[ParsedInstance] = []
    while True:
        taken_before = fed.taken
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # The reader's own line_num does not count the line it failed on: the lines
            # handed to it do.
            record_text = "\n".join(t for _, t in lines[taken_before : fed.taken])
            column = overlong_cell(record_text, cell_limit)
            problems.add(
                lines[fed.taken - 1][0],
                header[column] if column is not None and column < len(header) else None,
                csv_error_message(exc, record_text, cell_limit),
            )
            break
        line = lines[fed.taken - 1][0]
        if None in row:
            problems.add(line, None, f"row has more cells than the header's {len(header)} columns")
            continue
        record: dict[str, Any] = {k: v for k, v in row.items() if v not in (None, "")}
        if "rationales" in record:
            try:
                record["rationales"] = orjson.loads(record["rationales"])
            except orjson.JSONDecodeError:
                problems.add(line, "rationales", "expected a JSON list of token-index lists")
                continue
        parsed = _check_record(record, line, problems, seen, limits)
        if parsed:
            records.append(parsed)
        if problems.full:
            break
    problems.raise_if_any()
    return records


def _document_path(docs_dir: Path, docid: str) -> Path | None:
    """Return the file ``docs/<docid>`` resolves to, or None if that is not inside ``docs/``.

    Absolute ids, ``..`` and symbolic links pointing elsewhere all resolve outside and are
    refused: a document id must never read a file the folder does not hold.
    """
    root = docs_dir.resolve()
    try:
        path = (docs_dir / docid).resolve()
    except (OSError, ValueError):  # a NUL byte, a symbolic link loop
        return None
    if path == root or not path.is_relative_to(root):
        return None
    return path


def read_eraser(folder: Path, limits: TextLimits | None = None) -> list[ParsedInstance]:
    """Parse a folder in the ERASER benchmark layout (DeYoung et al. 2020).

    ``docs/<docid>`` holds whitespace-tokenised text; ``train.jsonl``, ``val.jsonl`` and
    ``test.jsonl`` hold annotations with ``annotation_id``, ``classification``, optional
    ``query`` and ``evidences`` (token spans of a document). The document is the explained
    text. When queries differ between annotations they become the first text of a pair;
    a constant query (e.g. "What is the sentiment of this review?") is dropped. Evidence
    spans are mapped to our tokens through character offsets and become one rationale per
    annotation, annotator ``eraser``.
    """
    if not folder.is_dir():
        raise ImportFailed(
            [Problem(str(folder), None, None, "expected an ERASER folder with docs/ and *.jsonl")]
        )
    docs_dir = folder / "docs"
    split_files = [(s, folder / f"{s}.jsonl") for s in ("train", "val", "test")]
    split_files = [(s, p) for s, p in split_files if p.exists()]
    if not docs_dir.is_dir() or not split_files:
        raise ImportFailed(
            [
                Problem(
                    str(folder),
                    None,
                    None,
                    "expected docs/ and at least one of train.jsonl, val.jsonl, test.jsonl",
                )
            ]
        )
    seen: dict[str, int] = {}
    raw: list[tuple[Path, int, str, dict[str, Any]]] = []
    all_problems: list[Problem] = []
    for split, path in split_files:
        problems = ProblemCollector(path)
        for line, obj, error in iter_json_lines(path):
            if error:
                problems.add(line, None, error)
                continue
            if not isinstance(obj, dict):
                problems.add(line, None, "expected a JSON object")
                continue
            for name in ("annotation_id", "classification"):
                if not isinstance(obj.get(name), str) or not obj[name]:
                    problems.add(line, name, "missing or not a string")
            if "evidences" in obj and not isinstance(obj["evidences"], list):
                problems.add(line, "evidences", "expected a list of evidence groups")
            if obj.get("query") is not None and not isinstance(obj["query"], str):
                problems.add(line, "query", f"expected a string, got {type(obj['query']).__name__}")
            for name in ("annotation_id", "classification", "query", "docids"):
                position = nul_at(obj.get(name))
                if position:
                    problems.add(line, name, nul_message(position))
            if isinstance(obj.get("annotation_id"), str):
                message = too_long_message(
                    obj["annotation_id"], MAX_ID_LENGTH, "the size of an instance id"
                )
                if message:
                    problems.add(line, "annotation_id", message)
            docids = obj.get("docids")
            if docids is not None and not (
                isinstance(docids, list) and all(isinstance(d, str) and d for d in docids)
            ):
                problems.add(line, "docids", "expected a list of document ids (strings)")
            if problems.problems:
                continue
            docid = (docids or [obj["annotation_id"]])[0]
            if _document_path(docs_dir, docid) is None:
                problems.add(line, "docids", f"document {docid!r} is outside docs/; refused")
                continue
            if obj["annotation_id"] in seen:
                problems.add(line, "annotation_id", f"duplicate id {obj['annotation_id']!r}")
                continue
            seen[obj["annotation_id"]] = line
            raw.append((path, line, split, obj))
        all_problems.extend(problems.problems)
    if all_problems:
        raise ImportFailed(all_problems)
    queries = {obj.get("query") or "" for _, _, _, obj in raw}
    pair = len(queries) > 1
    records: list[ParsedInstance] = []
    problems_out: list[Problem] = []
    for path, line, split, obj in raw:
        docid = (obj.get("docids") or [obj["annotation_id"]])[0]
        doc_path = _document_path(docs_dir, docid)
        assert doc_path is not None  # checked with the line's other fields
        try:
            doc_tokens = doc_path.read_bytes().decode("utf-8").split()
        except (OSError, UnicodeDecodeError) as exc:
            problems_out.append(
                Problem(str(path), line, "docids", f"cannot read document {docid!r}: {exc}")
            )
            continue
        text = " ".join(doc_tokens)
        position = nul_at(text)
        message = nul_message(position) if position else chars_message(text, limits)
        if message:
            problems_out.append(Problem(str(path), line, "docids", f"document {docid!r} {message}"))
            continue
        message = chars_message(obj.get("query") or "", limits)
        if message:
            problems_out.append(Problem(str(path), line, "query", message))
            continue
        starts, pos = [], 0
        for tok in doc_tokens:
            starts.append(pos)
            pos += len(tok) + 1
        parsed = ParsedInstance(
            line=line,
            external_id=obj["annotation_id"],
            text=text,
            label=obj["classification"],
            split=split,
        )
        if pair:
            parsed.text, parsed.text_b = obj.get("query") or "", text
        parsed.tokens, parsed.offsets = tokenize(parsed.text)
        if parsed.text_b:
            parsed.tokens_b, parsed.offsets_b = tokenize(parsed.text_b)
        message = tokens_message(len(parsed.tokens) + len(parsed.tokens_b), limits)
        if message:
            which = f"document {docid!r}" + (" with its query" if pair else "")
            problems_out.append(Problem(str(path), line, "docids", f"{which} {message}"))
            continue
        offsets = parsed.offsets_b if pair else parsed.offsets
        selected: set[int] = set()
        for group in obj.get("evidences") or []:
            for ev in group if isinstance(group, list) else [group]:
                if not isinstance(ev, dict) or ev.get("docid", docid) != docid:
                    continue
                start, end = ev.get("start_token"), ev.get("end_token")
                if not (
                    isinstance(start, int)
                    and isinstance(end, int)
                    and 0 <= start < end <= len(doc_tokens)
                ):
                    problems_out.append(
                        Problem(
                            str(path),
                            line,
                            "evidences",
                            f"token span {start}..{end} is outside document {docid!r} ({len(doc_tokens)} tokens)",
                        )
                    )
                    continue
                char_start = starts[start]
                char_end = starts[end - 1] + len(doc_tokens[end - 1])
                selected.update(
                    i for i, (s, e) in enumerate(offsets) if s < char_end and e > char_start
                )
        if selected:
            parsed.rationales = [sorted(selected)]
            parsed.rationale_annotators = ["eraser"]
        records.append(parsed)
    if problems_out:
        raise ImportFailed(problems_out)
    return records


def read_dataset(path: Path, fmt: str, limits: TextLimits | None = None) -> list[ParsedInstance]:
    """Parse ``path`` in format ``fmt`` (jsonl, csv or eraser), refusing texts over ``limits``."""
    readers = {"jsonl": read_jsonl, "csv": read_csv, "eraser": read_eraser}
    if fmt not in readers:
        raise ImportFailed(
            [
                Problem(
                    str(path),
                    None,
                    None,
                    f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}",
                )
            ]
        )
    return readers[fmt](path, limits)


def guess_format(path: Path) -> str:
    """Return the format implied by a path: a folder is ERASER, else the file suffix."""
    if path.is_dir():
        return "eraser"
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def dataset_record(
    external_id: str,
    text: str,
    label: str | None,
    text_b: str,
    split: str,
    rationales: Sequence[Sequence[int]],
) -> dict[str, Any]:
    """Return a record in the canonical field order used by the exporters."""
    record: dict[str, Any] = {"id": external_id, "text": text}
    if text_b:
        record["text_b"] = text_b
    record["label"] = label
    if split:
        record["split"] = split
    if rationales:
        record["rationales"] = [list(r) for r in rationales]
    return record


def write_jsonl(records: Iterable[dict[str, Any]], out: io.TextIOBase) -> None:
    """Write records as JSON lines in Python's default style (``", "`` and ``": "``).

    Floats are written with ``repr``, which reads back to the same value, so exporting what
    was imported from a file in this style gives the identical file.
    """
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_csv(records: Iterable[dict[str, Any]], out: io.TextIOBase, pair: bool) -> None:
    """Write records as CSV with a header; rationales as a JSON cell."""
    columns = ["id", "text"] + (["text_b"] if pair else []) + ["label", "split", "rationales"]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for record in records:
        row = dict(record)
        if "rationales" in row:
            row["rationales"] = orjson.dumps(row["rationales"]).decode()
        writer.writerow(row)
