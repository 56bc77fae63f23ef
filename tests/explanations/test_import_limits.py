"""Import limits (issue #14): bad strings, sizes, page sizes, and no silent append.

Each refusal names the file, line and field, on the command line (a CommandError, no
traceback) and over REST (a 400 listing the problems), and writes nothing.
"""

import csv
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from demo.services import demo_datasets_ensure
from explanations.io.csv_cells import overlong_cell
from explanations.io.limits import MAX_ID_LENGTH, MAX_SPLIT_LENGTH
from explanations.io.problems import ImportFailed, ProblemCollector
from explanations.io.subword import iter_subword_lines, iter_thermostat_lines
from explanations.models import Dataset, Explanation, Instance
from explanations.services.datasets import dataset_import
from tests.studies.factories import film_corpus, make_study

from .factories import RECORDS, row_counts, small_dataset, write_jsonl

pytestmark = pytest.mark.django_db

GOOD = {"id": "g1", "text": "A fine film.", "label": "positive"}


@pytest.fixture(autouse=True)
def _small_limits(settings):
    """Limits small enough to cross in a test; the CSV module's limit restored afterwards."""
    settings.ELEPHANT_MAX_TOKENS_PER_INSTANCE = 12
    settings.ELEPHANT_MAX_CHARS_PER_TEXT = 300
    before = csv.field_size_limit()
    yield
    csv.field_size_limit(before)


