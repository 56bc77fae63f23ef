"""Subword-level explanations computed elsewhere (our subword JSONL, Thermostat's lines).

The files are written the way an outside tool writes them: the model's tokenizer on the
dataset's text. The expected word scores are a hand computation independent of the
platform's alignment: a piece belongs to the word whose character span holds its start.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient
from transformers import AutoTokenizer

from explanations.models import ClassifierModel, Explanation
from explanations.services.explanations import explanations_export, explanations_import
from tests.explanations.factories import row_counts, small_dataset

from .factories import TEXTS, bert_folder, roberta_folder

pytestmark = pytest.mark.django_db

RECORDS = [
    {"id": str(i), "text": text, "label": "negative" if i % 2 == 0 else "positive"}
    for i, text in enumerate(TEXTS)
]
BUILDERS = {"bert": bert_folder, "roberta": roberta_folder}


@pytest.fixture(scope="module", params=["bert", "roberta"])
def folder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model folder; its labels in the other order than the dataset's."""
    return BUILDERS[request.param](
        tmp_path_factory.mktemp(request.param), labels=("POSITIVE", "NEGATIVE")
    )


@pytest.fixture
def setup(tmp_path, folder):
    """Return (dataset, model, tokenizer) with the model imported as a user does."""
    dataset = small_dataset(tmp_path, name="reviews", records=RECORDS)
    call_command("import_model", str(folder), name="tiny", dataset=dataset.name, verbosity=0)
    model = ClassifierModel.objects.get(name="tiny")
    return dataset, model, AutoTokenizer.from_pretrained(folder, local_files_only=True)


def encode(tokenizer, text: str) -> dict:
    return tokenizer(text, return_offsets_mapping=True, return_special_tokens_mask=True)


