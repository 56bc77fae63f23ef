"""Attention under test (issue #13): stored diagnostics as tables, figures and export files.

Reads :class:`Diagnostic` rows only (no torch: the web tier shows them). The tables are
summaries over instances, the figures SVG drawn by matplotlib (imported when a figure
is drawn, not by every web process), and the export writes a CSV per experiment, its
figure and a JSON of every parameter, each experiment's definition beside its numbers.
"""

import csv
import io
import json
import statistics
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.db.models import Count, F, Max

from explanations.compute.attention_debate import JAIN_WALLACE_REFERENCE
from explanations.models import ClassifierModel, Dataset, Diagnostic, ModelDiagnostic
from explanations.services.diagnostics import (
    DEFINITIONS,
    EXPERIMENTS,
    TRAINING_EXPERIMENTS,
    diagnostics_skipped,
    diagnostics_supported,
)

# Colour-blind-safe (Okabe-Ito), one per predicted class.
CLASS_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def _rows(
    model: ClassifierModel, dataset: Dataset, experiment: str, *, ids: bool = False
) -> list[Diagnostic]:
    """Return the experiment's rows in file order; ``ids``: with each instance's external id
    (the export's), never the instance's token columns the page does not read."""
    rows = Diagnostic.objects.filter(
        model=model, instance__dataset=dataset, experiment=experiment
    ).order_by("instance__position")
    if ids:
        rows = rows.annotate(external_id=F("instance__external_id"))
    return list(rows)


def diagnostics_version(model: ClassifierModel, dataset: Dataset, experiment: str) -> str | None:
    """Return a tag that changes whenever the experiment's figure would, or None with no rows."""
    found = Diagnostic.objects.filter(
        model=model, instance__dataset=dataset, experiment=experiment
    ).aggregate(n=Count("pk"), last=Max("updated_at"))
    table = (
        ModelDiagnostic.objects.filter(model=model, dataset=dataset, experiment=experiment)
        .values_list("updated_at", flat=True)
        .first()
    )
    if not found["n"] and table is None:
        return None
    stamps = [t.timestamp() for t in (found["last"], table) if t is not None]
    return f"{model.pk}-{dataset.pk}-{experiment}-{found['n']}-{max(stamps)}"


def _label(dataset: Dataset, label: int | None) -> str:
    if label is None:
        return "all"
    names = dataset.label_names
    return str(names[label]) if 0 <= label < len(names) else str(label)


def _groups(dataset: Dataset, rows: list[Diagnostic]) -> Iterable[tuple[str, list[Diagnostic]]]:
    """Yield ("all", every row), then each predicted class's rows, in class order."""
    yield "all", rows
    for label in sorted({r.predicted_label for r in rows if r.predicted_label is not None}):
        yield _label(dataset, label), [r for r in rows if r.predicted_label == label]


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def correlation_table(
    dataset: Dataset, rows: list[Diagnostic], significance: float
) -> dict[str, Any]:
    """Return J&W's Table 2 for stored rows: per measure and class, mean, sd, share p <= alpha.

    The sd is the population standard deviation (``np.std``, as J&W's table); instances
    whose tau is undefined are counted apart.
    """
    measures = sorted({m for r in rows for m in r.values.get("tau", {})})
    table = []
    for measure in measures:
        for group, members in _groups(dataset, rows):
            taus = [r.values["tau"].get(measure) for r in members]
            ps = [r.values["p_value"].get(measure) for r in members]
            defined = [(t, p) for t, p in zip(taus, ps, strict=True) if t is not None]
            values = [t for t, _ in defined]
            table.append(
                {
                    "measure": measure,
                    "predicted_class": group,
                    "instances": len(values),
                    "undefined": len(members) - len(values),
                    "mean": _mean(values),
                    "sd": statistics.pstdev(values) if values else None,
                    "share_significant": (
                        sum(1 for _, p in defined if p is not None and p <= significance)
                        / len(defined)
                        if defined
                        else None
                    ),
                }
            )
    return {
        "columns": [
            "measure",
            "predicted_class",
            "instances",
            "undefined",
            "mean",
            "sd",
            "share_significant",
        ],
        "rows": table,
    }