def jsonl(*records: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def csv_file(header: str, *rows: str) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


HUGE_CELL = "x" * 140_000  # over Python's CSV cell limit of 131,072

# (case, file name, content, line, field, part of the message)
BAD_FILES = [
    (
        "NUL in text",
        "d.jsonl",
        jsonl(GOOD, {"id": "b", "text": "bad\u0000text", "label": "negative"}),
        2,
        "text",
        "NUL character (\\u0000) at position 3",
    ),
    (
        "NUL in label",
        "d.jsonl",
        jsonl(GOOD, {"id": "b", "text": "Bad.", "label": "neg\u0000"}),
        2,
        "label",
        "NUL character",
    ),
    (
        "NUL in id",
        "d.jsonl",
        jsonl({"id": "b\u0000", "text": "Bad.", "label": "negative"}),
        1,
        "id",
        "NUL character",
    ),
    (
        "NUL in text_b",
        "d.jsonl",
        jsonl({"id": "b", "text": "Bad.", "text_b": "\u0000", "label": "negative"}),
        1,
        "text_b",
        "NUL character",
    ),
    (
        "NUL in split",
        "d.jsonl",
        jsonl({"id": "b", "text": "Bad.", "label": "negative", "split": "tr\u0000ain"}),
        1,
        "split",
        "NUL character",
    ),
    (
        "id over its column",
        "d.jsonl",
        jsonl(GOOD, {"id": "i" * 256, "text": "Bad.", "label": "negative"}),
        2,
        "id",
        "is 256 characters long; expected at most 200",
    ),
    (
        "split over its column",
        "d.jsonl",
        jsonl({"id": "b", "text": "Bad.", "label": "negative", "split": "s" * 21}),
        1,
        "split",
        "is 21 characters long; expected at most 20",
    ),
    (
        "too many tokens",
        "d.jsonl",
        jsonl(GOOD, {"id": "b", "text": "word " * 13, "label": "negative"}),
        2,
        "text",
        "has 13 tokens; expected at most 12 per instance (ELEPHANT_MAX_TOKENS_PER_INSTANCE)",
    ),
    (
        "too many tokens in a pair",
        "d.jsonl",
        jsonl({"id": "b", "text": "a b c d", "text_b": "word " * 9, "label": "negative"}),
        1,
        "text_b",
        "has 13 tokens; expected at most 12",
    ),
    (
        "too many characters",
        "d.jsonl",
        jsonl({"id": "b", "text": "y" * 301, "label": "negative"}),
        1,
        "text",
        "has 301 characters; expected at most 300 per text (ELEPHANT_MAX_CHARS_PER_TEXT)",
    ),
    (
        "CSV: NUL in text",
        "d.csv",
        csv_file("id,text,label", "g1,Fine.,positive", "b,Ba\u0000d.,negative"),
        3,
        "text",
        "NUL character",
    ),
    (
        "CSV: id over its column",
        "d.csv",
        csv_file("id,text,label", f"{'i' * 201},Bad.,negative"),
        2,
        "id",
        "is 201 characters long; expected at most 200",
    ),
    (
        "CSV: cell over Python's CSV limit",
        "d.csv",
        csv_file("id,label,text", "g1,positive,Fine.", f'"b,1",negative,"{HUGE_CELL}"'),
        3,
        "text",
        "cell is longer than 131,072 characters",
    ),
    (
        "CSV: cell over the text limit, under the CSV limit",
        "d.csv",
        csv_file("id,text,label", f"b,{'y' * 400},negative"),
        2,
        "text",
        "has 400 characters; expected at most 300",
    ),
]
IDS = [case[0] for case in BAD_FILES]


@pytest.mark.parametrize(
    ("case", "filename", "content", "line", "field", "message"), BAD_FILES, ids=IDS
)
def test_bad_dataset_record_is_a_command_error_naming_file_line_and_field(
    tmp_path, case, filename, content, line, field, message
):
    small_dataset(tmp_path, name="existing")
    path = tmp_path / filename
    path.write_bytes(content)
    before = row_counts()
    with pytest.raises(CommandError) as raised:
        call_command("import_dataset", str(path), "--name", "bad", verbosity=0)
    text = str(raised.value)
    assert f"{filename}, line {line}, field '{field}': " in text
    assert message in text
    assert row_counts() == before
    assert not Dataset.objects.filter(name="bad").exists()


@pytest.mark.parametrize(
    ("case", "filename", "content", "line", "field", "message"), BAD_FILES, ids=IDS
)
def test_bad_dataset_record_is_a_400_naming_file_line_and_field(
    api, case, filename, content, line, field, message
):
    before = row_counts()
    response = api.post(
        "/api/datasets/import/",
        {"file": SimpleUploadedFile(filename, content), "name": "bad"},
        format="multipart",
    )
    assert response.status_code == 400, response.content[:300]
    problem = response.json()["problems"][0]
    assert (problem["file"], problem["line"], problem["field"]) == (filename, line, field)
    assert message in problem["message"]
    assert row_counts() == before


def test_records_at_the_limits_are_accepted_one_more_is_not(tmp_path):
    records = [
        {"id": "i" * MAX_ID_LENGTH, "text": "word " * 12, "label": "positive"},
        {"id": "b", "text": "y" * 300, "label": "negative", "split": "s" * MAX_SPLIT_LENGTH},
    ]
    dataset = small_dataset(tmp_path, name="edge", records=records)
    assert dataset.instances.count() == 2
    for change in ({"id": "i" * 201}, {"text": "word " * 13}, {"split": "s" * 21}):
        with pytest.raises(ImportFailed):
            small_dataset(tmp_path, name="over", records=[dict(records[0], **change)])


def test_the_limits_are_the_columns_sizes():
    assert Instance._meta.get_field("external_id").max_length == MAX_ID_LENGTH
    assert Instance._meta.get_field("split").max_length == MAX_SPLIT_LENGTH


def test_default_limit_refuses_a_huge_record(tmp_path, settings):
    settings.ELEPHANT_MAX_TOKENS_PER_INSTANCE = 5000
    settings.ELEPHANT_MAX_CHARS_PER_TEXT = 100_000
    path = write_jsonl(
        tmp_path / "huge.jsonl", [GOOD, {"id": "big", "text": "word " * 5001, "label": "x"}]
    )
    with pytest.raises(CommandError, match=r"huge\.jsonl, line 2, field 'text': has 5,001 tokens"):
        call_command("import_dataset", str(path), "--name", "huge", verbosity=0)
    assert not Dataset.objects.filter(name="huge").exists()


def test_csv_cells_are_read_up_to_a_larger_text_limit(tmp_path, settings):
    settings.ELEPHANT_MAX_TOKENS_PER_INSTANCE = 5000
    settings.ELEPHANT_MAX_CHARS_PER_TEXT = 200_000
    path = tmp_path / "long.csv"
    path.write_bytes(csv_file("id,text,label", f"b,{'y' * 150_000},negative"))
    dataset = dataset_import(path=path, name="long").dataset
    assert len(dataset.instances.get().text) == 150_000


def test_an_overlong_csv_header_names_line_1(tmp_path):
    path = tmp_path / "h.csv"
    path.write_bytes(csv_file(f"id,text,label,{HUGE_CELL}", "b,Bad.,negative"))
    with pytest.raises(ImportFailed) as raised:
        dataset_import(path=path, name="h")
    problem = raised.value.problems[0]
    assert (problem.line, problem.field) == (1, None)
    assert "cell is longer than 131,072 characters" in problem.message


@pytest.mark.parametrize(
    ("record", "column"),
    [
        ('a,"b,c",' + "x" * 11, 2),  # a comma inside quotes does not start a cell
        ('a,"' + '""' * 6 + '",b', None),  # each doubled quote is one character: 6
        ('a,"' + '""' * 11 + '",b', 1),
        ('a,b"' + "x" * 10, 1),  # a quote inside a cell is a character, not a quoted cell
        ('a,"b\n' + "x" * 10 + '"', 1),  # a quoted cell continued on a second line
    ],
)
def test_overlong_cell_finds_the_column(record, column):
    assert overlong_cell(record, 10) == column


def test_a_bad_dataset_name_is_a_command_error(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", RECORDS)
    with pytest.raises(CommandError, match=r"field 'name': Enter a valid"):
        call_command("import_dataset", str(path), "--name", "not a slug", verbosity=0)


def eraser_folder(tmp_path, annotation: dict, document: str = "a fine film .") -> str:
    folder = tmp_path / "eraser"
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "doc1").write_text(document, encoding="utf-8")
    write_jsonl(
        folder / "train.jsonl",
        [
            {"annotation_id": "doc1", "classification": "POS"},
            {"classification": "NEG", "docids": ["doc1"], **annotation},
        ],
    )
    return str(folder)


NUL = "NUL character (\\u0000)"
BAD_ERASER = [
    ("NUL in annotation_id", {"annotation_id": "a\u0000"}, "x", 2, "annotation_id", NUL),
    (
        "NUL in classification",
        {"annotation_id": "a", "classification": "N\u0000"},
        "x",
        2,
        "classification",
        NUL,
    ),
    ("NUL in query", {"annotation_id": "a", "query": "why\u0000"}, "x", 2, "query", NUL),
    ("NUL in docids", {"annotation_id": "a", "docids": ["doc\u00001"]}, "x", 2, "docids", NUL),
    (
        "id over its column",
        {"annotation_id": "a" * 201},
        "x",
        2,
        "annotation_id",
        "is 201 characters long; expected at most 200",
    ),
    (
        "query not a string",
        {"annotation_id": "a", "query": 5},
        "x",
        2,
        "query",
        "expected a string",
    ),
    # Both annotations read the one document: a bad document is reported first on line 1.
    ("NUL in the document", {"annotation_id": "a"}, "a fine\u0000 film .", 1, "docids", NUL),
    (
        "document over the token limit",
        {"annotation_id": "a"},
        "word " * 13,
        1,
        "docids",
        "document 'doc1' has 13 tokens; expected at most 12",
    ),
    (
        "document over the text limit",
        {"annotation_id": "a"},
        "y" * 301,
        1,
        "docids",
        "document 'doc1' has 301 characters; expected at most 300",
    ),
]


@pytest.mark.parametrize(
    ("case", "annotation", "document", "line", "field", "message"),
    BAD_ERASER,
    ids=[c[0] for c in BAD_ERASER],
)
def test_bad_eraser_annotation_is_a_command_error(
    tmp_path, case, annotation, document, line, field, message
):
    folder = eraser_folder(tmp_path, annotation, document)
    before = row_counts()
    with pytest.raises(CommandError) as raised:
        call_command("import_dataset", folder, "--name", "eraser", verbosity=0)
    assert f"train.jsonl, line {line}, field '{field}': " in str(raised.value)
    assert message in str(raised.value)
    assert row_counts() == before


EXPLANATION = {"instance": "a3", "method": "random", "scores": [0.1, 0.2, 0.3, 0.4, 0.5]}


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"baseline": "zero\u0000"}, "key 'baseline', position 4"),
        ({"k\u0000": 1}, "key 'k\\x00': position 1"),
        ({"steps": [1, {"a": "\u0000"}]}, "key 'steps', item 1, key 'a', position 0"),
    ],
)
def test_nul_in_explanation_params_is_refused(tmp_path, api, researcher, params, where):
    small_dataset(tmp_path, owner=researcher)
    content = jsonl(
        EXPLANATION, {**EXPLANATION, "instance": "a2", "scores": [0] * 6, "params": params}
    )
    path = tmp_path / "e.jsonl"
    path.write_bytes(content)
    before = row_counts()
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_explanations", str(path), "--model", "m", "--dataset", "films", verbosity=0
        )
    expected = f"e.jsonl, line 2, field 'params': contains a NUL character (\\u0000) at {where}"
    assert expected in str(raised.value)
    response = api.post(
        "/api/explanations/import/",
        {"file": SimpleUploadedFile("e.jsonl", content), "model": "m", "dataset": "films"},
        format="multipart",
    )
    assert response.status_code == 400
    problem = response.json()["problems"][0]
    assert (problem["file"], problem["line"], problem["field"]) == ("e.jsonl", 2, "params")
    assert row_counts() == before
    assert not Explanation.objects.exists()


