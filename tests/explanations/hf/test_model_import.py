"""Importing a Hugging Face classifier: command, service, REST action and the model list page."""

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest
import torch
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from explanations.models import ClassifierModel
from explanations.services.model_import import (
    label_map_parse,
    model_archive_extract,
    model_import,
)
from explanations.services.model_store import (
    ModelUnavailable,
    hf_model_load,
    model_load,
    model_store_path,
)
from tests.assets import external_assets
from tests.explanations.factories import row_counts, small_dataset

from .factories import TEXTS, bert_folder, roberta_folder

pytestmark = pytest.mark.django_db

PAIRS = [
    {"id": "p1", "text": "A man sleeps.", "text_b": "Someone rests.", "label": "entailment"},
    {"id": "p2", "text": "A dog runs.", "text_b": "The cat sits.", "label": "neutral"},
]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    return {
        "bert": bert_folder(root / "bert"),
        "roberta": roberta_folder(root / "roberta"),
        "reversed": bert_folder(root / "reversed", labels=("POSITIVE", "NEGATIVE")),
        "short": bert_folder(root / "short", labels=("neg", "pos")),
        "three": bert_folder(root / "three", labels=("a", "b", "c")),
    }


@pytest.fixture
def films(tmp_path):
    return small_dataset(tmp_path)  # labels ["negative", "positive"]


def store_snapshot() -> list[str]:
    store = Path(django_settings.MODEL_STORE)
    if not store.exists():
        return []
    return sorted(str(p.relative_to(store)) for p in store.rglob("*"))


def logits(model, tokenizer, texts=TEXTS[:4]):
    with torch.no_grad():
        return model(**tokenizer(list(texts), padding=True, return_tensors="pt")).logits


def reference(folder):
    model = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True)
    return model.eval(), AutoTokenizer.from_pretrained(folder, local_files_only=True)


def zipped(folder: Path, *, top: str | None = "model", extra: dict[str, bytes] | None = None):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path in sorted(folder.iterdir()):
            bundle.write(path, f"{top}/{path.name}" if top else path.name)
        for name, data in (extra or {}).items():
            bundle.writestr(name, data)
    return buffer.getvalue()


# --- the service and the store ----------------------------------------------------------


@pytest.mark.parametrize("which", ["bert", "roberta"])
def test_import_and_load_back_with_the_same_logits(which, sources, films, researcher):
    model = model_import(path=sources[which], name=f"my-{which}", dataset=films, owner=researcher)
    model.refresh_from_db()
    assert model.architecture == "huggingface"
    assert model.weights_path == f"my-{which}"
    assert model.label_names == ["negative", "positive"]
    assert model.owner == researcher
    config = model.config
    assert config["model_type"] == which
    assert config["label_order"] == [0, 1]
    assert config["id2label"] == {"0": "NEGATIVE", "1": "POSITIVE"}
    assert config["max_length"] == 64
    assert config["pair"] is False
    assert config["source"] == "huggingface"
    stored = model_store_path(model.name)
    assert sorted(p.name for p in stored.iterdir()) == sorted(config["files"])
    assert config["files"]["model.safetensors"] == model.weights_sha256
    assert store_snapshot() == sorted([model.name] + [f"{model.name}/{f}" for f in config["files"]])
    loaded, tokenizer = hf_model_load(model)
    assert hf_model_load(model)[0] is loaded  # cached
    torch.testing.assert_close(
        logits(loaded, tokenizer), logits(*reference(sources[which])), rtol=0, atol=1e-6
    )


def test_only_the_needed_files_are_copied(sources, films, tmp_path):
    folder = shutil.copytree(sources["bert"], tmp_path / "src")
    (folder / "training_args.bin").write_bytes(b"not copied")
    (folder / "README.md").write_text("not copied")
    model_import(path=folder, name="m", dataset=films)
    assert sorted(p.name for p in model_store_path("m").iterdir()) == [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ]


