"""Checking and loading a save_pretrained folder: offline, fast tokenizer, classifier only."""

import json
import os
import shutil

import pytest
import torch
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertForMaskedLM,
)

from explanations.compute.hf.loading import (
    ModelFolderCard,
    ModelFolderError,
    inspect_model_folder,
    load_classifier,
)

from .factories import TEXTS, bert_folder, roberta_folder

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return bert_folder(tmp_path_factory.mktemp("bert") / "model")


@pytest.fixture(scope="module")
def roberta(tmp_path_factory):
    return roberta_folder(tmp_path_factory.mktemp("roberta") / "model", max_length=32)


def copy_of(folder, tmp_path, name="copy"):
    return shutil.copytree(folder, tmp_path / name)


def reference_logits(folder, texts=TEXTS[:3]):
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True)
    model.eval()
    with torch.no_grad():
        return model(**tokenizer(list(texts), padding=True, return_tensors="pt")).logits


def test_bert_folder_card(bert):
    card = inspect_model_folder(bert)
    assert card == ModelFolderCard(
        model_type="bert",
        architectures=["BertForSequenceClassification"],
        id2label={0: "NEGATIVE", 1: "POSITIVE"},
        num_labels=2,
        max_length=64,
        tokenizer_class=card.tokenizer_class,
        weights_file="model.safetensors",
        files=["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"],
    )


def test_roberta_max_length_leaves_out_the_padding_offset(roberta):
    # 34 position rows, of which pad_token_id + 1 = 2 are never used by an input position.
    assert AutoConfig.from_pretrained(roberta).max_position_embeddings == 34
    card = inspect_model_folder(roberta)
    assert card.model_type == "roberta"
    assert card.max_length == 32


def test_max_length_is_the_smaller_of_tokenizer_and_positions(bert, tmp_path):
    folder = copy_of(bert, tmp_path)
    settings = json.loads((folder / "tokenizer_config.json").read_text())
    settings["model_max_length"] = 16
    (folder / "tokenizer_config.json").write_text(json.dumps(settings))
    assert inspect_model_folder(folder).max_length == 16
    del settings["model_max_length"]  # unset: transformers reports 1e30
    (folder / "tokenizer_config.json").write_text(json.dumps(settings))
    assert inspect_model_folder(folder).max_length == 64


@pytest.mark.parametrize("which", ["bert", "roberta"])
def test_load_classifier_matches_transformers(which, request):
    folder = request.getfixturevalue(which)
    model, tokenizer = load_classifier(folder, device=CPU)
    assert tokenizer.is_fast
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert model.config._attn_implementation == "eager"
    with torch.no_grad():
        logits = model(**tokenizer(list(TEXTS[:3]), padding=True, return_tensors="pt")).logits
    torch.testing.assert_close(logits, reference_logits(folder), rtol=0, atol=1e-6)


def test_bin_weights_are_accepted_and_loaded_with_weights_only(bert, tmp_path):
    folder = copy_of(bert, tmp_path)
    state = AutoModelForSequenceClassification.from_pretrained(bert).state_dict()
    torch.save(state, folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    assert inspect_model_folder(folder).weights_file == "pytorch_model.bin"
    model, tokenizer = load_classifier(folder, device=CPU)
    with torch.no_grad():
        logits = model(**tokenizer(list(TEXTS[:3]), padding=True, return_tensors="pt")).logits
    torch.testing.assert_close(logits, reference_logits(bert), rtol=0, atol=1e-6)


class _Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_a_bin_file_that_would_run_code_is_refused(bert, tmp_path, capsys):
    folder = copy_of(bert, tmp_path)
    (folder / "model.safetensors").unlink()
    torch.save({"weight": _Payload()}, folder / "pytorch_model.bin")
    with pytest.raises(ModelFolderError, match="would run pickled code"):
        load_classifier(folder, device=CPU)
    assert "this must never run" not in capsys.readouterr().out


def test_weights_without_the_classifier_head_are_refused(bert, tmp_path):
    folder = copy_of(bert, tmp_path)
    state = AutoModelForSequenceClassification.from_pretrained(bert).state_dict()
    torch.save(
        {k: v for k, v in state.items() if not k.startswith("classifier.")},
        folder / "pytorch_model.bin",
    )
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelFolderError, match=r"do not fit the classifier \(missing classifier"):
        load_classifier(folder, device=CPU)