def test_nul_in_subword_params_and_thermostat_explainer_is_refused(tmp_path):
    subword = tmp_path / "s.jsonl"
    subword.write_bytes(
        jsonl(
            {
                "instance": "a",
                "method": "random",
                "input_ids": [1],
                "scores": [0.5],
                "params": {"note": "\u0000"},
            }
        )
    )
    problems = ProblemCollector(subword)
    assert not list(
        iter_subword_lines(subword, instances={"a"}, methods={"random"}, problems=problems)
    )
    assert [(p.line, p.field) for p in problems.problems] == [(1, "params")]
    thermostat = tmp_path / "t.jsonl"
    thermostat.write_bytes(
        jsonl(
            {
                "idx": "a",
                "input_ids": [1],
                "attributions": [0.5],
                "explainer": {"name": "lig\u0000"},
            }
        )
    )
    problems = ProblemCollector(thermostat)
    lines = iter_thermostat_lines(thermostat, instances={"a"}, method="random", problems=problems)
    assert not list(lines)
    assert [(p.line, p.field) for p in problems.problems] == [(1, "explainer")]


def test_a_bad_model_name_is_a_command_error(tmp_path):
    small_dataset(tmp_path)
    path = write_jsonl(tmp_path / "e.jsonl", [EXPLANATION])
    with pytest.raises(CommandError, match=r"field 'model': Enter a valid"):
        call_command(
            "import_explanations",
            str(path),
            "--model",
            "not a slug",
            "--dataset",
            "films",
            verbosity=0,
        )