def _permutation_table(dataset: Dataset, rows: list[Diagnostic]) -> dict[str, Any]:
    table = []
    for group, members in _groups(dataset, rows):
        medians = [
            r.values["median_tvd"] for r in members if r.values.get("median_tvd") is not None
        ]
        table.append(
            {
                "predicted_class": group,
                "instances": len(medians),
                "mean_median_tvd": _mean(medians),
                "median_median_tvd": _median(medians),
                "share_below_0.01": (
                    sum(1 for m in medians if m < 0.01) / len(medians) if medians else None
                ),
            }
        )
    return {"columns": list(table[0]) if table else [], "rows": table}


def _adversarial_table(dataset: Dataset, rows: list[Diagnostic]) -> dict[str, Any]:
    table = []
    for group, members in _groups(dataset, rows):
        feasible = [r for r in members if r.values.get("feasible")]
        jsds = [r.values["jsd"] for r in feasible if r.values.get("jsd") is not None]
        table.append(
            {
                "predicted_class": group,
                "instances": len(members),
                "feasible": len(feasible),
                "no_feasible_adversary": len(members) - len(feasible),
                "mean_max_jsd": _mean(jsds),
                "median_max_jsd": _median(jsds),
            }
        )
    return {"columns": list(table[0]) if table else [], "rows": table}


def _zeroing_table(dataset: Dataset, rows: list[Diagnostic]) -> dict[str, Any]:
    orders = list(rows[0].values.get("flips", {})) if rows else []
    table = []
    for group, members in _groups(dataset, rows):
        differences = [
            r.values["jsd_difference"]
            for r in members
            if r.values.get("jsd_difference") is not None
        ]
        row: dict[str, Any] = {
            "predicted_class": group,
            "instances": len(members),
            "mean_jsd_difference_top_minus_random": _mean(differences),
            "share_top_larger": (
                sum(1 for d in differences if d > 0) / len(differences) if differences else None
            ),
        }
        for order in orders:
            flips = [r.values["flips"][order] for r in members]
            fractions = [f["fraction"] for f in flips if f["flipped"] and f["fraction"] is not None]
            row[f"{order}: flipped"] = sum(1 for f in flips if f["flipped"])
            row[f"{order}: never flips"] = sum(1 for f in flips if not f["flipped"])
            row[f"{order}: median fraction zeroed"] = _median(fractions)
        table.append(row)
    return {"columns": list(table[0]) if table else [], "rows": table}


def _parameter_sets(rows: list[Diagnostic]) -> list[dict[str, Any]]:
    """Return the distinct parameter sets of the rows (more than one after a partial re-run)."""
    seen: dict[str, dict[str, Any]] = {}
    for r in rows:
        seen.setdefault(json.dumps(r.parameters, sort_keys=True), r.parameters)
    return list(seen.values())


def diagnostics_summary(model: ClassifierModel, dataset: Dataset) -> dict[str, Any]:
    """Return every stored experiment's table, definition and parameters, and what was skipped."""
    experiments: dict[str, Any] = {}
    tables = {d.experiment: d for d in ModelDiagnostic.objects.filter(model=model, dataset=dataset)}
    for experiment in EXPERIMENTS:
        if experiment in TRAINING_EXPERIMENTS:
            if experiment in tables:
                experiments[experiment] = _training_entry(dataset, tables[experiment])
            continue
        rows = _rows(model, dataset, experiment)
        if not rows:
            continue
        sets = _parameter_sets(rows)
        parameters = sets[0]
        if experiment == "correlation":
            table = correlation_table(dataset, rows, float(parameters.get("significance", 0.05)))
        elif experiment == "permutation":
            table = _permutation_table(dataset, rows)
        elif experiment == "adversarial":
            table = _adversarial_table(dataset, rows)
        else:
            table = _zeroing_table(dataset, rows)
        table["display"] = [[_display(v) for v in row.values()] for row in table["rows"]]
        experiments[experiment] = {
            "label": Diagnostic.Experiment(experiment).label,
            "definition": DEFINITIONS[experiment],
            "parameters": {k: v for k, v in parameters.items() if k != "skipped"},
            "skipped_parts": parameters.get("skipped", {}),
            "mixed_parameters": len(sets) > 1,
            "instances": len(rows),
            "table": table,
        }
    return {
        "experiments": experiments,
        "skipped": diagnostics_skipped(model.architecture, model.config.get("model_type")),
        "supported": list(
            diagnostics_supported(model.architecture, model.config.get("model_type"))
        ),
        "reference": [figure._asdict() for figure in JAIN_WALLACE_REFERENCE],
        "training": list(TRAINING_EXPERIMENTS),
    }