def piece_scores(n: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    return [round(float(x), 6) for x in rng.normal(size=n)]


def hand_pool(instance, encoding, scores, pooling: str) -> list[float]:
    """Pool by hand: each non-special piece goes to the word span that contains its start."""
    groups: list[list[float]] = [[] for _ in instance.tokens]
    for (start, _end), special, score in zip(
        encoding["offset_mapping"], encoding["special_tokens_mask"], scores, strict=True
    ):
        if special:
            continue
        word = next(w for w, (a, b) in enumerate(instance.token_offsets) if a <= start < b)
        groups[word].append(score)
    assert all(groups), "every word of these short texts has a piece"
    if pooling == "sum":
        return [sum(g) for g in groups]
    if pooling == "l2":
        return [math.sqrt(sum(x * x for x in g)) for g in groups]
    if pooling == "mean":
        return [sum(g) / len(g) for g in groups]
    return [max(g, key=abs) for g in groups]


def write_lines(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_subword_lines_pool_to_a_hand_computation(tmp_path, setup):
    dataset, model, tokenizer = setup
    records, expected = [], {}
    for k, instance in enumerate(dataset.instances.order_by("position")):
        encoding = encode(tokenizer, instance.text)
        ids = encoding["input_ids"]
        for method, key, params, pooling in (
            ("grad_input", "ids", None, "sum"),  # the method's default
            ("gradient", "pieces", None, "l2"),  # the method's default
            ("occlusion", "ids", {"pooling": "max_abs", "window": 1}, "max_abs"),
            ("integrated_gradients", "pieces", {"pooling": "mean"}, "mean"),
        ):
            scores = piece_scores(len(ids), seed=100 * k + len(method))
            record: dict = {"instance": instance.external_id, "method": method}
            if key == "ids":
                record["input_ids"] = ids
            else:
                record["pieces"] = tokenizer.convert_ids_to_tokens(ids)
            record["scores"] = scores
            if params is not None:
                record["params"] = params
            records.append(record)
            expected[(instance.external_id, method)] = (
                hand_pool(instance, encoding, scores, pooling),
                pooling,
            )
    path = write_lines(tmp_path / "subword.jsonl", records)
    call_command(
        "import_explanations", str(path), model="tiny", dataset="reviews", format="subword"
    )
    stored = Explanation.objects.filter(model=model).select_related("instance", "method")
    assert stored.count() == len(records)
    for explanation in stored:
        scores, pooling = expected[(explanation.instance.external_id, explanation.method.name)]
        assert explanation.scores == pytest.approx(scores, abs=1e-12)
        assert explanation.parameters["pooling"] == pooling
        assert explanation.parameters["source"] == "subword"
        words = len(explanation.instance.tokens)
        assert explanation.extras == {"seen_words": words, "words": words}
    occlusion = stored.filter(method__name="occlusion").first()
    assert occlusion is not None
    assert occlusion.parameters["window"] == 1  # the line's own parameters are kept


def thermostat_record(tokenizer, instance, *, max_length: int, seed: int) -> tuple[dict, list]:
    """Return a line as Thermostat's run_explainer writes it (padded to max_length)."""
    encoding = encode(tokenizer, instance.text)
    ids = encoding["input_ids"]
    scores = piece_scores(len(ids), seed=seed)
    padding = max_length - len(ids)
    record = {
        "dataset": {"name": "reviews", "split": "test", "label_names": ["neg", "pos"]},
        "model": {"name": "tiny", "tokenization": {"max_length": max_length}},
        "explainer": {"name": "LayerIntegratedGradients", "n_samples": 25},
        "batch": int(instance.external_id),
        "instance": 0,
        "index_running": int(instance.external_id),
        "idx": int(instance.external_id),
        "input_ids": ids + [tokenizer.pad_token_id] * padding,
        "label": 0,
        "attributions": scores + [0.0] * padding,
        # The model's outputs, in its own order (POSITIVE, NEGATIVE): NEGATIVE wins.
        "predictions": [-1.25, 2.5],
    }
    return record, hand_pool(instance, encoding, scores, "sum")


def test_thermostat_lines_pool_to_a_hand_computation(tmp_path, setup):
    dataset, model, tokenizer = setup
    records, expected = [], {}
    for k, instance in enumerate(dataset.instances.order_by("position")):
        record, scores = thermostat_record(tokenizer, instance, max_length=64, seed=k)
        records.append(record)
        expected[instance.external_id] = scores
    path = write_lines(tmp_path / "thermostat.jsonl", records)
    call_command(
        "import_explanations",
        str(path),
        model="tiny",
        dataset="reviews",
        format="thermostat",
        method="integrated_gradients",
        verbosity=0,
    )
    stored = Explanation.objects.filter(model=model).select_related("instance", "method")
    assert stored.count() == len(records)
    negative = dataset.label_names.index("negative")
    for explanation in stored:
        assert explanation.method.name == "integrated_gradients"
        assert explanation.scores == pytest.approx(expected[explanation.instance.external_id])
        assert explanation.parameters == {
            "explainer": "LayerIntegratedGradients",
            "pooling": "sum",
            "source": "thermostat",
        }
        assert explanation.target_label == negative
        words = len(explanation.instance.tokens)
        assert explanation.extras == {"seen_words": words, "words": words}


def test_id_field_names_the_instance(tmp_path, setup):
    dataset, model, tokenizer = setup
    instance = dataset.instances.get(external_id="2")
    record, scores = thermostat_record(tokenizer, instance, max_length=64, seed=3)
    record["review_id"] = record.pop("idx")
    path = write_lines(tmp_path / "thermostat.jsonl", [record])
    explanations_import(
        path=path,
        model_name="tiny",
        dataset=dataset,
        fmt="thermostat",
        method="grad_input",
        id_field="review_id",
        pooling="l2",
    )
    explanation = Explanation.objects.get(model=model)
    assert explanation.instance == instance
    assert explanation.parameters["pooling"] == "l2"
    encoding = encode(tokenizer, instance.text)
    assert explanation.scores == pytest.approx(
        hand_pool(instance, encoding, record["attributions"][: len(encoding["input_ids"])], "l2")
    )


def good_line(tokenizer, instance) -> dict:
    ids = encode(tokenizer, instance.text)["input_ids"]
    return {
        "instance": instance.external_id,
        "method": "grad_input",
        "input_ids": ids,
        "scores": [0.5] * len(ids),
    }


def _mismatch(line: dict, tokenizer) -> dict:
    ids = list(line["input_ids"])
    ids[3] = tokenizer.convert_tokens_to_ids(tokenizer.unk_token)
    return dict(line, input_ids=ids)


def _pieces_mismatch(line: dict, tokenizer) -> dict:
    pieces = tokenizer.convert_ids_to_tokens(line["input_ids"])
    pieces[2] = "zzz"
    return {k: v for k, v in line.items() if k != "input_ids"} | {"pieces": pieces}


SUBWORD_CASES = [
    ("mismatched ids", _mismatch, "input_ids", "differs from the model's tokenizer at position 3"),
    ("mismatched pieces", _pieces_mismatch, "pieces", "at position 2: the file has 'zzz'"),
    (
        "ids cut short",
        lambda line, _t: dict(line, input_ids=line["input_ids"][:-2], scores=line["scores"][:-2]),
        "input_ids",
        "the tokenizer gives",
    ),
    (
        "missing scores",
        lambda line, _t: {k: v for k, v in line.items() if k != "scores"},
        "scores",
        "missing",
    ),
    (
        "wrong score count",
        lambda line, _t: dict(line, scores=line["scores"][:-1]),
        "scores",
        "one per input_ids item",
    ),
    ("unknown instance", lambda line, _t: dict(line, instance="nope"), "instance", "unknown"),
    (
        "no pieces",
        lambda line, _t: {k: v for k, v in line.items() if k != "input_ids"},
        "pieces",
        "missing",
    ),
    ("bad pooling", lambda line, _t: dict(line, params={"pooling": "max"}), "params", "pooling"),
    ("non-finite score", lambda line, _t: dict(line, scores=["x"] * 3), "scores", "item 0"),
]


@pytest.mark.parametrize(
    ("case", "change", "field", "message"), SUBWORD_CASES, ids=[c[0] for c in SUBWORD_CASES]
)
def test_bad_subword_line_imports_nothing(tmp_path, setup, case, change, field, message):
    dataset, _model, tokenizer = setup
    first, second = dataset.instances.order_by("position")[:2]
    path = write_lines(
        tmp_path / "bad.jsonl",
        [good_line(tokenizer, first), change(good_line(tokenizer, second), tokenizer)],
    )
    before = row_counts()
    with pytest.raises(CommandError) as caught:
        call_command(
            "import_explanations", str(path), model="tiny", dataset="reviews", format="subword"
        )
    text = str(caught.value)
    assert f"bad.jsonl, line 2, field '{field}'" in text
    assert message in text
    assert "line 1" not in text
    assert row_counts() == before


THERMOSTAT_CASES = [
    ("missing idx", lambda r: {k: v for k, v in r.items() if k != "idx"}, "idx", "missing"),
    (
        "attribution count",
        lambda r: dict(r, attributions=r["attributions"][:-1]),
        "attributions",
        "one per input id",
    ),
    ("unknown instance", lambda r: dict(r, idx=999), "idx", "unknown instance 999"),
    (
        "padding inside",
        lambda r: dict(r, input_ids=[r["input_ids"][0], *r["input_ids"][2:], r["input_ids"][-1]]),
        "input_ids",
        "at position 1",
    ),
    ("predictions", lambda r: dict(r, predictions=[1.0, 2.0, 3.0]), "predictions", "expected 2"),
]


@pytest.mark.parametrize(
    ("case", "change", "field", "message"), THERMOSTAT_CASES, ids=[c[0] for c in THERMOSTAT_CASES]
)
def test_bad_thermostat_line_imports_nothing(tmp_path, setup, case, change, field, message):
    dataset, _model, tokenizer = setup
    first, second = dataset.instances.order_by("position")[:2]
    good, _ = thermostat_record(tokenizer, first, max_length=64, seed=0)
    bad, _ = thermostat_record(tokenizer, second, max_length=64, seed=1)
    path = write_lines(tmp_path / "thermo.jsonl", [good, change(bad)])
    before = row_counts()
    with pytest.raises(CommandError) as caught:
        call_command(
            "import_explanations",
            str(path),
            model="tiny",
            dataset="reviews",
            format="thermostat",
            method="occlusion",
        )
    text = str(caught.value)
    assert f"thermo.jsonl, line 2, field '{field}'" in text
    assert message in text
    assert row_counts() == before


def test_every_bad_line_is_reported(tmp_path, setup):
    dataset, _model, tokenizer = setup
    lines = [good_line(tokenizer, i) for i in dataset.instances.order_by("position")[:4]]
    lines[0] = _mismatch(lines[0], tokenizer)
    lines[2]["scores"] = lines[2]["scores"][:-1]
    lines[3]["instance"] = "nope"
    path = write_lines(tmp_path / "bad.jsonl", lines)
    before = row_counts()
    with pytest.raises(CommandError) as caught:
        call_command(
            "import_explanations", str(path), model="tiny", dataset="reviews", format="subword"
        )
    text = str(caught.value)
    assert "3 problem(s)" in text
    for where in (
        "line 1, field 'input_ids'",
        "line 3, field 'scores'",
        "line 4, field 'instance'",
    ):
        assert where in text
    assert row_counts() == before


def test_subword_formats_need_an_imported_model(tmp_path, setup):
    dataset, _model, tokenizer = setup
    instance = dataset.instances.order_by("position").first()
    word_level = write_lines(
        tmp_path / "words.jsonl",
        [
            {
                "instance": instance.external_id,
                "method": "random",
                "scores": [0.0] * len(instance.tokens),
            }
        ],
    )
    explanations_import(path=word_level, model_name="elsewhere", dataset=dataset)
    path = write_lines(tmp_path / "subword.jsonl", [good_line(tokenizer, instance)])
    before = row_counts()
    for name, expected in (
        ("elsewhere", "model 'elsewhere' is not an imported Hugging Face model"),
        ("missing", "no model named 'missing'"),
    ):
        with pytest.raises(CommandError) as caught:
            call_command(
                "import_explanations", str(path), model=name, dataset="reviews", format="subword"
            )
        assert "field 'model'" in str(caught.value)
        assert expected in str(caught.value)
        assert "import_model" in str(caught.value)
    with pytest.raises(CommandError, match="field 'method': missing; a Thermostat file"):
        call_command(
            "import_explanations", str(path), model="tiny", dataset="reviews", format="thermostat"
        )
    assert row_counts() == before


def test_export_gives_seen_words_and_reimports(tmp_path, setup):
    dataset, model, tokenizer = setup
    lines = [good_line(tokenizer, i) for i in dataset.instances.order_by("position")]
    path = write_lines(tmp_path / "subword.jsonl", lines)
    explanations_import(path=path, model_name="tiny", dataset=dataset, fmt="subword")
    out = tmp_path / "out.jsonl"
    call_command("export_explanations", str(out), model="tiny", verbosity=0)
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(exported) == len(lines)
    for record in exported:
        words = len(dataset.instances.get(external_id=record["instance"]).tokens)
        assert (record["seen_words"], record["words"]) == (words, words)
    # The word-level export imports back (into the same model) to the same file.
    explanations_import(path=out, model_name="tiny", dataset=dataset)
    again = tmp_path / "again.jsonl"
    explanations_export(model=model, path=again)
    assert again.read_bytes() == out.read_bytes()
    wrong = dict(exported[0], words=exported[0]["words"] + 1)
    with pytest.raises(CommandError, match="line 1, field 'words'"):
        call_command(
            "import_explanations",
            str(write_lines(tmp_path / "wrong.jsonl", [wrong])),
            model="tiny",
            dataset="reviews",
        )


def test_rest_upload_takes_the_format(tmp_path, setup, researcher):
    dataset, model, tokenizer = setup
    dataset.owner = researcher
    dataset.save()
    model.owner = researcher  # explanations go only into a model the caller owns
    model.save()
    api = APIClient()
    api.force_authenticate(researcher)
    instance = dataset.instances.order_by("position").first()
    record, scores = thermostat_record(tokenizer, instance, max_length=64, seed=5)
    body = json.dumps(record).encode() + b"\n"
    response = api.post(
        "/api/explanations/import/",
        {
            "file": SimpleUploadedFile("t.jsonl", body),
            "model": "tiny",
            "dataset": "reviews",
            "format": "thermostat",
            "method": "grad_input",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["written"] == 1
    assert Explanation.objects.get(model=model).scores == pytest.approx(scores)
    bad = json.dumps(dict(record, attributions=[1.0])).encode() + b"\n"
    response = api.post(
        "/api/explanations/import/",
        {
            "file": SimpleUploadedFile("t.jsonl", bad),
            "model": "tiny",
            "dataset": "reviews",
            "format": "thermostat",
            "method": "grad_input",
        },
        format="multipart",
    )
    assert response.status_code == 400
    problem = response.json()["problems"][0]
    assert (problem["file"], problem["line"], problem["field"]) == ("t.jsonl", 1, "attributions")


def test_pair_lines_pool_only_the_explained_text(tmp_path, folder):
    records = [
        {"id": f"p{i}", "text": TEXTS[i], "text_b": TEXTS[i + 1], "label": "negative"}
        for i in range(3)
    ] + [{"id": "p9", "text": TEXTS[4], "text_b": TEXTS[5], "label": "positive"}]
    dataset = small_dataset(tmp_path, name="pairs", records=records)
    call_command("import_model", str(folder), name="pairs-model", dataset="pairs", verbosity=0)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    lines, expected = [], {}
    for k, instance in enumerate(dataset.instances.all()):
        encoding = tokenizer(
            instance.text,
            instance.text_b,
            return_offsets_mapping=True,
            return_special_tokens_mask=True,
        )
        scores = piece_scores(len(encoding["input_ids"]), seed=k)
        groups: list[list[float]] = [[] for _ in instance.tokens_b]
        for position, sequence in enumerate(encoding.sequence_ids()):
            if sequence != 1 or encoding["special_tokens_mask"][position]:
                continue  # the first text (the query) and special tokens are never attributed
            start = encoding["offset_mapping"][position][0]
            word = next(w for w, (a, b) in enumerate(instance.token_offsets_b) if a <= start < b)
            groups[word].append(scores[position])
        expected[instance.external_id] = [sum(g) for g in groups]
        lines.append(
            {
                "instance": instance.external_id,
                "method": "occlusion",
                "input_ids": encoding["input_ids"],
                "scores": scores,
            }
        )
    path = write_lines(tmp_path / "pairs.jsonl", lines)
    result = explanations_import(
        path=path, model_name="pairs-model", dataset=dataset, fmt="subword"
    )
    assert result.written == len(records)
    for explanation in Explanation.objects.filter(model__name="pairs-model"):
        assert explanation.scores == pytest.approx(expected[explanation.instance.external_id])
        assert explanation.extras["words"] == len(explanation.instance.tokens_b)