# Page sizes


def test_api_pages_have_a_default_and_a_maximum(api, researcher, tmp_path, settings):
    records = [{"id": f"r{i}", "text": f"Review {i}.", "label": "positive"} for i in range(60)]
    small_dataset(tmp_path, name="many", owner=researcher, records=records)
    for name in ("second", "third"):
        small_dataset(tmp_path, name=name, owner=researcher)

    def count(url: str) -> int:
        response = api.get(url)
        assert response.status_code == 200
        return len(response.json()["results"])

    assert count("/api/instances/") == 10
    assert count("/api/instances/?page_size=5") == 5
    assert count("/api/instances/?page_size=100000") == 25
    assert count("/api/instances/?page_size=0") == 10
    assert count("/api/datasets/?page_size=2") == 2
    settings.ELEPHANT_API_MAX_PAGE_SIZE = 1
    assert count("/api/datasets/?page_size=3") == 1
    assert count("/api/instances/") == 1


# Importing into an existing dataset


def test_existing_name_is_refused_without_append_saying_what_would_change(tmp_path):
    small_dataset(tmp_path)
    before = row_counts()
    more = write_jsonl(
        tmp_path / "more.jsonl", [RECORDS[0], {"id": "n1", "text": "New.", "label": "negative"}]
    )
    with pytest.raises(CommandError) as raised:
        call_command("import_dataset", str(more), "--name", "films", verbosity=0)
    assert (
        "more.jsonl, field 'name': dataset 'films' already has 3 instance(s) (0 live studies use "
        "it); this file would add 1, leave 1 unchanged and change 0"
    ) in str(raised.value)
    assert "pass --append" in str(raised.value)
    assert row_counts() == before
    call_command("import_dataset", str(more), "--name", "films", "--append", verbosity=0)
    assert list(
        Instance.objects.filter(dataset__name="films")
        .order_by("position")
        .values_list("external_id", flat=True)
    ) == ["a1", "a2", "a3", "n1"]