def test_bin_weights_are_imported(sources, films, tmp_path):
    folder = shutil.copytree(sources["bert"], tmp_path / "src")
    torch.save(reference(folder)[0].state_dict(), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    model = model_import(path=folder, name="from-bin", dataset=films)
    assert set(model.config["files"]) == {
        "config.json",
        "pytorch_model.bin",
        "tokenizer.json",
        "tokenizer_config.json",
    }
    assert model.weights_sha256 == model.config["files"]["pytorch_model.bin"]
    torch.testing.assert_close(
        logits(*hf_model_load(model)), logits(*reference(sources["bert"])), rtol=0, atol=1e-6
    )


def test_labels_match_ignoring_case_in_the_dataset_order(sources, films):
    model = model_import(path=sources["reversed"], name="rev", dataset=films)
    assert model.config["label_order"] == [1, 0]  # dataset "negative" is the model's output 1
    assert model.label_names == ["negative", "positive"]


def test_labels_match_through_a_label_map(sources, films):
    label_map = label_map_parse("negative=neg, positive=POS")
    assert label_map == {"negative": "neg", "positive": "POS"}
    model = model_import(path=sources["short"], name="mapped", dataset=films, label_map=label_map)
    assert model.config["label_order"] == [0, 1]


def test_a_label_mismatch_lists_both_sides_and_writes_nothing(sources, films):
    before = row_counts()
    with pytest.raises(ValueError, match="labels do not match") as caught:
        model_import(path=sources["short"], name="m", dataset=films)
    message = str(caught.value)
    assert "['negative', 'positive']" in message
    assert "['neg', 'pos']" in message
    assert row_counts() == before
    assert store_snapshot() == []


def test_a_label_count_mismatch_lists_both_sides(sources, films):
    with pytest.raises(ValueError, match="the model has 3 labels, the dataset 2") as caught:
        model_import(path=sources["three"], name="m", dataset=films)
    assert "['a', 'b', 'c']" in str(caught.value)
    assert "['negative', 'positive']" in str(caught.value)
    assert store_snapshot() == []


def test_a_label_map_naming_unknown_labels_is_refused(sources, films):
    with pytest.raises(ValueError, match=r"labels the dataset does not have: \['nope'\]"):
        model_import(path=sources["short"], name="m", dataset=films, label_map={"nope": "neg"})
    with pytest.raises(ValueError, match="not dataset_label=model_label"):
        label_map_parse("negative:neg")


def test_a_pair_dataset_is_accepted(sources, tmp_path):
    dataset = small_dataset(tmp_path, name="nli", records=PAIRS)
    model = model_import(
        path=sources["bert"],
        name="nli-bert",
        dataset=dataset,
        label_map={"entailment": "POSITIVE", "neutral": "NEGATIVE"},
    )
    assert model.config["pair"] is True
    assert model.config["label_order"] == [1, 0]


def _missing(*names):
    def change(folder):
        for name in names:
            (folder / name).unlink()

    return change


def _slow_only(folder):
    vocab = AutoTokenizer.from_pretrained(folder).get_vocab()
    (folder / "vocab.txt").write_text("\n".join(sorted(vocab, key=vocab.get)) + "\n")
    (folder / "tokenizer.json").unlink()
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer"}))


def _not_a_classifier(folder):
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["BertForMaskedLM"]
    (folder / "config.json").write_text(json.dumps(config))


BAD_FOLDERS = {
    "missing config": (_missing("config.json"), "missing config.json"),
    "missing weights": (_missing("model.safetensors"), "no weights file"),
    "missing tokenizer": (
        _missing("tokenizer.json", "tokenizer_config.json"),
        "missing tokenizer files",
    ),
    "slow-only tokenizer": (_slow_only, "slow-only tokenizer"),
    "not a sequence classifier": (_not_a_classifier, "not a sequence classifier"),
}


@pytest.mark.parametrize("case", sorted(BAD_FOLDERS))
def test_every_bad_folder_is_refused_and_writes_nothing(case, sources, films, tmp_path):
    change, message = BAD_FOLDERS[case]
    folder = shutil.copytree(sources["bert"], tmp_path / "src")
    change(folder)
    model_import(path=sources["roberta"], name="kept", dataset=films)
    before, stored = row_counts(), store_snapshot()
    with pytest.raises(ValueError, match=message):
        model_import(path=folder, name="new", dataset=films)
    with pytest.raises(CommandError, match=message):
        call_command("import_model", str(folder), "--name=new", "--dataset=films", verbosity=0)
    assert row_counts() == before
    assert store_snapshot() == stored


def test_a_missing_folder_is_refused(films, tmp_path):
    with pytest.raises(CommandError, match="no such model folder"):
        call_command(
            "import_model", str(tmp_path / "absent"), "--name=m", "--dataset=films", verbosity=0
        )
    assert not ClassifierModel.objects.exists()
    assert store_snapshot() == []


def test_weights_without_a_head_are_refused_after_a_copy_that_is_removed(sources, films, tmp_path):
    folder = shutil.copytree(sources["bert"], tmp_path / "src")
    state = reference(folder)[0].state_dict()
    torch.save(
        {k: v for k, v in state.items() if "classifier" not in k}, folder / "pytorch_model.bin"
    )
    (folder / "model.safetensors").unlink()
    with pytest.raises(ValueError, match="do not fit the classifier"):
        model_import(path=folder, name="headless", dataset=films)
    assert not ClassifierModel.objects.exists()
    assert store_snapshot() == []  # the hidden staging folder is gone too


def test_a_taken_name_is_refused_and_the_existing_model_is_untouched(sources, films):
    first = model_import(path=sources["bert"], name="taken", dataset=films)
    stored = store_snapshot()
    with pytest.raises(CommandError, match="a model named 'taken' exists already"):
        call_command(
            "import_model", str(sources["roberta"]), "--name=taken", "--dataset=films", verbosity=0
        )
    assert list(ClassifierModel.objects.values_list("pk", flat=True)) == [first.pk]
    assert store_snapshot() == stored
    assert hf_model_load(first)


@pytest.mark.parametrize("name", ["../x", "..", ".", "./taken", "a/b", "", "x" * 101, "é"])
def test_bad_names_are_refused_before_any_file_operation(name, sources, films, tmp_path):
    model_import(path=sources["bert"], name="taken", dataset=films)
    outside = Path(django_settings.MODEL_STORE).parent
    before_outside = sorted(p.name for p in outside.iterdir())
    stored = store_snapshot()
    with pytest.raises(CommandError, match="is not allowed; expected 1 to 100 letters"):
        call_command(
            "import_model", str(sources["bert"]), f"--name={name}", "--dataset=films", verbosity=0
        )
    assert ClassifierModel.objects.count() == 1
    assert store_snapshot() == stored
    assert sorted(p.name for p in outside.iterdir()) == before_outside


def test_a_leftover_store_folder_is_never_replaced(sources, films):
    leftover = Path(django_settings.MODEL_STORE) / "left"
    leftover.mkdir(parents=True)
    (leftover / "keep.txt").write_text("someone's file")
    with pytest.raises(ValueError, match="already has a folder named 'left'"):
        model_import(path=sources["bert"], name="left", dataset=films)
    assert (leftover / "keep.txt").read_text() == "someone's file"


def test_a_store_entry_that_links_outside_is_refused(tmp_path):
    store = Path(django_settings.MODEL_STORE)
    store.mkdir(parents=True)
    (store / "link").symlink_to(tmp_path)
    with pytest.raises(ValueError, match="resolves outside the model store"):
        model_store_path("link")


def test_a_failed_database_write_removes_the_new_folder(sources, films, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(ClassifierModel, "save", fail)
    with pytest.raises(RuntimeError, match="database down"):
        model_import(path=sources["bert"], name="m", dataset=films)
    assert store_snapshot() == []


def test_model_load_points_to_hf_model_load_and_changed_weights_are_refused(
    sources, films, monkeypatch
):
    # Rows are renumbered in every test: start from an empty cache.
    monkeypatch.setattr("explanations.services.model_store._hf_cache", {})
    model = model_import(path=sources["bert"], name="m", dataset=films)
    with pytest.raises(ModelUnavailable, match="load it with hf_model_load"):
        model_load(model)
    weights = model_store_path("m") / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ModelUnavailable, match="model.safetensors has changed since import"):
        hf_model_load(model)


def test_the_command_reports_the_model(sources, films, capsys):
    call_command(
        "import_model",
        str(sources["short"]),
        "--name=cli",
        "--dataset=films",
        "--label-map=negative=neg,positive=pos",
    )
    out = capsys.readouterr().out
    assert "Model cli: bert (BertForSequenceClassification)" in out
    assert "max length 64" in out


# --- archives ---------------------------------------------------------------------------


def _symlink_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        info = zipfile.ZipInfo("model/config.json")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        bundle.writestr(info, "/etc/hostname")
    return buffer.getvalue()


def _zip_of(names, data=b"x"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a name given twice is what one test needs
        for name in names:
            bundle.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a zip", "not a zip archive"),
        (_zip_of(["/etc/config.json"]), "absolute"),
        (_zip_of(["model/../../config.json"]), r"leaves its folder \('\.\.'\)"),
        (_zip_of(["..\\config.json"]), "absolute or Windows path"),
        (_symlink_zip(), "is a symbolic link"),
        (_zip_of(["a/b/config.json"]), "nested folder"),
        (_zip_of(["a/config.json", "b/tokenizer.json"]), "files in several places"),
        (_zip_of([f"m/f{i}" for i in range(51)]), "51 files; at most 50"),
        (_zip_of(["m/x", "m/x"]), "appears twice"),
    ],
)
def test_unsafe_archives_are_refused(data, message, tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    with pytest.raises(ValueError, match=message):
        model_archive_extract(io.BytesIO(data), target, archive_name="up.zip")
    assert not (tmp_path / "config.json").exists()
    assert not any(p.is_symlink() for p in target.rglob("*"))


def test_an_archive_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("explanations.services.model_import.MAX_ARCHIVE_BYTES", 10)
    with pytest.raises(ValueError, match="more than 10 bytes uncompressed"):
        model_archive_extract(io.BytesIO(_zip_of(["a"], b"b" * 11)), tmp_path, archive_name="z")


def test_archives_with_files_at_the_top_or_in_one_folder_and_mac_litter(sources, tmp_path):
    (tmp_path / "a").mkdir()
    data = zipped(sources["bert"], top=None)
    flat = model_archive_extract(io.BytesIO(data), tmp_path / "a", archive_name="z")
    assert (flat / "config.json").is_file()
    data = zipped(
        sources["bert"], extra={"__MACOSX/model/._config.json": b"", "model/.DS_Store": b""}
    )
    (tmp_path / "b").mkdir()
    folder = model_archive_extract(io.BytesIO(data), tmp_path / "b", archive_name="z")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        p.name for p in sources["bert"].iterdir()
    )


