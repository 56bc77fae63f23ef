"""Attention under test for imported Hugging Face models: zeroing and correlation, per word.

The reference for every zeroing is the model itself, run whole by ``transformers`` with
its own attention function replaced by one that edits the last layer's first-token row
(the pieces of the zeroed words set to 0 in every head, each head's row renormalised):
an independent path through the model's own modules, not the intervention's.
"""

import dataclasses
import io
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import torch
from django.core.management import call_command
from scipy.stats import kendalltau
from transformers import DistilBertConfig, DistilBertForSequenceClassification

from explanations.compute import attention_debate
from explanations.compute.diagnostics import intervention as core_intervention
from explanations.compute.diagnostics.hf_intervention import (
    HF_ORDERS,
    HFIntervention,
    hf_leave_one_out_tvd,
    hf_word_attention,
    hf_zeroing_diagnostics,
    last_layer,
)
from explanations.compute.hf.alignment import WordPieces, encode_words
from explanations.compute.hf.attribution import HFClassifier, explain_words
from explanations.compute.hf.wordpiece import wordpiece_tokenizer
from explanations.compute.tokenize import tokenize
from explanations.models import ClassifierModel, Diagnostic, Explanation, Job
from explanations.services import diagnostics as service
from explanations.services.diagnostics import diagnostics_plan, diagnostics_run
from explanations.services.runtime import runtime_for
from tests.explanations.factories import small_dataset, synthetic_records

from .conftest import load
from .factories import TEXTS, bert_folder, roberta_folder

TEXT_PAIRS = ("is it good ?", "a film", "the plot", "never again", "lead actor", "fine")


def _sharpened(classifier: HFClassifier, seed: int) -> HFClassifier:
    """Redraw every weight matrix with a large spread, so zeroing a word moves the output.

    A randomly initialised tiny encoder (weights ~ N(0, 0.02)) outputs nearly the same
    distribution whatever its attention; with N(0, 0.5) its decisions do flip.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in classifier.model.parameters():
            if parameter.dim() == 2:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    return classifier


@pytest.fixture(scope="module")
def bert(tmp_path_factory: pytest.TempPathFactory) -> tuple[HFClassifier, Any]:
    classifier, tokenizer = load(bert_folder(tmp_path_factory.mktemp("bert")))
    return _sharpened(classifier, 3), tokenizer


@pytest.fixture(scope="module")
def roberta(tmp_path_factory: pytest.TempPathFactory) -> tuple[HFClassifier, Any]:
    classifier, tokenizer = load(roberta_folder(tmp_path_factory.mktemp("roberta")))
    return _sharpened(classifier, 2), tokenizer


@pytest.fixture(scope="module")
def distilbert() -> tuple[HFClassifier, Any]:
    tokenizer = wordpiece_tokenizer(TEXTS, vocab_size=800, max_length=64)
    torch.manual_seed(0)
    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        dim=16,
        n_layers=2,
        n_heads=2,
        hidden_dim=32,
        dropout=0.0,
        attention_dropout=0.0,
        seq_classif_dropout=0.0,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
        # a PretrainedConfig keyword the stubs do not list; eager: the test replaces its function
        attn_implementation="eager",  # type: ignore[call-arg]
    )
    model = DistilBertForSequenceClassification(config).double().eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    classifier = HFClassifier(model=model, pad_id=int(tokenizer.pad_token_id))
    return _sharpened(classifier, 3), tokenizer


FAMILIES = ("bert", "roberta", "distilbert")


def _encoded(
    request: pytest.FixtureRequest, family: str, *, pair: bool = False, max_length: int = 64
) -> tuple[HFClassifier, list[WordPieces]]:
    classifier, tokenizer = request.getfixturevalue(family)
    texts = list(TEXTS)
    offsets = [tokenize(text)[1] for text in texts]
    instances = encode_words(
        tokenizer, texts, offsets, list(TEXT_PAIRS) if pair else None, max_length=max_length
    )
    if family == "distilbert":  # DistilBERT takes no token types
        instances = [dataclasses.replace(p, token_type_ids=None) for p in instances]
    return classifier, instances


def _own_attention(model: torch.nn.Module) -> torch.nn.Module:
    """Return the model's last self-attention module (the one whose function is replaced)."""
    if model.config.model_type == "distilbert":  # type: ignore[union-attr]
        return model.distilbert.transformer.layer[-1].attention  # type: ignore[union-attr,index]
    return model.base_model.encoder.layer[-1].attention.self  # type: ignore[union-attr,index]


