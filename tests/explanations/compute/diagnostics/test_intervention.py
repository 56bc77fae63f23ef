"""The attention intervention: the layers after attention, rerun for many weightings."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from explanations.compute.diagnostics import (
    adversarial_attention,
    jain_wallace_gradient,
    permutation_test,
)
from explanations.compute.diagnostics.intervention import (
    BiLSTMIntervention,
    TransformerIntervention,
    instance_generator,
    renormalised,
)

from .conftest import hand_intervention, hand_probabilities, tiny_batch, tiny_model


def _probabilities(model, batch):
    with torch.no_grad():
        return torch.softmax(model(batch).logits, dim=-1)


@pytest.mark.parametrize("pair", [False, True])
def test_own_weights_reproduce_the_model(pair):
    model = tiny_model(pair=pair)
    batch = tiny_batch(pair=pair)
    intervention = BiLSTMIntervention(model, batch)
    with torch.no_grad():
        output = model(batch)
    torch.testing.assert_close(intervention.attention, output.attention, rtol=0, atol=1e-7)
    torch.testing.assert_close(
        intervention.probabilities, _probabilities(model, batch), rtol=0, atol=1e-6
    )


def test_hand_set_output_for_given_weights():
    values, attention = [3.0, 1.0, -2.0, -4.0], [0.4, 0.3, 0.2, 0.1]
    intervention = hand_intervention(values, attention)
    weights = torch.tensor([[[0.25, 0.25, 0.25, 0.25], [0.0, 0.5, 0.5, 0.0], [1.0, 0, 0, 0]]])
    with torch.no_grad():
        ours = intervention.probabilities_for(weights)[0].numpy()
    for row, given in enumerate(weights[0].tolist()):
        np.testing.assert_allclose(ours[row], hand_probabilities(values, given), atol=1e-7)


@pytest.mark.parametrize("pair", [False, True])
def test_batched_equals_a_per_instance_loop(pair):
    model = tiny_model(pair=pair)
    batch = tiny_batch(pair=pair)
    intervention = BiLSTMIntervention(model, batch)
    rng = np.random.default_rng(1)
    width = batch.input_ids.shape[1]
    lengths = batch.lengths.tolist()
    weights = np.zeros((batch.size, 4, width), dtype=np.float32)
    for row, n in enumerate(lengths):
        weights[row, :, :n] = rng.dirichlet(np.ones(n), size=4)
    with torch.no_grad():
        batched = intervention.probabilities_for(torch.from_numpy(weights)).numpy()
        for row, n in enumerate(lengths):
            alone = BiLSTMIntervention(model, batch.select(torch.tensor([row])))
            for r in range(4):
                one = torch.from_numpy(weights[row : row + 1, r : r + 1, :n])
                single = alone.probabilities_for(one)[0, 0].numpy()
                np.testing.assert_allclose(batched[row, r], single, atol=1e-6)


def test_zeroed_weights_are_renormalised():
    intervention = hand_intervention([3.0, 1.0, -2.0, -4.0], [0.4, 0.3, 0.2, 0.1])
    keep = torch.tensor([[[True, False, True, False], [False] * 4]])
    with torch.no_grad():
        ours = intervention.zeroed_probabilities(keep)[0].numpy()
    np.testing.assert_allclose(
        ours[0], hand_probabilities([3, 1, -2, -4], [2 / 3, 0, 1 / 3, 0]), atol=1e-7
    )
    # nothing kept: a zero context, logits (0, bias)
    np.testing.assert_allclose(ours[1], hand_probabilities([3, 1, -2, -4], [0, 0, 0, 0]))
    assert renormalised(torch.zeros(2, 3)).abs().sum() == 0


@pytest.mark.parametrize("pair", [False, True])
def test_transformer_cls_row_zeroing_matches_masking_that_key(pair):
    model = tiny_model("transformer", pair=pair)
    batch = tiny_batch(pair=pair)
    intervention = TransformerIntervention(model, batch)
    with torch.no_grad():
        output = model(batch)
        torch.testing.assert_close(intervention.attention, output.attention, rtol=0, atol=1e-6)
        torch.testing.assert_close(
            intervention.probabilities, _probabilities(model, batch), rtol=0, atol=1e-6
        )
        token = 0  # every instance has a first token
        keep = torch.ones(batch.size, 1, batch.input_ids.shape[1], dtype=torch.bool)
        keep[:, 0, token] = False
        ours = intervention.zeroed_probabilities(keep)[:, 0]
        # reference: the last layer run with that key masked; only the CLS row feeds the output
        hidden, key_mask = model._sequence(model.embed(batch), batch)
        for layer in model.layers[:-1]:
            hidden, _ = layer(hidden, key_mask)
        masked = key_mask.clone()
        masked[:, 1 + token] = False
        hidden, _ = model.layers[-1](hidden, masked)
        reference = torch.softmax(model.output(model.final_norm(hidden[:, 0])), dim=-1)
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-6)


def test_training_mode_is_refused():
    model = tiny_model().train()
    with pytest.raises(ValueError, match="eval mode"):
        BiLSTMIntervention(model, tiny_batch())


def test_instance_generators_are_independent_of_the_batch():
    first = instance_generator(3, 17).permutation(10)
    again = instance_generator(3, 17).permutation(10)
    other = instance_generator(3, 18).permutation(10)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    with pytest.raises(ValueError, match="non-negative"):
        instance_generator(-1, 0)


def test_diagnostics_do_not_load_django():
    code = (
        "import sys\n"
        "import explanations.compute.diagnostics\n"
        "assert 'django' not in sys.modules, 'django imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bilstm_only_diagnostics_refuse_a_transformer_by_name():
    model = tiny_model("transformer")
    for diagnostic in (permutation_test, adversarial_attention, jain_wallace_gradient):
        with pytest.raises(ValueError, match="BiLSTM attention model only"):
            diagnostic(model, tiny_batch())
