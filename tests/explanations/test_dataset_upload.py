"""The dataset upload page (issue #15): all or nothing, problems by line and field, limits."""

import json
import tempfile

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from explanations.io.problems import ImportFailed
from explanations.models import Dataset
from explanations.services.datasets import dataset_import

from .factories import RECORDS, row_counts, small_dataset

pytestmark = pytest.mark.django_db
URL = "/datasets/upload/"


def jsonl(records: list[dict], name: str = "films.jsonl") -> SimpleUploadedFile:
    body = "".join(json.dumps(r) + "\n" for r in records).encode()
    return SimpleUploadedFile(name, body, content_type="application/octet-stream")


@pytest.fixture
def logged_in(client, researcher):
    client.force_login(researcher)
    return client


def test_login_required(client, researcher):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    response = client.post(URL, {"file": jsonl(RECORDS), "name": "films"})
    assert response.status_code == 302
    assert not Dataset.objects.exists()
    client.force_login(researcher)
    assert client.get(URL).status_code == 200


def test_form_renders_and_list_links_to_it(logged_in):
    page = logged_in.get(URL).content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert 'type="file"' in page
    assert "<progress" in page
    assert "js/dataset_upload.js" in page
    assert 'href="/datasets/upload/"' in logged_in.get("/datasets/").content.decode()


def test_good_file_imports_and_redirects_with_the_count(logged_in, researcher):
    response = logged_in.post(
        URL,
        {
            "file": jsonl(RECORDS),
            "name": "films",
            "format": "jsonl",
            "labels": "negative, positive",
            "description": "Three reviews.",
        },
        follow=True,
    )
    assert response.redirect_chain == [("/datasets/films/", 302)]
    dataset = Dataset.objects.get(name="films")
    assert dataset.owner == researcher
    assert dataset.label_names == ["negative", "positive"]
    assert dataset.description == "Three reviews."
    assert dataset.instances.count() == 3
    assert "Added 3 instance(s) to dataset films" in response.content.decode()


def test_script_upload_gets_the_location_and_the_message_waits(logged_in):
    response = logged_in.post(
        URL,
        {"file": jsonl(RECORDS), "name": "films"},
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert response.status_code == 200
    assert response.json() == {"location": "/datasets/films/"}
    assert "Added 3 instance(s)" in logged_in.get("/datasets/films/").content.decode()


def test_bad_file_lists_every_line_and_field_and_imports_nothing(logged_in):
    before = row_counts()
    records = [
        RECORDS[0],
        {"id": "a2", "label": "negative"},
        {"id": "a3", "text": "Fine.", "label": "positive", "split": "x" * 30},
    ]
    response = logged_in.post(URL, {"file": jsonl(records, "mine.jsonl"), "name": "films"})
    assert response.status_code == 400
    page = response.content.decode()
    summary = page[
        page.index('class="error-summary"') : page.index("</div>", page.index("error-summary"))
    ]
    assert 'role="alert"' in page[page.index("<div", page.index("error-summary") - 40) :][:200]
    assert "Nothing was imported: 2 problems in the file" in summary
    assert "mine.jsonl, line 2, field &#x27;text&#x27;" in summary
    assert "mine.jsonl, line 3, field &#x27;split&#x27;" in summary
    assert tempfile.gettempdir() not in summary  # the spooled copy's name is never shown
    assert row_counts() == before


def test_existing_name_needs_append(logged_in, researcher, tmp_path):
    small_dataset(tmp_path, owner=researcher, records=RECORDS[:2])
    response = logged_in.post(URL, {"file": jsonl(RECORDS), "name": "films"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "field &#x27;name&#x27;: dataset &#x27;films&#x27; already has 2 instance(s)" in page
    assert 'href="#id_append"' in page
    assert Dataset.objects.get(name="films").instances.count() == 2

    response = logged_in.post(
        URL, {"file": jsonl(RECORDS), "name": "films", "append": "on"}, follow=True
    )
    assert response.redirect_chain == [("/datasets/films/", 302)]
    assert "Added 1 instance(s) to dataset films; 2 were already there" in response.content.decode()
    assert Dataset.objects.get(name="films").instances.count() == 3


def test_another_users_name_is_refused(logged_in, tmp_path):
    other = get_user_model().objects.create_user("bob", password="a-long-test-password")
    small_dataset(tmp_path, owner=other)
    response = logged_in.post(URL, {"file": jsonl(RECORDS), "name": "films", "append": "on"})
    assert response.status_code == 400
    page = response.content.decode()
    assert '<a href="#id_name">Dataset name: Dataset name &#x27;films&#x27; is taken' in page
    assert Dataset.objects.get(name="films").owner == other


def test_size_limit_from_settings(logged_in, settings):
    upload = jsonl(RECORDS)
    settings.ELEPHANT_MAX_UPLOAD_BYTES = upload.size - 1
    response = logged_in.post(URL, {"file": upload, "name": "films"})
    assert response.status_code == 400
    page = response.content.decode()
    assert (
        f"Dataset file: films.jsonl is {upload.size}\xa0bytes; expected at most "
        f"{upload.size - 1}\xa0bytes (ELEPHANT_MAX_UPLOAD_BYTES={upload.size - 1})"
    ) in page
    assert "python manage.py import_dataset" in page
    assert not Dataset.objects.exists()


def test_missing_fields_are_named(logged_in):
    response = logged_in.post(URL, {"name": "not a slug!"})
    assert response.status_code == 400
    page = response.content.decode()
    assert '<a href="#id_file">Dataset file: This field is required.</a>' in page
    assert '<a href="#id_name">Dataset name:' in page


def test_a_dataset_cannot_take_the_upload_pages_name(tmp_path, researcher):
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": "a", "text": "fine film", "label": "pos"}\n')
    with pytest.raises(ImportFailed, match="'upload' is reserved"):
        dataset_import(path=path, name="upload", owner=researcher)