def test_refusal_counts_live_studies_and_changed_records(tmp_path, researcher, settings):
    settings.ELEPHANT_MAX_TOKENS_PER_INSTANCE = 5000
    dataset, model = film_corpus(tmp_path, owner=researcher, n=24)
    make_study(researcher, dataset, model)
    stored = dataset.instances.get(external_id="r0")
    changed = write_jsonl(
        tmp_path / "changed.jsonl", [{"id": "r0", "text": "Changed.", "label": "positive"}]
    )
    with pytest.raises(CommandError) as raised:
        call_command("import_dataset", str(changed), "--name", dataset.name, verbosity=0)
    text = str(raised.value)
    assert "already has 24 instance(s) (1 live study uses it)" in text
    assert "would add 0, leave 0 unchanged and change 1" in text
    assert "line 1, field 'id': id 'r0' is already stored" in text
    with pytest.raises(CommandError, match="id 'r0' is already stored"):
        call_command(
            "import_dataset", str(changed), "--name", dataset.name, "--append", verbosity=0
        )
    assert Instance.objects.get(pk=stored.pk).text == stored.text


def test_rest_import_appends_only_with_append_true(api, make_researcher):
    content = jsonl(*RECORDS)

    def post(data: bytes, **extra):
        return api.post(
            "/api/datasets/import/",
            {"file": SimpleUploadedFile("f.jsonl", data), "name": "films", **extra},
            format="multipart",
        )

    assert post(content).status_code == 201
    more = jsonl({"id": "n1", "text": "New.", "label": "negative"})
    before = row_counts()
    response = post(more)
    assert response.status_code == 400
    problem = response.json()["problems"][0]
    assert (problem["file"], problem["line"], problem["field"]) == ("f.jsonl", None, "name")
    assert "already has 3 instance(s)" in problem["message"]
    assert "would add 1" in problem["message"]
    assert row_counts() == before
    response = post(more, append="true")
    assert response.status_code == 201, response.json()
    assert (response.json()["created"], response.json()["instance_count"]) == (1, 4)
    # append adds only to your own datasets: another researcher's name stays taken.
    other = APIClient()
    other.force_authenticate(make_researcher("carol"))
    response = other.post(
        "/api/datasets/import/",
        {"file": SimpleUploadedFile("f.jsonl", more), "name": "films", "append": "true"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "taken" in response.json()["detail"]


def test_the_demo_loader_re_runs_on_its_own_datasets(researcher, settings):
    # It imports the shipped files again on every run: with append, identical records
    # are left as they are and nothing is refused.
    settings.ELEPHANT_MAX_TOKENS_PER_INSTANCE = 5000
    settings.ELEPHANT_MAX_CHARS_PER_TEXT = 100_000
    first = [d.instances.count() for d in demo_datasets_ensure(owner=researcher)]
    before = row_counts()
    again = [d.instances.count() for d in demo_datasets_ensure(owner=researcher)]
    assert again == first == [1200, 700]
    assert row_counts() == before