def _remove(*names):
    def change(folder):
        for name in names:
            (folder / name).unlink()

    return change


def _slow_vocab_only(folder):
    tokenizer = AutoTokenizer.from_pretrained(folder)
    vocab = tokenizer.get_vocab()
    (folder / "vocab.txt").write_text("\n".join(sorted(vocab, key=vocab.get)) + "\n")
    (folder / "tokenizer.json").unlink()
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer"}))


def _sentencepiece_only(folder):
    (folder / "spiece.model").write_bytes(b"\x00sentencepiece")
    (folder / "tokenizer.json").unlink()


def _architecture(name):
    def change(folder):
        config = json.loads((folder / "config.json").read_text())
        config["architectures"] = [name]
        (folder / "config.json").write_text(json.dumps(config))

    return change


def _auto_map(filename):
    def change(folder):
        data = json.loads((folder / filename).read_text())
        data["auto_map"] = {"AutoModelForSequenceClassification": "modeling_x.XForSeq"}
        (folder / filename).write_text(json.dumps(data))

    return change


def _bad_json(folder):
    (folder / "config.json").write_text("{not json")


BAD_FOLDERS = {
    "missing config": (_remove("config.json"), r"missing config\.json"),
    "missing weights": (
        _remove("model.safetensors"),
        r"no weights file; expected model\.safetensors or pytorch_model\.bin",
    ),
    "missing tokenizer": (
        _remove("tokenizer.json", "tokenizer_config.json"),
        r"missing tokenizer files; expected tokenizer\.json",
    ),
    "slow-only vocab.txt": (_slow_vocab_only, r"slow-only tokenizer \(vocab\.txt but no"),
    "sentencepiece only": (_sentencepiece_only, r"slow-only tokenizer \(spiece\.model"),
    "masked LM": (
        _architecture("BertForMaskedLM"),
        r"not a sequence classifier \(architectures: BertForMaskedLM\)",
    ),
    "bare encoder": (
        _architecture("BertModel"),
        r"not a sequence classifier \(architectures: BertModel\)",
    ),
    "custom model code": (_auto_map("config.json"), r"config\.json: names custom code"),
    "custom tokenizer code": (
        _auto_map("tokenizer_config.json"),
        r"tokenizer_config\.json: names custom code",
    ),
    "config not JSON": (_bad_json, r"config\.json: not a readable JSON file"),
}


@pytest.mark.parametrize("case", sorted(BAD_FOLDERS))
def test_bad_folders_are_refused_by_name(case, bert, tmp_path):
    change, message = BAD_FOLDERS[case]
    folder = copy_of(bert, tmp_path)
    change(folder)
    with pytest.raises(ModelFolderError, match=message) as caught:
        inspect_model_folder(folder)
    assert str(folder) in str(caught.value)


def test_a_saved_masked_lm_is_not_a_classifier(bert, tmp_path):
    folder = tmp_path / "mlm"
    BertForMaskedLM(AutoConfig.from_pretrained(bert)).save_pretrained(folder)
    AutoTokenizer.from_pretrained(bert).save_pretrained(folder)
    with pytest.raises(ModelFolderError, match="not a sequence classifier"):
        inspect_model_folder(folder)


def test_a_missing_folder_and_a_file_are_refused(tmp_path):
    with pytest.raises(ModelFolderError, match="no such model folder"):
        inspect_model_folder(tmp_path / "absent")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelFolderError, match="not a folder"):
        inspect_model_folder(tmp_path / "file")


def test_loading_sets_offline_mode(bert, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    inspect_model_folder(bert)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_a_decoder_classifier_is_refused(tmp_path):
    """GPT-2 reads its last real token: right-padded embeddings would give wrong scores."""
    from transformers import GPT2Config, GPT2ForSequenceClassification

    from .factories import TEXTS, bpe_tokenizer

    folder = tmp_path / "gpt2"
    tokenizer = bpe_tokenizer(TEXTS)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_embd=16,
        n_layer=1,
        n_head=2,
        n_positions=64,
        num_labels=2,
        pad_token_id=tokenizer.pad_token_id,
    )
    GPT2ForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    with pytest.raises(ModelFolderError, match="model type 'gpt2' is not supported"):
        inspect_model_folder(folder)
