"""A researcher imports a Hugging Face model on the model list page and reads its explanations."""

import shutil

import pytest

from explanations.models import ClassifierModel
from explanations.services.computing import explanations_compute
from explanations.services.modeling import model_predict
from tests.explanations.factories import small_dataset
from tests.explanations.hf.factories import bert_folder

from .a11y import contrast_problems

pytestmark = pytest.mark.django_db(transaction=True)

LONG = "A wonderful, moving film with a superb cast and a story that stays with you for days."


def test_researcher_imports_a_model_and_sees_which_words_it_saw(
    logged_in, live_server, researcher, tmp_path
):
    page = logged_in
    records = [
        {"id": "long", "text": LONG, "label": "positive"},
        {"id": "short", "text": "Dull and far too long.", "label": "negative"},
    ]
    dataset = small_dataset(tmp_path, owner=researcher, records=records)
    folder = bert_folder(tmp_path / "bert", texts=[r["text"] for r in records], max_length=12)
    archive = shutil.make_archive(str(tmp_path / "bert"), "zip", folder)

    page.goto(f"{live_server.url}/models/")
    page.get_by_label("Model folder (.zip)").set_input_files(archive)
    # The rest of the form with the keyboard alone.
    page.get_by_label("Model name").focus()
    page.keyboard.type("my-bert")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.get_by_label("Dataset").select_option(dataset.name)
    page.get_by_role("button", name="Import").press("Enter")
    row = page.get_by_role("row", name="my-bert")
    row.wait_for()
    assert "bert" in row.inner_text()
    assert "12" in row.inner_text()

    model = ClassifierModel.objects.get(name="my-bert")
    model_predict(model=model, dataset=dataset)
    explanations_compute(
        model=model, dataset=dataset, methods=["integrated_gradients", "attention"]
    )
    page.goto(f"{live_server.url}/datasets/{dataset.name}/instances/long/")
    note = page.locator("#grid-seen")
    note.wait_for()
    words = len(model.explanations.filter(instance__external_id="long").first().scores)
    assert f"of {words} words" in note.inner_text()
    assert contrast_problems(page) == []
