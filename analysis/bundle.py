"""The analysis bundle of a study: everything needed to read, re-run and check it.

Layout (the same in ``export_analysis --out DIR`` and in the downloaded zip, where it
sits in one folder)::

    responses.csv      one row per answer, joined with the frozen scores shown
    participants.csv   one row per participant
    items.csv          one row per explanation shown by each study item
    codebook.md        every column of the three tables explained
    results.json       every number of the analysis page
    plots/NAME.svg     each plot, vector
    plots/NAME.png     each plot, raster
    report.html        the results page, self-contained and readable offline
    manifest.json      model weights sha256, method and score parameters, seeds,
                       software versions, the study design, the exclusion rules,
                       the consent text, the deletion log, and the sha256 of every
                       other file

Participants are named by pseudonym only (``p_`` and 16 hex digits, a keyed hash with the
study's secret; :mod:`studies.pseudonyms`): no file holds a Prolific or MTurk id, a session
or HIT id, an invitation token or label, or a database id of a participant.

CSV conventions, chosen so ``pandas.read_csv`` and R's ``read.csv`` load the files
unchanged: UTF-8, comma-separated, ``\\n`` line ends, quoted only when needed,
missing values ``NA``, booleans ``TRUE``/``FALSE``, column names syntactic in R.
"""

import csv
import dataclasses
import hashlib
import io
import json
import math
import shutil
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.template.loader import render_to_string
from django.utils import timezone

from analysis.plots import plot_render
from analysis.presentation import analysis_context
from analysis.services.options import AnalysisOptions
from analysis.services.preregistration import NOT_PREREGISTERED, preregistration_report
from analysis.services.results import StudyAnalysis, study_analysis_get
from analysis.services.simulated import SIMULATED_PREFIX
from analysis.services.tables import StudyTables, Table
from explanations.models import ExplanationMethod
from studies.design_fields import DESIGN_FIELDS
from studies.models import Study
from studies.privacy_selectors import deletions_of, pseudonyms_of
from studies.types.base import Option, get_type

BUNDLE_SCHEMA = "elephant.bundle/1"
SOFTWARE = (
    "Django",
    "djangorestframework",
    "numpy",
    "scipy",
    "statsmodels",
    "pandas",
    "matplotlib",
    "torch",
    "captum",
)
STATISTICS = (
    {
        "statistic": "Krippendorff's alpha",
        "function": "analysis.compute.agreement.krippendorff_alpha_long",
        "reference": "Krippendorff (2011), Computing Krippendorff's Alpha-Reliability",
    },
    {
        "statistic": "mean rating per method with two-way cluster-bootstrap interval",
        "function": "analysis.compute.ratings.method_mean_ratings",
        "reference": "Owen (2007), The pigeonhole bootstrap",
    },
    {
        "statistic": "Spearman and Kendall tau-b of mean rating with faithfulness",
        "function": "analysis.compute.correlation.plausibility_faithfulness_correlations",
        "reference": "Spearman (1904); Kendall (1945); Owen (2007)",
    },
    {
        "statistic": "crossed random-effects model",
        "function": "analysis.compute.mixed_model.crossed_random_effects",
        "reference": "Baayen, Davidson & Bates (2008); statsmodels MixedLM (REML)",
    },
    {
        "statistic": "Bradley-Terry strengths",
        "function": "analysis.compute.bradley_terry.bradley_terry",
        "reference": "Bradley & Terry (1952); Hunter (2004)",
    },
    {
        "statistic": "aided task: accuracy, reliance, median time per condition",
        "function": "analysis.compute.aided.aided_task_summary",
        "reference": "Bansal et al. (2021); Schemmer et al. (2023)",
    },
    {
        "statistic": "simulation effect (post - pre accuracy against the model's output)",
        "function": "analysis.compute.simulation.simulation_effects",
        "reference": "Hase & Bansal (2020); Doshi-Velez & Kim (2017)",
    },
    {
        "statistic": "does the explanation rating predict simulating correctly (logistic)",
        "function": "analysis.compute.simulation.rating_predicts_simulation",
        "reference": "Hase & Bansal (2020); Cameron, Gelbach & Miller (2011)",
    },
    {
        "statistic": "agreement among human rationales",
        "function": "analysis.compute.rationales.rationale_agreement",
        "reference": "DeYoung et al. (2020), ERASER; Krippendorff (2011)",
    },
)
Progress = Callable[[str], None]


