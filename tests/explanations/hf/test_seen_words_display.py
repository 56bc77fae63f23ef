"""Pages say how many words of how many an imported model saw, and grey out the rest."""

import json
import re

import pytest
from django.core.management import call_command
from transformers import AutoTokenizer

from explanations.display import (
    UNSEEN_BACKGROUND,
    UNSEEN_FOREGROUND,
    contrast_ratio,
    seen_words,
    token_cells,
)
from explanations.models import ClassifierModel, Explanation
from tests.explanations.factories import small_dataset

from .factories import TEXTS, bert_folder

SHORT = "Good film."
RECORDS = [
    {"id": str(i), "text": text, "label": "negative" if i % 2 == 0 else "positive"}
    for i, text in enumerate([*TEXTS, SHORT])
]


def _rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def test_unseen_words_are_the_last_words_scored_zero():
    # Truncated: the last two words have no piece and score 0.
    seen = seen_words({"seen_words": 4.0, "words": 6.0}, [0.5, 0.0, -1.0, 0.2, 0.0, 0.0])
    assert seen is not None
    assert (seen.seen, seen.words, seen.truncated) == (4, 6, True)
    assert seen.unseen == {4, 5}
    assert "saw 4 of 6 words; the rest were past its maximum length" in seen.note
    everything = seen_words({"seen_words": 3, "words": 3}, [0.0, 1.0, 2.0])
    assert everything is not None
    assert everything.unseen == frozenset()
    assert everything.note == "The model saw all 3 words."
    assert seen_words({}, [1.0]) is None  # models trained here see every word
    assert seen_words({"completeness_gap": 0.1}, [1.0]) is None


def test_unseen_cells_are_grey_readable_and_marked():
    cells = token_cells(["a", "b", "c"], [1.0, -0.5, 0.0], unseen={2})
    assert [c.seen for c in cells] == [True, True, False]
    assert (cells[2].background, cells[2].foreground) == (UNSEEN_BACKGROUND, UNSEEN_FOREGROUND)
    assert contrast_ratio(_rgb(UNSEEN_BACKGROUND), _rgb(UNSEEN_FOREGROUND)) >= 4.5
    assert cells[0].background != UNSEEN_BACKGROUND
    # Callers that know nothing of seen words get every cell seen, as before.
    assert all(c.seen for c in token_cells(["a", "b"], [1.0, 0.0]))


@pytest.mark.django_db
def test_pages_say_how_many_words_the_model_saw(tmp_path, researcher, client):
    dataset = small_dataset(tmp_path, name="reviews", records=RECORDS, owner=researcher)
    texts = [r["text"] for r in RECORDS]
    # Ten pieces: [CLS], eight pieces of text, [SEP]; every long text is cut.
    folder = bert_folder(tmp_path / "model", texts=texts, max_length=10)
    call_command("import_model", str(folder), name="short", dataset="reviews", verbosity=0)
    model = ClassifierModel.objects.get(name="short")
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    lines = []
    for instance in dataset.instances.all():
        ids = tokenizer(instance.text, truncation=True, max_length=10)["input_ids"]
        lines.append(
            {
                "instance": instance.external_id,
                "method": "grad_input",
                "input_ids": ids,
                "scores": [1.0] * len(ids),
            }
        )
    path = tmp_path / "subword.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    call_command(
        "import_explanations",
        str(path),
        model="short",
        dataset="reviews",
        format="subword",
        verbosity=0,
    )
    client.force_login(researcher)

    long_one = Explanation.objects.get(model=model, instance__external_id="0")
    seen, words = long_one.extras["seen_words"], long_one.extras["words"]
    assert 0 < seen < words == len(long_one.instance.tokens)
    page = client.get(long_one.instance.get_absolute_url()).content.decode()
    assert f"The model saw {seen} of {words} words; the rest were past its maximum length" in page
    assert page.count('class="tok tok-unseen"') == words - seen
    assert page.count('<tr class="unseen"') == words - seen
    assert "not seen by the model (past its maximum length)" in page
    assert "seen_words =" not in page  # shown as a sentence, not as a raw detail
    # The words the model saw keep their colours; the first unseen word is the first cut.
    unseen_tokens = re.findall(r'class="tok tok-unseen"[^>]*>([^<]*)<', page)
    assert unseen_tokens == long_one.instance.tokens[seen:]

    short = Explanation.objects.get(model=model, instance__external_id=str(len(TEXTS)))
    page = client.get(short.instance.get_absolute_url()).content.decode()
    assert f"The model saw all {len(short.instance.tokens)} words." in page
    assert "tok-unseen" not in page

    scores_page = client.get(f"/models/{model.name}/scores/").content.decode()
    assert f"{len(TEXTS)} of {len(RECORDS)} instances were truncated" in scores_page
    assert "(10 pieces)" in scores_page
