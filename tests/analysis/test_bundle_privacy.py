"""No platform id leaves through an export: the bundle and every download name pseudonyms."""

import csv
import hashlib
import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from analysis.bundle import bundle_zip
from analysis.services.simulated import participants_simulate
from studies.models import Invitation, Participant
from studies.services.exclusions import exclusion_create
from studies.services.privacy import participant_data_delete
from tests.analysis.background import analysis_computed
from tests.studies.test_privacy import crowd_study, mturk, prolific

from .conftest import FAST

pytestmark = pytest.mark.django_db

# Distinctive, so a stray copy anywhere is found by a plain byte search.
PLATFORM_IDS = {
    "prolific": ("PROLIFICPIDA7Q3ZX91", "PROLIFICPIDB8R4YW02"),
    "session": ("SESSIONIDK5M2", "SESSIONIDL6N3"),
    "prolific_study": ("PROLIFIC-STUDY-1",),
    "worker": ("WORKERIDC4T9UV",),
    "mturk": ("ASSIGN-WORKERIDC4T9UV", "HIT-1"),
}


@pytest.fixture
def crowd(researcher, corpus):
    """A study with two Prolific and one MTurk participant, a simulated one, an exclusion and
    a deletion: (study, the deleted participant's pseudonym, pseudonyms of those left, the
    excluded participant's pseudonym)."""
    study = crowd_study(researcher, corpus, ratings_per_item=3)
    first = prolific(study, PLATFORM_IDS["prolific"][0], session=PLATFORM_IDS["session"][0])
    gone = prolific(study, PLATFORM_IDS["prolific"][1], session=PLATFORM_IDS["session"][1])
    worker = mturk(study, PLATFORM_IDS["worker"][0])
    participants_simulate(study=study, n=1, seed=2)
    exclusion_create(participant=worker, reason="by hand", by=researcher)
    deleted = gone.pseudonym
    participant_data_delete(study=study, actor=researcher, pseudonym=deleted, reason="asked")
    left = {p.pseudonym for p in Participant.objects.filter(study=study).select_related("study")}
    assert first.pseudonym in left
    return study, deleted, left, worker.pseudonym


def _leaks(content: bytes, study) -> list[str]:
    """Return every platform id, uid, token or secret of ``study`` found in ``content``."""
    needles = [value for values in PLATFORM_IDS.values() for value in values]
    study.refresh_from_db()
    needles.append(study.pseudonym_secret)
    for p in Participant.objects.filter(study=study):
        needles += [str(p.uid), p.uid.hex]
    needles += list(Invitation.objects.filter(study=study).values_list("token", flat=True))
    return [n for n in needles if n.encode() in content]


def _zip_members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_bundle_holds_pseudonyms_and_no_platform_id(crowd, tmp_path):
    study, deleted, left, excluded = crowd
    files = _zip_members(bundle_zip(study=study, options=FAST))
    assert any(name.endswith("responses.csv") for name in files)
    for name, content in files.items():
        assert _leaks(content, study) == [], name
        assert deleted.encode() not in content or name.endswith("manifest.json"), name
    by_name = {name.rsplit("/", 1)[-1]: content for name, content in files.items()}
    for table in ("responses.csv", "participants.csv"):
        rows = list(csv.DictReader(io.StringIO(by_name[table].decode())))
        assert {row["participant_id"] for row in rows} <= left, table
    people = list(csv.DictReader(io.StringIO(by_name["participants.csv"].decode())))
    assert {row["participant_id"] for row in people} == left
    results = json.loads(by_name["results.json"])
    assert [e["participant_id"] for e in results["exclusions"]["log"]] == [excluded]
    manifest = json.loads(by_name["manifest.json"])
    assert [(d["pseudonym"], d["answers"] > 0) for d in manifest["deletions"]] == [(deleted, True)]
    assert set(manifest["deletions"][0]) >= {"pseudonym", "when", "answers"}
    assert manifest["consent"]["sha256"] == hashlib.sha256(study.consent_text.encode()).hexdigest()
    assert "pseudonym" in manifest["privacy"]["participant_id"]
    # The same files on disk, by the command.
    out = tmp_path / "bundle"
    call_command("export_analysis", study=str(study.pk), out=str(out), resamples=20)
    for path in out.rglob("*"):
        if path.is_file():
            assert _leaks(path.read_bytes(), study) == [], path.name


def test_every_download_names_pseudonyms_only(crowd, researcher):
    study, deleted, left, _ = crowd
    web = Client()
    web.force_login(researcher)
    api = APIClient()
    api.force_authenticate(researcher)
    base = f"/studies/{study.pk}/analysis/"
    analysis_computed(study)
    analysis_computed(study, {"n_resamples": "20"})
    downloads = {
        "page": web.get(base).content,
        "bundle": web.get(base + "bundle.zip?n_resamples=20").content,
        "api results": api.get(f"/api/analysis/studies/{study.pk}/?n_resamples=20").content,
        "api bundle": api.get(f"/api/analysis/studies/{study.pk}/bundle/?n_resamples=20").content,
        "api responses": api.get(f"/api/studies/{study.pk}/responses/").content,
        "api participants": api.get(f"/api/studies/{study.pk}/participants/").content,
        "api exclusions": api.get(f"/api/studies/{study.pk}/exclusions/").content,
        "progress page": web.get(f"/studies/{study.pk}/progress/").content,
    }
    results = json.loads(downloads["api results"])
    for name in results["plots"]:
        for fmt in ("svg", "png"):
            downloads[f"plot {name}.{fmt}"] = web.get(
                f"{base}plots/{name}.{fmt}?n_resamples=20"
            ).content
    for name in ("bundle", "api bundle"):
        for member, content in _zip_members(downloads.pop(name)).items():
            downloads[f"{name}: {member}"] = content
    for name, content in downloads.items():
        assert _leaks(content, study) == [], name
    rows = json.loads(downloads["api responses"])
    assert {r["participant_id"] for r in rows["responses"]} <= left
    assert {r["participant_id"] for r in rows["questionnaire"]} <= left
    assert not any("external_id" in r for r in rows["responses"])
    assert deleted.encode() not in downloads["api responses"]