def _reference(
    classifier: HFClassifier,
    pieces: WordPieces,
    zeroed_words: Sequence[int],
    monkeypatch: pytest.MonkeyPatch,
) -> np.ndarray:
    """Return the model's probabilities with the words' pieces zeroed in its own forward pass."""
    model = classifier.model
    target = _own_attention(model)
    modeling = sys.modules[type(target).__module__]
    keep = torch.ones(pieces.length, dtype=torch.float64)
    for word in zeroed_words:
        keep[torch.as_tensor(pieces.piece_words == word)] = 0.0

    def edited(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **_):  # type: ignore[no-untyped-def]
        weights = torch.softmax(query @ key.transpose(2, 3) * scaling, dim=-1)
        if module is target:
            first = weights[:, :, 0, :] * keep.to(weights.dtype)
            weights = weights.clone()
            weights[:, :, 0, :] = first / first.sum(dim=-1, keepdim=True)
        return (weights @ value).transpose(1, 2).contiguous(), weights

    monkeypatch.setattr(modeling, "eager_attention_forward", edited)
    with torch.no_grad():
        logits = model(**_inputs(pieces)).logits
    monkeypatch.undo()
    return torch.softmax(logits, dim=-1)[0].numpy()


def _inputs(pieces: WordPieces) -> dict[str, torch.Tensor]:
    """Return one instance as the model's keyword arguments (a batch of one)."""
    arguments = {"input_ids": torch.as_tensor(pieces.input_ids)[None]}
    if pieces.token_type_ids is not None:
        arguments["token_type_ids"] = torch.as_tensor(pieces.token_type_ids)[None]
    return arguments


def _own_output(classifier: HFClassifier, pieces: WordPieces) -> np.ndarray:
    """Return the model's probabilities for one instance, computed by transformers alone."""
    with torch.no_grad():
        return torch.softmax(classifier.model(**_inputs(pieces)).logits, dim=-1)[0].numpy()


def _reference_attention(classifier: HFClassifier, pieces: WordPieces) -> np.ndarray:
    """Return the seen words' weights from the model's own attention maps (sum over pieces)."""
    with torch.no_grad():
        row = (
            classifier.model(**_inputs(pieces), output_attentions=True)
            .attentions[-1][0, :, 0, :]
            .mean(dim=0)
            .numpy()
        )
    return np.array([row[pieces.piece_words == w].sum() for w in range(pieces.seen_words)])


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("pair", [False, True])
def test_zeroing_words_equals_editing_the_models_own_attention(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, family: str, pair: bool
) -> None:
    classifier, instances = _encoded(request, family, pair=pair)
    intervention = HFIntervention(classifier, instances)  # padded: lengths differ
    assert len({p.length for p in instances}) > 1
    width = intervention.attention.shape[1]
    # Per instance: nothing, its first word, a word of several pieces, and three words.
    choices: list[list[list[int]]] = []
    for pieces in instances:
        counts = np.bincount(pieces.piece_words[pieces.attributed], minlength=pieces.n_words)
        several = int(np.argmax(counts))
        choices.append([[], [0], [several], [0, 2, pieces.seen_words - 1]])
    assert any(np.bincount(p.piece_words[p.attributed]).max() > 1 for p in instances)
    keep = torch.ones(len(instances), 4, width, dtype=torch.bool)
    for row, sets in enumerate(choices):
        for column, words in enumerate(sets):
            keep[row, column, words] = False
    got = intervention.zeroed_probabilities(keep).numpy()
    for row, (pieces, sets) in enumerate(zip(instances, choices, strict=True)):
        for column, words in enumerate(sets):
            expected = _reference(classifier, pieces, words, monkeypatch)
            assert np.abs(got[row, column] - expected).max() < 1e-5
    # Zeroing nothing is the model's own output (its own forward pass, nothing replaced).
    for row, pieces in enumerate(instances):
        own = _own_output(classifier, pieces)
        assert np.abs(got[row, 0] - own).max() < 1e-5
        assert np.abs(intervention.probabilities.numpy()[row] - own).max() < 1e-5
    assert np.abs(got[:, 3] - got[:, 0]).max() > 1e-3


