"""The first-token twin gives the model's own logits and gradients, with a shorter last layer."""

import pytest
import torch
from transformers import DistilBertConfig, DistilBertForSequenceClassification

from explanations.compute.hf.attribution import HFClassifier
from explanations.compute.hf.first_token import FirstTokenLayer, first_token_twin


def _batch(classifier: HFClassifier, tokenizer: object, pair: bool) -> dict[str, torch.Tensor]:
    texts = ["a good film , not bad at all", "dull", "it was the worst of times and the best"]
    seconds = ["yes", "an entirely different second text", "no"] if pair else None
    encoded = tokenizer(texts, seconds, padding=True, return_tensors="pt")  # type: ignore[operator]
    return dict(encoded)


@pytest.mark.parametrize("which", ["tiny_bert", "tiny_roberta"])
@pytest.mark.parametrize("pair", [False, True])
def test_twin_logits_and_gradients_equal_the_models(
    request: pytest.FixtureRequest, which: str, pair: bool
) -> None:
    classifier, tokenizer = request.getfixturevalue(which)
    twin = first_token_twin(classifier.model)
    assert twin is not None
    batch = _batch(classifier, tokenizer, pair)
    assert bool((batch["attention_mask"] == 0).any()), "the batch must hold padding"
    embeds = classifier.embedding(batch["input_ids"]).detach()
    rest = {k: v for k, v in batch.items() if k != "input_ids"}
    results = []
    for model in (classifier.model, twin):
        inputs = embeds.clone().requires_grad_(True)
        logits = model(inputs_embeds=inputs, **rest).logits
        (gradient,) = torch.autograd.grad(logits[:, 1].sum(), inputs)
        results.append((logits.detach(), gradient))
    (logits, gradient), (twin_logits, twin_gradient) = results
    assert torch.allclose(twin_logits, logits, rtol=0, atol=1e-12)
    assert torch.allclose(twin_gradient, gradient, rtol=0, atol=1e-12)
    assert gradient.abs().max() > 1e-6


def test_twin_shortens_the_last_layer_and_leaves_the_model_alone(
    tiny_bert: tuple[HFClassifier, object],
) -> None:
    classifier, tokenizer = tiny_bert
    model = classifier.model
    twin = first_token_twin(model)
    assert twin is not None
    batch = _batch(classifier, tokenizer, False)
    hidden = twin.base_model(**batch).last_hidden_state  # type: ignore[operator]
    assert hidden.shape[1] == 1
    assert not isinstance(model.base_model.encoder.layer[-1], FirstTokenLayer)  # type: ignore[union-attr,index]
    assert isinstance(twin.base_model.encoder.layer[-1], FirstTokenLayer)  # type: ignore[union-attr,index]
    shared = {id(p) for p in model.parameters()}
    assert {id(p) for p in twin.parameters()} == shared
    # attentions come from the model itself, whole
    _, maps = classifier.logits(
        input_ids=batch["input_ids"], mask=batch["attention_mask"], types=None, attentions=True
    )
    assert maps is not None
    assert maps[-1].shape[-2] == batch["input_ids"].shape[1]


def test_an_unrecognised_layer_structure_has_no_twin() -> None:
    config = DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=32)
    assert first_token_twin(DistilBertForSequenceClassification(config)) is None
