"""The OpenAPI schema tells the truth, and its docs are for signed-in users, served by the app.

Schemathesis reads ``/api/schema/`` from the app itself (WSGI, no network) and drives every
operation with generated requests, valid and invalid, as a researcher with data: any 5xx, a
status code the schema does not document, a body or content type that disagrees with it
fails the test. Each request runs in a savepoint that is rolled back, so writes (create,
launch, delete) never change the data the next request sees.
"""

import contextlib
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err, Ok
from schemathesis.errors import FailureGroup

from config.wsgi import application
from explanations.models import Explanation, Job, Score
from explanations.services.jobs import job_create
from studies.services.assignment import EntryIds, StudyFull, participant_enter
from studies.services.exclusions import (
    ExclusionRules,
    exclusion_create,
    exclusion_revoke,
    exclusions_apply,
)
from studies.services.participants import participant_consent
from tests.studies.factories import film_corpus, make_study
from tests.studies.test_exclusions import run

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Examples per operation and generation mode (valid, then invalid requests): 39 operations
# x 2 modes x 6 made 444 requests (every status code each operation documents came up),
# about 20 s of CPU on a 2-core machine.
EXAMPLES = 6


@dataclass(frozen=True)
class World:
    """A researcher's data: their token, and real path parameters per resource."""

    token: str
    objects: dict[str, list[dict[str, object]]]

    def path_parameters(self, path: str) -> list[dict[str, object]]:
        """Return the real parameter sets of ``path`` (``/api/<resource>/...``)."""
        parts = path.strip("/").split("/")
        return self.objects.get(parts[2] if parts[1] == "analysis" else parts[1], [])


@pytest.fixture
def world(tmp_path, researcher, settings) -> World:
    """A dataset, model, explanations, scores, a job; a live study with participants (one
    who came when it was full, so has no list) and exclusions (one by a rule with nobody as its
    author, revoked; one by hand); a draft study."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, schemathesis.python.wsgi.HOST]
    dataset, model = film_corpus(tmp_path, owner=researcher, n=12)
    live = make_study(researcher, dataset, model, n_items=4, ratings_per_item=1)  # 3 places
    draft = make_study(researcher, dataset, model, n_items=4, launch=False, name="draft")
    run(live, "careless", fail_checks=True, seconds=1)
    careful = run(live, "careful", seconds=6)
    third = participant_enter(study=live, ids=EntryIds(source="prolific", prolific_pid="third"))
    participant_consent(participant=third, agree=True)
    late = participant_enter(study=live, ids=EntryIds(source="prolific", prolific_pid="late"))
    with pytest.raises(StudyFull):  # consented, but the study is full: no list
        participant_consent(participant=late, agree=True)
    (by_rule,) = exclusions_apply(study=live, rules=ExclusionRules(max_failed_checks=0), by=None)
    exclusion_revoke(exclusion=by_rule, by=researcher)
    manual = exclusion_create(participant=careful, reason="asked to withdraw", by=researcher)
    instances = list(dataset.instances.values_list("pk", flat=True))
    job = job_create(
        kind=Job.Kind.SCORE, model=model, dataset=dataset, instance_ids=instances, parameters={}
    )
    # The draft's exclusion_id is the live study's: another study's exclusion is a 404.
    studies = [
        {"id": live.pk, "position": 1, "exclusion_id": manual.pk},
        {"id": draft.pk, "position": 1, "exclusion_id": by_rule.pk},
    ]
    return World(
        token=Token.objects.create(user=researcher).key,
        objects={
            "datasets": [{"name": dataset.name}],
            "models": [{"name": model.name}],
            "instances": [{"id": instances[0]}],
            "explanations": [{"id": Explanation.objects.filter(model=model).earliest("pk").pk}],
            "scores": [{"id": Score.objects.filter(explanation__model=model).earliest("pk").pk}],
            "jobs": [{"id": job.pk}],
            "studies": studies,
        },
    )


@pytest.fixture
def connections_kept():
    """Keep the test's connection open across requests, as Django's test client does.

    The WSGI handler closes the connection when a request ends; inside the test's
    transaction that would end the transaction too.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


class _Seen(Exception):
    """An operation's first failure is recorded; the run goes on with the next one."""


def first_failure(strategy, auth: dict[str, str]) -> str | None:
    """Run up to ``EXAMPLES`` cases of ``strategy``; return the first failure's report."""
    found: list[str] = []

    @hypothesis_settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the report names the case
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: schemathesis.Case) -> None:
        with transaction.atomic():
            try:
                case.call_and_validate(headers=auth, checks=CHECKS)
            except (AssertionError, FailureGroup) as failure:
                found.append(str(failure))
                raise _Seen from None
            finally:
                transaction.set_rollback(True)

    with contextlib.suppress(_Seen):
        check()
    return found[0] if found else None


