"""Participant load: simulated participants answering a live study through gunicorn on PostgreSQL.

Run: ``python -m bench.participants`` (``--quick`` for a 20-participant smoke run).

It drops and recreates PostgreSQL database ``elephant_bench_participants`` (at
``BENCH_POSTGRES_URL`` or the local server, user postgres), migrates it, and builds through
the services a small dataset with imported explanations and predictions, a researcher, and one
launched plausibility-rating study per scenario with places to spare. It then serves the app
with gunicorn (``config.wsgi``, ``--workers``, DEBUG off) on a free loopback port and runs two
scenarios, each with ``--participants`` simulated participants (asyncio, one connection per
request, loopback only):

* paced (the latency scenario): one answer per participant every ``--think`` seconds;
* flat out (the throughput scenario): no think time.

Each participant behaves like a browser without JavaScript: it enters through the study's
Prolific link (its own ``PROLIFIC_PID``), submits whatever form each page shows (consent,
instructions, trials, questionnaire) with the fields the HTML declares (hidden fields and the
CSRF token included, a random choice where there is one, the cookies it was given), follows
redirects on this host, and enters again under a new id when it finishes. Everyone first
reaches their first trial (untimed, reported); the timed phase then starts for all at once.
``--double-rate`` of the answers are sent twice at once (a double click); an answer whose
connection breaks is sent again unchanged (same idempotency key), as a reload-and-resubmit
would. Half-way through each timed phase one gunicorn worker gets SIGKILL.

It prints, per scenario beside the issue's targets: answers acknowledged (a redirect, or a page
without an error) and answers stored (rows in the database), which must be equal with no
acknowledged answer missing; duplicates (must be 0); p50/p95/p99 latency of the answer POST;
throughput. It exits non-zero when acknowledged != stored or any duplicate is found, not when a
speed target is missed. Targets from the issue (2 cores): p95 under 100 ms paced at one answer
per participant every 5 s; at least 150 answers/s flat out.
"""

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/elephant_bench_participants"
)
ROOT = Path(__file__).resolve().parents[1]
METHODS = ["gradient", "grad_input", "random"]
WORDS = ["great", "awful", "fine", "boring", "moving", "dull", "clever", "weak", "warm", "slow"]
# Seconds for one reply, as patient as a browser: a request queued behind others is still
# served, so giving up early would only send it again. A killed worker's link breaks at once.
TIMEOUT = 120.0
RETRIES = 6  # a broken connection (the killed worker) is retried this often, same request
TARGET_P95_MS = 100.0
TARGET_PER_SECOND = 150.0


# ---------------------------------------------------------------- database and study set-up