def _f1_row(name: str, scores: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    scores = scores or {}
    return {
        "model": name,
        "macro_f1": scores.get("macro_f1"),
        "accuracy": scores.get("accuracy"),
        **extra,
    }


def training_table(dataset: Dataset, table: ModelDiagnostic) -> dict[str, Any]:
    """Return the held-out F1 table of one of Wiegreffe & Pinter's tests, as stored.

    Every row is measured on the held-out split of the model under test, which comes
    first; the seed variance adds its per-class instance summary, the adversary its
    output TVD and attention JSD per lambda, with the adversary kept marked.
    """
    values = table.values
    rows: list[dict[str, Any]]
    if table.experiment == "uniform":
        stored = values.get("table", {})
        rows = [
            _f1_row("model under test", stored.get("base")),
            _f1_row("uniform attention", stored.get("uniform")),
        ]
    elif table.experiment == "diagnostic_mlp":
        names = {"base": "model under test"}
        rows = [
            _f1_row(names.get(r["variant"], f"MLP, {r['variant']} attention"), r)
            for r in values.get("table", {}).get("rows", [])
        ]
    elif table.experiment == "seed_variance":
        units = values.get("units", {})
        rows = [_f1_row("model under test", values.get("base"))]
        rows += [_f1_row(f"seed {seed}", units[seed]) for seed in sorted(units, key=int)]
    else:
        units = values.get("units", {})
        rows = [_f1_row("model under test", values.get("base"), mean_tvd=0.0, mean_jsd=0.0)]
        for key in sorted(units, key=float):
            entry = units[key]
            kept = " (kept: adversary_attention)" if values.get("kept") == key else ""
            rows.append(
                _f1_row(
                    f"adversary, lambda={key}{kept}",
                    entry,
                    mean_tvd=entry.get("mean_tvd"),
                    mean_jsd=entry.get("mean_jsd"),
                )
            )
    columns = list(rows[0]) if rows else []
    return {"columns": columns, "rows": rows}


def _seed_table(dataset: Dataset, rows: list[Diagnostic]) -> dict[str, Any]:
    """Return per predicted class the mean of the seeds' median attention JSD and mean TVD."""
    table = []
    for group, members in _groups(dataset, rows):
        jsds = [r.values["median_jsd"] for r in members if r.values.get("median_jsd") is not None]
        tvds = [r.values["mean_tvd"] for r in members if r.values.get("mean_tvd") is not None]
        table.append(
            {
                "predicted_class": group,
                "instances": len(members),
                "mean_median_attention_jsd": _mean(jsds),
                "mean_output_tvd": _mean(tvds),
            }
        )
    return {"columns": list(table[0]) if table else [], "rows": table}


def _training_entry(dataset: Dataset, table: ModelDiagnostic) -> dict[str, Any]:
    experiment = table.experiment
    main = training_table(dataset, table)
    main["display"] = [[_display(v) for v in row.values()] for row in main["rows"]]
    entry: dict[str, Any] = {
        "label": Diagnostic.Experiment(experiment).label,
        "definition": DEFINITIONS[experiment],
        "parameters": dict(table.parameters),
        "skipped_parts": {},
        "mixed_parameters": False,
        "instances": len(table.model.held_out_instance_ids or []),
        "table": main,
        "kept": table.values.get("kept"),
        "held_out": True,
    }
    if experiment == "seed_variance":
        rows = _rows(table.model, dataset, experiment)
        extra = _seed_table(dataset, rows)
        extra["display"] = [[_display(v) for v in row.values()] for row in extra["rows"]]
        entry["instance_table"] = extra
    return entry


# Each per-instance diagnostic a study can relate people's ratings of attention to:
# (score name, experiment, how to read it from the row's values, what it says).
DIAGNOSTIC_SCORES: tuple[tuple[str, str, Callable[[dict[str, Any]], Any], str], ...] = (
    (
        "diagnostic_tau_gradient",
        "correlation",
        lambda v: v.get("tau", {}).get("gradient"),
        "Kendall tau of the attention with the gradient (J&W Table 2)",
    ),
    (
        "diagnostic_tau_leave_one_out",
        "correlation",
        lambda v: v.get("tau", {}).get("leave_one_out"),
        "Kendall tau of the attention with leave-one-out (J&W Table 2)",
    ),
    (
        "diagnostic_permutation_tvd",
        "permutation",
        lambda v: v.get("median_tvd"),
        "median output TVD when the attention is permuted (J&W 4.2.1)",
    ),
    (
        "diagnostic_adversarial_jsd",
        "adversarial",
        lambda v: v.get("jsd") if v.get("feasible") else None,
        "JSD of the kept adversarial attention from the attention (J&W 4.2.2)",
    ),
    (
        "diagnostic_zeroing_jsd_difference",
        "zeroing",
        lambda v: v.get("jsd_difference"),
        "output JSD of zeroing the top weight minus that of a random weight (S&S)",
    ),
    (
        "diagnostic_flip_fraction",
        "zeroing",
        lambda v: (
            (v.get("flips", {}).get("attention") or {}).get("fraction")
            if (v.get("flips", {}).get("attention") or {}).get("flipped")
            else None
        ),
        "fraction of tokens zeroed in attention order until the decision flips (S&S)",
    ),
    (
        "diagnostic_seed_jsd",
        "seed_variance",
        lambda v: v.get("median_jsd"),
        "median JSD of the attention of models trained with other seeds (W&P)",
    ),
)
"""What :func:`diagnostic_scores_of` reads; undefined values (never flips, no feasible
adversary) are left out, so an analysis counts them as not computed."""


def diagnostic_scores_of(
    model: ClassifierModel, instance_ids: Iterable[int]
) -> dict[int, list[dict[str, Any]]]:
    """Return, per instance, its attention diagnostics as faithfulness scores.

    Each score is ``{"metric", "kind": "faithfulness", "value", "parameters"}``, the
    shape of a frozen ``Score``, so a study that shows the ``attention`` explanation
    freezes them with it and its analysis relates people's ratings to them.
    """
    rows = Diagnostic.objects.filter(model=model, instance_id__in=list(instance_ids)).only(
        "instance_id", "experiment", "values", "parameters"
    )
    by_instance: dict[int, dict[str, Diagnostic]] = {}
    for row in rows:
        by_instance.setdefault(row.instance_id, {})[row.experiment] = row
    found: dict[int, list[dict[str, Any]]] = {}
    for instance_id, experiments in by_instance.items():
        scores = []
        for metric, experiment, read, meaning in DIAGNOSTIC_SCORES:
            found_row = experiments.get(experiment)
            if found_row is None:
                continue
            value = read(found_row.values)
            if value is None:
                continue
            parameters = {k: v for k, v in found_row.parameters.items() if k != "skipped"}
            scores.append(
                {
                    "metric": metric,
                    "kind": "faithfulness",
                    "value": float(value),
                    "parameters": {**parameters, "experiment": experiment, "meaning": meaning},
                }
            )
        if scores:
            found[instance_id] = scores
    return found


def _display(value: Any) -> str:
    """Return a table cell as text: floats to 3 decimals, undefined as a dash."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def diagnostic_rows(
    model: ClassifierModel, dataset: Dataset, experiment: str
) -> tuple[list[str], list[list[Any]]]:
    """Return the experiment's per-instance CSV: a header and one row per instance.

    Nested values are flattened to ``a.b`` columns; lists (each permutation's TVD, each
    candidate's JSD) are written as JSON in one cell. Undefined values are empty.
    """
    rows = _rows(model, dataset, experiment, ids=True)
    flat = [_flatten(r.values) for r in rows]
    columns: list[str] = []
    for entry in flat:
        columns.extend(c for c in entry if c not in columns)
    header = ["instance", "predicted_class", "max_attention", *columns]
    body = [
        [
            r.external_id,  # type: ignore[attr-defined]  # annotated by _rows
            _label(dataset, r.predicted_label),
            "" if r.max_attention is None else r.max_attention,
            *("" if entry.get(c) is None else entry[c] for c in columns),
        ]
        for r, entry in zip(rows, flat, strict=True)
    ]
    return header, body


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = json.dumps(value)
        else:
            out[name] = value
    return out


def _points(
    rows: list[Diagnostic], value: Any
) -> dict[int | None, tuple[list[float], list[float]]]:
    """Return per predicted class the (max attention, value(row)) pairs that are defined."""
    points: dict[int | None, tuple[list[float], list[float]]] = {}
    for r in rows:
        y = value(r)
        if r.max_attention is None or y is None:
            continue
        xs, ys = points.setdefault(r.predicted_label, ([], []))
        xs.append(r.max_attention)
        ys.append(y)
    return points


def diagnostic_figure_svg(model: ClassifierModel, dataset: Dataset, experiment: str) -> str:
    """Return the experiment's figure as SVG text ("" when nothing is stored)."""
    out = io.StringIO()
    if not _save_figure(model, dataset, experiment, out, "svg"):
        return ""
    svg = out.getvalue()
    return svg[svg.index("<svg") :]


def diagnostic_figure_png(model: ClassifierModel, dataset: Dataset, experiment: str) -> bytes:
    """Return the experiment's figure as PNG bytes (empty when nothing is stored)."""
    out = io.BytesIO()
    if not _save_figure(model, dataset, experiment, out, "png"):
        return b""
    return out.getvalue()


def _save_figure(
    model: ClassifierModel,
    dataset: Dataset,
    experiment: str,
    out: io.StringIO | io.BytesIO,
    fmt: str,
) -> bool:
    """Draw the experiment's figure into ``out`` in ``fmt``; False when nothing is stored."""
    rows = _rows(model, dataset, experiment)
    table = (
        ModelDiagnostic.objects.filter(model=model, dataset=dataset, experiment=experiment).first()
        if experiment in TRAINING_EXPERIMENTS
        else None
    )
    if not rows and table is None:
        return False
    # Imported here: matplotlib (tens of MB) is needed when a figure is drawn, not by every
    # web process importing the views. A Figure, not pyplot: no global state across threads.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.2))
    title = f"{model.name} on {dataset.name}: {Diagnostic.Experiment(experiment).label}"
    if table is not None:
        _training_figure(fig, dataset, table, rows)
        fig.suptitle(title, fontsize="medium")
        fig.tight_layout()
        fig.savefig(out, format=fmt, dpi=150)
        return True
    ax = fig.subplots()
    if experiment == "zeroing":
        orders = list(rows[0].values.get("flips", {}))
        data = [
            [
                r.values["flips"][o]["fraction"]
                for r in rows
                if r.values["flips"][o]["flipped"] and r.values["flips"][o]["fraction"] is not None
            ]
            for o in orders
        ]
        never = [sum(1 for r in rows if not r.values["flips"][o]["flipped"]) for o in orders]
        labels = [f"{o} (never flips: {n})" for o, n in zip(orders, never, strict=True)]
        fig.set_size_inches(7, 0.45 * len(orders) + 1.6)
        ax.boxplot(
            [d if d else [float("nan")] for d in data],
            orientation="horizontal",
            tick_labels=labels,
            widths=0.5,
            showfliers=False,
        )
        ax.set_xlim(0, 1)
        ax.set_xlabel("fraction of tokens zeroed until the decision flips")
    elif experiment == "correlation":
        measures = sorted({m for r in rows for m in r.values.get("tau", {})})
        data = [
            [r.values["tau"][m] for r in rows if r.values["tau"].get(m) is not None]
            for m in measures
        ]
        ax.boxplot(
            [d if d else [float("nan")] for d in data],
            orientation="horizontal",
            tick_labels=measures,
            widths=0.5,
            showfliers=False,
        )
        ax.axvline(0, color="#777", linewidth=0.8)
        ax.set_xlim(-1, 1)
        ax.set_xlabel("Kendall τ-b of attention with the measure (per instance)")
    else:
        if experiment == "permutation":
            points = _points(rows, lambda r: r.values.get("median_tvd"))
            ax.set_ylabel("median output TVD over permutations")
        else:
            points = _points(
                rows, lambda r: r.values.get("jsd") if r.values.get("feasible") else None
            )
            ax.set_ylabel("max JSD of a feasible adversary (nats)")
        _scatter_by_class(ax, dataset, points)
        ax.set_xlabel("maximum attention weight of the instance")
    ax.set_title(title, fontsize="medium")
    fig.tight_layout()
    fig.savefig(out, format=fmt, dpi=150)
    return True


def _scatter_by_class(
    ax: Any, dataset: Dataset, points: dict[int | None, tuple[list[float], list[float]]]
) -> None:
    """Scatter each predicted class's points in its colour, with a legend when there are any."""
    for index, (label, (xs, ys)) in enumerate(sorted(points.items(), key=lambda p: p[0] or 0)):
        ax.scatter(
            xs,
            ys,
            s=10,
            alpha=0.6,
            color=CLASS_COLOURS[index % len(CLASS_COLOURS)],
            label=f"predicted {_label(dataset, label)}",
        )
    if points:
        ax.legend(loc="best", fontsize="small")


def _cell(value: Any) -> Any:
    """Return a CSV cell: undefined as empty."""
    return "" if value is None else value


def _training_figure(
    fig: Any, dataset: Dataset, table: ModelDiagnostic, rows: list[Diagnostic]
) -> None:
    """Draw a W&P test: F1 bars, the seeds' scatters, or the adversaries' TVD and JSD."""
    experiment = table.experiment
    if experiment == "seed_variance":
        left, right = fig.subplots(1, 2, sharex=True)
        fig.set_size_inches(9, 4.2)
        for ax, key, label in (
            (left, "median_jsd", "median attention JSD over seeds (nats)"),
            (right, "mean_tvd", "mean output TVD over seeds"),
        ):
            _scatter_by_class(ax, dataset, _points(rows, lambda r, key=key: r.values.get(key)))
            ax.set_xlabel("maximum attention weight (model under test)")
            ax.set_ylabel(label)
        return
    ax = fig.subplots()
    found = training_table(dataset, table)["rows"]
    if experiment == "model_adversary":
        adversaries = [r for r in found if r["model"].startswith("adversary")]
        xs = [r["mean_tvd"] for r in adversaries]
        ys = [r["mean_jsd"] for r in adversaries]
        ax.plot(xs, ys, marker="o", color=CLASS_COLOURS[0])
        for r, x, y in zip(adversaries, xs, ys, strict=True):
            f1 = "—" if r["macro_f1"] is None else f"{r['macro_f1']:.2f}"
            ax.annotate(
                f"{r['model'].removeprefix('adversary, ')}, F1 {f1}",
                (x, y),
                fontsize="x-small",
                xytext=(4, 4),
                textcoords="offset points",
            )
        ax.set_xlabel("mean output TVD from the model under test (held out)")
        ax.set_ylabel("mean attention JSD from the model under test (nats)")
        return
    names = [r["model"] for r in found]
    values = [r["macro_f1"] if r["macro_f1"] is not None else 0.0 for r in found]
    ax.barh(names, values, color=CLASS_COLOURS[0])
    for y, value in enumerate(values):
        ax.annotate(f"{value:.3f}", (value, y), xytext=(3, -3), textcoords="offset points")
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("held-out macro-F1")


def diagnostics_export(*, model: ClassifierModel, dataset: Dataset, out: Path) -> list[Path]:
    """Write every stored experiment of ``model`` on ``dataset`` to ``out``; return the files.

    Per experiment: ``<experiment>.csv`` (one row per instance) and its figure as
    ``<experiment>.svg`` and ``.png``; and ``parameters.json``: each experiment's definition, parameters and
    summary table, what was skipped and why, and J&W's reference figures (labelled).
    Raises ValueError when nothing is stored.
    """
    summary = diagnostics_summary(model, dataset)
    if not summary["experiments"]:
        raise ValueError(
            f"no attention diagnostics stored for model {model.name} on dataset {dataset.name}; "
            "run run_diagnostics first"
        )
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for experiment, entry in summary["experiments"].items():
        files: list[tuple[str, list[str], list[list[Any]]]] = []
        if experiment in TRAINING_EXPERIMENTS:
            # The model-level table (F1 per trained model), and per instance where there is one.
            columns = entry["table"]["columns"]
            files.append(
                (
                    f"{experiment}_models.csv",
                    columns,
                    [[_cell(r[c]) for c in columns] for r in entry["table"]["rows"]],
                )
            )
        if experiment not in ("uniform", "diagnostic_mlp"):
            files.append((f"{experiment}.csv", *diagnostic_rows(model, dataset, experiment)))
        for filename, header, body in files:
            path = out / filename
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                writer.writerows(body)
            written.append(path)
        figure = out / f"{experiment}.svg"
        figure.write_text(diagnostic_figure_svg(model, dataset, experiment), encoding="utf-8")
        bitmap = out / f"{experiment}.png"
        bitmap.write_bytes(diagnostic_figure_png(model, dataset, experiment))
        written.extend([figure, bitmap])
    document = {
        "model": model.name,
        "architecture": model.architecture,
        "dataset": dataset.name,
        "kind": "faithfulness (computed on the model, never by people)",
        "experiments": {
            name: {
                **entry,
                **{
                    part: {k: v for k, v in entry[part].items() if k != "display"}
                    for part in ("table", "instance_table")
                    if part in entry
                },
            }
            for name, entry in summary["experiments"].items()
        },
        "skipped": summary["skipped"],
        "reference": summary["reference"],
    }
    path = out / "parameters.json"
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    written.append(path)
    return written
