"""Word-level explanations of Hugging Face models, held to Captum on the same model.

Captum runs on the model's word embeddings (Saliency, InputXGradient, IntegratedGradients
with our baseline, LayerIntegratedGradients on the embedding layer with a token baseline,
FeatureAblation with word masks); piece scores must agree within 1e-5 of the largest
score before pooling. Pooling is checked against hand computations.
"""

import numpy as np
import pytest
import torch
from captum.attr import (
    FeatureAblation,
    InputXGradient,
    IntegratedGradients,
    LayerIntegratedGradients,
    Saliency,
)

from explanations.compute.attribution.attention import rollout
from explanations.compute.hf.alignment import encode_words
from explanations.compute.hf.attribution import (
    WordErasure,
    explain_pieces,
    explain_words,
    predict_proba,
)
from explanations.compute.tokenize import tokenize

from .factories import TEXTS

IG = {"n_steps": 50, "integration": "gausslegendre", "baseline": "zero", "pooling": "sum"}


def encode(tokenizer, texts, contexts=None, max_length=64):
    words = [tokenize(t)[1] for t in texts]
    context_texts = None if contexts is None else list(contexts)
    return encode_words(tokenizer, list(texts), words, context_texts, max_length=max_length)


def tensors(classifier, pieces):
    device = classifier.device
    ids = torch.as_tensor(pieces.input_ids, device=device).unsqueeze(0)
    types = (
        None
        if pieces.token_type_ids is None
        else torch.as_tensor(pieces.token_type_ids, device=device).unsqueeze(0)
    )
    return ids, types


def forward_embeds(classifier, types):
    def forward(embeds):
        arguments = {
            "inputs_embeds": embeds,
            "attention_mask": torch.ones(embeds.shape[:2], dtype=torch.long),
        }
        if types is not None:
            arguments["token_type_ids"] = types.expand(embeds.shape[0], -1)
        return classifier.model(**arguments).logits

    return forward


def close(ours, theirs, mask):
    ours, theirs = np.asarray(ours)[mask], np.asarray(theirs)[mask]
    scale = max(np.abs(theirs).max(), 1e-12)
    assert np.abs(ours - theirs).max() <= 1e-5 * scale, (ours, theirs)