def fresh_postgres(url: str) -> None:
    """Drop and create the bench database (psycopg comes with the runtime requirements)."""
    import psycopg

    admin_url, name = url.rsplit("/", 1)
    with psycopg.connect(admin_url + "/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def django_setup(url: str, var_dir: Path) -> None:
    """Point Django at the bench database; settings read the environment when set up."""
    os.environ["DATABASE_URL"] = url
    os.environ["ELEPHANT_VAR_DIR"] = str(var_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def build_studies(folder: Path, *, scenarios: list[str], places: int, n_items: int) -> dict:
    """Migrate, then build the data and launch one study per scenario; return their uids."""
    # Django is configured only now (django_setup), so its modules are imported here.
    from django.core.management import call_command

    from explanations.models import Explanation
    from explanations.services.datasets import dataset_import
    from explanations.services.explanations import explanations_import
    from explanations.services.predictions import predictions_store
    from studies.models import StudyList
    from studies.services.design import StudyDesign, study_create
    from studies.services.lifecycle import study_launch
    from studies.services.researchers import researcher_create

    call_command("migrate", verbosity=0)
    owner = researcher_create(username="bench-researcher", password=None)
    rng = random.Random(0)
    n = n_items + 10
    records = [
        {
            "id": f"r{i}",
            "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20))),
            "label": rng.choice(["negative", "positive"]),
        }
        for i in range(n)
    ]
    data = folder / "reviews.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    dataset = dataset_import(
        path=data, name="bench-reviews", owner=owner, label_names=["negative", "positive"]
    ).dataset
    instances = list(dataset.instances.order_by("position"))
    lines = [
        {
            "instance": instance.external_id,
            "method": method,
            "scores": [round(rng.uniform(-1, 1), 4) for _ in instance.tokens],
        }
        for instance in instances
        for method in METHODS
    ]
    explanation_file = folder / "explanations.jsonl"
    explanation_file.write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")
    model = explanations_import(
        path=explanation_file, model_name="bench-model", dataset=dataset, owner=owner
    ).model
    predictions_store(
        model=model,
        instance_ids=[i.pk for i in instances],
        probabilities=[[p, 1 - p] for p in (rng.uniform(0.05, 0.95) for _ in instances)],
    )
    assert Explanation.objects.filter(model=model).count() == len(lines)
    uids = {}
    for scenario in scenarios:
        study = study_create(
            owner=owner,
            design=StudyDesign(
                name=f"bench {scenario}",
                study_type="plausibility_rating",
                dataset=dataset,
                model=model,
                methods=METHODS,
                n_items=n_items,
                # Every list (one per method rotation) holds `places` participants, so even
                # one list alone has room for everyone who enters.
                ratings_per_item=places,
                practice_count=1,
                sources=["prolific", "anonymous"],
                time_limit_minutes=120,
                questionnaire=[
                    {"prompt": "How clear were the explanations?", "kind": "likert", "points": 5}
                ],
                seed=1,
            ),
        )
        study = study_launch(study=study)
        lists = StudyList.objects.filter(study=study)
        uids[scenario] = {
            "uid": str(study.uid),
            "pk": study.pk,
            "places": sum(lists.values_list("target", flat=True)),
        }
    return uids


def stored_answers(study_pk: int) -> tuple[dict[str, int], int]:
    """Return each stored answer's idempotency key with its trial, and the duplicate count."""
    from django.db.models import Count

    from studies.models import Response

    rows = Response.objects.filter(participant__study_id=study_pk)
    keys = dict(rows.values_list("idempotency_key", "trial_id"))
    per_trial = rows.values("trial_id").annotate(n=Count("id")).filter(n__gt=1)
    per_key = rows.values("idempotency_key").annotate(n=Count("id")).filter(n__gt=1)
    duplicates = sum(r["n"] - 1 for r in per_trial) + sum(r["n"] - 1 for r in per_key)
    return keys, duplicates


# ---------------------------------------------------------------- gunicorn


def free_port() -> int:
    """Return a free loopback port in 18000-18999 (8000 belongs to `make run`)."""
    ports = list(range(18000, 19000))
    random.shuffle(ports)
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("no free loopback port in 18000-18999")


def start_gunicorn(*, port: int, workers: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def worker_pids(master: int) -> list[int]:
    """Return the gunicorn master's children (its workers), from /proc."""
    children = Path(f"/proc/{master}/task/{master}/children")
    if children.exists():
        return [int(p) for p in children.read_text().split()]
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(stat.parent.name))
    return pids


def workers_resident_mb(master: int) -> list[float]:
    """Return each gunicorn worker's resident memory (VmRSS) in MB, from /proc."""
    sizes = []
    for pid in worker_pids(master):
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
    return sizes


async def wait_ready(port: int, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError, ValueError, IndexError):
            reply = await request(port, "GET", "/accounts/login/", timeout=5)
            if reply.status == 200:
                return
        await asyncio.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer within 90 s:\n{log.read_text()[-3000:]}")


async def warm_up(port: int, workers: int) -> None:
    """Send each worker a few pages first: a worker loads the URLconf and views lazily."""
    await asyncio.gather(
        *(request(port, "GET", "/accounts/login/") for _ in range(4 * workers)),
        return_exceptions=True,
    )


# ---------------------------------------------------------------- a small HTTP/1.1 client


@dataclass
class Reply:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name, [""])[0]


def _dechunk(body: bytes) -> bytes:
    out, rest = bytearray(), body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += rest[:size]
        rest = rest[size + 2 :]
    raise ConnectionError("chunked body cut short")


