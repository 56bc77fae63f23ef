"""Dataset import and export: formats, round trips, all-or-nothing failures."""

import json

import pytest
from django.core.management import CommandError, call_command

from explanations.io.problems import ImportFailed
from explanations.models import Dataset, HumanRationale, Instance
from explanations.services.datasets import dataset_export, dataset_import

from .factories import RECORDS, row_counts, small_dataset, write_jsonl

pytestmark = pytest.mark.django_db


def test_jsonl_import_tokenises_once_and_keeps_rationales(tmp_path):
    dataset = small_dataset(tmp_path)
    assert dataset.label_names == ["negative", "positive"]
    first = Instance.objects.get(dataset=dataset, external_id="a1")
    assert first.tokens == ["A", "wonderful", ",", "moving", "film", "."]
    assert all(
        first.text[s:e] == t for t, (s, e) in zip(first.tokens, first.token_offsets, strict=True)
    )
    assert first.gold_label == 1
    assert list(first.rationales.order_by("pk").values_list("token_indices", flat=True)) == [
        [1],
        [1, 3],
    ]


def test_reimport_creates_no_duplicates(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", RECORDS)
    dataset_import(path=path, name="films")
    before = row_counts()
    result = dataset_import(path=path, name="films", append=True)
    assert (result.created, result.unchanged) == (0, 3)
    assert row_counts() == before


def test_changed_record_under_same_id_is_refused(tmp_path):
    small_dataset(tmp_path)
    before = row_counts()
    changed = [
        dict(RECORDS[0], text="A changed, different film."),
        {"id": "a9", "text": "New one.", "label": "negative"},
    ]
    with pytest.raises(ImportFailed, match=r"line 1, field 'id': id 'a1' is already stored"):
        dataset_import(path=write_jsonl(tmp_path / "c.jsonl", changed), name="films", append=True)
    assert row_counts() == before


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_round_trip_gives_identical_file(tmp_path, fmt):
    source = tmp_path / "source.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    dataset = dataset_import(path=source, name="films").dataset
    first = tmp_path / f"first.{fmt}"
    dataset_export(dataset=dataset, path=first, fmt=fmt)
    if fmt == "jsonl":
        assert first.read_bytes() == source.read_bytes()
    again = dataset_import(path=first, name="films-copy").dataset
    second = tmp_path / f"second.{fmt}"
    dataset_export(dataset=again, path=second, fmt=fmt)
    assert second.read_bytes() == first.read_bytes()


def test_pair_dataset_explains_second_text(tmp_path):
    records = [
        {
            "id": "p1",
            "text": "A man plays a guitar.",
            "text_b": "Someone makes music.",
            "label": "entailment",
        },
        {"id": "p2", "text": "A cat sleeps.", "text_b": "The cat runs.", "label": "contradiction"},
    ]
    dataset = small_dataset(tmp_path, name="nli", records=records)
    assert dataset.is_pair
    instance = dataset.instances.get(external_id="p1")
    assert instance.explained_tokens == ["Someone", "makes", "music", "."]


def test_eraser_folder_maps_evidence_spans_to_tokens(tmp_path):
    folder = tmp_path / "movies"
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "negR_001.txt").write_text(
        "the plot is dull , and the ending is worse .\n", encoding="utf-8"
    )
    (folder / "docs" / "posR_002.txt").write_text("a joyful , clever film .\n", encoding="utf-8")
    ann = [
        {
            "annotation_id": "negR_001.txt",
            "classification": "NEG",
            "query": "What is the sentiment?",
            "evidences": [
                [{"docid": "negR_001.txt", "start_token": 3, "end_token": 4, "text": "dull"}],
                [{"docid": "negR_001.txt", "start_token": 9, "end_token": 10, "text": "worse"}],
            ],
        },
        {
            "annotation_id": "posR_002.txt",
            "classification": "POS",
            "query": "What is the sentiment?",
            "evidences": [
                [
                    {
                        "docid": "posR_002.txt",
                        "start_token": 1,
                        "end_token": 4,
                        "text": "joyful , clever",
                    }
                ]
            ],
        },
    ]
    write_jsonl(folder / "train.jsonl", ann[:1])
    write_jsonl(folder / "test.jsonl", ann[1:])
    dataset = dataset_import(path=folder, name="movies", fmt="eraser").dataset
    assert not dataset.is_pair  # a constant query carries no information
    neg = dataset.instances.get(external_id="negR_001.txt")
    assert neg.split == "train"
    rationale = neg.rationales.get()
    assert [neg.tokens[i] for i in rationale.token_indices] == ["dull", "worse"]
    pos = dataset.instances.get(external_id="posR_002.txt")
    assert [pos.tokens[i] for i in pos.rationales.get().token_indices] == ["joyful", ",", "clever"]


def _eraser_folder(tmp_path, docids):
    """Write an ERASER folder with one good document and one annotation using ``docids``."""
    folder = tmp_path / "eraser"
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "good.txt").write_text("a fine film .\n", encoding="utf-8")
    write_jsonl(
        folder / "train.jsonl",
        [
            {"annotation_id": "good.txt", "classification": "POS"},
            {"annotation_id": "bad", "classification": "NEG", "docids": docids},
        ],
    )
    return folder