# --- REST -------------------------------------------------------------------------------


def upload(data: bytes, name="model.zip"):
    return SimpleUploadedFile(name, data, content_type="application/zip")


def test_rest_import_creates_the_model(api, sources, researcher, tmp_path):
    small_dataset(tmp_path, owner=researcher)
    response = api.post(
        "/api/models/import/",
        {
            "archive": upload(zipped(sources["short"])),
            "name": "rest-bert",
            "dataset": "films",
            "label_map": "negative=neg,positive=pos",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "rest-bert"
    assert body["architecture"] == "huggingface"
    assert body["dataset"] == "films"
    assert body["config"]["label_order"] == [0, 1]
    assert ClassifierModel.objects.get(name="rest-bert").owner == researcher
    assert api.get("/api/models/rest-bert/").status_code == 200


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"name": "../x"}, 400, "is not allowed; expected 1 to 100 letters"),
        ({"archive": b"not a zip"}, 400, "model.zip: not a zip archive"),
        ({"label_map": "oops"}, 400, "not dataset_label=model_label"),
        ({"source": "short"}, 400, "labels do not match"),
        ({"source": "three"}, 400, "label count differs"),
        ({"drop": "tokenizer.json"}, 400, "model.zip: missing tokenizer files"),
        ({"dataset": "nowhere"}, 404, "No dataset named 'nowhere' is visible to you."),
        ({"name": None}, 400, "name: This field is required."),
    ],
)
def test_rest_import_refusals(fields, status, message, api, sources, researcher, tmp_path):
    small_dataset(tmp_path, owner=researcher)
    folder = shutil.copytree(sources[fields.get("source", "bert")], tmp_path / "src")
    if "drop" in fields:
        (folder / fields["drop"]).unlink()
    data = {
        "archive": upload(fields.get("archive") or zipped(folder)),
        "name": fields.get("name", "m"),
        "dataset": fields.get("dataset", "films"),
        "label_map": fields.get("label_map", ""),
    }
    if data["name"] is None:
        del data["name"]
    before = store_snapshot()
    response = api.post("/api/models/import/", data, format="multipart")
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert str(tmp_path) not in response.json()["detail"]
    assert "elephant-model-" not in response.json()["detail"]  # the extraction folder
    assert not ClassifierModel.objects.exists()
    assert store_snapshot() == before