async def request(
    port: int,
    method: str,
    path: str,
    *,
    form: list[tuple[str, str]] | None = None,
    cookies: dict[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> Reply:
    """Send one request on a fresh connection (gunicorn's sync workers close each one)."""
    body = urlencode(form or []).encode()
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    if cookies:
        head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
    if method == "POST":
        head += [
            "Content-Type: application/x-www-form-urlencoded",
            f"Content-Length: {len(body)}",
            f"Origin: http://127.0.0.1:{port}",
            f"Referer: http://127.0.0.1:{port}{path}",
        ]

    async def exchange() -> bytes:
        # A bare non-blocking socket: asyncio's streams cost the load generator, which shares
        # the server's two cores, about a third more CPU per request.
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setblocking(False)
            await loop.sock_connect(sock, ("127.0.0.1", port))
            await loop.sock_sendall(sock, ("\r\n".join(head) + "\r\n\r\n").encode() + body)
            chunks = []
            while chunk := await loop.sock_recv(sock, 65536):
                chunks.append(chunk)
            return b"".join(chunks)

    raw = await asyncio.wait_for(exchange(), timeout)
    head_raw, sep, payload = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ConnectionError("connection closed before a complete response")
    lines = head_raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    if "chunked" in headers.get("transfer-encoding", [""])[0]:
        payload = _dechunk(payload)
    elif headers.get("content-length") and len(payload) < int(headers["content-length"][0]):
        raise ConnectionError("response body cut short")
    return Reply(status=status, headers=headers, body=payload)


# ---------------------------------------------------------------- forms, as a browser reads them


@dataclass
class Form:
    action: str
    method: str
    attrs: dict[str, str]
    fields: list[tuple[str, str]] = field(default_factory=list)  # hidden, text, range...
    radios: dict[str, list[str]] = field(default_factory=dict)
    checked: dict[str, str] = field(default_factory=dict)
    submits: list[tuple[str, str]] = field(default_factory=list)
    textareas: list[str] = field(default_factory=list)

    @property
    def is_answer(self) -> bool:
        """A trial form: the one whose submission is an answer (it carries an idempotency key)."""
        return "data-trial-form" in self.attrs or any(
            name == "idempotency_key" for name, _ in self.fields
        )

    def fill(self, rng: random.Random) -> list[tuple[str, str]]:
        """Return what a browser sends after the person picks an option in each group."""
        data = list(self.fields)
        for name, values in self.radios.items():
            data.append((name, self.checked.get(name) or rng.choice(values)))
        data += [(name, "") for name in self.textareas]
        if self.submits:
            data.append(self.submits[0])  # the first named button: "I agree", "Next"
        return data


class FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.current = Form(
                action=a.get("action", ""), method=a.get("method", "get").lower(), attrs=a
            )
            self.forms.append(self.current)
            return
        form = self.current
        if form is None or "disabled" in a:
            return
        name = a.get("name", "")
        kind = a.get("type", "text" if tag == "input" else "submit").lower()
        if tag == "textarea" and name:
            form.textareas.append(name)
        elif tag == "button" and kind == "submit" and name:
            form.submits.append((name, a.get("value", "")))
        elif tag == "input" and name:
            if kind == "radio":
                form.radios.setdefault(name, []).append(a.get("value", "on"))
                if "checked" in a:
                    form.checked[name] = a.get("value", "on")
            elif kind == "submit":
                form.submits.append((name, a.get("value", "")))
            elif kind != "checkbox":
                form.fields.append((name, a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None


# The tags a form is made of (quoted attribute values may hold ">"). Only these reach the
# parser: the participants run on the server's machine, and parsing every tag of every page
# cost the load generator about a third of a core flat out, time taken from the server.
FORM_TAGS = re.compile(
    r"<(?:/?form|input|textarea|button)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.IGNORECASE
)


def page_form(html: str) -> Form | None:
    """Return the page's main POST form (not the header's "Stop taking part")."""
    parser = FormParser()
    parser.feed("".join(FORM_TAGS.findall(html)))
    forms = [f for f in parser.forms if f.method == "post" and "withdraw" not in f.action]
    answer = [f for f in forms if f.is_answer]
    return (answer or forms or [None])[-1]


# ---------------------------------------------------------------- one simulated participant


@dataclass
class Tally:
    """What every participant of one scenario saw, for the table."""

    acked: set[str] = field(default_factory=set)  # idempotency keys acknowledged
    sent: set[str] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)  # seconds, every answer POST
    posts: int = 0
    doubles: int = 0
    double_both_acked: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    retried: int = 0
    failed: int = 0
    entries: int = 0
    completed: int = 0
    start: float = math.inf  # when the timed phase began
    last_ack: float = 0.0


@dataclass
class Page:
    url: str
    html: str
    external: bool = False


class Browser:
    """One participant's browser: cookies, redirects on this host, resubmits on a broken link."""

    def __init__(self, port: int, tally: Tally) -> None:
        self.port, self.tally, self.cookies = port, tally, {}
        self.origin = f"http://127.0.0.1:{port}"

    async def send(self, method: str, path: str, form: list[tuple[str, str]] | None) -> Reply:
        for attempt in range(RETRIES + 1):
            try:
                reply = await request(self.port, method, path, form=form, cookies=self.cookies)
            except (OSError, ValueError, IndexError):  # reset, timeout, a cut-off reply
                if attempt == RETRIES:
                    raise
                self.tally.retried += 1
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            if reply.status >= 500 and attempt < RETRIES:
                self.tally.retried += 1
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            for cookie in reply.headers.get("set-cookie", []):
                name, _, value = cookie.split(";", 1)[0].partition("=")
                self.cookies[name.strip()] = value.strip()
            return reply
        raise AssertionError("unreachable")

    async def go(self, url: str, reply: Reply | None = None) -> Page:
        """GET ``url`` (or start from ``reply``) and follow redirects that stay on this host."""
        for _ in range(10):
            if reply is None:
                reply = await self.send("GET", urlsplit(url).path + _query(url), None)
            if reply.status not in (301, 302, 303, 307, 308):
                return Page(url=url, html=reply.body.decode("utf-8", "replace"))
            url = urljoin(url, reply.header("location"))
            if not url.startswith(self.origin):
                return Page(url=url, html="", external=True)  # e.g. back to Prolific: done
            reply = None
        raise RuntimeError(f"too many redirects from {url}")


def _query(url: str) -> str:
    query = urlsplit(url).query
    return f"?{query}" if query else ""


class Clock:
    """The timed phase: it starts once every participant has reached a first trial."""

    def __init__(self, participants: int, seconds: float) -> None:
        self.waiting, self.seconds = participants, seconds
        self.started = asyncio.Event()
        self.start = self.until = math.inf

    def arrive(self) -> None:
        self.waiting -= 1
        if self.waiting == 0:
            self.start = time.monotonic()
            self.until = self.start + self.seconds
            self.started.set()


async def enter(
    port: int, study_uid: str, pid: str, tally: Tally, rng: random.Random
) -> tuple[Browser, Page]:
    """Enter by the Prolific link with a new browser; submit consent and instructions (any
    form that is not an answer) until a trial or the end; return the browser and that page."""
    browser = Browser(port, tally)
    query = urlencode({"PROLIFIC_PID": pid, "STUDY_ID": "bench", "SESSION_ID": f"s-{pid}"})
    page = await browser.go(f"{browser.origin}/s/{study_uid}/?{query}")
    tally.entries += 1
    for _ in range(10):
        form = None if page.external else page_form(page.html)
        if form is None or form.is_answer:
            return browser, page
        action = urljoin(page.url, form.action or page.url)
        reply = await browser.send("POST", urlsplit(action).path, form.fill(rng))
        page = await browser.go(action, reply)
    raise RuntimeError(f"{pid}: still no trial after 10 forms (last page {page.url})")


async def participant(
    *,
    port: int,
    study_uid: str,
    name: str,
    tally: Tally,
    rng: random.Random,
    think: float,
    double_rate: float,
    clock: Clock,
) -> None:
    """Enter and reach the first trial, wait for the clock, then answer until it runs out;
    on finishing, enter again under a new id (a new person on the same link)."""
    try:
        browser, page = await enter(port, study_uid, f"{name}-0", tally, rng)
    finally:
        clock.arrive()  # an error still opens the gate for the others
    await clock.started.wait()
    # Paced participants' ticks are spread over one think period, as people's are.
    due = clock.start + rng.uniform(0, think)
    visit, other_forms = 1, 0
    while time.monotonic() < clock.until:
        if page.external:
            tally.completed += 1  # sent back to Prolific with the completion code
            browser, page = await enter(port, study_uid, f"{name}-{visit}", tally, rng)
            visit += 1
            continue
        form = page_form(page.html)
        if form is None or other_forms > 10:
            return  # nothing to submit (the study is full or ended) or a form it cannot fill
        if not form.is_answer:  # the questionnaire after the last trial
            other_forms += 1
            action = urljoin(page.url, form.action or page.url)
            reply = await browser.send("POST", urlsplit(action).path, form.fill(rng))
            page = await browser.go(action, reply)
            continue
        other_forms = 0
        if think:
            await asyncio.sleep(max(0.0, min(due, clock.until) - time.monotonic()))
            due = max(due + think, time.monotonic())
        if time.monotonic() >= clock.until:
            return
        action = urljoin(page.url, form.action or page.url)
        page = await answer(browser, action, form.fill(rng), rng.random() < double_rate)


async def answer(browser: Browser, action: str, data: list[tuple[str, str]], double: bool) -> Page:
    """POST one answer (twice at once for a double submit); return the page it leads to."""
    tally = browser.tally
    key = dict(data).get("idempotency_key", "")
    tally.sent.add(key)
    path = urlsplit(action).path

    async def post() -> Reply | None:
        began = time.monotonic()
        tally.posts += 1
        try:
            reply = await browser.send("POST", path, data)
        except (OSError, ValueError, IndexError):  # reset, timeout, a cut-off reply
            tally.failed += 1
            return None
        tally.latencies.append(time.monotonic() - began)
        return reply

    if double:
        tally.doubles += 1
        replies = await asyncio.gather(post(), post())
    else:
        replies = [await post()]
    good = [r for r in replies if r is not None and _acknowledged(r)]
    for r in replies:
        if r is not None and not _acknowledged(r):
            tally.refused[r.status] = tally.refused.get(r.status, 0) + 1
    if good:
        tally.acked.add(key)
        tally.last_ack = max(tally.last_ack, time.monotonic())
        if double and len(good) == 2:
            tally.double_both_acked += 1
        return await browser.go(action, good[0])
    return await browser.go(action)  # reload the trial page, as a person would


def _acknowledged(reply: Reply) -> bool:
    if 300 <= reply.status < 400:
        return True
    return reply.status < 300 and b'role="alert"' not in reply.body


# ---------------------------------------------------------------- one scenario


async def run_scenario(
    *,
    port: int,
    master: int,
    study_uid: str,
    label: str,
    participants: int,
    seconds: float,
    think: float,
    double_rate: float,
    kill: bool,
    seed: int,
) -> tuple[Tally, str, float, float]:
    """Onboard everyone (untimed), then run the timed phase; return the tally, what happened,
    the onboarding seconds and the timed phase's wall seconds (until the last reply)."""
    tally = Tally()
    clock = Clock(participants, seconds)
    began = time.monotonic()

    async def kill_one() -> str:
        await clock.started.wait()
        await asyncio.sleep(seconds / 2)
        pids = worker_pids(master)
        if not pids:
            return "no worker found to kill"
        victim = random.Random(seed).choice(pids)
        os.kill(victim, signal.SIGKILL)
        return f"worker {victim} killed {time.monotonic() - clock.start:.1f} s into the timed phase"

    killer = asyncio.create_task(kill_one()) if kill else None
    runs = [
        participant(
            port=port,
            study_uid=study_uid,
            name=f"{label}{i:04d}",
            tally=tally,
            rng=random.Random(seed * 100_003 + i),
            think=think,
            double_rate=double_rate,
            clock=clock,
        )
        for i in range(participants)
    ]
    results = await asyncio.gather(*runs, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    for error in errors[:3]:
        print(f"  a participant stopped: {error!r}", file=sys.stderr)
    note = (await killer) if killer else "no worker killed"
    if errors:
        note += f"; {len(errors)} participants stopped on an error"
    tally.start = clock.start
    return tally, note, clock.start - began, time.monotonic() - clock.start


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0-100) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ranked = sorted(values)
    return ranked[max(0, math.ceil(q / 100 * len(ranked)) - 1)]


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 participants, 20 s + 10 s")
    parser.add_argument("--participants", type=int, default=None, help="default 200 (quick 20)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--think", type=float, default=5.0, help="paced: seconds per answer")
    parser.add_argument("--paced-seconds", type=float, default=None, help="default 60 (quick 20)")
    parser.add_argument("--flat-seconds", type=float, default=None, help="default 30 (quick 10)")
    parser.add_argument("--double-rate", type=float, default=0.05, help="answers sent twice")
    parser.add_argument("--items", type=int, default=40, help="test trials per participant")
    parser.add_argument("--no-kill", action="store_true", help="kill no gunicorn worker")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n = args.participants or (20 if args.quick else 200)
    paced_seconds = args.paced_seconds or (20.0 if args.quick else 60.0)
    flat_seconds = args.flat_seconds or (10.0 if args.quick else 30.0)
    scenarios = [("paced", paced_seconds, args.think), ("flat out", flat_seconds, 0.0)]

    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"Fresh PostgreSQL database {POSTGRES_URL.rsplit('/', 1)[1]} ...", flush=True)
        try:
            fresh_postgres(POSTGRES_URL)
        except Exception as exc:
            raise SystemExit(f"PostgreSQL unreachable at {POSTGRES_URL}: {exc}") from exc
        django_setup(POSTGRES_URL, folder / "var")
        print("Migrating and building the studies ...", flush=True)
        studies = build_studies(
            folder, scenarios=[s[0] for s in scenarios], places=3 * n, n_items=args.items
        )
        from django.db import connection, connections

        with connection.cursor() as cursor:
            # Planner statistics for the tables just filled, as autovacuum keeps them on a
            # live server: without them the first plans assume empty tables.
            cursor.execute("ANALYZE")
        connections.close_all()  # the server is gunicorn's; this process only counts at the end
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": POSTGRES_URL,
            "DJANGO_DEBUG": "false",
            "ELEPHANT_VAR_DIR": str(folder / "var"),
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        log = folder / "gunicorn.log"
        server = start_gunicorn(port=port, workers=args.workers, env=env, log=log)
        try:
            asyncio.run(wait_ready(port, server, log))
            asyncio.run(warm_up(port, args.workers))
            print(
                f"gunicorn: {args.workers} workers on 127.0.0.1:{port} (setup "
                f"{time.perf_counter() - began:.0f} s); load average {os.getloadavg()[0]:.2f}",
                flush=True,
            )
            rows = []
            for k, (label, seconds, think) in enumerate(scenarios):
                print(
                    f"Scenario {label}: {n} participants for {seconds:.0f} s"
                    + (f", one answer every {think:g} s each" if think else ", no think time")
                    + " ...",
                    flush=True,
                )
                tally, note, onboarding, wall = asyncio.run(
                    run_scenario(
                        port=port,
                        master=server.pid,
                        study_uid=studies[label]["uid"],
                        label=label.replace(" ", "") + "-",
                        participants=n,
                        seconds=seconds,
                        think=think,
                        double_rate=args.double_rate,
                        kill=not args.no_kill,
                        seed=args.seed + k,
                    )
                )
                stored, duplicates = stored_answers(studies[label]["pk"])
                connections.close_all()
                rows.append((label, tally, note, wall, stored, duplicates, studies[label]))
                print(
                    f"  {n} participants reached their first trial in {onboarding:.1f} s "
                    f"(untimed); timed phase {wall:.1f} s; {note}",
                    flush=True,
                )
            memory = workers_resident_mb(server.pid)
            print(
                f"gunicorn workers' resident memory after both scenarios: "
                f"{min(memory):.0f} to {max(memory):.0f} MB (VmRSS, {len(memory)} workers)"
                if memory
                else "gunicorn workers' resident memory: not readable here",
                flush=True,
            )
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    failed = report(rows, think=args.think)
    print(
        f"total {time.perf_counter() - began:.0f} s; load average after "
        f"{os.getloadavg()[0]:.2f} (2 cores; other work on the machine slows every figure)"
    )
    if failed:
        raise SystemExit("FAILED: " + "; ".join(failed))


def report(rows: list, *, think: float) -> list[str]:
    """Print the scenarios side by side with the targets; return the integrity failures."""
    failed = []
    table: list[tuple[str, list[str]]] = []

    def line(name: str, values: list[str]) -> None:
        table.append((name, values))

    line("participants entered (completed)", [f"{t.entries} ({t.completed})" for _, t, *_ in rows])
    line("answer POSTs sent", [f"{t.posts}" for _, t, *_ in rows])
    line(
        "double submits (both acknowledged)",
        [f"{t.doubles} ({t.double_both_acked})" for _, t, *_ in rows],
    )
    line("answers acknowledged", [f"{len(t.acked)}" for _, t, *_ in rows])
    line("answers stored", [f"{len(stored)}" for _, _, _, _, stored, _, _ in rows])
    line(
        "acknowledged, not stored (lost)",
        [f"{len(t.acked - stored.keys())}" for _, t, _, _, stored, _, _ in rows],
    )
    line(
        "stored, never acknowledged",
        [f"{len(stored.keys() - t.acked)}" for _, t, _, _, stored, _, _ in rows],
    )
    line("duplicates", [f"{d}" for *_, d, _ in rows])
    line(
        "refused (status: count)",
        [", ".join(f"{s}: {c}" for s, c in sorted(t.refused.items())) or "0" for _, t, *_ in rows],
    )
    line("requests retried / given up", [f"{t.retried} / {t.failed}" for _, t, *_ in rows])
    for q in (50, 95, 99):
        line(
            f"answer POST p{q} (ms)",
            [f"{percentile(t.latencies, q) * 1000:.1f}" for _, t, *_ in rows],
        )
    line(
        "throughput (answers/s)",
        [
            f"{len(t.acked) / max(1e-9, t.last_ack - t.start):.1f}" if t.acked else "0"
            for _, t, *_ in rows
        ],
    )
    targets = []
    for label, t, *_ in rows:
        if label == "paced":
            p95 = percentile(t.latencies, 95) * 1000
            verdict = "met" if p95 < TARGET_P95_MS else "MISSED"
            targets.append(f"p95 < {TARGET_P95_MS:.0f} ms: {verdict}")
        else:
            rate = len(t.acked) / max(1e-9, t.last_ack - t.start) if t.acked else 0.0
            verdict = "met" if rate >= TARGET_PER_SECOND else "MISSED"
            targets.append(f">= {TARGET_PER_SECOND:.0f}/s: {verdict}")
    line("target (issue #14)", targets)
    for label, t, _, _, stored, duplicates, _ in rows:
        lost = t.acked - stored.keys()
        if len(t.acked) != len(stored) or lost:
            failed.append(f"{label}: {len(t.acked)} acknowledged but {len(stored)} stored")
        if duplicates:
            failed.append(f"{label}: {duplicates} duplicates")
    print()
    width = max(len(name) for name, _ in table) + 2
    print(f"{'':<{width}}" + "".join(f"{label:>24}" for label, *_ in rows))
    print(
        f"{'offered load':<{width}}"
        + "".join(
            f"{(f'1 answer / {think:g} s each' if label == 'paced' else 'no think time'):>24}"
            for label, *_ in rows
        )
    )
    for name, values in table:
        print(f"{name:<{width}}" + "".join(f"{v:>24}" for v in values))
    for label, _, note, wall, _, _, study in rows:
        print(
            f"{label}: timed phase {wall:.1f} s to the last reply, {study['places']} places; {note}"
        )
    return failed


if __name__ == "__main__":
    main()
