"""An imported Hugging Face model through the platform: predict, explain, score, by command."""

import pytest
from django.core.management import call_command

from explanations.compute.plausibility import Rationale, plausibility_scores
from explanations.models import ClassifierModel, Explanation, Job, Prediction, Score
from tests.explanations.factories import small_dataset, synthetic_records

from .factories import bert_folder, roberta_folder

pytestmark = pytest.mark.django_db

HF_METHODS = {
    "attention",
    "attention_rollout",
    "gradient",
    "grad_input",
    "integrated_gradients",
    "occlusion",
    "omission",
    "random",
}


@pytest.mark.parametrize("build", [bert_folder, roberta_folder])
def test_commands_run_on_an_imported_model(tmp_path, build, settings):
    settings.ELEPHANT_MAX_BATCH_TOKENS = 256  # several passes per integrated-gradients group
    records = synthetic_records(12)
    # A rationale that marks the first word and one past the model's maximum length.
    records[0]["text"] = "good film and a very fine story with lovely music and a warm plot."
    records[0]["rationales"] = [[0, 13]]
    dataset = small_dataset(tmp_path, name="synthetic", records=records)
    texts = [r["text"] for r in records]
    # The model's labels are in the other order: predictions must come back in the dataset's.
    folder = build(tmp_path / "model", texts=texts, labels=("POSITIVE", "NEGATIVE"), max_length=10)
    call_command("import_model", str(folder), name="tiny", dataset=dataset.name)
    model = ClassifierModel.objects.get(name="tiny")
    assert model.config["label_order"] == [1, 0]
    call_command("predict", model="tiny", dataset=dataset.name)
    assert Prediction.objects.filter(model=model).count() == len(records)
    call_command("compute_explanations", model="tiny", dataset=dataset.name)
    stored = Explanation.objects.filter(model=model)
    assert set(stored.values_list("method__name", flat=True)) == HF_METHODS
    assert stored.count() == len(records) * len(HF_METHODS)
    for explanation in stored.select_related("instance", "method"):
        words = len(explanation.instance.tokens)
        assert len(explanation.scores) == words
        assert explanation.extras["words"] == words
        seen = int(explanation.extras["seen_words"])
        # max_length 10 leaves 8 pieces for words: longer texts are cut, and say so.
        assert seen <= 8
        assert all(score == 0 for score in explanation.scores[seen:])
        if explanation.method.name in {"gradient", "grad_input", "integrated_gradients"}:
            assert explanation.parameters["pooling"] == (
                "l2" if explanation.method.name == "gradient" else "sum"
            )
    assert any(e.extras["seen_words"] < e.extras["words"] for e in stored)
    call_command(
        "compute_scores",
        model="tiny",
        dataset=dataset.name,
        metrics="comprehensiveness,sufficiency,decision_flip,tau_loo,agreement_tau,plausibility",
    )
    assert Job.objects.filter(model=model, status=Job.Status.FAILED).count() == 0
    scores = Score.objects.filter(explanation__model=model)
    assert scores.filter(metric="comprehensiveness_aopc").count() == len(records) * len(HF_METHODS)
    assert scores.filter(metric="tau_loo", value__isnull=False).exists()

    # Plausibility uses the seen words only: the unseen rationale word is left out.
    first = Explanation.objects.get(
        model=model, instance__external_id="t0", method__name="grad_input"
    )
    seen = int(first.extras["seen_words"])
    assert seen < 13
    expected = plausibility_scores(first.scores[:seen], [Rationale("a", indices=[0])]).mean
    stored_f1 = Score.objects.get(explanation=first, metric="rationale_f1").value
    assert stored_f1 == pytest.approx(expected["rationale_f1"])