def test_rest_import_on_a_dataset_the_caller_cannot_see(api, sources, make_researcher, tmp_path):
    small_dataset(tmp_path, name="secret", owner=make_researcher("bob"))
    response = api.post(
        "/api/models/import/",
        {"archive": upload(zipped(sources["bert"])), "name": "m", "dataset": "secret"},
        format="multipart",
    )
    unknown = api.post(
        "/api/models/import/",
        {"archive": upload(zipped(sources["bert"])), "name": "m", "dataset": "nosuch"},
        format="multipart",
    )
    assert response.status_code == unknown.status_code == 404
    # Same answer as for a dataset that does not exist: nothing about it is disclosed.
    assert response.json()["detail"].replace("secret", "nosuch") == unknown.json()["detail"]
    assert not ClassifierModel.objects.exists()


def test_rest_import_needs_a_login(client, sources):
    response = client.post("/api/models/import/", {"archive": upload(zipped(sources["bert"]))})
    assert response.status_code in (401, 403)


# --- the model list page ----------------------------------------------------------------


def test_model_list_page_lists_visible_models_and_imports(
    client, sources, researcher, make_researcher, tmp_path
):
    films = small_dataset(tmp_path, owner=researcher)
    bob = make_researcher("bob")
    secret = small_dataset(tmp_path, name="secret", owner=bob)
    model_import(path=sources["bert"], name="bobs-model", dataset=secret, owner=bob)
    model_import(path=sources["roberta"], name="mine", dataset=films, owner=researcher)
    client.force_login(researcher)
    page = client.get("/models/").content.decode()
    assert "mine" in page
    assert "bobs-model" not in page
    assert "roberta" in page
    assert ">64<" in page
    assert "/models/mine/scores/" in page
    assert 'for="id_archive"' in page
    assert 'for="id_name"' in page
    assert 'for="id_dataset"' in page
    assert 'for="id_label_map"' in page
    assert '<option value="films"' in page
    assert '<option value="secret"' not in page
    assert "/static/" in page
    assert external_assets(page) == []
    nav = client.get("/datasets/").content.decode()
    assert 'href="/models/"' in nav

    response = client.post(
        "/models/",
        {
            "archive": upload(zipped(sources["short"])),
            "name": "paged",
            "dataset": "films",
            "label_map": "negative=neg,positive=pos",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/models/"
    assert ClassifierModel.objects.get(name="paged").owner == researcher
    assert "Model paged imported." in client.get("/models/").content.decode()


def test_model_list_page_shows_the_error_and_writes_nothing(client, sources, researcher, tmp_path):
    small_dataset(tmp_path, owner=researcher)
    client.force_login(researcher)
    response = client.post(
        "/models/",
        {"archive": upload(zipped(sources["short"])), "name": "paged", "dataset": "films"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "labels do not match" in page
    assert 'role="alert"' in page
    assert not ClassifierModel.objects.exists()
    assert store_snapshot() == []
    refused = client.post(
        "/models/", {"archive": upload(zipped(sources["bert"])), "name": "x", "dataset": "secret"}
    )
    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()


def test_the_web_tier_does_not_import_transformers():
    code = (
        "import django, sys; django.setup(); "
        "import explanations.urls, explanations.views, explanations.api.views, "
        "explanations.services.model_import; "
        "print('transformers' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=Path(django_settings.BASE_DIR),
    )
    assert result.stdout.strip() == "False"
