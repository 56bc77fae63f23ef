"""Explanation import and export: idempotent upserts and all-or-nothing failures."""

import json

import pytest
from django.core.management import CommandError, call_command

from explanations.models import ClassifierModel, Explanation
from explanations.services.explanations import explanations_export, explanations_import

from .factories import row_counts, small_dataset

pytestmark = pytest.mark.django_db


def lines(*objs) -> str:
    return "".join(json.dumps(o) + "\n" for o in objs)


GOOD = [
    {
        "instance": "a1",
        "method": "gradient",
        "scores": [0.1, 0.9, 0.0, 0.5, 0.2, 0.05],
        "params": {"note": "x"},
    },
    {
        "instance": "a2",
        "method": "gradient",
        "scores": [0.4, 0.0, 0.1, 0.2, 0.3, 0.0],
        "params": {},
    },
    {
        "instance": "a1",
        "method": "lrp",
        "scores": [-0.1, 1.5, 0.0, 0.25, 0.0, -2e-05],
        "params": {"epsilon": 0.01},
    },
]


def test_import_then_export_gives_identical_file(tmp_path):
    dataset = small_dataset(tmp_path)
    source = tmp_path / "expl.jsonl"
    source.write_text(lines(*GOOD), encoding="utf-8")
    result = explanations_import(path=source, model_name="ext-model", dataset=dataset)
    assert result.written == 3
    assert result.model.architecture == ClassifierModel.Architecture.EXTERNAL
    out = tmp_path / "out.jsonl"
    assert explanations_export(model=result.model, path=out) == 3
    assert out.read_bytes() == source.read_bytes()


def test_reimport_updates_instead_of_duplicating(tmp_path):
    dataset = small_dataset(tmp_path)
    source = tmp_path / "expl.jsonl"
    source.write_text(lines(*GOOD), encoding="utf-8")
    explanations_import(path=source, model_name="m", dataset=dataset)
    changed = dict(GOOD[0], scores=[1.0, 0, 0, 0, 0, 0])
    source.write_text(lines(changed), encoding="utf-8")
    explanations_import(path=source, model_name="m", dataset=dataset)
    assert Explanation.objects.count() == 3
    assert Explanation.objects.get(instance__external_id="a1", method__name="gradient").scores == [
        1.0,
        0,
        0,
        0,
        0,
        0,
    ]


BAD = [
    (
        "malformed JSON",
        '{"instance": "a1", "method": "gradient", "scores": [0.1,\n',
        2,
        None,
        "malformed JSON",
    ),
    ("missing field", lines({"instance": "a1", "method": "gradient"}), 2, "scores", "missing"),
    (
        "wrong type",
        lines({"instance": "a1", "method": "gradient", "scores": "0.1 0.2"}),
        2,
        "scores",
        "expected a list of numbers",
    ),
    (
        "string score",
        lines({"instance": "a1", "method": "gradient", "scores": [0.1, "x", 0, 0, 0, 0]}),
        2,
        "scores",
        "item 1 is 'x'; expected a finite number",
    ),
    (
        "score count",
        lines({"instance": "a1", "method": "gradient", "scores": [0.1, 0.2]}),
        2,
        "scores",
        "has 2 scores; expected 6, one per token",
    ),
    (
        "NaN score",
        '{"instance": "a1", "method": "gradient", "scores": [0.1, NaN, 0, 0, 0, 0]}\n',
        2,
        "scores",
        "item 1 is nan; expected a finite number",
    ),
    (
        "infinite score",
        '{"instance": "a1", "method": "gradient", "scores": [0.1, 0, 1e999, 0, 0, 0]}\n',
        2,
        "scores",
        "item 2 is inf; expected a finite number",
    ),
    (
        "unknown instance",
        lines({"instance": "zz", "method": "gradient", "scores": [0.1]}),
        2,
        "instance",
        "unknown instance 'zz'",
    ),
    (
        "unknown method",
        lines({"instance": "a1", "method": "shap", "scores": [0, 0, 0, 0, 0, 0]}),
        2,
        "method",
        "unknown method 'shap'",
    ),
    ("duplicate line", lines(GOOD[0]), 2, "instance", "already appears on line 1"),
]


@pytest.mark.parametrize(
    ("case", "second_line", "line", "field", "message"), BAD, ids=[c[0] for c in BAD]
)
def test_bad_explanation_file_imports_nothing(tmp_path, case, second_line, line, field, message):
    small_dataset(tmp_path)
    path = tmp_path / "bad.jsonl"
    path.write_text(lines(GOOD[0]) + second_line, encoding="utf-8")
    before = row_counts()
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_explanations", str(path), "--model", "m", "--dataset", "films", verbosity=0
        )
    text = str(raised.value)
    assert f"bad.jsonl, line {line}" in text
    if field:
        assert f"field '{field}'" in text
    assert message in text
    assert row_counts() == before
    assert not ClassifierModel.objects.filter(name="m").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "file is empty"), (b'{"instance": "a\xff"}\n', "not valid UTF-8")],
)
def test_empty_or_non_utf8_file_imports_nothing(tmp_path, content, message):
    small_dataset(tmp_path)
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    before = row_counts()
    with pytest.raises(CommandError, match=message):
        call_command(
            "import_explanations", str(path), "--model", "m", "--dataset", "films", verbosity=0
        )
    assert row_counts() == before


def test_unknown_dataset_is_a_clear_error(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text(lines(GOOD[0]), encoding="utf-8")
    with pytest.raises(CommandError, match="--dataset 'nope': no such dataset"):
        call_command(
            "import_explanations", str(path), "--model", "m", "--dataset", "nope", verbosity=0
        )