def bundle_filename(study: Study) -> str:
    """Return the bundle's folder name (also the zip's name)."""
    return f"elephant-study-{study.pk}-analysis"


def _cell(value: Any) -> str:
    """Return one CSV cell: NA for missing, TRUE/FALSE, full-precision floats, JSON for lists."""
    if value is None:
        return "NA"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "NA"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True)
    return str(value)


def table_csv(table: Table) -> bytes:
    """Return ``table`` as CSV bytes (conventions in the module docstring)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [c.name for c in table.columns]
    writer.writerow(names)
    for row in table.rows:
        writer.writerow([_cell(row.get(name)) for name in names])
    return out.getvalue().encode("utf-8")


def tables_pseudonymised(tables: StudyTables, pseudonyms: Mapping[int, str]) -> StudyTables:
    """Return ``tables`` with each ``participant_id`` replaced by the participant's pseudonym.

    The analysis numbers participants by database id; only the exported copy is renamed.
    """

    def renamed(table: Table) -> Table:
        rows = [
            {**row, "participant_id": pseudonyms[row["participant_id"]]}
            if "participant_id" in row
            else row
            for row in table.rows
        ]
        return dataclasses.replace(table, rows=rows)

    return StudyTables(
        responses=renamed(tables.responses),
        participants=renamed(tables.participants),
        items=renamed(tables.items),
    )


def _declared_table(
    options: Sequence[Option], chosen: Mapping[str, Any], title: str, where: str
) -> list[str]:
    """Return a codebook table of declared options: meaning, valid values, default, chosen."""
    if not options:
        return []
    lines = [
        f"## {title}",
        "",
        f"As chosen for this study (`manifest.json` has them under `{where}`).",
        "",
        "| option | meaning | valid values | default | this study |",
        "|---|---|---|---|---|",
    ]
    for option in options:
        meaning = option.label + (f": {option.help_text}" if option.help_text else "")
        cells = [
            f"`{option.name}`",
            meaning,
            option.expected(),
            json.dumps(option.default, default=str),
            json.dumps(chosen.get(option.name), default=str),
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return [*lines, ""]


def _options_codebook(study: Study) -> list[str]:
    """Return the codebook's tables of the design fields and the type's options, as declared."""
    kind = get_type(study.study_type)
    chosen = {declared.name: getattr(study, declared.name) for declared in DESIGN_FIELDS}
    return [
        *_declared_table(DESIGN_FIELDS, chosen, "Study design", "design"),
        *_declared_table(
            kind.options,
            study.type_options,
            f"Study design: {kind.label} options",
            "design.type_options",
        ),
    ]


def _preregistration_codebook(study: Study, analysis: StudyAnalysis) -> list[str]:
    """Return the codebook's section on the explanation's goal, its user and the plan."""
    prereg = preregistration_report(study, analysis)
    lines = [
        "## Explanation goal, intended user and pre-registration",
        "",
        f"- Explanation goal: {prereg['explanation_goal'] or 'not said'}",
        f"- Intended user: {prereg['intended_user_label'] or 'not said'}",
    ]
    if prereg["sha256"] is None:
        lines.append(f"- Plan: {NOT_PREREGISTERED}.")
    else:
        lines.append(
            f"- Plan: pre-registered, sha256 `{prereg['sha256']}`, frozen at launch "
            f"({prereg['frozen_at']}); `manifest.json` holds the frozen JSON "
            "(`preregistration.json`) and the departures of this analysis (`departures`)."
        )
        lines += [f"- Departure: {d}" for d in prereg["departures"]] or [
            "- No departures from the plan."
        ]
    return [*lines, ""]


def codebook_markdown(study: Study, analysis: StudyAnalysis) -> str:
    """Return ``codebook.md``: how to load the tables, and every column explained."""
    tables = analysis.tables
    lines = [
        f"# Codebook: analysis of study {study.pk} ({study.name})",
        "",
        "Three tidy tables, UTF-8, comma-separated. Missing or undefined values are `NA`;",
        "booleans are `TRUE`/`FALSE`; times are ISO 8601 in UTC. Load them unchanged with",
        "",
        "```python",
        'import pandas as pd; responses = pd.read_csv("responses.csv")',
        "```",
        "",
        "```r",
        'responses <- read.csv("responses.csv", fileEncoding = "UTF-8")',
        "```",
        "",
        "Column kinds: **faithfulness** columns hold scores computed on the model;",
        "**plausibility** columns hold scores measured against people (human rationales);",
        "**answer** columns hold what the participant answered (ratings are plausibility",
        "judgements); **marker** columns say whether a row comes from a simulated participant;",
        "**exclusion** columns say who is left out of the analysis and why. A score column's",
        "name is `KIND__METRIC` (`@` in a metric name becomes `_at_`, `:` becomes `_with_`),",
        "with `__left`/`__right` when a trial showed two explanations. Scores are the values",
        "frozen when the study went live, so later recomputation never changes them.",
        "",
        "**Participants** are named by `participant_id`, a pseudonym (`p_` and 16 hex digits:",
        "HMAC-SHA256 of the participant's internal id keyed with this study's secret, which is",
        "never exported). It is the same in every export of this study and differs between",
        "studies; no platform id (Prolific, MTurk) is in any file of this bundle.",
        "",
        f"**Simulated participants** entered by an invitation labelled `{SIMULATED_PREFIX} ...`;",
        "their rows have `simulated` = `TRUE`. Drop them before reporting results about people.",
        "",
        "Free-text answers (comments, questionnaire) are written as given; a spreadsheet may",
        "read a text starting with `=` as a formula.",
        "",
    ]
    for table in (tables.responses, tables.participants, tables.items):
        lines += [
            f"## {table.name}.csv",
            "",
            f"{table.description.capitalize()}; {len(table.rows)} rows.",
            "",
            "| column | kind | meaning |",
            "|---|---|---|",
        ]
        for column in table.columns:
            meaning = column.description.replace("|", "\\|")
            lines.append(f"| `{column.name}` | {column.kind} | {meaning} |")
        lines.append("")
    lines += _options_codebook(study)
    lines += _preregistration_codebook(study, analysis)
    lines += [
        "## results.json",
        "",
        "Every number shown on the analysis page, with the reason whenever a statistic is",
        "undefined (`null`, never NaN). `plots` holds the data each plot is drawn from.",
        "",
    ]
    return "\n".join(lines)


def _versions() -> dict[str, str]:
    found = {"python": sys.version.split()[0]}
    pyproject = Path(settings.BASE_DIR) / "pyproject.toml"
    if pyproject.exists():
        found["elephant"] = str(tomllib.loads(pyproject.read_text())["project"]["version"])
    for name in SOFTWARE:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _distinct(values: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for value in values:
        seen.setdefault(json.dumps(value, sort_keys=True), value)
    return list(seen.values())


def _design(study: Study) -> dict[str, Any]:
    return {
        "type": study.study_type,
        "type_options": study.type_options,
        **{declared.name: getattr(study, declared.name) for declared in DESIGN_FIELDS},
        "attention_check_positions": study.attention_check_positions,
        "gold_positions": study.gold_positions,
        "sources": study.sources,
        "consent_text": study.consent_text,
        "instructions": study.instructions,
        "conditions": [
            {"position": c.position, "name": c.name, "variants": c.variants}
            for c in study.conditions.order_by("position")
        ],
        "lists": [
            {
                "index": lst.index,
                "condition": lst.condition.name,
                "target": lst.target,
                "filled": lst.filled,
                "n_items": lst.n_items,
            }
            for lst in study.lists.select_related("condition")
            .annotate(n_items=Count("items"))
            .order_by("index")
        ],
        "questionnaire": [
            {"key": q.key, "kind": q.kind, "points": q.points, "prompt": q.prompt}
            for q in study.questionnaire.order_by("position")
        ],
        "launched_at": study.launched_at.isoformat() if study.launched_at else None,
        "closed_at": study.closed_at.isoformat() if study.closed_at else None,
    }


def _methods(study: Study) -> list[dict[str, Any]]:
    # The parameters of the explanations shown, as frozen with the items (never live rows).
    shown: dict[str, list[Any]] = {}
    for frozen in study.items.values_list("frozen", flat=True):
        for explanation in (frozen or {}).get("explanations", []):
            if "parameters" in explanation:
                shown.setdefault(explanation["method"], []).append(explanation["parameters"])
    return [
        {
            "name": m.name,
            "family": m.family,
            "parameters": m.parameters,
            "description": m.description,
            "explanation_parameters": _distinct(shown.get(m.name, [])),
        }
        for m in ExplanationMethod.objects.filter(studies=study).order_by("name")
    ]


def _scores(study: Study) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for frozen in study.items.values_list("frozen", flat=True):
        for explanation in (frozen or {}).get("explanations", []):
            for score in explanation.get("metric_scores", []):
                entry = found.setdefault(score["metric"], {"kind": score["kind"], "parameters": []})
                entry["parameters"].append(score.get("parameters") or {})
    return {
        metric: {"kind": entry["kind"], "parameters": _distinct(entry["parameters"])}
        for metric, entry in sorted(found.items())
    }


def _consent(study: Study) -> dict[str, Any]:
    return {
        "text_in": "design.consent_text",
        "sha256": study.consent_sha256,
        "note": (
            "the consent text cannot change once the study is live (the design, the API and "
            "the admin refuse it), so every participant agreed to this version"
        ),
    }


def _privacy(study: Study) -> dict[str, Any]:
    return {
        "participant_id": (
            "pseudonym: 'p_' + the first 16 hex digits of HMAC-SHA256(study secret, "
            "participant uid); the secret is not exported; no platform ids in any file"
        ),
        "platform_id_retention_days": settings.ELEPHANT_PLATFORM_ID_RETENTION_DAYS,
        "platform_ids_erased_at": (
            study.platform_ids_erased_at.isoformat() if study.platform_ids_erased_at else None
        ),
    }


def manifest_data(study: Study, analysis: StudyAnalysis) -> dict[str, Any]:
    """Return what ``manifest.json`` records, without the file checksums."""
    model = study.model
    dataset = study.dataset
    options = analysis.results["options"]
    prereg = preregistration_report(study, analysis)
    return {
        "schema": BUNDLE_SCHEMA,
        "created_at": timezone.now().isoformat(),
        "study": {"id": study.pk, "uid": str(study.uid), "name": study.name},
        "design": _design(study),
        "model": {
            "name": model.name,
            "architecture": model.architecture,
            "config": model.config,
            "weights_sha256": model.weights_sha256 or None,
            "seed": model.seed,
            "label_names": model.label_names,
            "training_metrics": model.reported_metrics,
        },
        "dataset": {
            "name": dataset.name,
            "task": dataset.task,
            "label_names": dataset.label_names,
            "is_pair": dataset.is_pair,
            "n_instances": dataset.instances.count(),
        },
        "methods": _methods(study),
        "scores": _scores(study),
        "seeds": {
            "study_design": study.seed,
            "model_training": model.seed,
            "analysis_bootstrap": options["seed"],
            "trial_order": "each participant's trials use random.Random(f'{study seed}:{participant uid}')",
        },
        "analysis": {"options": options, "statistics": list(STATISTICS)},
        "exclusion_rules": {
            "policy": analysis.results["exclusions"]["policy"],
            "rules": analysis.results["exclusions"]["rules"],
            "log": analysis.results["exclusions"]["log"],
            "note": "each logged reason states the threshold the rule used",
        },
        "consent": _consent(study),
        # Issue #16: the plan frozen at launch, and how this analysis departs from it.
        "preregistration": prereg,
        "departures": NOT_PREREGISTERED if prereg["departures"] is None else prereg["departures"],
        "privacy": _privacy(study),
        "deletions": deletions_of(study),
        "simulated": {
            "n_participants": analysis.results["counts"]["participants_simulated"],
            "marker": (
                f"Participant.simulated (they enter by an invitation labelled "
                f"{SIMULATED_PREFIX!r} ...); column simulated"
            ),
        },
        "software": _versions(),
        "rerun": (
            f"python manage.py export_analysis --study {study.pk} --out DIR "
            f"--resamples {options['n_resamples']} --seed {options['seed']} "
            f"--level {options['level']} --resampling {options['resampling']} "
            f"--interval {options['interval']}"
        ),
    }


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode()


def bundle_files(
    *, study: Study, analysis: StudyAnalysis, progress: Progress | None = None
) -> dict[str, bytes]:
    """Return every file of the bundle, by relative path, the manifest last."""
    say = progress or (lambda message: None)
    files: dict[str, bytes] = {}
    say("tables")
    tables = tables_pseudonymised(analysis.tables, pseudonyms_of(study))
    for table in (tables.responses, tables.participants, tables.items):
        files[f"{table.name}.csv"] = table_csv(table)
    files["codebook.md"] = codebook_markdown(study, analysis).encode()
    files["results.json"] = _json(analysis.results)
    say("plots")
    for name, spec in analysis.results["plots"].items():
        files[f"plots/{name}.svg"] = analysis.svg_files[name]
        files[f"plots/{name}.png"] = plot_render(spec, name=name, fmt="png")
    manifest = manifest_data(study, analysis)
    say("report")
    context = analysis_context(
        analysis.results, analysis.svgs, lambda name, fmt: f"plots/{name}.{fmt}"
    )
    context.update({"study": study, "manifest": manifest})
    files["report.html"] = render_to_string("analysis/report.html", context).encode()
    manifest["files"] = {
        path: {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
        for path, content in sorted(files.items())
    }
    files["manifest.json"] = _json(manifest)
    return files


def bundle_zip(
    *,
    study: Study,
    options: AnalysisOptions | None = None,
    analysis: StudyAnalysis | None = None,
) -> bytes:
    """Return the bundle as a zip holding one folder named by :func:`bundle_filename`.

    Of ``analysis`` when given (the pages pass the current one kept), else of the study's
    current analysis with ``options``, built now if none is kept.
    """
    analysis = analysis or study_analysis_get(study=study, options=options)
    folder = bundle_filename(study)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in bundle_files(study=study, analysis=analysis).items():
            archive.writestr(f"{folder}/{path}", content)
    return out.getvalue()


def bundle_write(
    *,
    study: Study,
    out: Path,
    options: AnalysisOptions | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Write the bundle into folder ``out`` (new or empty); return the files written.

    All or nothing: the files are written to a temporary folder beside ``out`` and
    moved into place at the end, so a failure leaves ``out`` as it was.
    """
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out}: expected a new or empty folder")
    say = progress or (lambda message: None)
    say("analysis")
    analysis = study_analysis_get(study=study, options=options)
    files = bundle_files(study=study, analysis=analysis, progress=say)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for path, content in files.items():
            target = staging / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out / path for path in files]