def test_reruns_in_slices_give_the_same_outputs(request: pytest.FixtureRequest) -> None:
    classifier, instances = _encoded(request, "bert", pair=True)
    whole = HFIntervention(classifier, instances)
    sliced = HFIntervention(classifier, instances, max_elements=1)  # one weighting per rerun
    generator = torch.Generator().manual_seed(0)
    keep = torch.rand(len(instances), 5, whole.attention.shape[1], generator=generator) > 0.4
    np.testing.assert_allclose(
        sliced.zeroed_probabilities(keep).numpy(),
        whole.zeroed_probabilities(keep).numpy(),
        rtol=0,
        atol=1e-12,
    )
    with pytest.raises(ValueError, match=r"keep: expected \[batch=6, rows, words\]"):
        whole.zeroed_probabilities(keep[0])


@pytest.mark.parametrize("family", FAMILIES)
def test_word_attention_is_the_attention_explanation_on_seen_words(
    request: pytest.FixtureRequest, family: str
) -> None:
    classifier, instances = _encoded(request, family, max_length=10)
    assert any(p.seen_words < p.n_words for p in instances)
    attention, probabilities = hf_word_attention(classifier, instances, chunk_size=4)
    explained = explain_words(
        classifier, instances, "attention", {"layer": -1, "head_pooling": "mean", "pooling": "sum"}
    )
    for pieces, weights, explanation in zip(instances, attention, explained, strict=True):
        assert weights.shape == (pieces.seen_words,)
        np.testing.assert_allclose(weights, explanation.scores[: pieces.seen_words], atol=1e-12)
        np.testing.assert_allclose(weights, _reference_attention(classifier, pieces), atol=1e-12)
    assert probabilities.shape == (len(instances), 2)


def _loop_flip(
    output: Callable[[list[int]], np.ndarray], order: Sequence[int]
) -> tuple[bool, float]:
    """Zero the words one at a time in ``order`` until the decision flips (S&S's loop)."""
    base = int(np.argmax(output([])))
    for count in range(1, len(order) + 1):
        if int(np.argmax(output(list(order[:count])))) != base:
            return True, float(count)
    return False, float("nan")


def _one_at_a_time(
    classifier: HFClassifier, pieces: WordPieces
) -> Callable[[list[int]], np.ndarray]:
    """Return the output of one instance with some words zeroed, one weighting per call."""
    intervention = HFIntervention(classifier, [pieces])

    def output(words: list[int]) -> np.ndarray:
        keep = torch.ones(1, 1, intervention.attention.shape[1], dtype=torch.bool)
        keep[0, 0, words] = False
        return intervention.zeroed_probabilities(keep)[0, 0].numpy()

    return output