def test_every_operation_agrees_with_the_schema(world: World, connections_kept: None) -> None:
    auth = {"Authorization": f"Token {world.token}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application, headers=auth)
    results = list(schema.get_all_operations())
    assert not [r.err() for r in results if isinstance(r, Err)], "the schema is not valid"
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    failures: dict[str, str] = {}
    for operation in operations:
        for mode in schemathesis.GenerationMode:
            # Made-up path parameters (mostly 404s) and the real objects'.
            strategies = [operation.as_strategy(mode)]
            if operation.path_parameters:
                names = {p.name for p in operation.path_parameters}
                strategies += [
                    operation.as_strategy(
                        mode, path_parameters={k: v for k, v in real.items() if k in names}
                    )
                    for real in world.path_parameters(operation.path)
                ]
            try:
                failure = first_failure(st.one_of(strategies), auth)
            except Unsatisfiable:
                # Nothing to make invalid (no parameter, no body): only valid requests exist.
                if mode is not schemathesis.GenerationMode.NEGATIVE:
                    raise
                continue
            if failure:
                failures[f"{operation.label} ({mode.value})"] = failure
    assert len(operations) >= 39
    assert not failures, "\n\n".join(f"{label}: {text}" for label, text in failures.items())


def test_docs_and_schema_are_for_signed_in_users_only(researcher, client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 403
    assert b"credentials were not provided" in schema.content
    for page in ("/api/docs/", "/api/redoc/"):
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={page}"
    client.force_login(researcher)
    assert client.get("/api/schema/").status_code == 200


ASSET = re.compile(r"""(?:src|href|spec-url)=["']([^"']+)["']|url:\s*"([^"]+)\"""")
CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")


def referenced(html: str) -> list[str]:
    return [a or b for a, b in ASSET.findall(html)]


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_load_every_byte_from_the_app(researcher, client, page):
    client.force_login(researcher)
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    urls = referenced(html)
    assert any(u.endswith(".js") for u in urls)
    assert "/api/schema/" in urls
    assert "fonts.googleapis" not in html
    assert "fonts.gstatic" not in html
    fetched = set()
    while urls:
        url = urljoin(page, urls.pop())
        parts = urlsplit(url)
        assert not parts.netloc, f"{page} references {url} on another host"
        assert not parts.scheme, f"{page} references {url} on another host"
        if parts.path in fetched:
            continue
        fetched.add(parts.path)
        asset = client.get(url)
        assert asset.status_code == 200, f"{page}: {url} answers {asset.status_code}"
        if parts.path.endswith(".css"):
            body = asset.getvalue().decode()
            urls += [u for u in CSS_URL.findall(body) if not u.startswith("data:")]
    # What the viewers' scripts would fetch at run time (ReDoc's vendor logo, Swagger UI's
    # validator badge) the page's policy refuses.
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    for directive in ("default-src", "script-src", "style-src", "img-src", "connect-src"):
        assert "http" not in policy[directive], directive
        assert "*" not in policy[directive], directive
    assert policy["font-src"] == "'self' data:"


def test_swagger_ui_sends_the_schema_address_to_no_validator(researcher, client):
    client.force_login(researcher)
    html = client.get("/api/docs/").content.decode()
    assert '"validatorUrl": null' in html


def test_an_unknown_api_path_answers_json(api):
    response = api.get("/api/analysis/studies/abc/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "No API endpoint at /api/analysis/studies/abc/" in response.json()["detail"]


def test_a_page_that_does_not_exist_is_not_found(api):
    for page in ("", "abc", "0", "-1", "99"):
        response = api.get(f"/api/datasets/?page={page}")
        assert response.status_code == 404, page
        assert response.json()["detail"] == "Invalid page."


def test_an_unknown_choice_in_a_filter_is_a_documented_400_naming_the_field(api):
    response = api.get("/api/scores/?kind=usefulness")
    assert response.status_code == 400
    assert "usefulness is not one of the available choices" in response.json()["kind"][0]
    response = api.get("/api/models/?architecture=lstm")
    assert response.status_code == 400
    assert list(response.json()) == ["architecture"]
    paths = api.get("/api/schema/?format=json").json()["paths"]
    for path in ("/api/scores/", "/api/models/"):
        error = paths[path]["get"]["responses"]["400"]["content"]["application/json"]
        assert error["schema"] == {"$ref": "#/components/schemas/Error"}


def test_operations_document_their_refusals(api):
    paths = api.get("/api/schema/?format=json").json()["paths"]
    operations = {
        (method, path): operation
        for path, item in paths.items()
        for method, operation in item.items()
    }
    assert len(operations) >= 39
    for (method, path), operation in operations.items():
        assert "403" in operation["responses"], (method, path)
        if "{" in path:
            assert "404" in operation["responses"], (method, path)
    assert "400" in operations[("get", "/api/scores/")]["responses"]
    assert "404" in operations[("get", "/api/scores/")]["responses"]  # ?page=99
    assert "400" in operations[("post", "/api/studies/{id}/launch/")]["responses"]
    assert "400" in operations[("get", "/api/studies/{id}/preview/")]["responses"]
    assert "404" not in operations[("get", "/api/studies/")]["responses"]