@pytest.fixture(params=["tiny_bert", "tiny_roberta"])
def model(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("pair", [False, True])
def test_gradient_methods_match_captum_before_pooling(model, pair):
    classifier, tokenizer = model
    contexts = list(reversed(TEXTS[:3])) if pair else None
    instances = encode(tokenizer, TEXTS[:3], contexts)
    targets = predict_proba(classifier, instances).argmax(axis=1)
    gradient = explain_pieces(classifier, instances, "gradient", {"pooling": "l2"})
    times_input = explain_pieces(classifier, instances, "grad_input", {"pooling": "sum"})
    for i, pieces in enumerate(instances):
        ids, types = tensors(classifier, pieces)
        embeds = classifier.embedding(ids).detach()
        forward = forward_embeds(classifier, types)
        target = int(targets[i])
        saliency = Saliency(forward).attribute(embeds, target=target, abs=False)
        close(gradient[i].scores, saliency[0].norm(dim=-1).detach().numpy(), pieces.attributed)
        ixg = InputXGradient(forward).attribute(embeds, target=target)
        close(times_input[i].scores, ixg[0].sum(dim=-1).detach().numpy(), pieces.attributed)
        assert gradient[i].target == target


@pytest.mark.parametrize("pair", [False, True])
def test_integrated_gradients_matches_captum_with_the_zero_baseline(model, pair):
    classifier, tokenizer = model
    contexts = list(reversed(TEXTS[2:4])) if pair else None
    instances = encode(tokenizer, TEXTS[2:4], contexts)
    ours = explain_pieces(classifier, instances, "integrated_gradients", IG)
    for i, pieces in enumerate(instances):
        ids, types = tensors(classifier, pieces)
        embeds = classifier.embedding(ids).detach()
        attributed = torch.as_tensor(pieces.attributed).view(1, -1, 1)
        baseline = torch.where(attributed, torch.zeros_like(embeds), embeds)
        theirs, delta = IntegratedGradients(forward_embeds(classifier, types)).attribute(
            embeds,
            baselines=baseline,
            target=ours[i].target,
            n_steps=50,
            method="gausslegendre",
            return_convergence_delta=True,
        )
        close(ours[i].scores, theirs[0].sum(dim=-1).detach().numpy(), pieces.attributed)
        assert ours[i].extras["completeness_gap"] == pytest.approx(float(delta), abs=1e-5)


def test_integrated_gradients_pad_baseline_matches_layer_integrated_gradients(tiny_bert):
    """Captum's LayerIntegratedGradients on the embedding layer, as transformers-interpret runs it."""
    classifier, tokenizer = tiny_bert
    instances = encode(tokenizer, TEXTS[:2])
    params = dict(IG, baseline="pad")
    ours = explain_pieces(classifier, instances, "integrated_gradients", params)
    for i, pieces in enumerate(instances):
        ids, types = tensors(classifier, pieces)
        reference = torch.where(
            torch.as_tensor(pieces.attributed).unsqueeze(0), classifier.pad_id, ids
        )

        def forward(input_ids, types=types):
            return classifier.model(input_ids=input_ids, token_type_ids=types).logits

        lig = LayerIntegratedGradients(forward, classifier.embedding)
        theirs = lig.attribute(
            ids, baselines=reference, target=ours[i].target, n_steps=50, method="gausslegendre"
        )
        close(ours[i].scores, theirs[0].sum(dim=-1).detach().numpy(), pieces.attributed)


def test_integrated_gradients_splits_steps_under_the_token_budget(tiny_bert):
    classifier, tokenizer = tiny_bert
    instances = encode(tokenizer, TEXTS[:3])
    whole = explain_pieces(classifier, instances, "integrated_gradients", IG)
    small = type(classifier)(
        model=classifier.model,
        pad_id=classifier.pad_id,
        mask_id=classifier.mask_id,
        max_batch_tokens=40,
    )
    split = explain_pieces(small, instances, "integrated_gradients", IG)
    for a, b, pieces in zip(whole, split, instances, strict=True):
        close(b.scores, a.scores, pieces.attributed)


@pytest.mark.parametrize("pair", [False, True])
def test_occlusion_matches_captum_feature_ablation_with_word_masks(model, pair):
    classifier, tokenizer = model
    contexts = list(reversed(TEXTS[:2])) if pair else None
    instances = encode(tokenizer, TEXTS[:2], contexts)
    ours = explain_words(classifier, instances, "occlusion", {"pooling": "sum"})
    for i, pieces in enumerate(instances):
        ids, types = tensors(classifier, pieces)
        embeds = classifier.embedding(ids).detach()
        logits = forward_embeds(classifier, types)

        def probabilities(x, logits=logits):
            return torch.softmax(logits(x), dim=-1)

        # Feature w + 1 = the pieces of word w; unattributed pieces share feature 0, ignored.
        groups = torch.as_tensor(pieces.piece_words + 1).view(1, -1, 1).expand_as(embeds)
        theirs = FeatureAblation(probabilities).attribute(
            embeds, baselines=0.0, target=ours[i].target, feature_mask=groups
        )
        expected = np.zeros(pieces.n_words)
        for word in range(pieces.n_words):
            where = pieces.piece_words == word
            if where.any():
                expected[word] = float(theirs[0, np.flatnonzero(where)[0], 0])
        close(ours[i].scores, expected, np.ones(pieces.n_words, dtype=bool))


def test_omission_deletes_every_piece_of_the_word(tiny_bert):
    classifier, tokenizer = tiny_bert
    (pieces,) = encode(tokenizer, [TEXTS[0]])
    (ours,) = explain_words(classifier, [pieces], "omission", {})
    full = torch.softmax(classifier.model(input_ids=torch.as_tensor([pieces.input_ids])).logits, -1)
    target = ours.target
    for word in range(pieces.n_words):
        kept = [
            token
            for token, owner in zip(pieces.input_ids, pieces.piece_words, strict=True)
            if owner != word
        ]
        without = torch.softmax(classifier.model(input_ids=torch.as_tensor([kept])).logits, -1)
        assert ours.scores[word] == pytest.approx(
            float(full[0, target] - without[0, target]), abs=1e-6
        )


def test_attention_is_the_first_tokens_row_summed_per_word(model):
    classifier, tokenizer = model
    (pieces,) = encode(tokenizer, [TEXTS[1]])
    params = {"layer": -1, "head_pooling": "mean", "pooling": "sum"}
    (ours,) = explain_words(classifier, [pieces], "attention", params)
    maps = classifier.model(
        input_ids=torch.as_tensor([pieces.input_ids]), output_attentions=True
    ).attentions
    row = maps[-1][0].mean(dim=0)[0].detach().numpy()
    expected = np.bincount(
        pieces.piece_words[pieces.attributed],
        weights=row[pieces.attributed],
        minlength=pieces.n_words,
    )
    np.testing.assert_allclose(ours.scores, expected, atol=1e-6)
    assert ours.extras["attention_elsewhere"] == pytest.approx(1 - expected.sum(), abs=1e-6)
    rolled = explain_words(
        classifier,
        [pieces],
        "attention_rollout",
        {"residual": 0.5, "head_pooling": "mean", "pooling": "sum"},
    )[0]
    reference = rollout(list(maps), 0.5)[0, 0].detach().numpy()
    expected_rolled = np.bincount(
        pieces.piece_words[pieces.attributed],
        weights=reference[pieces.attributed],
        minlength=pieces.n_words,
    )
    np.testing.assert_allclose(rolled.scores, expected_rolled, atol=1e-6)


def test_pooling_by_hand_on_words_of_several_pieces(tiny_bert):
    classifier, tokenizer = tiny_bert
    text = "The movie wasn't good!"
    (pieces,) = encode(tokenizer, [text])
    # "wasn't" is one word of ours and three pieces (wasn ' t); "!" is its own word.
    assert tokenizer.convert_ids_to_tokens(pieces.input_ids.tolist()) == [
        "[CLS]",
        "the",
        "movie",
        "wasn",
        "'",
        "t",
        "good",
        "!",
        "[SEP]",
    ]
    assert pieces.piece_words.tolist() == [-1, 0, 1, 2, 2, 2, 3, 4, -1]
    (piece_scores,) = explain_pieces(classifier, [pieces], "grad_input", {"pooling": "sum"})
    s = piece_scores.scores
    expected = {
        "sum": [s[1], s[2], s[3] + s[4] + s[5], s[6], s[7]],
        "mean": [s[1], s[2], (s[3] + s[4] + s[5]) / 3, s[6], s[7]],
        "l2": [
            abs(s[1]),
            abs(s[2]),
            np.sqrt(s[3] ** 2 + s[4] ** 2 + s[5] ** 2),
            abs(s[6]),
            abs(s[7]),
        ],
        "max_abs": [s[1], s[2], s[3 + int(np.argmax(np.abs(s[3:6])))], s[6], s[7]],
    }
    for pooling, values in expected.items():
        (word,) = explain_words(classifier, [pieces], "grad_input", {"pooling": pooling})
        np.testing.assert_allclose(word.scores, values, rtol=1e-12, atol=1e-12)
    # The gradient's l2 pooling is the norm over every piece and embedding dimension.
    (gradient,) = explain_words(classifier, [pieces], "gradient", {"pooling": "l2"})
    ids, types = tensors(classifier, pieces)
    embeds = classifier.embedding(ids).detach()
    raw = Saliency(forward_embeds(classifier, types)).attribute(
        embeds, target=gradient.target, abs=False
    )[0]
    assert gradient.scores[2] == pytest.approx(float(raw[3:6].norm()), rel=1e-5)


def test_text_pairs_attribute_the_second_text_only(tiny_bert):
    classifier, tokenizer = tiny_bert
    (pieces,) = encode(tokenizer, ["heart-warming film"], ["The movie wasn't good!"])
    tokens = tokenizer.convert_ids_to_tokens(pieces.input_ids.tolist())
    assert tokens[:9] == ["[CLS]", "the", "movie", "wasn", "'", "t", "good", "!", "[SEP]"]
    # Our words: heart, -, warming, film (hyphens inside a word are kept whole by our tokenizer?)
    words = tokenize("heart-warming film")[0]
    assert pieces.n_words == len(words)
    assert (pieces.piece_words[:9] == -1).all()
    assert pieces.piece_words[-1] == -1
    assert set(pieces.piece_words[9:-1].tolist()) == set(range(len(words)))
    (word,) = explain_words(classifier, [pieces], "grad_input", {"pooling": "sum"})
    (piece,) = explain_pieces(classifier, [pieces], "grad_input", {"pooling": "sum"})
    assert word.scores.sum() == pytest.approx(piece.scores[9:-1].sum(), rel=1e-9)


def test_words_past_the_maximum_length_are_marked_unseen(tiny_bert):
    classifier, tokenizer = tiny_bert
    words = tokenize(TEXTS[0])[0]
    (pieces,) = encode(tokenizer, [TEXTS[0]], max_length=8)
    assert pieces.length == 8
    assert 0 < pieces.seen_words < len(words)
    assert pieces.seen.tolist() == [True] * pieces.seen_words + [False] * (
        len(words) - pieces.seen_words
    )
    for method, params in (("integrated_gradients", IG), ("omission", {}), ("random", {"seed": 0})):
        (result,) = explain_words(classifier, [pieces], method, params)
        assert len(result.scores) == len(words)
        assert result.extras["seen_words"] == pieces.seen_words
        assert result.extras["words"] == len(words)
        assert (result.scores[pieces.seen_words :] == 0).all()
    erasure = WordErasure(classifier, [pieces])
    seqs, contexts = erasure.inputs()
    assert seqs == [list(range(pieces.seen_words))]
    probabilities = erasure(seqs + [[]], contexts + contexts)
    np.testing.assert_allclose(probabilities[0], predict_proba(classifier, [pieces])[0], atol=1e-12)
    assert probabilities.shape == (2, 2)


def test_words_the_tokenizer_drops_or_merges_are_seen_without_truncation(tiny_bert):
    """BERT maps two emoji to one [UNK] and drops a zero-width space: nothing was truncated."""
    _, tokenizer = tiny_bert
    for text in ("good movie 😀😀", "good movie \u200b"):
        (pieces,) = encode(tokenizer, [text])
        words = tokenize(text)[0]
        assert not pieces.truncated
        assert pieces.seen.tolist() == [True] * len(words)


def test_zero_width_space_markers_belong_to_the_next_word(tiny_roberta):
    """RoBERTa's lone space pieces in doubled spaces go to the following word, as gaps do."""
    _, tokenizer = tiny_roberta
    (pieces,) = encode(tokenizer, ["a  movie"])
    explained = pieces.piece_words[~pieces.special]
    assert (explained >= 0).all()
    assert explained[0] == 0
    assert explained[-1] == 1
