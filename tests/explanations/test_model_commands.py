"""The train_model and predict commands, and the device check of the model store."""

import pytest
import torch
from django.core.management import call_command
from django.core.management.base import CommandError

from explanations.models import ClassifierModel
from explanations.services import modeling
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


def _files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if training starts: a refused name must be refused before any work."""

    def refuse(*args, **kwargs):
        raise AssertionError("training ran")

    monkeypatch.setattr("explanations.services.modeling.train_classifier", refuse)


@pytest.mark.parametrize("name", ["..", "../../x", "./my-model", ".", "a/b", "/etc/x"])
def test_train_model_refuses_a_name_that_is_not_a_slug_before_any_work(
    tmp_path, settings, no_training, name
):
    small_dataset(tmp_path, name="films", records=synthetic_records(8))
    settings.MODEL_STORE.mkdir()
    (settings.MODEL_STORE / "my-model").mkdir()
    (settings.MODEL_STORE / "my-model" / "weights.pt").write_bytes(b"another model's")
    before = _files_under(tmp_path)
    with pytest.raises(CommandError, match="is not allowed"):
        call_command(
            "train_model",
            "--dataset=films",
            "--architecture=transformer",
            f"--name={name}",
            "--epochs=1",
            verbosity=0,
        )
    assert _files_under(tmp_path) == before
    assert not ClassifierModel.objects.exists()


def test_model_train_refuses_a_store_folder_it_did_not_create(tmp_path, settings, no_training):
    dataset = small_dataset(tmp_path, name="films", records=synthetic_records(8))
    foreign = settings.MODEL_STORE / "taken"
    foreign.mkdir(parents=True)
    (foreign / "weights.pt").write_bytes(b"not ours")
    with pytest.raises(ValueError, match="exists already in the model store"):
        model_train(dataset=dataset, name="taken", architecture="transformer", epochs=1)
    assert _files_under(foreign) == ["weights.pt"]
    assert (foreign / "weights.pt").read_bytes() == b"not ours"
    assert not ClassifierModel.objects.exists()


def test_a_folder_appearing_during_training_is_left_untouched(tmp_path, settings, monkeypatch):
    dataset = small_dataset(tmp_path, name="films", records=synthetic_records(8))
    foreign = settings.MODEL_STORE / "racy"
    train = modeling.train_classifier

    def train_then_someone_writes(*args, **kwargs):
        result = train(*args, **kwargs)
        foreign.mkdir(parents=True)
        (foreign / "weights.pt").write_bytes(b"not ours")
        return result

    monkeypatch.setattr(modeling, "train_classifier", train_then_someone_writes)
    with pytest.raises(ValueError, match="exists already in the model store"):
        model_train(dataset=dataset, name="racy", architecture="transformer", epochs=1)
    assert _files_under(foreign) == ["weights.pt"]
    assert (foreign / "weights.pt").read_bytes() == b"not ours"
    assert not ClassifierModel.objects.exists()


def test_a_failed_run_removes_only_the_folder_it_created(tmp_path, settings, monkeypatch):
    dataset = small_dataset(tmp_path, name="films", records=synthetic_records(8))
    settings.MODEL_STORE.mkdir()
    (settings.MODEL_STORE / "other").mkdir()

    def refuse(self, *args, **kwargs):
        raise ValueError("the row cannot be saved")

    monkeypatch.setattr(ClassifierModel, "full_clean", refuse)
    with pytest.raises(ValueError, match="the row cannot be saved"):
        model_train(dataset=dataset, name="fresh", architecture="transformer", epochs=1)
    assert _files_under(settings.MODEL_STORE) == ["other"]
