"""``train_model --attention``: Wiegreffe & Pinter's uniform-attention baseline from the command line."""

import pytest
import torch
from django.core.management import call_command
from django.core.management.base import CommandError

from explanations.compute.batching import make_batch
from explanations.models import ClassifierModel
from explanations.services.model_store import model_load
from tests.explanations.factories import small_dataset, synthetic_records

pytestmark = pytest.mark.django_db


def test_train_model_with_uniform_attention_stores_a_uniform_model(tmp_path):
    small_dataset(tmp_path, name="films", records=synthetic_records(16))
    call_command(
        "train_model",
        "--dataset=films",
        "--architecture=bilstm_attention",
        "--name=flat",
        "--epochs=1",
        "--attention=uniform",
        verbosity=0,
    )
    stored = ClassifierModel.objects.get(name="flat")
    assert stored.config["attention"] == "uniform"
    model, _ = model_load(stored)
    with torch.no_grad():
        attention = model(make_batch([[2, 3, 4, 5], [6, 7]])).attention
    assert torch.equal(attention, torch.tensor([[0.25] * 4, [0.5, 0.5, 0.0, 0.0]]))


@pytest.mark.parametrize("kind", ["uniform", "learned"])
def test_train_model_refuses_attention_for_the_transformer(tmp_path, kind):
    small_dataset(tmp_path, name="films", records=synthetic_records(8))
    with pytest.raises(CommandError, match="bilstm_attention only: the transformer has no single"):
        call_command(
            "train_model",
            "--dataset=films",
            "--architecture=transformer",
            "--name=flat",
            f"--attention={kind}",
            verbosity=0,
        )
    assert not ClassifierModel.objects.exists()


def test_train_model_offers_only_learned_or_uniform_attention(tmp_path):
    small_dataset(tmp_path, name="films", records=synthetic_records(8))
    with pytest.raises(CommandError, match="invalid choice: 'frozen'"):
        call_command(
            "train_model",
            "--dataset=films",
            "--architecture=bilstm_attention",
            "--name=flat",
            "--attention=frozen",
            verbosity=0,
        )