def test_flip_search_matches_a_per_instance_loop(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    classifier, instances = _encoded(request, "bert")
    keys = [11 * row + 5 for row in range(len(instances))]
    result = hf_zeroing_diagnostics(classifier, instances, seed=3, keys=keys, chunk_size=4)
    assert tuple(result.flips) == HF_ORDERS
    assert set(result.skipped) == {"gradient", "gradient_x_attention", "sign_gradient_x_attention"}
    assert set(result.skipped.values()) == {
        attention_debate.HUGGINGFACE_SKIPPED["zeroing_gradient_orders"]
    }
    flipped_somewhere = 0
    for row, pieces in enumerate(instances):
        n = pieces.seen_words
        weights = _reference_attention(classifier, pieces)
        by_attention = np.argsort(-weights, kind="stable")
        # The instance's own stream: its random non-top word first, then the random orders.
        rng = core_intervention.instance_generator(3, keys[row])
        top = int(np.argmax(weights))
        pick = int(rng.integers(n - 1))
        assert result.single.random_position[row] == pick + (pick >= top)
        assert result.single.top_position[row] == top
        orders = {"attention": by_attention, "reverse_attention": by_attention[::-1]}
        for number in range(1, 6):
            orders[f"random_{number}"] = rng.permutation(n)
        looped = _one_at_a_time(classifier, pieces)
        for name, order in orders.items():
            # The attention order through the model's own edited pass, the others per weighting.
            if name == "attention":
                flipped, items = _loop_flip(
                    lambda words: _reference(classifier, pieces, words, monkeypatch),  # noqa: B023
                    order.tolist(),
                )
            else:
                flipped, items = _loop_flip(looped, order.tolist())
            search = result.flips[name]
            assert bool(search.flipped[row]) == flipped, (row, name)
            if flipped:
                flipped_somewhere += 1
                assert search.items[row] == items
                assert search.fraction[row] == pytest.approx(items / n)
                zeroed = order[: int(items)]
                assert search.mass[row] == pytest.approx(weights[zeroed].sum(), abs=1e-9)
            else:
                assert np.isnan(search.items[row])
        # (a): the top word's zeroing against the model's own edited pass.
        base = _reference(classifier, pieces, [], monkeypatch)
        top_output = _reference(classifier, pieces, [top], monkeypatch)
        middle = 0.5 * (base + top_output)
        expected_jsd = 0.5 * sum(
            p * np.log(p / m) + q * np.log(q / m)
            for p, q, m in zip(base, top_output, middle, strict=True)
        )
        assert result.single.top_jsd[row] == pytest.approx(expected_jsd, abs=1e-9)
        assert bool(result.single.top_flipped[row]) == (np.argmax(top_output) != np.argmax(base))
    assert flipped_somewhere > 3, "the test model must flip some decisions"


def test_leave_one_out_is_the_output_tvd_without_each_word(
    request: pytest.FixtureRequest,
) -> None:
    classifier, instances = _encoded(request, "roberta", max_length=10)
    found = hf_leave_one_out_tvd(classifier, instances)
    for pieces, values in zip(instances, found, strict=True):
        assert values.shape == (pieces.seen_words,)
        with torch.no_grad():
            full = torch.softmax(
                classifier.model(input_ids=torch.as_tensor(pieces.input_ids)[None]).logits, -1
            )[0].numpy()
            for word in range(pieces.seen_words):
                kept = pieces.input_ids[pieces.piece_words != word]
                without = torch.softmax(
                    classifier.model(input_ids=torch.as_tensor(kept)[None]).logits, -1
                )[0].numpy()
                assert values[word] == pytest.approx(0.5 * np.abs(full - without).sum(), abs=1e-9)


def test_unsupported_families_and_gradient_orders_are_refused(
    request: pytest.FixtureRequest,
) -> None:
    from transformers import GPT2Config, GPT2ForSequenceClassification

    gpt2 = GPT2ForSequenceClassification(GPT2Config(n_layer=1, n_head=2, n_embd=8, vocab_size=20))
    with pytest.raises(
        ValueError, match="built for the families bert, roberta.*this model is gpt2"
    ):
        last_layer(gpt2)
    classifier, instances = _encoded(request, "bert")
    with pytest.raises(ValueError, match="orders gradient: the gradient orders rank words"):
        hf_zeroing_diagnostics(classifier, instances, orders=["attention", "gradient"])
    with pytest.raises(ValueError, match="orders: unknown sideways"):
        hf_zeroing_diagnostics(classifier, instances, orders=["sideways"])
    assert attention_debate.huggingface_zeroing_refusal("distilbert") is None
    assert "zeroing" in attention_debate.huggingface_skipped("gpt2")


# The platform: import, plan, run, store.


def test_the_web_side_reads_the_compute_cores_statement_for_imported_models() -> None:
    assert service.HUGGINGFACE_SKIPPED is attention_debate.HUGGINGFACE_SKIPPED
    skipped = service.diagnostics_skipped("huggingface")
    assert skipped == attention_debate.HUGGINGFACE_SKIPPED
    for name in ("permutation", "adversarial_attention", "jain_wallace_gradient"):
        assert "first-token row" in skipped[name]
    assert service.diagnostics_supported("huggingface") == ("correlation", "zeroing")
    assert service.diagnostics_supported("huggingface", "gpt2") == ("correlation",)


@pytest.fixture
def imported(tmp_path: Any) -> tuple[ClassifierModel, Any]:
    records = synthetic_records(10)
    records[0]["text"] = "good film and a very fine story with lovely music and a warm plot."
    dataset = small_dataset(tmp_path, name="hf-data", records=records)
    # The model's labels in the other order: every figure must come back in the dataset's.
    folder = bert_folder(
        tmp_path / "model",
        texts=[r["text"] for r in records],
        labels=("POSITIVE", "NEGATIVE"),
        max_length=10,
        seed=4,
    )
    call_command("import_model", str(folder), name="hf-tiny", dataset=dataset.name)
    return ClassifierModel.objects.get(name="hf-tiny"), dataset


@pytest.mark.django_db
def test_plan_runs_correlation_and_zeroing_and_says_what_is_skipped(imported: Any) -> None:
    model, _ = imported
    chosen, skipped = diagnostics_plan(model=model)
    assert chosen == ["correlation", "zeroing"]
    assert skipped == attention_debate.HUGGINGFACE_SKIPPED
    with pytest.raises(ValueError, match="permutation not defined for model hf-tiny"):
        diagnostics_plan(model=model, experiments=["permutation"])
    model.config = {**model.config, "model_type": "gpt2"}
    chosen, skipped = diagnostics_plan(model=model)
    assert chosen == ["correlation"]
    assert "this model is gpt2" in skipped["zeroing"]
    with pytest.raises(ValueError, match="zeroing not defined for model hf-tiny"):
        diagnostics_plan(model=model, experiments=["zeroing"])


@pytest.mark.django_db
def test_run_diagnostics_stores_word_level_correlation_and_zeroing(imported: Any) -> None:
    model, dataset = imported
    out = io.StringIO()
    call_command(
        "run_diagnostics", "--model", model.name, "--dataset", dataset.name, stdout=out, verbosity=0
    )
    assert "experiments correlation, zeroing" in out.getvalue()
    assert "Skipped permutation:" in out.getvalue()
    rows = Diagnostic.objects.filter(model=model)
    assert rows.filter(experiment="correlation").count() == 10
    assert rows.filter(experiment="zeroing").count() == 10
    runtime = runtime_for(model)
    instances = list(dataset.instances.order_by("pk"))
    encoded = runtime.encode(instances)  # type: ignore[attr-defined]
    classifier = runtime.classifier  # type: ignore[attr-defined]
    attention, probabilities = hf_word_attention(classifier, encoded)
    # In the dataset's label order, as the platform's own predictions.
    assert model.config["label_order"] == [1, 0]
    np.testing.assert_allclose(probabilities, runtime.predict(instances), atol=1e-6)
    leave_one_out = hf_leave_one_out_tvd(classifier, encoded)
    ids = [i.pk for i in instances]
    zeroed = hf_zeroing_diagnostics(classifier, encoded, keys=ids)
    truncated = 0
    for row, (instance, pieces) in enumerate(zip(instances, encoded, strict=True)):
        correlation = rows.get(experiment="correlation", instance=instance)
        assert correlation.predicted_label == int(np.argmax(probabilities[row]))
        assert correlation.max_attention == pytest.approx(attention[row].max())
        assert correlation.values["seen_words"] == pieces.seen_words
        assert correlation.values["words"] == len(instance.tokens)
        truncated += pieces.seen_words < len(instance.tokens)
        assert set(correlation.values["tau"]) == {"leave_one_out"}
        assert "jain_wallace_gradient" in correlation.parameters["skipped"]
        expected = kendalltau(attention[row], leave_one_out[row]).statistic
        if np.isfinite(expected):
            assert correlation.values["tau"]["leave_one_out"] == pytest.approx(expected)
        zeroing = rows.get(experiment="zeroing", instance=instance)
        assert set(zeroing.values["flips"]) == set(HF_ORDERS)
        assert "zeroing_gradient_orders" in zeroing.parameters["skipped"]
        assert zeroing.values["top_position"] == int(zeroed.single.top_position[row])
        assert zeroing.values["top_jsd"] == pytest.approx(zeroed.single.top_jsd[row])
        assert zeroing.values["seen_words"] == pieces.seen_words
    assert truncated > 0, "max_length 10 must leave some words unseen"
    job = Job.objects.get(model=model, kind=Job.Kind.DIAGNOSE)
    assert job.parameters["skipped"] == attention_debate.HUGGINGFACE_SKIPPED


@pytest.mark.django_db
def test_platform_definitions_use_the_stored_explanations_on_seen_words(imported: Any) -> None:
    from explanations.services.computing import explanations_compute

    model, dataset = imported
    explanations_compute(model=model, dataset=dataset, methods=["gradient", "omission"])
    job = diagnostics_run(
        model=model,
        dataset=dataset,
        experiments=["correlation"],
        parameters={"correlation": {"definitions": "platform"}},
    )
    assert job.status == Job.Status.DONE, job.error
    runtime = runtime_for(model)
    instances = list(dataset.instances.order_by("pk"))
    encoded = runtime.encode(instances)  # type: ignore[attr-defined]
    attention, _ = hf_word_attention(runtime.classifier, encoded)  # type: ignore[attr-defined]
    checked = 0
    for row, instance in enumerate(instances):
        stored = Diagnostic.objects.get(model=model, instance=instance, experiment="correlation")
        for measure, method in (("gradient", "gradient"), ("leave_one_out", "omission")):
            scores = Explanation.objects.get(model=model, instance=instance, method__name=method)
            seen = encoded[row].seen_words
            expected = kendalltau(attention[row], np.asarray(scores.scores)[:seen]).statistic
            if np.isfinite(expected):
                assert stored.values["tau"][measure] == pytest.approx(expected)
                checked += 1
    assert checked > 5


@pytest.mark.django_db
def test_the_page_says_what_an_imported_model_skips_and_why(
    client: Any, researcher: Any, imported: Any
) -> None:
    from django.urls import reverse

    model, dataset = imported
    # A model follows its dataset's visibility, for its owner too: both are the researcher's.
    model.owner = dataset.owner = researcher
    model.save(update_fields=["owner"])
    dataset.save(update_fields=["owner"])
    diagnostics_run(model=model, dataset=dataset)
    client.force_login(researcher)
    page = client.get(reverse("explanations:model-attention", args=[model.name])).content.decode()
    assert "Not run for this model, and why" in page
    for name in ("permutation", "adversarial_attention", "jain_wallace_gradient"):
        assert f"<strong>{name}</strong>" in page
    assert "zeroing_gradient_orders" in page
    assert "first-token row" in page
    model.config = {**model.config, "model_type": "gpt2"}
    model.save(update_fields=["config"])
    page = client.get(reverse("explanations:model-attention", args=[model.name])).content.decode()
    assert "this model is gpt2" in page


@pytest.mark.parametrize("family", ["electra", "xlm-roberta", "camembert"])
def test_the_other_bert_family_heads_match_the_model(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, family: str
) -> None:
    from transformers import AutoConfig, AutoModelForSequenceClassification

    _, tokenizer = request.getfixturevalue("bert")
    config = AutoConfig.for_model(
        family,
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        max_position_embeddings=80,
        pad_token_id=tokenizer.pad_token_id,
        num_labels=3,
    )
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(config, attn_implementation="eager")
    model = model.double().eval().requires_grad_(False)
    classifier = _sharpened(HFClassifier(model=model, pad_id=int(tokenizer.pad_token_id)), 4)
    texts = list(TEXTS[:3])
    instances = encode_words(tokenizer, texts, [tokenize(t)[1] for t in texts], max_length=64)
    instances = [dataclasses.replace(p, token_type_ids=None) for p in instances]
    intervention = HFIntervention(classifier, instances)
    keep = torch.ones(len(instances), 2, intervention.attention.shape[1], dtype=torch.bool)
    keep[:, 1, 1] = False
    got = intervention.zeroed_probabilities(keep).numpy()
    for row, pieces in enumerate(instances):
        assert np.abs(got[row, 0] - _own_output(classifier, pieces)).max() < 1e-5
        expected = _reference(classifier, pieces, [1], monkeypatch)
        assert np.abs(got[row, 1] - expected).max() < 1e-5
