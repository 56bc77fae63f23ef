"""The train_model and predict commands, and the device check of the model store."""

import pytest
import torch
from django.core.management import call_command
from django.core.management.base import CommandError

from explanations.models import ClassifierModel
from explanations.services.model_store import ModelUnavailable, configured_device, model_load
from explanations.services.modeling import model_train
from tests.explanations.factories import small_dataset, synthetic_records, trained_model

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--embedding-dim", "-4", "embedding_dim must be an integer >= 1, got -4"),
        ("--embedding-dim", "0", "embedding_dim must be an integer >= 1, got 0"),
        ("--hidden-dim", "0", "hidden_dim must be an integer >= 1, got 0"),
    ],
)
def test_train_model_reports_a_bad_size_as_a_command_error(tmp_path, option, value, message):
    small_dataset(tmp_path, name="films", records=synthetic_records(8))
    with pytest.raises(CommandError, match=message):
        call_command(
            "train_model",
            "--dataset=films",
            "--architecture=transformer",
            "--name=bad",
            option,
            value,
            verbosity=0,
        )
    assert not ClassifierModel.objects.exists()


def test_model_train_refuses_an_unknown_architecture(tmp_path):
    dataset = small_dataset(tmp_path, name="films", records=synthetic_records(8))
    with pytest.raises(ValueError, match="unknown architecture 'cnn'; expected one of"):
        model_train(dataset=dataset, name="cnn", architecture="cnn")


def test_an_unknown_device_is_refused_by_name(settings):
    settings.ELEPHANT_DEVICE = "cpu"
    assert configured_device() == torch.device("cpu")
    settings.ELEPHANT_DEVICE = "gpu0"
    with pytest.raises(ModelUnavailable, match="ELEPHANT_DEVICE='gpu0' is not usable"):
        configured_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_predict_on_a_missing_cuda_device_is_a_command_error(tmp_path, settings):
    model, dataset = trained_model(tmp_path, n=24)
    settings.ELEPHANT_DEVICE = "cuda"
    with pytest.raises(ModelUnavailable, match="ELEPHANT_DEVICE='cuda' is not usable"):
        model_load(model)
    with pytest.raises(CommandError, match="set it to 'cpu'"):
        call_command("predict", f"--model={model.name}", f"--dataset={dataset.name}", verbosity=0)