def _secret(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("private host data\n", encoding="utf-8")
    return secret


@pytest.mark.parametrize(
    "docid", ["../../secret.txt", "../../../../etc/hostname", "ABSOLUTE", "link.txt", "..", "."]
)
def test_eraser_docids_outside_docs_are_refused(tmp_path, docid):
    secret = _secret(tmp_path)  # docs/../../secret.txt: a real, readable file
    folder = _eraser_folder(tmp_path, [str(secret) if docid == "ABSOLUTE" else docid])
    (folder / "docs" / "link.txt").symlink_to(secret)
    before = row_counts()
    with pytest.raises(CommandError) as raised:
        call_command("import_dataset", str(folder), "--name", "eraser", verbosity=0)
    text = str(raised.value)
    assert "train.jsonl, line 2" in text
    assert "field 'docids'" in text
    assert "outside docs/" in text
    assert row_counts() == before


def test_eraser_annotation_id_used_as_docid_cannot_leave_docs(tmp_path):
    _secret(tmp_path)
    folder = tmp_path / "eraser"
    (folder / "docs").mkdir(parents=True)
    write_jsonl(
        folder / "train.jsonl", [{"annotation_id": "../../secret.txt", "classification": "a"}]
    )
    with pytest.raises(ImportFailed) as raised:
        dataset_import(path=folder, name="eraser", fmt="eraser")
    problem = raised.value.problems[0]
    assert (problem.line, problem.field) == (1, "docids")
    assert "outside docs/" in problem.message
    assert not Dataset.objects.filter(name="eraser").exists()


@pytest.mark.parametrize("docids", ["good.txt", [3], [None], [""], {"a": 1}, [["good.txt"]]])
def test_eraser_docids_not_a_list_of_strings_is_refused(tmp_path, docids):
    folder = _eraser_folder(tmp_path, docids)
    before = row_counts()
    with pytest.raises(CommandError) as raised:
        call_command("import_dataset", str(folder), "--name", "eraser", verbosity=0)
    text = str(raised.value)
    assert "train.jsonl, line 2" in text
    assert "field 'docids'" in text
    assert "expected a list of document ids (strings)" in text
    assert row_counts() == before


BAD_DATASETS = [
    (
        "malformed JSON",
        b'{"id": "x1", "text": "ok", "label": "positive"}\n{"id": "x2", "text": \n',
        2,
        None,
        "malformed JSON",
    ),
    (
        "missing field",
        b'{"id": "x1", "text": "ok", "label": "positive"}\n{"id": "x2", "label": "negative"}\n',
        2,
        "text",
        "missing",
    ),
    (
        "wrong type",
        b'{"id": "x1", "text": 42, "label": "positive"}\n',
        1,
        "text",
        "expected a string",
    ),
    (
        "duplicate id",
        b'{"id": "x1", "text": "a b", "label": "positive"}\n{"id": "x1", "text": "c d", "label": "negative"}\n',
        2,
        "id",
        "duplicate id 'x1', first seen on line 1",
    ),
    (
        "rationale out of range",
        b'{"id": "x1", "text": "two tokens", "label": "positive", "rationales": [[0, 5]]}\n',
        1,
        "rationales",
        "token index 5 is out of range",
    ),
    (
        "non-UTF-8 bytes",
        b'{"id": "x1", "text": "fine", "label": "positive"}\n{"id": "x2", "text": "caf\xe9", "label": "negative"}\n',
        2,
        None,
        "not valid UTF-8",
    ),
]


@pytest.mark.parametrize(
    ("case", "content", "line", "field", "message"), BAD_DATASETS, ids=[c[0] for c in BAD_DATASETS]
)
def test_bad_dataset_file_imports_nothing(
    tmp_path, researcher, case, content, line, field, message
):
    small_dataset(tmp_path, name="existing")
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    before = row_counts()
    with pytest.raises(CommandError) as raised:
        call_command("import_dataset", str(path), "--name", "bad", verbosity=0)
    text = str(raised.value)
    assert f"bad.jsonl, line {line}" in text
    if field:
        assert f"field '{field}'" in text
    assert message in text
    assert row_counts() == before
    assert not Dataset.objects.filter(name="bad").exists()


def test_unknown_label_names_line_and_field(tmp_path):
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            {"id": "1", "text": "fine", "label": "positive"},
            {"id": "2", "text": "meh", "label": "neutral"},
        ],
    )
    before = row_counts()
    with pytest.raises(
        ImportFailed,
        match=r"bad\.jsonl, line 2, field 'label': unknown label 'neutral'; expected one of negative, positive",
    ):
        dataset_import(path=path, name="bad", label_names=["negative", "positive"])
    assert row_counts() == before


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    before = row_counts()
    with pytest.raises(ImportFailed, match=r"empty\.jsonl: file is empty"):
        dataset_import(path=path, name="empty")
    assert row_counts() == before


def test_csv_import_reads_rationales_cell(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(
        'id,text,label,rationales\nc1,"Great, really great.",positive,"[[0, 3]]"\nc2,Awful.,negative,\n',
        encoding="utf-8",
    )
    dataset = dataset_import(path=path, name="csvdata").dataset
    assert dataset.instances.count() == 2
    assert HumanRationale.objects.get().token_indices == [0, 3]


def test_csv_bad_row_names_its_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,text,label\nc1,Fine.,positive\nc2,,negative\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"d\.csv, line 3, field 'text': missing"):
        dataset_import(path=path, name="csvdata")
